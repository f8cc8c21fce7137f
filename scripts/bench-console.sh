#!/usr/bin/env bash
# Console page times (issue 14) on a sandbox seeded with N completed orders of one day
# (1,000 users, 10% refunded): each page fetched R times with curl over loopback; prints
# the median and the slowest time_total per page. The target is under 100 ms.
# Usage: cargo build --release -p wechatpay-cli && N=1000000 R=20 scripts/bench-console.sh
set -euo pipefail
N=${N:-1000000}
R=${R:-20}
WXPAY=$(realpath "${WXPAY:-target/release/wxpay}")
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$WXPAY" sandbox init "$work/s" >/dev/null
cd "$work/s"
DAY=$(date -u -d '-2 days + 8 hours' +%F)
/usr/bin/time -f "seed $N orders: %e s, peak RSS %M KB" "$WXPAY" sandbox seed --orders "$N" --day "$DAY" >/dev/null
"$WXPAY" sandbox serve --addr 127.0.0.1:0 >serve.out 2>/dev/null &
pid=$!
until [ -s serve.out ]; do sleep 0.1; done
base=$(awk '{print $4; exit}' serve.out)
service=$(sed -n 's/^service_id = "\(.*\)"$/\1/p' sandbox.toml | head -1)
sub=$(sed -n 's/^sub_mchid = "\(.*\)"$/\1/p' sandbox.toml | head -1)
# A page deep in the list: the cursor of the 11th page.
older=/_sandbox/orders
for _ in $(seq 10); do
  older=$(curl -s "$base$older" | grep -o 'id="older" href="[^"]*"' | sed 's/.*href="//; s/"$//; s/&amp;/\&/g')
done
order=$(curl -s "$base/_sandbox/orders?openid=oSEEDUSER0007" | grep -o 'href="/_sandbox/orders/[0-9]*"' | head -1 | sed 's/href="//; s/"//')
printf '%-62s %10s %10s\n' page median_ms max_ms
for path in /_sandbox/ /_sandbox/orders "/_sandbox/orders?state=DONE" "/_sandbox/orders?state=DOING" \
  "/_sandbox/orders?openid=oSEEDUSER0007" "/_sandbox/orders?service_id=$service" \
  "/_sandbox/orders?sub_mchid=$sub" "/_sandbox/orders?day=$DAY" \
  "/_sandbox/orders?openid=oSEEDUSER0007&state=DONE&day=$DAY" "$older" "$order" \
  /_sandbox/requests /_sandbox/authorizations /_sandbox/refunds; do
  out=$(for _ in $(seq "$R"); do curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base$path"; done)
  codes=$(awk '{print $1}' <<<"$out" | sort -u | tr '\n' ' ')
  times=$(awk '{printf "%.1f\n", $2 * 1000}' <<<"$out" | sort -n)
  median=$(sed -n "$(((R + 1) / 2))p" <<<"$times")
  label=$path
  [ "$codes" = "200 " ] || label="$path (HTTP $codes)"
  printf '%-62s %10s %10s\n' "${label:0:62}" "$median" "$(tail -1 <<<"$times")"
done
