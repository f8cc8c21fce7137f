//! A client that is not ours works unchanged: the npm package `wechatpay-axios-plugin`
//! (installed by `.ci/run` into `tests/interop`) sends a direct-complete order, verifies
//! the signed 204 itself, queries the order and gets a PARAM_ERROR for a bad total.
//!
//! Where Node or the package is missing the test says so and passes, unless
//! `WECHATPAY_INTEROP=required` (as `.ci/run` sets it).

use std::path::PathBuf;
use std::process::Command;

use crate::support::{env, unique};

#[tokio::test]
async fn wechatpay_axios_plugin_gets_a_verified_204() {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/interop"));
    let required = std::env::var("WECHATPAY_INTEROP").is_ok_and(|v| v == "required");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok || !dir.join("node_modules/wechatpay-axios-plugin").exists() {
        assert!(
            !required,
            "WECHATPAY_INTEROP=required but node or tests/interop/node_modules is missing (run npm install in tests/interop)"
        );
        eprintln!(
            "skipped: node or tests/interop/node_modules missing (`cd tests/interop && npm install` to run it)"
        );
        return;
    }
    let env = env().await;
    let c = &env.g.client;
    let tmp = std::env::temp_dir().join(format!("wxpay-interop-{}", unique("")));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("key.pem"), c.private_key_pem.as_bytes()).unwrap();
    std::fs::write(tmp.join("pub.pem"), &c.public_key_pem).unwrap();
    let no = unique("NODE");
    let order = serde_json::to_string(&env.order(&no)).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("direct_complete.js"))
        .env("SANDBOX_URL", env.sandbox.base_url())
        .env("MCHID", &c.mchid)
        .env("SERIAL", &c.serial)
        .env("PRIVATE_KEY_FILE", tmp.join("key.pem"))
        .env("PUBLIC_KEY_ID", &c.public_key_id)
        .env("PUBLIC_KEY_FILE", tmp.join("pub.pem"))
        .env("ORDER_JSON", &order)
        .env("SUB_MCHID", &c.ids.sub_mchid)
        .env("SERVICE_ID", &c.ids.service_id);
    // The sandbox runs on this runtime: wait for node on a blocking thread.
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["status"], 204, "{v}");
    assert_eq!(v["verified_serial"], c.public_key_id.as_str());
    assert_eq!(
        (v["query_status"].as_u64(), v["state"].as_str()),
        (Some(200), Some("DOING")),
        "{v}"
    );
    assert_eq!(v["rejected"]["code"], "PARAM_ERROR", "{v}");
    assert!(
        env.order_record(&no).await.is_some(),
        "the sandbox stored the Node client's order"
    );
}
