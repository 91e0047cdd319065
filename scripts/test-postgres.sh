#!/usr/bin/env bash
# Runs a command (by default the mocha suite) against a throwaway PostgreSQL 15 cluster: initdb in a
# temporary folder, started on loopback at a free port, TEST_DATABASE_URL set to its admin URL (the
# test harness creates a fresh database per test server from it), and the cluster removed after.
#   bash scripts/test-postgres.sh                 # npx mocha
#   bash scripts/test-postgres.sh npx mocha --no-config --node-option import=tsx test/api/tree.test.ts
# PostgreSQL refuses to run as root: when we are root, the server runs as the `postgres` user.
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "test-postgres: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 2; }
dir=$(mktemp -d /tmp/coffer-pg-XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as_pg=(runuser -u postgres --); fi
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
stop() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
"${as_pg[@]}" "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 2; }
# A test cluster: no fsync (a crash loses it anyway), enough connections for a pool per test server.
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "test-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
if [ $# -eq 0 ]; then set -- npx mocha; fi
set +e
"$@"
rc=$?
set -e
exit $rc
