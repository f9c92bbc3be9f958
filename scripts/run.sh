#!/usr/bin/env bash
# Builds and starts the server with its defaults: SQLite and a recordings folder under ./data,
# listening on 127.0.0.1:8080. Extra arguments go to `callvault serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
# cmake builds the bundled Opus decoder and CTranslate2; pip fetches Intel's prebuilt oneDNN
# for CTranslate2 when first building, and the speech model on the first start (the server does
# that in the background).
need_packages cmake=cmake
need_python_tools
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/callvault-target}"
exec cargo run --release --locked -p callvault -- serve "$@"
