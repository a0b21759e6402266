#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh — build the ioctl fuzzer with clang (libFuzzer + ASan + UBSan) and run it; then the
# daemon's request decoder fuzzer (fuzz_daemon, FUZZ_DAEMON_SECONDS, default 30 s).
#
#   tests/fuzz/run.sh [SECONDS] [-- LIBFUZZER ARGS...]
#
# Default 150 s (the CI run). Long runs, e.g. an hour on every core:
#   tests/fuzz/run.sh 3600 -- -jobs=$(nproc) -workers=$(nproc)
# The build goes to build-fuzz/ (FUZZ_BUILD to change), the evolving corpus to
# build-fuzz/corpus/ (seeded from tests/fuzz/corpus/), crashes to build-fuzz/artifacts/.
# A crash becomes a regression test: minimize it (fuzz_ioctl -minimize_crash=1 FILE) and commit
# the input under tests/fuzz/regressions/ (CTest replays it in every build) once the bug is
# fixed, under tests/fuzz/pending/ (a disabled CTest) until then.
# Exit status: 0 when the run found nothing, 1 otherwise, 2 without clang.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-150}
[ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift
B=${FUZZ_BUILD:-build-fuzz}

command -v clang >/dev/null || { echo "fuzz: clang is not installed (apt-get install clang)"; exit 2; }
CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOFTIOMMU_FUZZ=ON \
	-DSOFTIOMMU_SANITIZE=address,undefined >/dev/null
cmake --build "$B" -j"$(nproc)" --target fuzz_ioctl fuzz_daemon >"$B.log" 2>&1 || { cat "$B.log"; exit 2; }

mkdir -p "$B/corpus" "$B/artifacts"
cp -n tests/fuzz/corpus/* "$B/corpus/" 2>/dev/null || true
echo "fuzz: running fuzz_ioctl for ${SECONDS_TO_RUN}s"
rc=0
# Allocations sized by the user (IOMMU_HW_QUEUE_ALLOC's page array, like the kernel's) may be
# huge: they succeed lazily or fail (ENOMEM, as the kernel's) rather than stopping the run, so
# no malloc limit; what the fuzzer hunts is crashes, sanitizer reports, leaks, pinned pages and
# real memory growth (-rss_limit_mb). The entropic schedule is off: with the ~35,000 features
# an input here reaches, its bookkeeping (UpdateFeatureFrequency) took 60% of the time, and
# a 30 s run without it made 3x the executions and more coverage (give -entropic=1 after
# -- to have it back).
ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}:allocator_may_return_null=1" \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	"$B/tests/fuzz/fuzz_ioctl" -max_total_time="$SECONDS_TO_RUN" -max_len=512 -entropic=0 \
	-timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=1048576 -print_final_stats=1 \
	-artifact_prefix="$B/artifacts/" "$@" "$B/corpus" tests/fuzz/regressions \
	>"$B/fuzz.log" 2>&1 || rc=$?
grep -E "^stat::number_of_executed_units|^stat::peak_rss|^Done|ERROR|SUMMARY|crash-|leak-" "$B/fuzz.log" || true
if [ $rc != 0 ]; then
	tail -n 60 "$B/fuzz.log"
	echo "fuzz: FAILED (log: $B/fuzz.log, inputs: $B/artifacts/)"
	exit 1
fi
echo "fuzz: no crash, no leak (corpus: $(ls "$B/corpus" | wc -l) inputs)"

# The daemon's request decoder (fuzz_daemon.c): forged frames from a client process.
# FUZZ_DAEMON_SECONDS, default 30.
D_SECONDS=${FUZZ_DAEMON_SECONDS:-30}
mkdir -p "$B/corpus-daemon"
cp -n tests/fuzz/corpus-daemon/* "$B/corpus-daemon/" 2>/dev/null || true
echo "fuzz: running fuzz_daemon for ${D_SECONDS}s"
ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	"$B/tests/fuzz/fuzz_daemon" -max_total_time="$D_SECONDS" -max_len=1024 -timeout=20 \
	-rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$B/artifacts/daemon-" \
	"$B/corpus-daemon" >"$B/fuzz-daemon.log" 2>&1 || rc=$?
grep -E "^stat::number_of_executed_units|^stat::peak_rss|^Done|ERROR|SUMMARY|crash-|leak-" "$B/fuzz-daemon.log" || true
if [ $rc != 0 ]; then
	tail -n 60 "$B/fuzz-daemon.log"
	echo "fuzz: fuzz_daemon FAILED (log: $B/fuzz-daemon.log, inputs: $B/artifacts/)"
	exit 1
fi
echo "fuzz: fuzz_daemon: no crash, no leak (corpus: $(ls "$B/corpus-daemon" | wc -l) inputs)"
