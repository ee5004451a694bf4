#!/usr/bin/env bash
# Load test (issue 8, item 7): 200 concurrent connections against the
# release binary — 100 on portal pages (/ and /dang-nhap), 50 on the console
# list search over citizen accounts (GET /api/v1/citizen-accounts?name=nguyen,
# staff bearer token) and 50 on the chat (POST /api/v1/chat) — for DURATION
# seconds, three wrk processes at once so every kind has its own latency
# distribution. Prints p50/p99 and errors per kind, and the server's RSS
# (VmRSS) idle and at the end of the load.
#
#   apt-get install wrk                      # Debian package
#   cargo bench --bench citizen_list         # once: builds target/bench-citizens (1,000,000 accounts)
#   bash benches/load.sh [DB_DIR]            # default DB_DIR=target/bench-citizens
#
# Two modes:
#   saturated (default): every connection sends its next request as soon as
#     the last one is answered, so the machine runs flat out and latency is
#     mostly queueing (Little's law: connections / throughput);
#   PACED=1: each connection pauses between requests like a person (pages
#     every 100 ms, list every 1 s, chat every 500 ms: 1,000 + 50 + 100
#     requests/s offered, far above a province's real peak); the latencies
#     are then the server's own.
#
# The database is copied into a temp dir (the original stays untouched); a
# province admin is created there and signed in through the API, its OTP read
# from a local SMS receiver (.ci/sms_receiver.py).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${1:-target/bench-citizens}"
DURATION="${DURATION:-30}"
BIN="${MOTCUA_BIN:-target/release/motcua}"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK="$(mktemp -d)"
PORT="$(free_port)"; SMS_PORT="$(free_port)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/data"
[ -f "$SRC/motcua.redb" ] && cp "$SRC/motcua.redb" "$WORK/data/"
export MOTCUA_DATA_DIR="$WORK/data" MOTCUA_LISTEN="127.0.0.1:$PORT"
export MOTCUA_PUBLIC_URL="http://127.0.0.1:$PORT" MOTCUA_CAPTCHA=off
export MOTCUA_SMS_PROVIDER=http MOTCUA_SMS_HTTP_URL="http://127.0.0.1:$SMS_PORT/sms"
export RUST_LOG="${RUST_LOG:-warn}"
# Chat clients are told apart by X-Forwarded-For (benches/load/chat.lua):
# thousands of citizens, not one IP starting 12,000 conversations (that IP
# would be refused after 60 per 10 minutes, as it should be).
export MOTCUA_TRUST_PROXY=on

python3 .ci/sms_receiver.py "$SMS_PORT" "$WORK/sms.log" & PIDS+=($!)
echo 'Pass#Word2026x' | "$BIN" admin create-superadmin --username loadadmin --phone 0912000009 >/dev/null
"$BIN" serve >"$WORK/serve.log" 2>&1 & SERVER=$!; PIDS+=($SERVER)
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do curl -fsS "$BASE/api/v1/openapi.json" -o /dev/null 2>/dev/null && break; sleep 0.2; done

FLOW="$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"username":"loadadmin","password":"Pass#Word2026x"}' "$BASE/api/v1/staff/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["flow_id"])')"
OTP=""
for _ in $(seq 1 100); do
  OTP="$(python3 -c 'import json,re,sys
for l in open(sys.argv[1]):
    m = re.search(r"\b\d{6}\b", json.loads(l)["text"])
    if m: print(m.group(0))' "$WORK/sms.log" 2>/dev/null | tail -n1 || true)"
  [ -n "$OTP" ] && break; sleep 0.1
done
TOKEN="$(curl -fsS -H 'Content-Type: application/json' -d "{\"otp\":\"$OTP\"}" \
  "$BASE/api/v1/staff/login/$FLOW/otp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

rss() { awk '/VmRSS/ {print $2/1024 " MB"}' "/proc/$SERVER/status"; }
sleep 2
echo "RSS idle after start: $(rss)"
# Warm up each kind once, then let the process settle.
curl -fsS "$BASE/" -o /dev/null
curl -fsS -H 'Content-Type: application/json' -d '{"text":"xin chao"}' "$BASE/api/v1/chat" -o /dev/null
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/citizen-accounts?name=nguyen" -o /dev/null
sleep 2
echo "accounts in the list: $(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/citizen-accounts?name=nguyen" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v.get("total", "?"))')"
echo "RSS idle after one request of each kind: $(rss)"

if [ "${PACED:-0}" = 1 ]; then
  PAGES_DELAY=100 LIST_DELAY=1000 CHAT_DELAY=500
  echo "mode: paced (pages every ${PAGES_DELAY} ms, list every ${LIST_DELAY} ms, chat every ${CHAT_DELAY} ms per connection)"
else
  PAGES_DELAY=0 LIST_DELAY=0 CHAT_DELAY=0
  echo "mode: saturated"
fi
WRK_DELAY_MS=$PAGES_DELAY wrk -t1 -c100 -d"${DURATION}s" --latency -s benches/load/pages.lua \
  "$BASE" >"$WORK/pages.txt" &
W1=$!
WRK_DELAY_MS=$LIST_DELAY wrk -t1 -c50 -d"${DURATION}s" --latency -s benches/load/list.lua \
  -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/citizen-accounts?name=nguyen" >"$WORK/list.txt" &
W2=$!
WRK_DELAY_MS=$CHAT_DELAY wrk -t1 -c50 -d"${DURATION}s" --latency -s benches/load/chat.lua \
  "$BASE/api/v1/chat" >"$WORK/chat.txt" &
W3=$!
peak=0
while kill -0 "$W1" 2>/dev/null; do
  r="$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")"
  [ "$r" -gt "$peak" ] && peak="$r"
  sleep 0.5
done
wait "$W1" "$W2" "$W3"
echo "RSS under load: peak $((peak / 1024)) MB, at the end $(rss)"
for k in pages list chat; do
  f="$WORK/$k.txt"
  p50="$(awk '$1=="50%" {print $2}' "$f")"; p99="$(awk '$1=="99%" {print $2}' "$f")"
  reqs="$(awk '/requests in/ {print $1}' "$f")"; rps="$(awk '/Requests\/sec/ {print $2}' "$f")"
  non2xx="$(awk '/Non-2xx/ {print $5}' "$f")"; sockerr="$(grep -o 'Socket errors.*' "$f" || true)"
  echo "$k: requests $reqs ($rps/s) p50 $p50 p99 $p99 non-2xx ${non2xx:-0} ${sockerr}"
done
if grep -q panicked "$WORK/serve.log"; then echo "server panicked" >&2; exit 1; fi
