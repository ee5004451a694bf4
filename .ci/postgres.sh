#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the tests and prints its URL.
#
#   url=$(bash .ci/postgres.sh start DIR)   # initdb into DIR, free port, start
#   bash .ci/postgres.sh stop DIR
#   bash .ci/postgres.sh pause DIR           # stop the server, keep the cluster
#   bash .ci/postgres.sh resume DIR          # start it again on the same port
#
# Installs PostgreSQL with apt-get when it is missing. Runs the server as the
# `postgres` user when called as root (PostgreSQL refuses to run as root).
# The tests create one database per test on it (tests/api/engine.rs).
# Durability is off for the tests (fsync=off); benchmarks set PG_FSYNC=on.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?cluster directory}

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "Installing PostgreSQL" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" = "0" ]; then chown postgres "$dir"; fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$bin/initdb" -D "$dir/data" -U motcua --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  echo "$port" >"$dir/port"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=${PG_FSYNC:-off} -c full_page_writes=${PG_FSYNC:-off}" \
    start >/dev/null
  echo "postgres://motcua@127.0.0.1:$port/postgres"
  ;;
pause)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
resume)
  port=$(cat "$dir/port")
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=${PG_FSYNC:-off} -c full_page_writes=${PG_FSYNC:-off}" \
    start >/dev/null
  ;;
stop)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop|pause|resume DIR" >&2
  exit 2
  ;;
esac
