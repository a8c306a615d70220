#!/usr/bin/env bash
# Runs every test: unit tests, then integration tests against real PostgreSQL servers
# that the tests start themselves (as the postgres user, on free loopback ports).
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../build"
ctest --output-on-failure -j"${JOBS:-2}" --timeout 600 "$@"
