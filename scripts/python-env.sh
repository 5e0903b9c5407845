#!/usr/bin/env bash
# Prints the path of a Python interpreter that has the packages the API, browser and SIEM checks use (schemathesis,
# openapi-spec-validator, selenium, ocsf-emitter, pyyaml), installing them into a virtual environment under .build/python when
# missing. Debian's system Python refuses `pip install` outside a virtual environment (PEP 668), and a fresh
# machine may lack the venv module: scripts/install-deps.sh --python installs python3-venv then.
set -euo pipefail
cd "$(dirname "$0")/.."
env=.build/python
# Pinned: a check that passed must not start failing because PyPI published a new version overnight (to move on,
# change a version here; the environment is rebuilt when this list changes).
packages=(schemathesis==4.32.5 hypothesis==6.170.17 openapi-spec-validator==0.9.0 selenium==4.51.0 ocsf-emitter==0.3.0
    pyyaml==6.0.4)

if [ -x "$env/bin/python" ] && [ "$(cat "$env/packages" 2>/dev/null)" = "${packages[*]}" ]; then
    echo "$PWD/$env/bin/python"
    exit 0
fi
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    bash scripts/install-deps.sh --python >&2
fi
rm -rf "$env"
python3 -m venv "$env" >&2
"$env/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2
echo "${packages[*]}" >"$env/packages"
echo "$PWD/$env/bin/python"
