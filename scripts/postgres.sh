# Sourced by the test command: a throwaway PostgreSQL cluster for the tests.
#   pg_start   installs Debian's postgresql if missing, starts a cluster in a temporary folder on
#              a free port (fsync off: nothing in it outlives the run) and exports
#              CALLVAULT_TEST_POSTGRES_URL;
#   pg_stop    stops it and removes the folder. Safe to call twice, or when nothing started.
pg_bin() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] && dirname "$initdb"
}

pg_start() {
  if [ -z "$(pg_bin)" ]; then
    # Debian starts a cluster of its own when the package is installed; a policy-rc.d that
    # refuses keeps it from doing so (the tests start their own).
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    local policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
      $sudo chmod +x "$policy"
      install_packages postgresql
      $sudo rm -f "$policy"
    else
      install_packages postgresql
    fi
  fi
  local bin
  bin=$(pg_bin)
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/callvault-pg.XXXXXX")
  PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root.
    chown postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -N -D "$PG_DIR/data" -U app --auth=trust >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -w -l "$PG_DIR/server.log" \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
  PG_STARTED_AS=("${as[@]}")
  export CALLVAULT_TEST_POSTGRES_URL="postgres://app@127.0.0.1:$PG_PORT/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $PG_PORT"
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  local bin
  bin=$(pg_bin)
  "${PG_STARTED_AS[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}
