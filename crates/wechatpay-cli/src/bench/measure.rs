//! What `wxpay bench` reads of this machine and process: CPU time per thread, memory, and
//! the cost of the RSA operations its bound is made of.

use std::time::Instant;

/// utime+stime of this process's threads whose name starts with `prefix`, in seconds.
pub(super) fn thread_cpu(prefix: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks = 0u64;
    for e in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let f: Vec<&str> = stat[close + 2..].split(' ').collect();
        ticks += f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    }
    // USER_HZ is 100 on Linux.
    #[allow(clippy::cast_precision_loss)]
    let secs = ticks as f64 / 100.0;
    secs
}

/// utime+stime of the whole process, in seconds.
pub(super) fn process_cpu() -> f64 {
    thread_cpu("")
}

/// Resident memory now and at its peak, in MB.
pub(super) fn rss_mb() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

/// Time of one RSA-2048 sign and one verify on this machine (µs), for the crypto bound:
/// the fastest of five batches, so that a moment of a noisy machine does not make the
/// bound look easier to reach than it is.
pub(super) fn rsa_costs() -> anyhow::Result<(f64, f64)> {
    let k = wechatpay_core::PrivateKey::generate()?;
    let pk = k.public_key()?;
    let msg = vec![b'x'; 1024];
    let sig = k.sign(&msg)?;
    let (mut sign, mut verify) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..40 {
            std::hint::black_box(k.sign(&msg)?);
        }
        sign = sign.min(t.elapsed().as_secs_f64() * 1e6 / 40.0);
        let t = Instant::now();
        for _ in 0..400 {
            std::hint::black_box(pk.verify(&msg, &sig));
        }
        verify = verify.min(t.elapsed().as_secs_f64() * 1e6 / 400.0);
    }
    Ok((sign, verify))
}
