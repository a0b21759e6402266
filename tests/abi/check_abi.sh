#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check_abi.sh — compare softiommu's selftest mock ABI header with the kernel's.
#
#   check_abi.sh DUMP_OURS DUMP_KERNEL KERNEL_HEADER
#   check_abi.sh --missing WHAT          (fails: the kernel header or uAPI was not fetched)
#
# DUMP_* are dump_test_abi built over each header. Fails on any difference in their output,
# and when the kernel header declares a name, struct, union arm or field the dump does not
# cover (extend dump_test_abi.c then).
set -u

if [ "$1" = --missing ]; then
	echo "FAIL: $2 is missing: run scripts/fetch-debian.sh uapi src, then re-run cmake"
	exit 1
fi
ours=$1 kernel=$2 header=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

"$ours" >"$tmp/ours" || { echo "FAIL: $ours did not run"; exit 1; }
"$kernel" >"$tmp/kernel" || { echo "FAIL: $kernel did not run"; exit 1; }
if ! diff -u "$tmp/kernel" "$tmp/ours" >"$tmp/diff"; then
	echo "FAIL: src/drivers/mock/iommufd_test.h differs from the kernel's (- kernel, + ours):"
	cat "$tmp/diff"
	fail=1
fi

# Coverage: what the kernel header declares, each of which the dump must show.
sed -e 's|/\*.*\*/||g' "$header" >"$tmp/h"
{
	sed -n 's/^#define[[:space:]]\{1,\}\([A-Za-z_][A-Za-z0-9_]*\).*/const \1/p' "$tmp/h" |
		grep -v '^const _UAPI_IOMMUFD_TEST_H$'
	sed -n 's/^[[:space:]]\{1,\}\([A-Z][A-Z0-9_]*\)[[:space:]]*\(=.*\)\{0,1\},\{0,1\}[[:space:]]*$/const \1/p' "$tmp/h"
	sed -n 's/^struct[[:space:]]\{1,\}\([a-z_0-9]*\)[[:space:]]*{.*/struct \1/p' "$tmp/h"
	sed -n '/^struct iommu_test_cmd[[:space:]]*{/,/^};/p' "$tmp/h" |
		sed -n 's/^[[:space:]]\{2\}}[[:space:]]*\([a-z_0-9]\{1,\}\);.*/member iommu_test_cmd.\1/p'
} | sort -u >"$tmp/declared"
cut -d' ' -f1,2 "$tmp/kernel" | sed 's/^\(member [a-z_0-9]*\.[a-z_0-9]*\).*/\1/' | sort -u >"$tmp/dumped"
uncovered=$(comm -23 "$tmp/declared" "$tmp/dumped")
if [ -n "$uncovered" ]; then
	echo "FAIL: declared in $header but not dumped by dump_test_abi.c:"
	echo "$uncovered" | sed 's/^/  /'
	fail=1
fi
nfields=$(grep -cE '^[[:space:]]*(__aligned_u64|__aligned_le64|__[us](8|16|32|64)|__le(16|32|64))[[:space:]]+[A-Za-z_0-9]+(\[[^]]*\])?[[:space:]]*;' "$tmp/h")
ndumped=$(grep -c '^field ' "$tmp/kernel")
if [ "$nfields" != "$ndumped" ]; then
	echo "FAIL: $header declares $nfields scalar fields, dump_test_abi.c covers $ndumped"
	fail=1
fi

n=$(wc -l <"$tmp/kernel")
if [ $fail = 0 ]; then
	echo "iommufd_test.h ABI: $n items identical ($(wc -l <"$tmp/declared") names, $nfields fields covered)"
	echo "1 passed, 0 failed"
else
	echo "0 passed, 1 failed"
fi
exit $fail
