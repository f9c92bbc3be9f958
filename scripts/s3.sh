# Sourced by the test command: a throwaway S3 server (s3s-fs, which checks SigV4 signatures)
# for the server's tests on S3.
#   s3_start   builds s3s-fs 0.14.1 once into ~/.cache/callvault-s3s (CALLVAULT_S3S_ROOT), starts
#              it on a free port over a temporary folder with one bucket, and exports
#              CALLVAULT_TEST_S3S_FS (the binary, for tests that start their own),
#              CALLVAULT_TEST_S3_URL (the bucket, as --blob-url takes it) and its keys as
#              CALLVAULT_TEST_S3_ACCESS_KEY / CALLVAULT_TEST_S3_SECRET_KEY;
#   s3_stop    stops it and removes the folder. Safe to call twice, or when nothing started.
s3_install() {
  local root="${CALLVAULT_S3S_ROOT:-$HOME/.cache/callvault-s3s}"
  if ! "$root/bin/s3s-fs" --version 2>/dev/null | grep -qx "s3s-fs 0.14.1"; then
    cargo install --quiet --locked s3s-fs --version 0.14.1 --features binary --root "$root"
  fi
  export CALLVAULT_TEST_S3S_FS="$root/bin/s3s-fs"
}

s3_start() {
  s3_install
  S3_DIR=$(mktemp -d "${TMPDIR:-/tmp}/callvault-s3.XXXXXX")
  mkdir "$S3_DIR/recordings"
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export CALLVAULT_TEST_S3_ACCESS_KEY=callvault-test CALLVAULT_TEST_S3_SECRET_KEY=callvault-test-secret
  "$CALLVAULT_TEST_S3S_FS" --host 127.0.0.1 --port "$port" \
    --access-key "$CALLVAULT_TEST_S3_ACCESS_KEY" --secret-key "$CALLVAULT_TEST_S3_SECRET_KEY" \
    "$S3_DIR" >"$S3_DIR.log" 2>&1 &
  S3_PID=$!
  for _ in $(seq 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      export CALLVAULT_TEST_S3_URL="s3://recordings?endpoint=http://127.0.0.1:$port&region=us-east-1"
      echo "s3s-fs on port $port"
      return 0
    fi
    kill -0 "$S3_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$S3_DIR.log" >&2
  return 1
}

s3_stop() {
  [ -n "${S3_DIR:-}" ] || return 0
  kill "$S3_PID" 2>/dev/null || true
  wait "$S3_PID" 2>/dev/null || true
  rm -rf "$S3_DIR" "$S3_DIR.log"
  S3_DIR=""
}
