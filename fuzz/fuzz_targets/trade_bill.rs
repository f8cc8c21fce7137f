//! The trade bill parser, line by line, and the exact decimal reader: never panics, and a
//! bill it accepts has a summary that agrees with its rows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_models::v3::bill::trade::{TradeBillParser, decimal};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut p = TradeBillParser::new();
    let mut rows = 0u64;
    for line in text.split('\n') {
        match p.line(line) {
            Ok(Some(_)) => rows += 1,
            Ok(None) => {}
            Err(_) => return,
        }
    }
    if let Ok(summary) = p.finish() {
        assert_eq!(summary.count, rows);
    }
    for field in text.split([',', '`']) {
        for d in [0, 2, 5] {
            let _ = decimal(field, d);
        }
    }
});
