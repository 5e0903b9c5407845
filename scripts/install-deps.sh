#!/usr/bin/env bash
# Installs the system libraries the AuditLog library links (liblz4, OpenSSL libcrypto) and
# pkg-config, which SwiftPM uses to find them. Does nothing when they are already present.
set -euo pipefail

have_all() {
    command -v pkg-config >/dev/null 2>&1 &&
        pkg-config --exists liblz4 libcrypto 2>/dev/null
}

if have_all; then
    exit 0
fi

packages=(liblz4-dev libssl-dev pkg-config)
echo "install-deps: installing ${packages[*]} (needed to build AuditLog)" >&2
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
have_all || { echo "install-deps: pkg-config still cannot find liblz4 and libcrypto" >&2; exit 1; }
echo "install-deps: done" >&2
