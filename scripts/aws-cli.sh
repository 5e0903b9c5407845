#!/usr/bin/env bash
# Prints the path of an AWS CLI: the machine's, or a pinned one installed into its own virtual environment under
# .build/awscli when the machine has none (an independent S3 client for the archive's tests and benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v aws >/dev/null; then
    command -v aws
    exit 0
fi
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || bash scripts/install-deps.sh --python >&2
[ -x .build/awscli/bin/aws ] || {
    python3 -m venv .build/awscli >&2
    .build/awscli/bin/pip install --quiet --disable-pip-version-check awscli==1.45.11 >&2
}
echo "$PWD/.build/awscli/bin/aws"
