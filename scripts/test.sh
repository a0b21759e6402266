#!/bin/bash
# test.sh — the whole test suite: build with warnings as errors, run the unit tests (CTest),
# then the upstream iommufd selftests through the shim (tests/conformance/run.sh), which fails
# if any case listed in tests/conformance/expected-pass.txt does not pass, and again in daemon
# mode (expected-pass-daemon.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

WERROR=1 BUILD=$BUILD scripts/setup.sh

# The QEMU guest test (tests/qemu) needs the Debian QEMU root and the guest in the cache,
# fetched once per machine (about 2 minutes the first time, instant after); without them (no
# root, no network) its CTests skip.
if ! timeout 900 ./scripts/fetch-guest.sh; then
	echo "test: scripts/fetch-guest.sh failed: the QEMU guest tests will skip" >&2
fi

echo "== unit tests"
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)"

# Once more with the process_vm_readv/writev copy forced (the fallback of the fast copy)
echo "== unit tests, process_vm copy path (SOFTIOMMU_UACCESS=vm)"
SOFTIOMMU_UACCESS=vm ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)"

echo "== upstream iommufd selftests through the shim"
tests/conformance/run.sh --build "$BUILD" --fail-nth
echo "== upstream iommufd selftests in daemon mode (softiommu run --daemon; docs/daemon.md)"
tests/conformance/run.sh --build "$BUILD" --daemon --fail-nth --timeout 600

# ---- the reliability stages: the same code under sanitizers (tests/fault, tests/stress,
# tests/fuzz). A sanitizer report fails the run: ASan/LSan/UBSan abort the test that hit it
# (UBSan with halt_on_error), TSan exits non-zero, the fuzzer stops at the first report.
# SANITIZE=0 skips these stages; FUZZ_SECONDS sets the fuzz run (default 150).
[ "${SANITIZE:-1}" = 0 ] && exit 0
SAN_ASAN=$BUILD-asan
SAN_TSAN=$BUILD-tsan
# intercept_tls_get_addr=0: gcc 12's libsanitizer guesses the size of glibc's dynamic TLS blocks by
# reading the memory beside them, which faults for some layouts (a thread's first TLS access:
# seen in uffd.c's watch thread); without it, LSan does not scan dynamic TLS
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/stress/tsan.supp"

echo "== ASan+UBSan build: unit tests, fault injection (leak-checked), fuzz corpus replay"
BUILD=$SAN_ASAN CMAKE_ARGS="-DSOFTIOMMU_SANITIZE=address,undefined" scripts/setup.sh
ctest --test-dir "$SAN_ASAN" --output-on-failure -j"$(nproc)"

# The selftest binaries are not instrumented; the ASan runtime must come before the shim.
# Cases that fail only here, for a known core bug, are listed in sanitizer-known-failures.txt.
echo "== ASan+UBSan: upstream iommufd selftests through the sanitized shim"
grep -vxFf <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tests/conformance/sanitizer-known-failures.txt) \
	tests/conformance/expected-pass.txt >"$SAN_ASAN/expected-pass.txt"
tests/conformance/run.sh --build "$SAN_ASAN" --fail-nth --expected "$SAN_ASAN/expected-pass.txt" \
	--preload-first "$(gcc -print-file-name=libasan.so)"

echo "== TSan build: concurrency tests"
BUILD=$SAN_TSAN CMAKE_ARGS="-DSOFTIOMMU_SANITIZE=thread" scripts/setup.sh
ctest --test-dir "$SAN_TSAN" --output-on-failure -R "concurrency|stress|dma/|uaccess|memory_keep|memory_raw"

echo "== fuzz: ioctl sequences through the public API (libFuzzer, ASan+UBSan)"
FUZZ_BUILD=$BUILD-fuzz tests/fuzz/run.sh "${FUZZ_SECONDS:-150}"
