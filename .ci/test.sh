#!/usr/bin/env bash
# Runs every test of motcua on a fresh Debian machine: installs what the tests
# need (Chromium, ChromeDriver, fonts, poppler, Python's venv for
# schemathesis, axe-core from npm), then formatting, lints, unit, API and
# real-browser tests (the page walk included),
# then a time-bounded schemathesis run against the API.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
# .ci/schemathesis.sh: curl, python3 with venv + ensurepip (pip comes from
# ensurepip inside the venv), and CA certificates for the package index.
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The PostgreSQL pass: the server (initdb, pg_ctl) and psql.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing test dependencies: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# axe-core for the page walk's accessibility checks (tests/api/pagewalk.rs).
if [ ! -f target/axe/node_modules/axe-core/axe.min.js ]; then
  command -v npm >/dev/null 2>&1 || { $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null; }
  mkdir -p target/axe
  npm install --no-save --silent --prefix target/axe axe-core@4
fi

cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --lib --bins --tests 2>&1

# The same integration suite on PostgreSQL: a cluster of its own (initdb
# into a temp dir, a free port, as the postgres user when run as root), one
# fresh database per test (tests/api/engine.rs), removed afterwards.
pgdir=$(mktemp -d /tmp/motcua-pg.XXXXXX)
trap 'bash .ci/postgres.sh stop "$pgdir"' EXIT
pgurl=$(bash .ci/postgres.sh start "$pgdir")
MOTCUA_TEST_DATABASE_URL="$pgurl" cargo test --test api 2>&1

# API fuzzing, bounded: a 150 s budget for schemathesis itself (about 3 min
# in all on 2 cores once its venv exists; the first run also installs it).
MAX_EXAMPLES=5 MAX_TIME=150 bash .ci/schemathesis.sh
