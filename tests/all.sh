#!/usr/bin/env bash
# Every test: Rust unit and integration tests, lint, the C tests through CMake/ctest, interop
# with real libzmq (pyzmq), the LD_PRELOAD / LD_LIBRARY_PATH swap, the perf tools once, and
# Miri and ThreadSanitizer when a nightly toolchain is there. Exits non-zero if any suite
# fails; the last line counts suites.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh || exit 1
BUILD=${BUILD_DIR:-build}
passed=0
failed=0
failures=()
suite() {
    local name=$1
    shift
    echo "=== $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
    fi
}

suite "cargo fmt" cargo fmt --all -- --check
suite "cargo clippy" cargo clippy --all-targets -- -D warnings
suite "cargo test" cargo test --release
build() {
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        cmake --build "$BUILD" -j2 &&
        cmake --install "$BUILD" --prefix "$BUILD/install" >/dev/null
}
suite "cmake build + install" build
suite "ctest" ctest --test-dir "$BUILD" --output-on-failure -j2 --timeout 120
suite "interop + preload" env ZMQ_UNDER_TEST_PREFIX="$PWD/$BUILD/install" bash tests/interop/run.sh
# The perf tools, built against us and against Debian's libzmq, each run once with tiny counts
# (a smoke test: nothing here asserts a speed).
suite "perf smoke" bash perf/bench.sh --quick --no-install --build-dir "$BUILD"
# The unsafe core under Miri and the threads under ThreadSanitizer need a nightly toolchain
# (about 10 minutes); without one, or with ZMQ_SKIP_NIGHTLY=1, the suite says it was skipped.
# A nightly toolchain without Miri gets the components added (a fresh machine has nightly
# but not its miri and rust-src).
skipped=0
if [ "${ZMQ_SKIP_NIGHTLY:-0}" != 1 ] && ! cargo +nightly miri --version >/dev/null 2>&1 \
        && cargo +nightly --version >/dev/null 2>&1; then
    timeout 600 rustup component add miri rust-src --toolchain nightly >/dev/null 2>&1 \
        || echo "tests: could not add miri to the nightly toolchain"
fi
if [ "${ZMQ_SKIP_NIGHTLY:-0}" != 1 ] && cargo +nightly miri --version >/dev/null 2>&1; then
    suite "miri + tsan" bash tests/nightly.sh
else
    skipped=1
    echo "=== miri + tsan: SKIPPED (no nightly toolchain with miri, or ZMQ_SKIP_NIGHTLY=1)"
fi

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "suites: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
