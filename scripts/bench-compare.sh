#!/usr/bin/env bash
# Compares the end-to-end load of two revisions on this machine, in one run:
#   scripts/bench-compare.sh REV_A REV_B [ROUNDS] [DURATION]
# Builds `wxpay` of each revision (release) into its own target folder, then alternates
# them (A, B, A, B, …) at 1, 4, 16 and 64 clients for ROUNDS rounds (default 3) of
# DURATION each (default 10s), so that both see the same moments of a noisy machine.
# Prints, per revision and concurrency, the range over the rounds of: orders/s, the ratio
# to the bench's crypto bound, client and sandbox CPU per order, and p99 latency.
# Needs git, cargo and python3. Takes about 10 minutes of building per revision on 2 cores
# (target/bench-<rev> keeps the sources and the build for the next run), then
# 8 × ROUNDS × DURATION.
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
root=$(git rev-parse --show-toplevel)
rounds=${3:-3}
duration=${4:-10s}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build() { # rev -> path of its wxpay
    local rev=$1 sha src target
    sha=$(git -C "$root" rev-parse --short=10 "$rev^{commit}")
    # The sources at a fixed place next to their build, so that a second run reuses it.
    target="$root/target/bench-$sha"
    src="$target/src"
    if [ ! -d "$src" ]; then
        git -C "$root" worktree add --detach --quiet "$src" "$sha"
    fi
    echo "building $rev ($sha) into target/bench-$sha" >&2
    (cd "$src" && CARGO_TARGET_DIR="$target" cargo build --release --quiet -p wechatpay-cli)
    echo "$target/release/wxpay"
}

a_bin=$(build "$1")
b_bin=$(build "$2")
results="$work/results.jsonl"
for round in $(seq 1 "$rounds"); do
    for c in 1 4 16 64; do
        for side in A B; do
            if [ "$side" = A ]; then bin=$a_bin; rev=$1; else bin=$b_bin; rev=$2; fi
            echo "round $round/$rounds: $rev at $c clients" >&2
            (cd "$work" && "$bin" --json bench -c "$c" --duration "$duration") |
                python3 -c 'import json,sys; r=json.load(sys.stdin); r["rev"]=sys.argv[1]; print(json.dumps(r))' "$rev" >>"$results"
        done
    done
done

python3 - "$results" "$1" "$2" <<'EOF'
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
revs = sys.argv[2:]
# Each side's RSA work per order is one sign and one verify.
def work_ms(r):
    c = r["crypto"]
    return (c["rsa_sign_us"] + c["rsa_verify_us"]) / 1000

def span(vals, fmt):
    lo, hi = min(vals), max(vals)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else fmt.format(lo) + "–" + fmt.format(hi)

print("| rev | clients | orders/s | ratio to crypto bound | client CPU/order (× its RSA work) | sandbox CPU/order (× its RSA work) | p99 |")
print("| --- | --- | --- | --- | --- | --- | --- |")
means = {}
for c in (1, 4, 16, 64):
    for rev in revs:
        rs = [r for r in rows if r["rev"] == rev and r["concurrency"] == c]
        if not rs:
            continue
        tp = [r["throughput_rps"] for r in rs]
        ratio = [r["crypto"]["ratio_to_bound"] for r in rs]
        cl = [r["cpu_ms_per_request"]["client"] for r in rs]
        sb = [r["cpu_ms_per_request"]["sandbox"] for r in rs]
        clw = [r["cpu_ms_per_request"]["client"] / work_ms(r) for r in rs]
        sbw = [r["cpu_ms_per_request"]["sandbox"] / work_ms(r) for r in rs]
        p99 = [r["latency_ms"]["p99"] for r in rs]
        means[(rev, c)] = sum(tp) / len(tp)
        print(f"| {rev} | {c} | {span(tp, '{:,.0f}')} | {span(ratio, '{:.2f}')} | "
              f"{span(cl, '{:.3f}')} ms ({span(clw, '{:.2f}')}×) | {span(sb, '{:.3f}')} ms ({span(sbw, '{:.2f}')}×) | "
              f"{span(p99, '{:.1f}')} ms |")
print()
for c in (1, 4, 16, 64):
    if (revs[0], c) in means and (revs[1], c) in means:
        print(f"{c:>2} clients: {revs[1]} / {revs[0]} = {means[(revs[1], c)] / means[(revs[0], c)]:.2f}× orders/s (mean of the rounds)")
EOF
