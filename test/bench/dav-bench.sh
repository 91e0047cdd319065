#!/usr/bin/env bash
# npm run bench:dav — Coffer's /dav/ beside Apache mod_dav, with the shared WebDAV benchmark.
#
# Starts the compiled Coffer in the background (temp data dir, free port, NODE_ENV=production) with
# the benchmark account alice / wonderland-42, starts the Apache peer (bench/peers.sh start apache),
# runs bench/compare.sh (interleaved rounds, median table) and adds a Coffer/Apache ratio per row.
# Stops what it started and removes the data dir on exit.
#
# Env: BENCH_TOOLS (default /work/shared/bench: peers.sh, compare.sh, davbench.sh),
#      ROUNDS (2), QUICK=1 (compare.sh --quick), BENCH_KEEP=1 (keep Coffer's data dir).
# Needs the Debian packages apache2 apache2-utils curl wrk litmus rclone (installed when missing and root).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=${BENCH_TOOLS:-/work/shared/bench}
ROUNDS=${ROUNDS:-2}
DAV_USER=alice
DAV_PASS=wonderland-42
say() { printf '[bench:dav] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ -x $TOOLS/compare.sh && -x $TOOLS/peers.sh ]] || die "the WebDAV benchmark tools are not in $TOOLS (set BENCH_TOOLS)"

# ---- tools ----------------------------------------------------------------------------------------
missing=()
for p in apache2 apache2-utils curl wrk litmus rclone; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})"
  say "installing ${missing[*]}"
  lock=(); command -v flock >/dev/null && lock=(flock /tmp/coffer-apt.lock)
  DEBIAN_FRONTEND=noninteractive "${lock[@]}" apt-get -qq -y -o DPkg::Lock::Timeout=300 install "${missing[@]}" >/dev/null ||
    { "${lock[@]}" apt-get -qq update && DEBIAN_FRONTEND=noninteractive "${lock[@]}" apt-get -qq -y install "${missing[@]}" >/dev/null; }
fi

# ---- Coffer -----------------------------------------------------------------------------------------
cd "$ROOT"
node scripts/ensure-build.mjs >/dev/null
DATA=$(mktemp -d /tmp/coffer-davbench-XXXXXX)
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
URL=http://127.0.0.1:$PORT
ADMIN_PASS=$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
SERVER_LOG=$DATA.log
PID=""
STARTED_APACHE=0
cleanup() {
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  ((STARTED_APACHE)) && "$TOOLS/peers.sh" stop apache >/dev/null 2>&1 || true
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then say "data kept in $DATA, server log $SERVER_LOG"; else rm -rf -- "$DATA" "$SERVER_LOG"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The figures must be the product's: production mode, default bcrypt cost (the DAV credential cache
# keeps bcrypt off the per-request path), fsync on; quota and login throttle out of the benchmark's way.
env -i PATH="$PATH" HOME="${HOME:-/root}" NODE_ENV=production DATA_DIR="$DATA" PORT="$PORT" HOST=127.0.0.1 \
  ADMIN_PASSWORD="$ADMIN_PASS" DEFAULT_QUOTA=200GiB JOBS_ENABLED=false LOG_LEVEL=warn \
  LOGIN_MAX_FAILURES_PER_IP=1000000 \
  node dist/server/main.js >"$SERVER_LOG" 2>&1 &
PID=$!
for i in $(seq 150); do
  curl -sf "$URL/api/health" >/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; die "Coffer exited at start"; }
  sleep 0.2
done
curl -sf "$URL/api/health" >/dev/null || die "Coffer did not answer $URL/api/health"

token=$(curl -sf -H 'content-type: application/json' -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASS\"}" "$URL/api/auth/login" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"username\":\"$DAV_USER\",\"email\":\"$DAV_USER@example.test\",\"password\":\"$DAV_PASS\"}" "$URL/api/admin/users")
[[ $code == 201 ]] || die "could not create the $DAV_USER account (HTTP $code)"

code=$(curl -s -o /dev/null -w '%{http_code}' -u "$DAV_USER:$DAV_PASS" -X PROPFIND -H 'Depth: 0' "$URL/dav/")
[[ $code == 207 ]] || die "Coffer's /dav/ does not answer PROPFIND (HTTP $code): the WebDAV drive is not available in this build"
say "Coffer $URL/dav/ (pid $PID, data $DATA)"

# ---- Apache and the comparison ------------------------------------------------------------------------
if ! "$TOOLS/peers.sh" status 2>/dev/null | grep -q '^apache: up'; then
  "$TOOLS/peers.sh" start apache >&2
  STARTED_APACHE=1
fi
OUT=${TMPDIR:-/tmp}/davbench-results/coffer-vs-apache-$(date +%Y%m%d-%H%M%S).jsonl
mkdir -p "$(dirname "$OUT")"
quick=(); [[ ${QUICK:-0} == 1 ]] && quick=(--quick)
DAV_USER=$DAV_USER DAV_PASS=$DAV_PASS "$TOOLS/compare.sh" -r "$ROUNDS" -o "$OUT" "${quick[@]}" apache "ours=$URL/dav/#$PID"

# Ratio per row, oriented so that >= 1.0 means Coffer is at least as good as Apache.
echo
node - "$OUT" <<'JS'
const fs = require('fs');
const runs = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
for (const r of runs) { // server CPU per request during the wrk phases, as summarize.mjs derives it
  if (typeof r.cpu_get_wrk_s === 'number' && r.get4k_c8_rps) r.cpu_us_per_get = (1e6 * r.cpu_get_wrk_s) / (r.get4k_c8_rps * r.wrk_secs);
  if (typeof r.cpu_propfind_wrk_s === 'number' && r.propfind_d0_c8_rps) r.cpu_us_per_propfind0 = (1e6 * r.cpu_propfind_wrk_s) / (r.propfind_d0_c8_rps * r.wrk_secs);
}
const median = (a) => { const s = a.filter((x) => typeof x === 'number').sort((x, y) => x - y); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
// [key, title, higher is better]
const rows = [
  ['put4k_c1_files_per_s', 'PUT 4 KiB, c=1 (files/s)', true], ['put4k_c8_files_per_s', 'PUT 4 KiB, c=8 (files/s)', true],
  ['propfind_d1_median_ms', 'PROPFIND Depth 1, 1000 children (ms)', false], ['propfind_d0_c8_rps', 'PROPFIND Depth 0, c=8 (req/s)', true],
  ['get4k_c8_rps', 'GET 4 KiB, c=8 (req/s)', true], ['get4k_c8_p50_ms', 'GET 4 KiB, c=8, p50 (ms)', false],
  ['big_put_mbps', 'PUT 512 MiB (MB/s)', true], ['big_get_mbps', 'GET 512 MiB (MB/s)', true],
  ['copy_coll_ms', 'COPY folder of 1000 (ms)', false], ['move_coll_ms', 'MOVE folder of 1000 (ms)', false], ['delete_coll_ms', 'DELETE folder of 1000 (ms)', false],
  ['rclone_sync_s', 'rclone sync 2000 files (s)', false], ['rclone_resync_s', 'rclone no-change re-sync (s)', false],
  ['cpu_us_per_propfind0', 'server CPU per PROPFIND D0 (µs)', false], ['cpu_us_per_get', 'server CPU per GET 4 KiB (µs)', false],
  ['cpu_total_s', 'server CPU, whole run (s)', false], ['mem_rss_peak_mib', 'server peak RSS (MiB)', false],
  ['foreign_cpu_s', 'other processes\' CPU during the run (s; ~0 = clean)', false],
];
const f = (x) => (x === null ? 'n/a' : x >= 100 ? String(Math.round(x)) : String(Math.round(x * 10) / 10));
console.log('| workload (median) | Apache | Coffer | Coffer/Apache (>= 1.0: as good or better) |');
console.log('|---|---:|---:|---:|');
for (const [k, title, hib] of rows) {
  const a = median(runs.filter((r) => r.label === 'apache').map((r) => r[k]));
  const o = median(runs.filter((r) => r.label === 'ours').map((r) => r[k]));
  if (a === null && o === null) continue;
  const ratio = k === 'foreign_cpu_s' || !a || !o ? null : hib ? o / a : a / o;
  console.log(`| ${title} | ${f(a)} | ${f(o)} | ${ratio === null ? '' : ratio.toFixed(2)} |`);
}
JS
say "raw results: $OUT"
