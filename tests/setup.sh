#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine (idempotent).
# Rust (cargo) must already be there; everything else comes from Debian's packages or PyPI.
set -euo pipefail

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
# Debian's libzmq: the reference we compare against (preload test, perf, interop helpers).
[ -e /usr/include/zmq.h ] || need+=(libzmq3-dev)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: please install: ${need[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo not found (install Rust with rustup)" >&2; exit 1; }
