#!/usr/bin/env bash
# Configures and builds walflow (Release) and its tests into ./build.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" >/dev/null
cmake --build build -j"${JOBS:-2}"
