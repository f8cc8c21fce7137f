#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with cargo-fuzz on nightly, each
# corpus seeded from the test vectors and fixtures. Prints, per target: executions,
# coverage (libFuzzer `cov`) and crashes (files in fuzz/artifacts/TARGET/).
# Usage: scripts/fuzz.sh 600            # 10 minutes per target
set -euo pipefail
SECS=${1:-60}
cd "$(dirname "$0")/.."
root=$PWD
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal

corpus() { mkdir -p "fuzz/corpus/$1"; echo "fuzz/corpus/$1"; }
c=$(corpus authorization)
printf '%s' 'WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",signature="c2lnbmF0dXJl",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"' >"$c/seed"
c=$(corpus response_signature)
printf 'Wechatpay-Timestamp: 1764146249\nWechatpay-Nonce: 5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nWechatpay-Serial: PUB_KEY_ID_0114232134912410000000000000\nWechatpay-Signature: c2lnbmF0dXJl\nWechatpay-Signature-Type: WECHATPAY2-SHA256-RSA2048\n\n{"code":"SUCCESS"}' >"$c/seed"
c=$(corpus callback)
printf '%s' '{"id":"EV-2018022511223320873","create_time":"2025-03-01T12:30:05+08:00","resource_type":"encrypt-resource","event_type":"REFUND.SUCCESS","summary":"退款成功","resource":{"original_type":"refund","algorithm":"AEAD_AES_256_GCM","ciphertext":"4ouUShyn+3OcYQGHkTVFF3K25P8n+FtJCK28bKun9MpCFgNb","associated_data":"","nonce":"0123456789ab"}}' >"$c/seed"
c=$(corpus keys)
cp tests/vectors/*.pem "$c/"
c=$(corpus certificates)
printf '%s' '{"data":[{"serial_no":"5157F09EFDC096DE15EBE81A47057A7232F1B8E1","effective_time":"2025-01-01T00:00:00+08:00","expire_time":"2030-01-01T00:00:00+08:00","encrypt_certificate":{"algorithm":"AEAD_AES_256_GCM","nonce":"0123456789ab","associated_data":"certificate","ciphertext":"4ouUShyn+3OcYQGHkTVFF3K25P8n"}}]}' >"$c/seed"
c=$(corpus trade_bill)
cp crates/wechatpay/tests/fixtures/*.csv "$c/"
c=$(corpus bill_stream)
for f in crates/wechatpay/tests/fixtures/*.csv; do
  # The first byte picks the chunk size and the encoding (here 4 bytes, Detect).
  n=$(basename "$f"); { printf '\003'; cat "$f"; } >"$c/$n"; { printf '\003'; gzip -c "$f"; } >"$c/$n.gz"
done
c=$(corpus request_json)
printf '%s' '{"service_id":"500001","appid":"wxd678efh567hg6787","sub_mchid":"1900000109","out_order_no":"RENT1","service_introduction":"共享充电宝","post_payments":[{"name":"使用时长","amount":300,"description":"3小时","count":3}],"post_discounts":[{"name":"新用户立减","description":"首单","amount":50}],"total_amount":250,"time_range":{"start_time":"20251126080000","end_time":"20251126100000"},"notify_url":"https://example.com/n","openid":"oUser"}' >"$c/direct_complete"
printf '%s' '{"sub_mchid":"1900000109","transaction_id":"4200002501202503011000000001","out_refund_no":"RF20250301001","reason":"归还后多收费用","amount":{"refund":500,"total":2500,"currency":"CNY","from":[{"account":"AVAILABLE","amount":500}]}}' >"$c/refund"
c=$(corpus sandbox_toml)
tmp=$(mktemp -d)
cargo run -q -p wechatpay-cli -- sandbox init "$tmp/s" >/dev/null
cp "$tmp/s/sandbox.toml" "$c/seed"
rm -rf "$tmp"

cd fuzz
printf '%-20s %14s %8s %8s\n' target executions cov crashes
for t in authorization response_signature callback keys certificates trade_bill bill_stream request_json sandbox_toml; do
  log=$(mktemp)
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$SECS" -print_final_stats=1 >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "artifacts/$t" -name 'crash-*' 2>/dev/null | wc -l)
  printf '%-20s %14s %8s %8s\n' "$t" "${execs:-?}" "${cov:-?}" "$crashes"
  [ -n "${KEEP_LOGS:-}" ] && cp "$log" "$root/fuzz-$t.log"
  rm -f "$log"
done
