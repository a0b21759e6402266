#!/bin/bash
# replay.sh PROGRAM [PRELOAD] — replay the committed kernel traces (tests/diff/traces, made by
# gen-traces.sh on Linux 7.2) under softiommu: run PROGRAM (difftest) for each block of seeds,
# with PRELOAD as LD_PRELOAD when given (the shim), and fail on the first line that differs
# from the kernel's, printing it, or on a "softiommu: BUG" line on its standard error. With DIFFTEST_SUMMARY=1 it also prints the figures.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PROG=$1
PRELOAD=${2:-}
rc=0
ops=0
shopt -s nullglob
files=("$HERE"/traces/seeds-*.txt.xz)
[ ${#files[@]} -gt 0 ] || { echo "replay: no traces in $HERE/traces" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${files[@]}"; do
	xz -dc "$f" >"$tmp/linux"
	read -r _ _ seeds nops <"$tmp/linux"
	sed -i 1d "$tmp/linux"
	if [ -n "$PRELOAD" ]; then
		LD_PRELOAD=$PRELOAD "$PROG" "$seeds" "$nops" >"$tmp/soft" 2>"$tmp/err"
	else
		"$PROG" "$seeds" "$nops" >"$tmp/soft" 2>"$tmp/err"
	fi || { echo "replay: $PROG $seeds $nops failed:"; cat "$tmp/err"; rc=1; continue; }
	# An inconsistency softiommu caught in itself fails the replay too, traces equal or not
	if grep -q 'softiommu: BUG' "$tmp/err"; then
		echo "replay: $PROG $seeds $nops: $(grep -m1 'softiommu: BUG' "$tmp/err")"
		rc=1
	fi
	if ! cmp -s "$tmp/linux" "$tmp/soft"; then
		n=$(cmp "$tmp/linux" "$tmp/soft" 2>&1 | sed -n 's/.* line \([0-9]*\).*/\1/p')
		n=${n:-$(($(wc -l <"$tmp/soft") + 1))}
		seed=$(head -n "$n" "$tmp/linux" | grep '^seed ' | tail -n1)
		echo "replay: $(basename "$f"): first difference at line $n ($seed)"
		echo "  linux:     $(sed -n "${n}p" "$tmp/linux")"
		echo "  softiommu: $(sed -n "${n}p" "$tmp/soft")"
		rc=1
		continue
	fi
	ops=$((ops + $(grep -vc '^seed \|^end seed ' "$tmp/linux")))
done
[ $rc = 0 ] && echo "replay: ${#files[@]} trace files, $ops operations, identical to Linux 7.2"
exit $rc
