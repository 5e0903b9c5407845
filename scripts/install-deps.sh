#!/usr/bin/env bash
# Installs with apt what the build and the tests need, when it is missing; does nothing when it is present.
#   (no option)    liblz4, OpenSSL libcrypto and pkg-config: what the library links
#   --benchmarks   also SQLite's development files, for the Benchmarks package's SQLite peer
#   --python       python3 with venv and pip, for the API, browser and SIEM checks (scripts/python-env.sh) and the
#                  S3 client's hostile-server test
#   --tools        curl and openssl (the service tests' TLS and raw-HTTP checks), wrk (make load)
#   --browser      chromium and chromium-driver, for the audit-log page's browser tests
#   --s3           Ceph's monitor, OSD and S3 gateway, the real S3 server of the archive tests (scripts/s3-server.sh)
set -euo pipefail

modules=(liblz4 libcrypto)
packages=(liblz4-dev libssl-dev pkg-config)
commands=()
for option in "$@"; do
    case "$option" in
    --benchmarks)
        modules+=(sqlite3)
        packages+=(libsqlite3-dev)
        ;;
    --python)
        packages+=(python3 python3-venv python3-pip)
        commands+=("python3 -c 'import venv, ensurepip'")
        ;;
    --tools)
        packages+=(curl openssl wrk)
        commands+=("command -v curl" "command -v openssl" "command -v wrk")
        ;;
    --browser)
        packages+=(chromium chromium-driver)
        commands+=("command -v chromium" "command -v chromedriver")
        ;;
    --s3)
        packages+=(radosgw ceph-mon ceph-osd)
        commands+=("command -v radosgw" "command -v ceph-mon" "command -v ceph-osd" "command -v radosgw-admin")
        ;;
    *)
        echo "install-deps: unknown option $option" >&2
        exit 64
        ;;
    esac
done

have_all() {
    command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "${modules[@]}" 2>/dev/null || return 1
    for check in "${commands[@]}"; do
        bash -c "$check" >/dev/null 2>&1 || return 1
    done
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
have_all || { echo "install-deps: still missing something of: ${packages[*]}" >&2; exit 1; }
echo "install-deps: done" >&2
