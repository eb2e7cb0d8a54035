#!/usr/bin/env bash
# Starts Bugsink (a self-hosted, Sentry-compatible error tracker) on 127.0.0.1 and
# prints a DSN, so you can see your program's notifications without an account:
#
#   scripts/bugsink.sh            # port 8000; Ctrl-C stops it
#   SENTRY_DSN=<the DSN> APP_ENV=production cargo run
#
# Then open http://127.0.0.1:8000/ (user admin, password admin). Needs Python 3.10+
# and the package index once: Bugsink 2.6.1 is installed with pip into a virtualenv
# (target/bugsink-venv, the one the test suite uses). Its data lives in
# target/bugsink-local (delete it to start afresh). The same steps as
# test-support/src/bugsink.rs.
set -euo pipefail

port="${1:-8000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${BUGSINK_VENV:-$root/target/bugsink-venv}"
data="${BUGSINK_DIR:-$root/target/bugsink-local}"
version=2.6.1

if [ ! -x "$venv/bin/bugsink-manage" ]; then
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
        { echo "Bugsink needs Python 3.10 or later" >&2; exit 1; }
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --timeout 30 "bugsink==$version"
fi
export PATH="$venv/bin:$PATH" PYTHONUNBUFFERED=1
unset DJANGO_SETTINGS_MODULE PYTHONPATH

mkdir -p "$data"
cd "$data"
if [ ! -f bugsink_conf.py ]; then
    bugsink-create-conf --template=local --host=127.0.0.1 --port="$port" >/dev/null
    printf '\nBUGSINK["PHONEHOME"] = False\nBUGSINK["INGEST_STORE_BASE_DIR"] = "%s"\n' \
        "$data/ingestion" >>bugsink_conf.py
    bugsink-manage migrate --noinput >/dev/null
    bugsink-manage migrate snappea --database=snappea --noinput >/dev/null
    DJANGO_SUPERUSER_USERNAME=admin DJANGO_SUPERUSER_EMAIL=admin@example.com \
        DJANGO_SUPERUSER_PASSWORD=admin \
        bugsink-manage createsuperuser --noinput >/dev/null
    bugsink-manage create_auth_token | grep -Eo '\b[0-9a-f]{40}\b' | tail -n1 >token
fi
token="$(cat token)"

bugsink-manage runserver "127.0.0.1:$port" --noreload >server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT INT TERM
api="http://127.0.0.1:$port/api/canonical/0"
for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
    kill -0 $server 2>/dev/null || { cat server.log >&2; exit 1; }
    sleep 0.5
done

call() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
if [ ! -f project ]; then
    team="$(call -d '{"name": "local"}' "$api/teams/" | json '["id"]')"
    call -d "{\"team\": \"$team\", \"name\": \"local\"}" "$api/projects/" | json '["id"]' >project
fi
dsn="$(call "$api/projects/$(cat project)/" | json '["dsn"]')"

echo "Bugsink on http://127.0.0.1:$port/ (user admin, password admin); Ctrl-C stops it"
echo "SENTRY_DSN=$dsn"
wait $server
