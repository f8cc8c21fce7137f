//! The bill download stream (gunzip, size limit, SHA-1), fed in chunks of any size: never
//! panics and never returns more than a step at once; whatever it returns hashes to what it
//! reports and is what flate2's own gzip reader gives; the same bytes with their own hash
//! pass and with another hash fail; and gzip of any input decompresses to it.
#![no_main]

use std::io::{Read as _, Write as _};

use libfuzzer_sys::fuzz_target;
use wechatpay_core::digest::Sha1;
use wechatpay_core::file::{Encoding, FileCheck, FileError, STEP_BYTES};

fn run(
    input: &[u8],
    step: usize,
    expected: Option<&str>,
    enc: Encoding,
    max: u64,
) -> Result<(Vec<u8>, String), FileError> {
    let mut check = FileCheck::new(expected, enc, max);
    let mut out = Vec::new();
    for mut c in input.chunks(step) {
        while !c.is_empty() {
            let (used, bytes) = check.feed(c)?;
            assert!(used > 0 || !bytes.is_empty(), "no progress");
            assert!(bytes.len() <= STEP_BYTES);
            out.extend_from_slice(bytes);
            c = &c[used..];
        }
    }
    loop {
        let bytes = check.finish()?;
        assert!(bytes.len() <= STEP_BYTES);
        if bytes.is_empty() {
            break;
        }
        out.extend_from_slice(bytes);
    }
    assert_eq!(check.bytes(), out.len() as u64);
    assert_eq!(check.received(), input.len() as u64);
    Ok((out, check.sha1().expect("finished").to_owned()))
}

fn sha1(data: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(data);
    h.finish_hex()
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(first % 64) + 1;
    let enc = [Encoding::Detect, Encoding::Gzip, Encoding::Identity][usize::from(first >> 6) % 3];
    let max = 1 << 20;
    if let Ok((out, hash)) = run(input, step, None, enc, max) {
        assert_eq!(hash, sha1(&out));
        if enc == Encoding::Gzip {
            let mut reference = Vec::new();
            flate2::read::MultiGzDecoder::new(input)
                .read_to_end(&mut reference)
                .expect("flate2 reads what FileCheck read");
            assert_eq!(out, reference);
        }
        assert!(run(input, step, Some(&hash.to_uppercase()), enc, max).is_ok());
        let wrong = run(input, step, Some(&sha1(b"other")), enc, max);
        assert!(matches!(wrong, Err(FileError::HashMismatch { .. })) || out == b"other");
        if !out.is_empty() {
            let short = run(input, step, None, enc, out.len() as u64 - 1);
            assert!(
                matches!(short, Err(FileError::TooLarge { .. })),
                "{short:?}"
            );
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(input).unwrap();
    let gz = gz.finish().unwrap();
    let (out, hash) = run(&gz, step, Some(&sha1(input)), Encoding::Detect, max).expect("own gzip");
    assert_eq!(out, input);
    assert_eq!(hash, sha1(input));
});
