#!/bin/bash
# gen-traces.sh — record the reference kernel's answers to the differential tester: build
# tests/diff/difftest.c static against the real /dev/iommu (-DSIO_REAL_KERNEL), run it in the
# reference Linux 7.2 guest of ../shared/refkernel for each block of seeds, and write
# tests/diff/traces/seeds-FIRST-LAST.txt.xz, plus traces/MANIFEST (the command, the kernel).
# The only way the committed traces are made. A development tool (needs the reference kernel,
# ~10 minutes to build); CI only replays (replay.sh).
#   SEEDS="1 100" NOPS=600 BLOCK=10 tests/diff/gen-traces.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REFK=${REFK:-$ROOT/../shared/refkernel}
OUT=${OUT:-$ROOT/build/refkernel-tests}
TRACES=$ROOT/tests/diff/traces
read -r FIRST LAST <<<"${SEEDS:-1 100}"
NOPS=${NOPS:-600}
BLOCK=${BLOCK:-10}
mkdir -p "$OUT" "$TRACES"
gcc -static -O1 -D_GNU_SOURCE -DSIO_REAL_KERNEL -isystem "$ROOT/.cache/uapi/usr/include" \
	-I"$ROOT/src/drivers/mock" -I"$ROOT/tests/core" -o "$OUT/difftest" "$ROOT/tests/diff/difftest.c"
rm -f "$TRACES"/seeds-*.txt.xz
for ((a = FIRST; a <= LAST; a += BLOCK)); do
	b=$((a + BLOCK - 1 > LAST ? LAST : a + BLOCK - 1))
	f=$(printf '%s/seeds-%04d-%04d.txt' "$TRACES" "$a" "$b")
	echo "== seeds $a-$b on Linux 7.2"
	{
		echo "# difftest $a-$b $NOPS"
		TIMEOUT=${TIMEOUT:-600} "$REFK/run-in-guest.sh" "$OUT/difftest" "$a-$b" "$NOPS"
	} >"$f"
	xz -9 -f "$f"
done
kernel=$(TIMEOUT=120 "$REFK/run-in-guest.sh" /bin/busybox uname -r -v | tr -d '\r')
cat >"$TRACES/MANIFEST" <<MANIFEST
# Made by: SEEDS="$FIRST $LAST" NOPS=$NOPS BLOCK=$BLOCK tests/diff/gen-traces.sh
# Kernel: Linux $kernel (../shared/refkernel: linux-source-7.2, IOMMUFD_TEST=y)
# From tests/diff/difftest.c at commit $(git -C "$ROOT" log -1 --format=%h -- tests/diff/difftest.c)
seeds $FIRST $LAST
nops $NOPS
MANIFEST
echo "traces in $TRACES ($(du -ch "$TRACES"/*.xz | tail -n1 | cut -f1))"
