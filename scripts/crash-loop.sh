#!/usr/bin/env bash
# Crash trial (issue 13): `wxpay bench --url` loads a separate `wxpay sandbox serve`, which is
# killed with kill -9 at random moments N times and restarted each time. Then:
#   - every order the client saw acknowledged exists, with its amount (250 fen);
#   - no order was deducted twice (one transaction per order in the ledger);
#   - every acknowledged order's PAYSCORE.USER_PAID reached a local receiver at least once
#     (`wxpay notify serve`, which verifies and decrypts each callback);
#   - the SQLite file passes PRAGMA integrity_check.
# Prints `acked A, found A, lost 0, duplicated 0, callbacks C/C, integrity ok`; exits 1 otherwise.
# Usage: cargo build --release -p wechatpay-cli && scripts/crash-loop.sh 20
set -euo pipefail
N=${1:-20}
WXPAY=$(realpath "${WXPAY:-target/release/wxpay}")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
"$WXPAY" sandbox init "$work/s" >/dev/null
cd "$work/s"
# Fast deductions and callback retries, so that the trial ends in seconds.
sed -i 's/^deduction_delay_ms = .*/deduction_delay_ms = 200/; s/^callback_time_scale = .*/callback_time_scale = 0.002/' sandbox.toml
ids=$(sed -n 's/^# appid = "\([^"]*\)", sub_mchid = "\([^"]*\)", .*service_id = "\([^"]*\)" (no-confirm).*/\3,\1,\2/p' wxpay.toml)
openid=$(sed -n 's/^# openid (pays) = "\([^"]*\)".*/\1/p' wxpay.toml)

wait_line() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no line in $1"; exit 1; }

"$WXPAY" notify serve --out callbacks.txt >recv.out 2>recv.err &
pids+=($!)
wait_line recv.out
receiver=$(awk '{print $4; exit}' recv.out)

start_sandbox() {
  : >serve.out
  "$WXPAY" sandbox serve --addr "$1" >serve.out 2>>serve.err &
  spid=$!
  pids+=("$spid")
  wait_line serve.out
}
start_sandbox 127.0.0.1:0
url=$(awk '{print $4; exit}' serve.out)
addr=${url#http://}

"$WXPAY" bench --url "$url" --ids "$ids,$openid" -c 4 --duration 3600s --acked acked.txt \
  --notify-url "$receiver" --json >bench.json 2>bench.err &
bpid=$!
pids+=("$bpid")
for _ in $(seq "$N"); do
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$spid"
  wait "$spid" 2>/dev/null || true
  start_sandbox "$addr"
done
sleep 1
kill "$bpid"
wait "$bpid" 2>/dev/null || true

# Let due deductions and callback retries finish (at most 60 s).
acked=$(sort -u acked.txt | wc -l)
for _ in $(seq 600); do
  paid=$(awk '$1 == "PAYSCORE.USER_PAID" {print $3}' callbacks.txt | sort -u | comm -12 - <(sort -u acked.txt) | wc -l)
  [ "$paid" -ge "$acked" ] && break
  sleep 0.1
done
kill -9 "$spid"
wait "$spid" 2>/dev/null || true

python3 - "$acked" <<'PY'
import json, sqlite3, sys
acked = [l.strip() for l in open("acked.txt") if l.strip()]
db = sqlite3.connect("sandbox.sqlite")
integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
orders = {no: json.loads(j) for no, j in db.execute("SELECT out_order_no, order_json FROM orders")}
found = [no for no in acked if no in orders and orders[no].get("total_amount") == 250]
twice = db.execute("SELECT COUNT(*) FROM (SELECT out_order_no FROM transactions GROUP BY out_order_no HAVING COUNT(*) > 1)").fetchone()[0]
twice += sum(1 for o in orders.values() if len((o.get("collection") or {}).get("details") or []) > 1)
twice += len(acked) - len(set(acked))
paid = {l.split()[2] for l in open("callbacks.txt") if l.startswith("PAYSCORE.USER_PAID ") and len(l.split()) > 2}
cb = sum(1 for no in set(acked) if no in paid)
lost = len(set(acked)) - len(set(found))
print(f"acked {len(set(acked))}, found {len(set(found))}, lost {lost}, duplicated {twice}, callbacks {cb}/{len(set(acked))}, integrity {integrity}")
sys.exit(0 if lost == 0 and twice == 0 and cb == len(set(acked)) and integrity == "ok" and acked else 1)
PY
