#!/usr/bin/env bash
# The real services the test suites talk to, on loopback: PostgreSQL 15 and an S3 server (versitygw), plus the
# interop oracles restic and rclone. Used by `npm test` (scripts/test.sh), CI and developers alike.
#
#   bash scripts/services.sh up        install what is missing, start what is stopped (idempotent)
#   bash scripts/services.sh env       print eval-able exports: eval "$(bash scripts/services.sh env)"
#   bash scripts/services.sh status    say what runs
#   bash scripts/services.sh down      stop the S3 server (add --all to stop PostgreSQL too)
#
# Credentials and ports here are for tests on loopback only. docs/services.md explains the choices.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/.services"
s3_bin="$state/bin/versitygw"
s3_data="$state/s3data"
s3_pid="$state/versitygw.pid"
s3_log="$state/versitygw.log"
s3_port=19000
s3_access=e3test
s3_secret=e3testsecret
s3_region=us-east-1
versitygw_module="github.com/versity/versitygw/cmd/versitygw@v1.8.0"
pg_version=15
pg_role=e3
pg_password=e3

say() { printf 'services: %s\n' "$*" >&2; }
fail() {
  say "$*"
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

apt_install() {
  say "installing $* from Debian"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
    fail "apt-get update failed; are Debian's package mirrors reachable?"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || fail "apt-get install $* failed"
}

ensure_tools() {
  local missing=()
  command -v restic >/dev/null || missing+=(restic)
  command -v rclone >/dev/null || missing+=(rclone)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}

postgres_up() {
  command -v pg_ctlcluster >/dev/null || apt_install "postgresql-$pg_version"
  if ! pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" '$1 == v && $2 == "main"' | grep -q .; then
    as_root pg_createcluster "$pg_version" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    say "starting PostgreSQL $pg_version"
    as_root pg_ctlcluster "$pg_version" main start
  fi
  for _ in $(seq 1 30); do
    as_postgres pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.5
  done
  as_postgres pg_isready -q -h 127.0.0.1 -p 5432 || fail "PostgreSQL did not accept connections on 127.0.0.1:5432"
  # Superuser: the suites create and drop a throw-away database per test file.
  if ! as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$pg_role'" | grep -q 1; then
    as_postgres psql -qc "CREATE ROLE $pg_role LOGIN SUPERUSER PASSWORD '$pg_password'"
  fi
  if ! as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$pg_role'" | grep -q 1; then
    as_postgres createdb -O "$pg_role" "$pg_role"
  fi
}

s3_running() {
  [ -f "$s3_pid" ] && kill -0 "$(cat "$s3_pid")" 2>/dev/null
}

s3_answers() {
  # Any HTTP answer (403 for an anonymous request) means the server is up.
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$s3_port/" 2>/dev/null | grep -qE '^[1-5][0-9][0-9]$'
}

s3_up() {
  mkdir -p "$state/bin" "$s3_data"
  if [ ! -x "$s3_bin" ]; then
    command -v go >/dev/null || fail "Go is needed to build the S3 server (versitygw); install golang from Debian or go.dev"
    say "building versitygw with go install (about a minute the first time; the Go build cache makes it fast after)"
    GOBIN="$state/bin" GOFLAGS=-mod=mod go install "$versitygw_module" || fail "go install $versitygw_module failed"
  fi
  if s3_running && s3_answers; then return; fi
  if s3_answers; then
    fail "port $s3_port answers but not from our S3 server; stop whatever listens there"
  fi
  say "starting versitygw on 127.0.0.1:$s3_port"
  ROOT_ACCESS_KEY_ID="$s3_access" ROOT_SECRET_ACCESS_KEY="$s3_secret" \
    nohup "$s3_bin" --port "127.0.0.1:$s3_port" --region "$s3_region" --quiet posix "$s3_data" \
    >"$s3_log" 2>&1 </dev/null &
  echo $! >"$s3_pid"
  for _ in $(seq 1 80); do
    s3_answers && return
    s3_running || break
    sleep 0.25
  done
  tail -n 20 "$s3_log" >&2 || true
  fail "versitygw did not start; its log is above"
}

s3_down() {
  if s3_running; then
    kill "$(cat "$s3_pid")" 2>/dev/null || true
    say "stopped versitygw"
  fi
  rm -f "$s3_pid"
}

print_env() {
  cat <<EOF
export E3_TEST_DATABASE_URL=postgresql://$pg_role:$pg_password@127.0.0.1:5432/$pg_role
export E3_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
export E3_TEST_S3_ACCESS_KEY=$s3_access
export E3_TEST_S3_SECRET_KEY=$s3_secret
export E3_TEST_S3_REGION=$s3_region
EOF
}

status() {
  if pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" '$1 == v && $4 == "online"' | grep -q .; then
    echo "postgresql $pg_version: running on 127.0.0.1:5432"
  else
    echo "postgresql $pg_version: stopped"
  fi
  if s3_running && s3_answers; then
    echo "s3 (versitygw): running on 127.0.0.1:$s3_port, data in $s3_data"
  else
    echo "s3 (versitygw): stopped"
  fi
  echo "restic: $(command -v restic >/dev/null && restic version | head -n 1 || echo missing)"
  echo "rclone: $(command -v rclone >/dev/null && rclone version 2>/dev/null | head -n 1 || echo missing)"
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
    if [ "${2:-}" = "--all" ]; then as_root pg_ctlcluster "$pg_version" main stop || true; fi
    ;;
  *)
    echo "usage: bash scripts/services.sh up|env|status|down [--all]" >&2
    exit 2
    ;;
esac
