#!/bin/bash
# run-on-refkernel.sh — build the black-box core tests against the real kernel's /dev/iommu
# (-DSIO_REAL_KERNEL: the softiommu_* calls become system calls) and run each in the reference
# Linux 7.2 guest of ../shared/refkernel, to check that softiommu's expectations are Linux's.
# A development tool (needs the reference kernel built, ~10 minutes); not part of CI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REFK=${REFK:-$ROOT/../shared/refkernel}
OUT=${OUT:-$ROOT/build/refkernel-tests}
mkdir -p "$OUT"
tests=${*:-test_dispatch test_object_lifetime test_iova_alloc test_accounting test_fault_queue test_map_file test_viommu test_kernel_details test_access_concurrency}
rc=0
for t in $tests; do
	gcc -static -O1 -D_GNU_SOURCE -DSIO_REAL_KERNEL -isystem "$ROOT/.cache/uapi/usr/include" \
		-I"$ROOT/src/drivers/mock" -I"$ROOT/tests/core" -o "$OUT/$t" "$ROOT/tests/core/$t.c"
	echo "== $t on Linux 7.2"
	TIMEOUT=${TIMEOUT:-300} "$REFK/run-in-guest.sh" "$OUT/$t" || rc=1
done
exit $rc
