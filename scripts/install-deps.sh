#!/usr/bin/env bash
# Installs the system libraries the AuditLog library links (liblz4, OpenSSL libcrypto) and
# pkg-config, which SwiftPM uses to find them. Does nothing when they are already present.
#   --benchmarks  also SQLite's development files, for the Benchmarks package's SQLite peer.
set -euo pipefail

modules=(liblz4 libcrypto)
packages=(liblz4-dev libssl-dev pkg-config)
if [ "${1:-}" = "--benchmarks" ]; then
    modules+=(sqlite3)
    packages+=(libsqlite3-dev)
fi

have_all() {
    command -v pkg-config >/dev/null 2>&1 &&
        pkg-config --exists "${modules[@]}" 2>/dev/null
}

if have_all; then
    exit 0
fi

echo "install-deps: installing ${packages[*]}" >&2
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get not found; install ${packages[*]} (or your system's equivalents) by hand" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps: not root and no sudo; run: apt-get install ${packages[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
have_all || { echo "install-deps: pkg-config still cannot find ${modules[*]}" >&2; exit 1; }
echo "install-deps: done" >&2
