#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on a free local port and print the DSN on stdout.
# Usage:  export COMPLAINT_ENGINE_PG_DSN=$(bash .ci/postgres.sh)      (stop: bash .ci/postgres.sh stop)
# Installs Debian's postgresql when no server binaries are found. Runs the server as the postgres user.
set -euo pipefail
# one state folder per user of the script: CI passes its own (mktemp), so it never touches a developer's server
STATE=${COMPLAINT_ENGINE_PG_DIR:-/tmp/complaint-engine-pg-dev}
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ "${1:-}" = "stop" ]; then
  BIN=$(find_bin); [ -n "$BIN" ] && [ -d "$STATE/data" ] && runuser -u postgres -- "$BIN/pg_ctl" -D "$STATE/data" stop -m fast >&2 || true
  exit 0
fi
BIN=$(find_bin)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  echo "installing postgresql (Debian)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN=$(find_bin)
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ -d "$STATE/data" ]; then runuser -u postgres -- "$BIN/pg_ctl" -D "$STATE/data" stop -m fast >&2 || true; fi
rm -rf "$STATE"; mkdir -p "$STATE/socket"; chown -R postgres:postgres "$STATE"
runuser -u postgres -- "$BIN/initdb" -D "$STATE/data" -A trust -U postgres --no-sync >&2
runuser -u postgres -- "$BIN/pg_ctl" -D "$STATE/data" -l "$STATE/log" -w \
  -o "-p $PORT -k $STATE/socket -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
runuser -u postgres -- "$BIN/createdb" -h "$STATE/socket" -p "$PORT" complaints >&2
echo "host=127.0.0.1 port=$PORT dbname=complaints user=postgres"
