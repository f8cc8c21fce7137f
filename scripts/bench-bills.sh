#!/usr/bin/env bash
# Bill benchmarks (issue 12), on a sandbox seeded with N paid orders of one day (10% refunded):
#   - the sandbox generating the gzip trade bill (time, its peak RSS);
#   - `curl | gunzip | sha1sum` of the download_url, against `wxpay bill fetch` (the SDK's
#     streaming download, gunzip and SHA-1; its peak RSS);
#   - `wxpay bill download` end to end (apply, download, verify, then parse and total the rows).
# Usage: cargo build --release -p wechatpay-cli && N=1000000 scripts/bench-bills.sh
set -euo pipefail
N=${N:-1000000}
WXPAY=$(realpath "${WXPAY:-target/release/wxpay}")
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$WXPAY" sandbox init "$work/s" >/dev/null
cd "$work/s"
# Two days ago in Beijing: its bill is ready whatever the time of day.
DAY=$(date -u -d '-2 days + 8 hours' +%F)
/usr/bin/time -f "seed $N orders: %e s, peak RSS %M KB" "$WXPAY" sandbox seed --orders "$N" --day "$DAY" >/dev/null
"$WXPAY" sandbox serve --addr 127.0.0.1:0 >serve.out 2>/dev/null &
pid=$!
until [ -s serve.out ]; do sleep 0.1; done
export WXPAY_BASE_URL=$(awk '{print $4; exit}' serve.out)

apply() {
  local start=$(date +%s.%N)
  "$WXPAY" call GET /v3/bill/tradebill -q "bill_date=$DAY" -q tar_type=GZIP 2>/dev/null >link.json
  echo "sandbox apply (generates, hashes and gzips the bill): $(echo "$(date +%s.%N) - $start" | bc) s"
}
apply
echo "sandbox peak RSS so far: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
url=$(jq -r .download_url link.json)
sha=$(jq -r .hash_value link.json)
pathq=/${url#*://*/}
auth=$("$WXPAY" sign --method GET --url "$pathq" --json | jq -r .authorization)
gz=$(curl -s -H "Authorization: $auth" "$url" | wc -c)
start=$(date +%s.%N)
curl_sha=$(curl -s -H "Authorization: $auth" "$url" | gunzip | sha1sum | cut -d' ' -f1)
t_curl=$(echo "$(date +%s.%N) - $start" | bc)
[ "$curl_sha" = "$sha" ] || { echo "curl pipeline hash $curl_sha != $sha"; exit 1; }
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o rss.txt "$WXPAY" bill fetch --url "$url" --sha1 "$sha" --out fetched.csv --json >fetched.json
t_sdk=$(echo "$(date +%s.%N) - $start" | bc)
bytes=$(jq .bytes fetched.json)
echo "bill: $bytes bytes ($gz gzip)"
echo "curl | gunzip | sha1sum: $t_curl s"
echo "wxpay bill fetch (SDK):  $t_sdk s, peak RSS $(cat rss.txt) KB"
echo "throughput ratio SDK/curl: $(echo "scale=2; $t_curl / $t_sdk" | bc)"
/usr/bin/time -f "wxpay bill download (apply + fetch + parse + totals): %e s, peak RSS %M KB" \
  "$WXPAY" bill download --date "$DAY" --gzip --out downloaded.csv --json | jq -c '{rows, totals_fen}'
echo "sandbox peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
