#!/usr/bin/env bash
# Prints the path of a Python interpreter that has the packages the API, browser and SIEM checks use (schemathesis,
# openapi-spec-validator, selenium, ocsf-emitter, pyyaml), installing them into a virtual environment under .build/python when
# missing. Debian's system Python refuses `pip install` outside a virtual environment (PEP 668), and a fresh
# machine may lack the venv module: scripts/install-deps.sh --python installs python3-venv then.
set -euo pipefail
cd "$(dirname "$0")/.."
env=.build/python
packages=(schemathesis openapi-spec-validator selenium ocsf-emitter pyyaml)

if [ -x "$env/bin/python" ] && "$env/bin/python" -c "import schemathesis, openapi_spec_validator, selenium, ocsf_emitter, yaml" 2>/dev/null; then
    echo "$PWD/$env/bin/python"
    exit 0
fi
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    bash scripts/install-deps.sh --python >&2
fi
rm -rf "$env"
python3 -m venv "$env" >&2
"$env/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2
echo "$PWD/$env/bin/python"
