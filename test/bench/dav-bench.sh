#!/usr/bin/env bash
# npm run bench:dav [-- OPTIONS] — Coffer's /dav/ beside Apache mod_dav, with the shared WebDAV benchmark.
#
# Starts the compiled Coffer in the background (temp data dir, free port, NODE_ENV=production) with
# the benchmark account alice / wonderland-42, starts the Apache peer (bench/peers.sh start apache),
# and runs bench/compare.sh round by round (Apache and Coffer interleaved in each round). Before each
# round it measures the fsync bound in Coffer's data dir (test/bench/fsync-probe.ts). At the end it
# prints issue 10's table (test/bench/dav-table.ts): medians, Coffer/Apache oriented so that >= 1.0
# means Coffer is at least as good, the PUT 4 KiB c=1 target (0.9 x the fsync bound) and the issue's
# "Done when" checks. Stops what it started and removes the data dirs on exit.
#
# Options:
#   --quick        compare.sh --quick (tiny sizes: a smoke test, not the issue's figures)
#   --rounds N     interleaved rounds (default 2; 3 with --stability)
#   --relaxed      a second Coffer started with DURABILITY=relaxed, its own column in the same run
#   --workers N    a Coffer started with WORKERS=N (N processes on one port), its own column
#   --scaleout N   a Coffer on the scale-out stack, its own column: WORKERS=N on one PostgreSQL
#                  database and an S3-compatible bucket (s3rver), started by test/bench/scaleout-stack.ts;
#                  run the whole benchmark under scripts/test-postgres.sh (npm run bench:dav:scaleout)
#   --stability    the servers are never restarted between rounds (they never are); prints each
#                  Coffer round by round and round N / round 1 per figure (Apache as the control)
# Env: COFFER_ENV="VAR=value ..." extra environment for Coffer (every Coffer column; values without
#      spaces), e.g. COFFER_ENV="DURABILITY=relaxed" or COFFER_ENV="NODE_OPTIONS=--max-semi-space-size=2";
#      ROUNDS, QUICK=1 (as the options); BENCH_TOOLS (default /work/shared/bench: peers.sh, compare.sh,
#      davbench.sh); BENCH_KEEP=1 (keep Coffer's data dirs and logs); compare.sh's QUIET_BUSY,
#      QUIET_WAIT, MAX_FOREIGN, RETRIES (it waits for an idle host before each run).
# Needs the Debian packages apache2 apache2-utils curl wrk litmus rclone (installed when missing and root).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=${BENCH_TOOLS:-/work/shared/bench}
ROUNDS=${ROUNDS:-}
QUICK=${QUICK:-0}
RELAXED=0
WORKERS=0
SCALEOUT=0
STABILITY=0
DAV_USER=alice
DAV_PASS=wonderland-42
say() { printf '[bench:dav] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
while (($#)); do
  case $1 in
    --quick) QUICK=1; shift ;;
    --rounds | -r) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
    --relaxed) RELAXED=1; shift ;;
    --workers) WORKERS=${2:?--workers needs a number}; shift 2 ;;
    --scaleout) SCALEOUT=${2:?--scaleout needs a number}; shift 2 ;;
    --stability) STABILITY=1; shift ;;
    -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -z $ROUNDS ]] && { ((STABILITY)) && ROUNDS=3 || ROUNDS=2; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive number"
[[ $WORKERS =~ ^[0-9]+$ ]] || die "--workers must be a number"
[[ $SCALEOUT =~ ^[0-9]+$ ]] || die "--scaleout must be a number"
((SCALEOUT == 0)) || [[ -n ${TEST_DATABASE_URL:-} ]] || die "--scaleout needs PostgreSQL: npm run bench:dav:scaleout (scripts/test-postgres.sh)"
read -ra EXTRA_ENV <<<"${COFFER_ENV:-}"
for kv in "${EXTRA_ENV[@]}"; do [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "COFFER_ENV: '$kv' is not VAR=value"; done

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
TSX=$ROOT/node_modules/.bin/tsx
node scripts/ensure-build.mjs >/dev/null
declare -A C_PID=() C_DATA=() C_URL=()
STARTED_APACHE=0
cleanup() {
  local name pid
  for name in "${!C_PID[@]}"; do
    pid=${C_PID[$name]}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then say "$name: data kept in ${C_DATA[$name]}, server log ${C_DATA[$name]}.log"
    else rm -rf -- "${C_DATA[$name]}" "${C_DATA[$name]}.log"; fi
  done
  ((STARTED_APACHE)) && "$TOOLS/peers.sh" stop apache >/dev/null 2>&1 || true
  # The scale-out stack after the Coffer on it: drops its database and removes the bucket.
  if [[ -n ${STACK_PID:-} ]]; then kill -TERM "$STACK_PID" 2>/dev/null; wait "$STACK_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_coffer NAME [VAR=value ...]: a Coffer with the benchmark account; sets C_PID/C_DATA/C_URL[NAME].
start_coffer() {
  local name=$1 data port url admin_pass log token code
  shift
  data=$(mktemp -d /tmp/coffer-davbench-XXXXXX)
  C_DATA[$name]=$data
  log=$data.log
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  url=http://127.0.0.1:$port
  admin_pass=$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
  # The figures must be the product's: production mode, default bcrypt cost (the DAV credential cache
  # keeps bcrypt off the per-request path), fsync on unless asked; quota and login throttle out of the way.
  env -i PATH="$PATH" HOME="${HOME:-/root}" NODE_ENV=production DATA_DIR="$data" PORT="$port" HOST=127.0.0.1 \
    ADMIN_PASSWORD="$admin_pass" DEFAULT_QUOTA=200GiB JOBS_ENABLED=false LOG_LEVEL=warn \
    LOGIN_MAX_FAILURES_PER_IP=1000000 "$@" \
    node dist/server/main.js >"$log" 2>&1 &
  C_PID[$name]=$!
  for _ in $(seq 150); do
    curl -sf "$url/api/health" >/dev/null && break
    kill -0 "${C_PID[$name]}" 2>/dev/null || { cat "$log" >&2; die "$name: Coffer exited at start"; }
    sleep 0.2
  done
  curl -sf "$url/api/health" >/dev/null || die "$name: Coffer did not answer $url/api/health"
  token=$(curl -sf -H 'content-type: application/json' -d "{\"username\":\"admin\",\"password\":\"$admin_pass\"}" "$url/api/auth/login" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"username\":\"$DAV_USER\",\"email\":\"$DAV_USER@example.test\",\"password\":\"$DAV_PASS\"}" "$url/api/admin/users")
  [[ $code == 201 ]] || die "$name: could not create the $DAV_USER account (HTTP $code)"
  code=$(curl -s -o /dev/null -w '%{http_code}' -u "$DAV_USER:$DAV_PASS" -X PROPFIND -H 'Depth: 0' "$url/dav/")
  [[ $code == 207 ]] || die "$name: /dav/ does not answer PROPFIND (HTTP $code): the WebDAV drive is not available in this build"
  C_URL[$name]=$url/dav/
  say "$name: $url/dav/ (pid ${C_PID[$name]}, data $data${*:+, env $*})"
}

start_coffer coffer "${EXTRA_ENV[@]}"
TARGETS=(apache "coffer=${C_URL[coffer]}#${C_PID[coffer]}")
if ((RELAXED)); then
  start_coffer coffer-relaxed "${EXTRA_ENV[@]}" DURABILITY=relaxed
  TARGETS+=("coffer-relaxed=${C_URL[coffer-relaxed]}#${C_PID[coffer-relaxed]}")
fi
if ((SCALEOUT > 0)); then
  stack_out=$(mktemp /tmp/coffer-scaleout-XXXXXX)
  "$TSX" test/bench/scaleout-stack.ts >"$stack_out" 2>&1 &
  STACK_PID=$!
  for _ in $(seq 150); do grep -q '^ready$' "$stack_out" && break; sleep 0.2; done
  grep -q '^ready$' "$stack_out" || { cat "$stack_out" >&2; die "the scale-out stack did not start"; }
  mapfile -t STACK_ENV < <(grep -E '^[A-Z_0-9]+=' "$stack_out")
  start_coffer "coffer-pg-s3-x$SCALEOUT" "${EXTRA_ENV[@]}" "${STACK_ENV[@]}" WORKERS="$SCALEOUT"
  TARGETS+=("coffer-pg-s3-x$SCALEOUT=${C_URL[coffer-pg-s3-x$SCALEOUT]}#${C_PID[coffer-pg-s3-x$SCALEOUT]}")
fi
if ((WORKERS > 1)); then
  # The PID is the primary's: CPU and memory are summed over its process tree (the workers).
  start_coffer "coffer-workers$WORKERS" "${EXTRA_ENV[@]}" WORKERS="$WORKERS"
  TARGETS+=("coffer-workers$WORKERS=${C_URL[coffer-workers$WORKERS]}#${C_PID[coffer-workers$WORKERS]}")
fi

# ---- Apache, and the rounds -------------------------------------------------------------------------------
if ! "$TOOLS/peers.sh" status 2>/dev/null | grep -q '^apache: up'; then
  "$TOOLS/peers.sh" start apache >&2
  STARTED_APACHE=1
fi
OUT=${TMPDIR:-/tmp}/davbench-results/coffer-vs-apache-$(date +%Y%m%d-%H%M%S).jsonl
mkdir -p "$(dirname "$OUT")"
quick=(); ((QUICK)) && quick=(--quick)
# One compare.sh call per round (same interleaving, appended to one file) so that the fsync bound is
# measured in every round, on the disk and at the time the uploads run.
for ((r = 1; r <= ROUNDS; r++)); do
  say "round $r/$ROUNDS: fsync probe in ${C_DATA[coffer]}"
  "$TSX" test/bench/fsync-probe.ts "${C_DATA[coffer]}" | tee -a "$OUT.fsync" >&2
  DAV_USER=$DAV_USER DAV_PASS=$DAV_PASS "$TOOLS/compare.sh" -r 1 -o "$OUT" "${quick[@]}" "${TARGETS[@]}" >&2
done

table=(); ((STABILITY)) && table=(--rounds)
"$TSX" test/bench/dav-table.ts "${table[@]}" "$OUT" "$OUT.fsync"
say "raw results: $OUT (fsync probes: $OUT.fsync)"
