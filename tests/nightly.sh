#!/usr/bin/env bash
# The checks that need a nightly Rust toolchain (tests/all.sh runs them when one is installed,
# and reports them skipped when not):
#
#   miri  the unsafe core (spsc, pipe, slab, pool, msg) under Miri; the million-message and
#         many-thread tests are skipped (hours under Miri)
#   tsan  every unit test and tests/transports.rs (I/O threads, sessions, real sockets) built
#         with ThreadSanitizer (std rebuilt with it, -Zbuild-std)
#
#   bash tests/nightly.sh [miri] [tsan]     (both by default)
#
# Needs `rustup toolchain install nightly --component miri rust-src`. Exits non-zero if a
# check fails or reports a data race; says so and exits 2 if nightly is not there.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "nightly: no nightly toolchain (rustup toolchain install nightly --component miri rust-src)" >&2
    exit 2
fi
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(miri tsan)
target=$(rustc -vV | sed -n 's/^host: //p')
failed=0
for check in "${checks[@]}"; do
    echo "=== $check"
    case $check in
        miri)
            MIRIFLAGS=-Zmiri-permissive-provenance cargo +nightly miri test --lib -- \
                core::spsc core::pipe core::slab core::pool core::msg \
                --skip threads_exchange_a_million --skip threads_share_blocks --skip concurrent ||
                failed=1
            ;;
        tsan)
            log=$(mktemp)
            # halt_on_error=0: report every race, not only the first; the grep below fails the
            # check on any report even if the tests themselves pass.
            RUSTFLAGS=-Zsanitizer=thread RUSTDOCFLAGS=-Zsanitizer=thread \
                TSAN_OPTIONS="halt_on_error=0 report_signal_unsafe=0" \
                cargo +nightly test -Zbuild-std --target "$target" --target-dir target/tsan \
                --lib --test transports 2>&1 | tee "$log"
            rc=${PIPESTATUS[0]}
            races=$(grep -c 'WARNING: ThreadSanitizer' "$log")
            rm -f "$log"
            echo "tsan: exit $rc, $races reports"
            [ "$rc" = 0 ] && [ "$races" = 0 ] || failed=1
            ;;
        *)
            echo "nightly: unknown check '$check' (miri, tsan)" >&2
            exit 2
            ;;
    esac
done
exit "$failed"
