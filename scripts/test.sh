#!/bin/bash
# test.sh — the whole test suite: build with warnings as errors, run the unit tests (CTest),
# then the upstream iommufd selftests through the shim (tests/conformance/run.sh), which fails
# if any case listed in tests/conformance/expected-pass.txt does not pass.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

WERROR=1 BUILD=$BUILD scripts/setup.sh

echo "== unit tests"
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)"

echo "== upstream iommufd selftests through the shim"
tests/conformance/run.sh --build "$BUILD"
