#!/usr/bin/env bash
# Overload trial of the sandbox (issue 13), with its default [behaviour] limits. Phases of
# SECONDS each against a separate `wxpay sandbox serve`:
#   peak    `wxpay bench -c 16`: the closed-loop peak P (orders/s);
#   attack  the same bench while scripts/overload-attack.py holds 1,000 idle connections,
#           100 slow heads, 100 slow bodies and sends 20 bodies of 64 KiB + 1 a second;
#   burst   10 × P offered, open loop, pre-signed requests replayed (`--replay`) so the
#           load generator is not bound by RSA, no retries: shed answers are counted;
#   after   the peak bench again.
# Prints orders/s, errors by code, latency and the sandbox's peak RSS per phase, and
# checks: attack ≥ 0.5 P, after ≥ 0.8 P (within the noise of short runs on a shared machine),
# every burst answer a 2xx or a 503.
# Usage: cargo build --release -p wechatpay-cli && scripts/overload.sh [SECONDS=20]
#        (WXPAY=path/to/wxpay to use another build; BURST_CLIENTS=N burst connections, 2000)
set -euo pipefail
secs=${1:-20}
root="$(cd "$(dirname "$0")/.." && pwd)"
wxpay=$(realpath "${WXPAY:-$root/target/release/wxpay}")
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT

"$wxpay" sandbox init "$dir/s" >/dev/null
cd "$dir/s"
# Orders stay collecting: the load is direct-complete itself.
sed -i 's/^deduction_delay_ms = .*/deduction_delay_ms = 86400000/' sandbox.toml
"$wxpay" sandbox serve --addr 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.log" &
server=$!
pids+=("$server")
until grep -q listening "$dir/serve.out"; do sleep 0.1; done
url=$(awk '{print $4; exit}' "$dir/serve.out")
ids=$(python3 - <<'PY'
import tomllib
c = tomllib.load(open("sandbox.toml", "rb"))
p = c["providers"][0]
print(",".join([c["services"][0]["service_id"], p["appids"][0], p["sub_merchants"][0]["sub_mchid"], c["users"][0]["openid"]]))
PY
)

# The sandbox's RSS every 200 ms, tagged with the phase.
echo start >"$dir/phase"
(while kill -0 "$server" 2>/dev/null; do
  echo "$(cat "$dir/phase") $(awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null)"
  sleep 0.2
done) >"$dir/rss" &
pids+=($!)

# bench exits 1 when some answers were errors; the summary below judges them.
bench() { "$wxpay" --json bench --url "$url" --ids "$ids" "$@" || true; }
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

echo peak >"$dir/phase"
bench -c 16 --duration "${secs}s" >"$dir/peak.json"
peak=$(field "$dir/peak.json" "round(d['throughput_rps'] * (1 - d['errors'] / max(d['requests'], 1)), 1)")

echo attack >"$dir/phase"
python3 "$root/scripts/overload-attack.py" "${url#http://}" $((secs + 8)) >"$dir/attack.out" &
attacker=$!
pids+=("$attacker")
sleep 3 # let the attackers open their connections
bench -c 16 --duration "${secs}s" >"$dir/attack.json"
wait "$attacker"

echo burst >"$dir/phase"
rate=$(python3 -c "print(round(10 * $peak))")
bench -c "${BURST_CLIENTS:-2000}" --rate "$rate" --duration "${secs}s" --replay 2000 --retries 0 >"$dir/burst.json"

echo after >"$dir/phase"
bench -c 16 --duration "${secs}s" >"$dir/after.json"
echo end >"$dir/phase"

python3 - "$dir" "$peak" <<'PY'
import collections, json, sys
d, peak = sys.argv[1], float(sys.argv[2])
rss = collections.defaultdict(int)
for line in open(f"{d}/rss"):
    parts = line.split()
    if len(parts) == 2:
        rss[parts[0]] = max(rss[parts[0]], int(parts[1]))
ok = True
print(f"{'phase':8} {'offered/s':>9} {'ok/s':>8} {'vs peak':>8} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>7}  errors")
for phase in ["peak", "attack", "burst", "after"]:
    b = json.load(open(f"{d}/{phase}.json"))
    okps = b["throughput_rps"] * (1 - b["errors"] / max(b["requests"], 1))
    offered = b["offered_rate"] or "closed"
    lat = b["latency_ms"]
    print(f"{phase:8} {offered!s:>9} {okps:8.1f} {okps / peak:8.2f} {lat['p50']:8.2f} {lat['p99']:8.2f} {rss[phase] / 1024:7.1f}  {b['errors_by_code']}")
    if phase == "attack" and okps < 0.5 * peak:
        ok = False; print("  FAIL: under attack below half the peak")
    if phase == "after" and okps < 0.8 * peak:
        ok = False; print("  FAIL: not back to the peak afterwards")
    if phase == "burst" and set(b["errors_by_code"]) - {"SYSTEM_ERROR"}:
        ok = False; print("  FAIL: burst answers other than 2xx and 503 SYSTEM_ERROR")
print("attackers:", open(f"{d}/attack.out").read().strip())
print(f"sandbox peak RSS over the whole trial: {max(rss.values()) / 1024:.1f} MB")
sys.exit(0 if ok else 1)
PY
