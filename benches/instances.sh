#!/usr/bin/env bash
# Storage engines and instances side by side (issue 17): the release binary
# on redb, on PostgreSQL with one instance, and on PostgreSQL with two
# instances sharing the database (the load split evenly between them, as a
# reverse proxy would). Each phase runs alone for DURATION seconds:
#
#   chat     POST /api/v1/chat, 50 connections (a new conversation each)
#   list     GET /api/v1/citizen-accounts?name=nguyen, 16 connections, staff
#            bearer token (the seeded database's 1,000,000 accounts)
#   signin   POST /api/v1/staff/login (the password step: argon2id, then the
#            flow, an OTP and its SMS in one write), 8 connections
#
#   bash benches/instances.sh redb     [REDB_DIR]   # default target/bench-citizens
#   bash benches/instances.sh postgres URL [1|2]    # URL of a seeded database
#
# Seed the accounts once per engine with the list benchmark:
#   cargo bench --bench citizen_list                          # redb
#   BENCH_DATABASE_URL=postgres://… cargo bench --bench citizen_list
# For a throw-away PostgreSQL with durability on:
#   PG_FSYNC=on bash .ci/postgres.sh start /tmp/pgbench
# wrk is the Debian package `wrk`; the SMS go to a local receiver.
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE="${1:?redb|postgres}"
DURATION="${DURATION:-20}"
BIN="${MOTCUA_BIN:-target/release/motcua}"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

N=1
unset MOTCUA_DATABASE_URL
if [ "$ENGINE" = postgres ]; then
  export MOTCUA_DATABASE_URL="${2:?the database URL}"
  N="${3:-1}"
else
  SRC="${2:-target/bench-citizens}"
fi
SMS_PORT="$(free_port)"
export MOTCUA_PUBLIC_URL="http://127.0.0.1" MOTCUA_CAPTCHA=off
export MOTCUA_SMS_PROVIDER=http MOTCUA_SMS_HTTP_URL="http://127.0.0.1:$SMS_PORT/sms"
export RUST_LOG="${RUST_LOG:-warn}" MOTCUA_TRUST_PROXY=on MOTCUA_BACKUP_EVERY_HOURS=0
python3 .ci/sms_receiver.py "$SMS_PORT" "$WORK/sms.log" & PIDS+=($!)

# A fresh admin per run: the sign-in phase uses up its phone's OTP cap.
ADMIN="load$(date +%s)"
ADMIN_PHONE="0912$(printf '%06d' $((RANDOM * 30 % 1000000)))"
BASES=()
for i in $(seq 1 "$N"); do
  mkdir -p "$WORK/data$i"
  if [ "$ENGINE" = redb ] && [ -f "$SRC/motcua.redb" ]; then cp "$SRC/motcua.redb" "$WORK/data$i/"; fi
  if [ "$i" = 1 ]; then
    echo 'Pass#Word2026x' | MOTCUA_DATA_DIR="$WORK/data1" "$BIN" admin create-superadmin \
      --username "$ADMIN" --phone "$ADMIN_PHONE" >/dev/null
  fi
  PORT="$(free_port)"
  MOTCUA_DATA_DIR="$WORK/data$i" MOTCUA_LISTEN="127.0.0.1:$PORT" "$BIN" serve \
    >"$WORK/serve$i.log" 2>&1 & PIDS+=($!)
  BASES+=("http://127.0.0.1:$PORT")
done
for b in "${BASES[@]}"; do
  for _ in $(seq 1 300); do curl -fsS "$b/healthz" -o /dev/null 2>/dev/null && break; sleep 0.2; done
done
B1="${BASES[0]}"

FLOW="$(curl -fsS -H 'Content-Type: application/json' \
  -d "{\"username\":\"$ADMIN\",\"password\":\"Pass#Word2026x\"}" "$B1/api/v1/staff/login" |
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
  "$B1/api/v1/staff/login/$FLOW/otp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
TOTAL="$(curl -fsS -H "Authorization: Bearer $TOKEN" "$B1/api/v1/citizen-accounts?name=nguyen" |
  python3 -c 'import json,sys; print(json.load(sys.stdin).get("total", "?"))')"
echo "engine $ENGINE, $N instance(s), accounts named nguyen: $TOTAL, $DURATION s per phase"

# Runs wrk on every instance at once with CONNS split between them and
# prints the summed rate and the worst p50/p99 of the instances.
phase() {
  local name="$1" conns="$2" script="$3" path="$4"; shift 4
  local per=$((conns / N)) i=0 pids=()
  for b in "${BASES[@]}"; do
    i=$((i + 1))
    wrk -t1 -c"$per" -d"${DURATION}s" --latency -s "$script" "$@" "$b$path" >"$WORK/$name$i.txt" &
    pids+=($!)
  done
  wait "${pids[@]}"
  python3 - "$name" "$WORK" "$N" <<'PY'
import re, sys
name, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else x * 1000 if m.group(2) == "s" else x
rate = 0.0; p50 = p99 = 0.0; non2xx = 0
for i in range(1, n + 1):
    t = open(f"{work}/{name}{i}.txt").read()
    rate += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p50 = max(p50, ms(re.search(r"\s50%\s+(\S+)", t).group(1)))
    p99 = max(p99, ms(re.search(r"\s99%\s+(\S+)", t).group(1)))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    non2xx += int(m.group(1)) if m else 0
print(f"{name}: {rate:,.0f}/s  p50 {p50:.1f} ms  p99 {p99:.1f} ms  non-2xx {non2xx}")
PY
}

phase chat 50 benches/load/chat.lua /api/v1/chat
phase list 16 benches/load/list.lua "/api/v1/citizen-accounts?name=nguyen" -H "Authorization: Bearer $TOKEN"
ADMIN="$ADMIN" phase signin 8 benches/load/signin.lua /api/v1/staff/login
if grep -q panicked "$WORK"/serve*.log; then echo "a server panicked" >&2; exit 1; fi
