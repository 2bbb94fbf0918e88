#!/usr/bin/env bash
# Interop tests (our libzmq vs real libzmq from pyzmq) and the LD_PRELOAD /
# LD_LIBRARY_PATH drop-in test.
#
# Where the library under test is (one of):
#   ZMQ_UNDER_TEST_PREFIX=<install prefix with include/ and lib/>
#   ZMQ_UNDER_TEST_LIB=<dir with libzmq.so.5>  ZMQ_UNDER_TEST_INCLUDE=<dir with zmq.h>
# Optional:
#   ZMQ_UNDER_TEST_EXPECT_PATH     substring the loaded libzmq path must contain
#   ZMQ_UNDER_TEST_EXPECT_VERSION  version zmq_version() must report (e.g. 4.3.5)
#   ZMQ_INTEROP_VENV               venv path (default ${XDG_CACHE_HOME:-~/.cache}/zmq-rs-venv)
#   ZMQ_INTEROP_PYTHON             python used to create the venv (default python3)
#   ZMQ_INTEROP_NO_APT=1           never call apt-get
#   ZMQ_INTEROP_TIMEOUT            per-test hard timeout in seconds (default 180)
# Extra arguments are passed to pytest (e.g. -k hostile -x).
#
# Example (system libzmq as a stand-in for ours):
#   ZMQ_UNDER_TEST_LIB=/usr/lib/x86_64-linux-gnu ZMQ_UNDER_TEST_INCLUDE=/usr/include \
#     tests/interop/run.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

log() { printf 'interop: %s\n' "$*" >&2; }

absdir() { # absolute path of an existing directory, else unchanged
    if [ -d "$1" ]; then (cd "$1" && pwd); else printf '%s\n' "$1"; fi
}

if [ -z "${ZMQ_UNDER_TEST_PREFIX:-}" ] && [ -z "${ZMQ_UNDER_TEST_LIB:-}" ]; then
    log "set ZMQ_UNDER_TEST_PREFIX, or ZMQ_UNDER_TEST_LIB and ZMQ_UNDER_TEST_INCLUDE"
    exit 2
fi
for v in ZMQ_UNDER_TEST_PREFIX ZMQ_UNDER_TEST_LIB ZMQ_UNDER_TEST_INCLUDE; do
    if [ -n "${!v:-}" ]; then
        export "$v=$(absdir "${!v}")"
    fi
done

can_apt() { [ "${ZMQ_INTEROP_NO_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {
    # Another process may hold the dpkg/apt locks: wait for them, and retry.
    local i
    for i in 1 2 3; do
        if apt-get -o DPkg::Lock::Timeout=600 update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@"; then
            return 0
        fi
        log "apt-get failed (attempt $i)"
    done
    return 1
}

# C compiler for peer.c and preload_check.c.
if ! command -v "${CC:-cc}" >/dev/null; then
    if can_apt; then apt_install gcc libc6-dev; else log "no C compiler"; exit 2; fi
fi

# System libzmq (the preload test builds against it).
have_system_libzmq() {
    [ -e /usr/include/zmq.h ] && ldconfig -p 2>/dev/null | grep -q 'libzmq\.so\.5 '
}
if ! have_system_libzmq; then
    if can_apt; then
        log "installing libzmq3-dev for the preload test"
        apt_install libzmq3-dev || true
    fi
    have_system_libzmq || log "system libzmq missing: the preload tests will fail"
fi

# pyzmq (bundles real libzmq) + pytest, in a cached venv.
VENV=${ZMQ_INTEROP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/zmq-rs-venv}
if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    "${ZMQ_INTEROP_PYTHON:-python3}" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import zmq, pytest, pytest_timeout' 2>/dev/null; then
    log "installing pyzmq pytest pytest-timeout into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check pyzmq pytest pytest-timeout
fi

export PYTHONDONTWRITEBYTECODE=1
cd "$ROOT"
set +e
"$VENV/bin/python" -m pytest -p no:cacheprovider -rfEs \
    --timeout="${ZMQ_INTEROP_TIMEOUT:-180}" \
    tests/interop tests/preload "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    log "pytest collected no tests: failing"
    exit 1
fi
exit "$rc"
