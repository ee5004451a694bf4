#!/usr/bin/env bash
# API fuzzing (issue 8, item 2): schemathesis against the running server's
# /api/v1/openapi.json, signed in as a province admin (bearer token).
# Checks: no 5xx (not_a_server_error) and every response matches the
# documented status codes and schemas (status_code_conformance,
# response_schema_conformance). Exits non-zero on any failure.
#
#   bash .ci/schemathesis.sh            # bounded: MAX_EXAMPLES=5, MAX_TIME=150 s
#   MAX_EXAMPLES=50 MAX_TIME=900 bash .ci/schemathesis.sh
#
# Needs python3 (venv) and network access to PyPI once (schemathesis goes
# into target/st-venv). Tests the debug binary of the working tree (built
# here; a possibly stale release binary is not used), or MOTCUA_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES="${MAX_EXAMPLES:-5}"
MAX_TIME="${MAX_TIME:-150}"
# Pinned: the flags below (--max-time, --phases) are this version's.
ST_VERSION=4.32.5
VENV=target/st-venv
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$ST_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$ST_VERSION"
fi
BIN="${MOTCUA_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build -q --bin motcua
  BIN=target/debug/motcua
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK="$(mktemp -d)"
PORT="$(free_port)"
SMS_PORT="$(free_port)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export MOTCUA_DATA_DIR="$WORK/data"
export MOTCUA_LISTEN="127.0.0.1:$PORT"
export MOTCUA_PUBLIC_URL="http://127.0.0.1:$PORT"
export MOTCUA_CAPTCHA=off
export MOTCUA_SMS_PROVIDER=http
export MOTCUA_SMS_HTTP_URL="http://127.0.0.1:$SMS_PORT/sms"
export RUST_LOG="${RUST_LOG:-warn}"
mkdir -p "$MOTCUA_DATA_DIR"

python3 .ci/sms_receiver.py "$SMS_PORT" "$WORK/sms.log" &
PIDS+=($!)
echo 'Pass#Word2026x' | "$BIN" admin create-superadmin --username quantri --phone 0912000001 >/dev/null
"$BIN" serve >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  curl -fsS "$BASE/api/v1/openapi.json" -o /dev/null 2>/dev/null && break
  sleep 0.2
done

# Sign in through the API: password, then the OTP read from the SMS receiver.
FLOW="$(curl -sS -H 'Content-Type: application/json' \
  -d '{"username":"quantri","password":"Pass#Word2026x"}' "$BASE/api/v1/staff/login" |
  tee "$WORK/login.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["flow_id"])')" || { cat "$WORK/login.json" "$WORK/serve.log" >&2; exit 1; }
OTP=""
for _ in $(seq 1 100); do
  OTP="$(python3 -c 'import json,re,sys
for l in open(sys.argv[1]):
    m = re.search(r"\b\d{6}\b", json.loads(l)["text"])
    if m: print(m.group(0))' "$WORK/sms.log" 2>/dev/null | tail -n1 || true)"
  [ -n "$OTP" ] && break
  sleep 0.1
done
[ -n "$OTP" ] || { echo "no OTP reached the SMS receiver" >&2; cat "$WORK/serve.log" >&2; exit 1; }
TOKEN="$(curl -fsS -H 'Content-Type: application/json' -d "{\"otp\":\"$OTP\"}" \
  "$BASE/api/v1/staff/login/$FLOW/otp" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

# /logout would end the session the rest of the run uses.
# The outer timeout only guards against a hang past the time budget.
set +e
timeout --kill-after=10 "$((MAX_TIME + 120))" "$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance \
  --exclude-path /logout \
  --phases examples,coverage,fuzzing \
  --max-examples "$MAX_EXAMPLES" \
  --max-time "$MAX_TIME" \
  --workers 2 \
  --request-timeout 10 \
  --suppress-health-check all \
  --warnings off \
  --seed "${SEED:-1}" \
  --no-color
rc=$?
set -e
if grep -q 'panicked' "$WORK/serve.log"; then
  echo "server panicked:" >&2; grep -A3 'panicked' "$WORK/serve.log" >&2; rc=1
fi
exit "$rc"
