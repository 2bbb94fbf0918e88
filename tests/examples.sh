#!/usr/bin/env bash
# The main job: build libzmq.so.5 from this repo with CMake, build the Guide-style C examples in
# ctests/ against it, and run them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2
ctest --test-dir "$BUILD" --output-on-failure -R '^guide\.' "$@"
