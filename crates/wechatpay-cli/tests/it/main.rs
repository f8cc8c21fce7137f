//! The built `wxpay` binary: the demo, calls against a sandbox, a kill -9 of the sandbox,
//! and the debugging tools against the shared test vectors (output must match exactly).

#![allow(clippy::unwrap_used)]

mod hostile;
mod sandbox;
mod secrets;
mod vectors;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn wxpay() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wxpay"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WXPAY_") {
            c.env_remove(k);
        }
    }
    c
}

pub(crate) fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// Starts `cmd` with its stdout piped and returns it with the first line it printed (a
/// server's address).
pub(crate) fn spawn_first_line(cmd: &mut Command) -> (std::process::Child, String) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, line)
}

/// A fresh temporary folder, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "wxpay-it-{name}-{}",
            wechatpay_core::RandomNonce::alphanumeric(10)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn demo_runs_the_whole_flow_and_exits_zero() {
    let (code, out, err) = run(wxpay().arg("demo"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("All 6 steps passed"), "{out}");
    assert!(
        out.contains("PAYSCORE.USER_PAID") && out.contains("DONE / - / USER_PAID"),
        "{out}"
    );
    let (code, out, _) = run(wxpay().args(["--json", "demo"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["steps"].as_array().unwrap().len(), 6);
}

#[test]
fn demo_flows_authorize_and_confirm_pass() {
    for (flow, marks) in [
        (
            "authorize",
            ["PAYSCORE.USER_OPEN_SERVICE received", "All 8 steps passed"],
        ),
        (
            "confirm",
            ["PAYSCORE.USER_CONFIRM received", "All 8 steps passed"],
        ),
    ] {
        let (code, out, err) = run(wxpay().args(["demo", "--flow", flow]));
        assert_eq!(code, 0, "{flow}: {out}\n{err}");
        for m in marks {
            assert!(out.contains(m), "{flow}: {m} missing in\n{out}");
        }
        assert!(out.contains("DONE / - / USER_PAID"), "{out}");
    }
}

#[test]
fn help_has_examples_on_every_command() {
    for sub in [
        vec!["demo"],
        vec!["call"],
        vec!["sandbox", "init"],
        vec!["sandbox", "serve"],
        vec!["keys", "gen"],
        vec!["sign"],
        vec!["verify"],
        vec!["notify", "decrypt"],
        vec!["certs", "download"],
        vec!["bench"],
        vec!["sandbox", "user", "authorize"],
        vec!["sandbox", "user", "revoke"],
        vec!["sandbox", "user", "confirm"],
        vec!["sandbox", "clock", "advance"],
        vec!["launch", "detail"],
        vec!["launch", "use"],
        vec!["launch", "enable"],
        vec!["notify", "serve"],
        vec!["sandbox", "seed"],
        vec!["refund", "create"],
        vec!["refund", "query"],
        vec!["bill", "download"],
        vec!["bill", "fetch"],
    ] {
        let (code, out, _) = run(wxpay().args(&sub).arg("--help"));
        assert_eq!(code, 0);
        assert!(
            out.contains("Example"),
            "{sub:?} --help has no example:\n{out}"
        );
    }
}

#[test]
fn keys_gen_writes_a_key_and_a_matching_certificate() {
    let dir = TempDir::new("keys");
    let (code, out, err) = run(wxpay()
        .args(["--json", "keys", "gen", "--mchid", "1900000109", "--out"])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cert =
        wechatpay_core::Certificate::from_pem_file(dir.path().join("apiclient_cert.pem")).unwrap();
    assert_eq!(v["serial"], cert.serial());
    let key =
        wechatpay_core::PrivateKey::from_pem_file(dir.path().join("apiclient_key.pem")).unwrap();
    assert_eq!(
        key.public_key().unwrap().to_pem(),
        cert.public_key().to_pem()
    );
    let (code, _, err) = run(wxpay().args(["keys", "gen", "--out"]).arg(dir.path()));
    assert_eq!(code, 1, "never overwrites");
    assert!(err.contains("exists already"), "{err}");
}
