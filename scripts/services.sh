#!/usr/bin/env bash
# The real services the test suites talk to, on loopback: PostgreSQL 15 and an S3 server (versitygw), plus the
# interop oracles restic and rclone. Used by `npm test` (scripts/test.sh), CI and developers alike.
#
#   bash scripts/services.sh up        install what is missing, start what is stopped (idempotent)
#   bash scripts/services.sh env       print eval-able exports: eval "$(bash scripts/services.sh env)"
#   bash scripts/services.sh status    say what runs
#   bash scripts/services.sh down      stop the S3 server this checkout started (add --all to stop PostgreSQL too)
#
# Credentials and ports here are for tests on loopback only. docs/services.md explains the choices.
# E3_TEST_S3_PORT (default 19000) moves the S3 server, for a second checkout that wants its own; pass it to `env` too.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd -P)"
state="$root/.services"
s3_bin="$state/bin/versitygw"
s3_data="$state/s3data"
s3_port="${E3_TEST_S3_PORT:-19000}"
# Per port, so a server moved with E3_TEST_S3_PORT is never mistaken for the one on the default port.
s3_pid="$state/versitygw-$s3_port.pid"
s3_log="$state/versitygw-$s3_port.log"
s3_access=e3test
s3_secret=e3testsecret
s3_region=us-east-1
versitygw_module="github.com/versity/versitygw/cmd/versitygw@v1.8.0"
pg_version=15
pg_port=5432
pg_role=e3
pg_password=e3

say() { printf 'services: %s\n' "$*" >&2; }
fail() {
  say "$*"
  exit 1
}

# --- privileges and packages -----------------------------------------------------------------------------------

# CI runs this as root; a developer may not be, and then sudo must not prompt (no stdin in CI).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}

apt_updated=""
apt_install() {
  say "installing $* from Debian"
  # A fresh machine has no package lists yet; refresh them once per run, not once per package.
  if [ -z "$apt_updated" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
      fail "apt-get update failed; are Debian's package mirrors reachable?"
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || fail "apt-get install $* failed"
}

ensure_tools() {
  local missing=()
  command -v restic >/dev/null || missing+=(restic)
  command -v rclone >/dev/null || missing+=(rclone)
  command -v curl >/dev/null || missing+=(curl) # polls the S3 server
  command -v chromium >/dev/null || missing+=(chromium) # the portal's browser tests (driven by playwright-core)
  command -v cadaver >/dev/null || missing+=(cadaver) # a real WebDAV client for the mount tests
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# --- PostgreSQL ------------------------------------------------------------------------------------------------

# One column of `pg_lsclusters` for our cluster (3 = port, 4 = status), empty when the cluster does not exist.
pg_cluster_field() {
  pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" -v f="$1" '$1 == v && $2 == "main" { print $f }'
}

pg_online() {
  [[ "$(pg_cluster_field 4)" == online* ]]
}

pg_sql() {
  as_postgres psql -p "$pg_port" -tAc "$1"
}

postgres_up() {
  command -v pg_ctlcluster >/dev/null || apt_install "postgresql-$pg_version"
  # The package creates 15/main; a machine where it was dropped gets it back.
  [ -n "$(pg_cluster_field 2)" ] || as_root pg_createcluster "$pg_version" main >/dev/null
  local port
  port="$(pg_cluster_field 3)"
  [ "$port" = "$pg_port" ] ||
    fail "PostgreSQL $pg_version/main is configured for port $port, the tests expect $pg_port (another cluster took it?)"
  if ! pg_online; then
    say "starting PostgreSQL $pg_version"
    as_root pg_ctlcluster "$pg_version" main start
  fi
  for _ in $(seq 1 40); do
    pg_isready -q -h 127.0.0.1 -p "$pg_port" && break
    sleep 0.5
  done
  pg_isready -q -h 127.0.0.1 -p "$pg_port" || fail "PostgreSQL did not accept connections on 127.0.0.1:$pg_port"
  # Superuser: the suites create and drop a throw-away database per test file.
  if [ "$(pg_sql "SELECT 1 FROM pg_roles WHERE rolname = '$pg_role'")" != 1 ]; then
    pg_sql "CREATE ROLE $pg_role LOGIN SUPERUSER PASSWORD '$pg_password'" >/dev/null
  fi
  if [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$pg_role'")" != 1 ]; then
    as_postgres createdb -p "$pg_port" -O "$pg_role" "$pg_role"
  fi
}

postgres_down() {
  if pg_online; then as_root pg_ctlcluster "$pg_version" main stop && say "stopped PostgreSQL $pg_version"; fi
}

# --- S3 server (versitygw) -------------------------------------------------------------------------------------

ensure_versitygw() {
  [ -x "$s3_bin" ] && return
  command -v go >/dev/null ||
    fail "Go is needed to build the S3 server (versitygw) but \`go\` is not on PATH; install Go 1.25+ from go.dev (Debian 12's golang 1.19 is too old) and run this again"
  say "building versitygw with go install (one to two minutes on a fresh machine, seconds with a warm Go cache)"
  mkdir -p "$state/bin"
  GOBIN="$state/bin" GOFLAGS=-mod=mod go install "$versitygw_module" ||
    fail "go install $versitygw_module failed (it needs Go 1.25+; Go 1.21+ fetches that toolchain itself unless GOTOOLCHAIN=local)"
}

# True when the pid file names a live versitygw from this checkout (a recycled pid of another program does not count).
s3_ours() {
  [ -f "$s3_pid" ] || return 1
  local pid
  pid="$(cat "$s3_pid")"
  [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$s3_bin" ]
}

# Any HTTP answer (403 for an anonymous request) means something serves the port.
s3_answers() {
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$s3_port/" 2>/dev/null | grep -qE '^[1-5][0-9][0-9]$'
}

# A signed ListBuckets that succeeds means the server takes the test credentials, i.e. it is a test S3 server
# (typically another checkout's, started by this same script).
s3_takes_our_keys() {
  # (S3 wants x-amz-content-sha256 on every signed request; curl 7.88 signs it but does not add it.)
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    --aws-sigv4 "aws:amz:$s3_region:s3" --user "$s3_access:$s3_secret" "http://127.0.0.1:$s3_port/" 2>/dev/null)" = 200 ]
}

port_holder() {
  if command -v ss >/dev/null; then
    ss -ltnpH "sport = :$s3_port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | while IFS== read -r _ pid; do
      echo "pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | sed 's/ $//')"
    done
  fi
}

# Polls for up to 60 s (a first start on a busy machine, right after the Go build, can be slow); gives up early when
# the process has exited. Liveness is `kill -0`, not s3_ours: until the exec chain setsid -> nohup -> versitygw
# completes, /proc/<pid>/exe still names setsid or nohup, and a check made then would call a healthy start dead.
wait_for_s3() {
  local pid
  pid="$(cat "$s3_pid")"
  for _ in $(seq 1 240); do
    s3_answers && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}

start_s3() {
  mkdir -p "$s3_data"
  say "starting versitygw on 127.0.0.1:$s3_port"
  # setsid + nohup: the server outlives this script and is not hit by Ctrl-C or a CI step's process-group cleanup.
  # --quiet drops per-request logging; the log keeps startup errors (e.g. a data dir without xattr support).
  ROOT_ACCESS_KEY_ID="$s3_access" ROOT_SECRET_ACCESS_KEY="$s3_secret" \
    setsid nohup "$s3_bin" --port "127.0.0.1:$s3_port" --region "$s3_region" --quiet posix "$s3_data" \
    >"$s3_log" 2>&1 </dev/null &
  echo $! >"$s3_pid"
}

s3_up() {
  ensure_versitygw
  if ! s3_ours; then
    if s3_answers; then
      s3_takes_our_keys ||
        fail "port $s3_port is taken by something that is not a test S3 server ($(port_holder)); stop it or set E3_TEST_S3_PORT"
      say "port $s3_port already serves S3 with the test credentials ($(port_holder)); using it"
      return
    fi
    start_s3
  fi
  wait_for_s3 && return
  tail -n 20 "$s3_log" >&2 || true
  if kill -0 "$(cat "$s3_pid")" 2>/dev/null; then
    fail "versitygw runs but did not answer on 127.0.0.1:$s3_port within 60 s; its log ($s3_log) is above"
  fi
  fail "versitygw exited before it answered on 127.0.0.1:$s3_port; its log ($s3_log) is above"
}

s3_down() {
  if s3_ours; then
    local pid
    pid="$(cat "$s3_pid")"
    kill "$pid" 2>/dev/null || true
    # Wait for the port to be free, so an `up` right after a `down` starts cleanly.
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
    say "stopped versitygw"
  elif s3_answers; then
    say "port $s3_port is served by a process this checkout did not start ($(port_holder)); leaving it"
  fi
  rm -f "$s3_pid"
}

# --- commands --------------------------------------------------------------------------------------------------

print_env() {
  cat <<EOF
export E3_TEST_DATABASE_URL=postgresql://$pg_role:$pg_password@127.0.0.1:$pg_port/$pg_role
export E3_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
export E3_TEST_S3_ACCESS_KEY=$s3_access
export E3_TEST_S3_SECRET_KEY=$s3_secret
export E3_TEST_S3_REGION=$s3_region
export E3_ALLOWED_S3_ENDPOINTS=http://127.0.0.1:$s3_port
EOF
}

tool_version() {
  command -v "$1" >/dev/null || {
    echo missing
    return
  }
  "$1" version 2>/dev/null | head -n 1 || true # head closing the pipe early is not a failure
}

status() {
  if pg_online; then
    echo "postgresql $pg_version: running on 127.0.0.1:$pg_port"
  else
    echo "postgresql $pg_version: stopped"
  fi
  if s3_ours && s3_answers; then
    echo "s3 (versitygw): running on 127.0.0.1:$s3_port (pid $(cat "$s3_pid")), data in $s3_data"
  elif s3_answers; then
    echo "s3: 127.0.0.1:$s3_port is served by a process this checkout did not start ($(port_holder))"
  else
    echo "s3 (versitygw): stopped"
  fi
  echo "restic: $(tool_version restic)"
  echo "rclone: $(tool_version rclone)"
}

case "${1:-}" in
  up)
    ensure_tools
    postgres_up
    s3_up
    say "ready"
    ;;
  env) print_env ;;
  status) status ;;
  down)
    s3_down
    if [ "${2:-}" = "--all" ]; then postgres_down; fi
    ;;
  *)
    echo "usage: bash scripts/services.sh up|env|status|down [--all]" >&2
    exit 2
    ;;
esac
