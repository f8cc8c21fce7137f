#!/usr/bin/env bash
# Gzip bomb against `wxpay bill fetch` (issue 18, defect 1): GIB GiB of zeros, gzip -9
# (about 1/1000 of that), served as a gzip bill by a local server. The download must be
# refused as a gzip bomb, leave no file at all in the output folder, and keep the client's
# peak RSS under MAX_RSS_MB (/usr/bin/time -v). Prints one line with the figures.
# Usage: cargo build --release -p wechatpay-cli && scripts/gzip-bomb.sh [GIB=4]
#        (WXPAY=path/to/wxpay for another build; MAX_RSS_MB, default 40)
set -euo pipefail
gib=${1:-4}
max_rss_mb=${MAX_RSS_MB:-40}
root="$(cd "$(dirname "$0")/.." && pwd)"
wxpay=$(realpath "${WXPAY:-$root/target/release/wxpay}")
dir=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"' EXIT

head -c "${gib}G" /dev/zero | gzip -9 >"$dir/bomb.gz"
python3 - "$dir/bomb.gz" >"$dir/port" <<'PY' &
import http.server, os, sys
path = sys.argv[1]
class Bill(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-gzip")
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.end_headers()
        with open(path, "rb") as f:
            try:
                while chunk := f.read(64 * 1024):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), Bill)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
server=$!
until [ -s "$dir/port" ]; do sleep 0.1; done
base="http://127.0.0.1:$(cat "$dir/port")"

"$wxpay" sandbox init "$dir/s" >/dev/null
mkdir "$dir/out"
cd "$dir/s"
set +e
WXPAY_BASE_URL="$base" /usr/bin/time -v -o "$dir/time" "$wxpay" bill fetch \
  --url "$base/v3/billdownload/file?token=bomb&tartype=gzip" \
  --sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 --out "$dir/out/bill.csv" 2>"$dir/err"
code=$?
set -e
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/time")
left=$(find "$dir/out" -mindepth 1 | wc -l)
echo "gzip bomb: ${gib} GiB of zeros in $(stat -c %s "$dir/bomb.gz") bytes; exit $code; peak RSS $((rss_kb / 1024)) MB; files left: $left"
echo "  $(cat "$dir/err")"
[ "$code" = 1 ] || { echo "FAIL: the download was not refused"; exit 1; }
grep -q "gzip bomb" "$dir/err" || { echo "FAIL: not refused as a gzip bomb"; exit 1; }
[ "$left" = 0 ] || { echo "FAIL: $left files left in the output folder"; exit 1; }
[ "$rss_kb" -lt $((max_rss_mb * 1024)) ] || { echo "FAIL: peak RSS over $max_rss_mb MB"; exit 1; }
