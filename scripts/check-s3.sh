#!/usr/bin/env bash
# The S3 tests against a real S3 server: starts Ceph's gateway (scripts/s3-server.sh, installing Ceph when
# missing), runs the AuditLogS3Tests suites with its credentials and the AWS CLI as an independent client, and
# stops it whatever happens.
# Usage: scripts/check-s3.sh   (part of make test; make check-s3 alone)
set -euo pipefail
cd "$(dirname "$0")/.."
state=$PWD/.build/check-s3/server
trap 'bash scripts/s3-server.sh stop "$state"' EXIT
bash scripts/s3-server.sh start "$state"

# The AWS CLI, an independent client: the machine's, or a pinned one.
aws=$(bash scripts/aws-cli.sh)

set -a
# shellcheck disable=SC1091
source "$state/env"
set +a
AUDITLOG_TEST_S3=1 AUDITLOG_TEST_S3_STATE=$state AUDITLOG_TEST_AWS_CLI=$aws swift test --filter AuditLogS3Tests 2>&1 | tee .build/check-s3/test.out |
    grep -E "✘|Test run|error:" || true
grep -q "Test run with .* passed" .build/check-s3/test.out || { echo "check-s3: tests failed (.build/check-s3/test.out)"; exit 1; }
for suite in "S3 client against a real server" "Archive to a real S3 server"; do
    grep -q "Suite \"$suite\" passed" .build/check-s3/test.out ||
        { echo "check-s3: the suite \"$suite\" did not run"; exit 1; }
done
echo "check-s3: passed"
