#!/usr/bin/env bash
# Client and sandbox in separate processes, a fixed load for a while, RSS of both sampled
# every 10 s: shows their memory and whether it grows.
#
#   scripts/soak.sh [SECONDS=300] [RATE=300]
#
# Uses the release binary (cargo build --release -p wechatpay-cli). Everything stays on
# 127.0.0.1; the sandbox folder is a fresh temporary one.
set -euo pipefail
secs=${1:-300}
rate=${2:-300}
wxpay="$(cd "$(dirname "$0")/.." && pwd)/target/release/wxpay"
dir=$(mktemp -d)
trap 'kill "${server:-}" "${client:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT

"$wxpay" sandbox init "$dir/s" >/dev/null
cd "$dir/s"
# Callbacks are not the subject here: keep orders collecting.
sed -i 's/^deduction_delay_ms = .*/deduction_delay_ms = 86400000/' sandbox.toml
"$wxpay" sandbox serve --addr 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.log" &
server=$!
until grep -q listening "$dir/serve.out"; do sleep 0.1; done
url=$(awk '{print $4; exit}' "$dir/serve.out")
ids=$(python3 - <<'PY'
import tomllib
c = tomllib.load(open("sandbox.toml", "rb"))
p = c["providers"][0]
print(",".join([c["services"][0]["service_id"], p["appids"][0], p["sub_merchants"][0]["sub_mchid"], c["users"][0]["openid"]]))
PY
)
"$wxpay" --json bench --url "$url" --ids "$ids" -c 32 --rate "$rate" --duration "${secs}s" >"$dir/bench.json" &
client=$!
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "-"; }
echo "t(s)  client_rss_mb  sandbox_rss_mb"
for ((t = 0; t <= secs; t += 10)); do
  echo "$t  $(rss "$client")  $(rss "$server")"
  sleep 10
  kill -0 "$client" 2>/dev/null || break
done
wait "$client" || true
cat "$dir/bench.json"
