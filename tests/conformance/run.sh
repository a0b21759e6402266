#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh — the conformance suite: the kernel's own iommufd selftests, built unmodified from the
# Linux 7.2 sources, run against softiommu through the LD_PRELOAD shim.
#
#   tests/conformance/run.sh [--build DIR] [--filter 'HARNESS ARGS'] [--fail-nth]
#                            [--shim PATH | --no-shim] [--preload-first LIB]
#                            [--timeout SECONDS] [--expected FILE]
#
#   --build DIR     CMake build directory (default: build); the shim is taken from
#                   DIR/src/frontend/shim/libsoftiommu-preload.so, and everything this script
#                   makes goes to DIR/conformance/ (tree/, bin/, iommufd.log, ...)
#   --filter ARGS   kselftest harness arguments, word-split: '-f FIXTURE', '-r F.V.TEST',
#                   '-v VARIANT', '-t TEST' (and -F/-V/-T to exclude); for development. With a
#                   filter, expected-pass.txt is checked only for the cases that ran.
#   --fail-nth      also build and run iommufd_fail_nth (the shim emulates the kernel's
#                   fail-nth and debugfs fault-injection files); its cases listed in the
#                   expected-pass list (basic_fail_nth.*) are checked only with this option
#   --shim PATH     preload this object instead; --no-shim runs against the host kernel
#                   (only useful to check the build and the parsing)
#   --preload-first LIB  preload LIB before the shim (a sanitizer runtime the shim was built
#                   with, e.g. $(gcc -print-file-name=libasan.so))
#   --timeout S     bound for the whole iommufd run (default 1800); each case also has the
#                   harness's own per-test timeout
#   --expected FILE the list of cases that must pass (default: expected-pass.txt beside this;
#                   expected-pass-daemon.txt with --daemon)
#   --daemon        run the programs in daemon mode (docs/daemon.md): `softiommu run --daemon`
#                   from DIR starts a private daemon around each program
#
# Prints a per-fixture table and then exactly one line
#   upstream iommufd selftest: N passed, N failed, N skipped
# Exit status: 0 when every case listed in the expected-pass list passed,
# 1 when one did not (or the run produced no results), 2 on a usage or build error.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CACHE=${SOFTIOMMU_CACHE:-$TOP/.cache}
BUILD=build
FILTER=()
FAIL_NTH=0
SHIM=
NO_SHIM=0
PRELOAD_FIRST=
TIMEOUT=1800
EXPECTED=
DAEMON=0
# hugetlb memory to have free: cases run one at a time, and the largest MAP_HUGETLB user is
# iommufd_dirty_tracking.domain_dirty128M_huge (128 MiB); the others map 4 to 64 MiB.
HUGETLB_WANT_MB=160

die() { echo "conformance: $*" >&2; exit 2; }
usage() { sed -n '4,29p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--build) [ $# -ge 2 ] || usage; BUILD=$2; shift 2 ;;
	--filter) [ $# -ge 2 ] || usage; read -r -a more <<<"$2"; FILTER+=("${more[@]}"); shift 2 ;;
	--fail-nth) FAIL_NTH=1; shift ;;
	--shim) [ $# -ge 2 ] || usage; SHIM=$2; shift 2 ;;
	--no-shim) NO_SHIM=1; shift ;;
	--preload-first) [ $# -ge 2 ] || usage; PRELOAD_FIRST=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
	--expected) [ $# -ge 2 ] || usage; EXPECTED=$2; shift 2 ;;
	--daemon) DAEMON=1; shift ;;
	-h|--help) usage ;;
	*) echo "conformance: unknown argument '$1'" >&2; usage ;;
	esac
done

case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
if [ -z "$EXPECTED" ]; then
	EXPECTED=$HERE/expected-pass.txt
	[ $DAEMON = 1 ] && EXPECTED=$HERE/expected-pass-daemon.txt
fi
if [ $DAEMON = 1 ]; then
	[ -x "$BUILD/softiommu" ] || die "no softiommu command at $BUILD/softiommu for --daemon"
	[ $NO_SHIM = 1 ] && die "--daemon needs the shim"
fi
OUT=$BUILD/conformance
CC=${CC:-cc}

if [ $NO_SHIM = 1 ]; then
	SHIM=
elif [ -z "$SHIM" ]; then
	SHIM=$BUILD/src/frontend/shim/libsoftiommu-preload.so
fi
if [ -n "$SHIM" ]; then
	case $SHIM in /*) ;; *) SHIM=$PWD/$SHIM ;; esac
	[ -f "$SHIM" ] || die "no shim at $SHIM: build it first (cmake -S . -B build && cmake --build build), or pass --no-shim"
	if [ -n "$PRELOAD_FIRST" ]; then
		[ -f "$PRELOAD_FIRST" ] || die "no library to preload at $PRELOAD_FIRST"
		SHIM=$PRELOAD_FIRST:$SHIM
	fi
fi

# ---- sources: fetched Debian packages, assembled into a private kernel-shaped tree ----

"$TOP/scripts/fetch-debian.sh" uapi src
KSRC=$CACHE/ksrc
UAPI=$CACHE/uapi/usr/include
[ -f "$KSRC/tools/testing/selftests/iommu/iommufd.c" ] || die "no selftest sources in $KSRC"
[ -f "$UAPI/linux/iommufd.h" ] || die "no 7.2 uAPI headers in $UAPI"

if ! echo '#include <sys/capability.h>' | $CC -E -x c - >/dev/null 2>&1; then
	die "sys/capability.h is missing: the selftests need libcap (apt-get install libcap-dev)"
fi

TREE=$OUT/tree
ST=$TREE/tools/testing/selftests
rm -rf "$TREE"
mkdir -p "$ST/iommu" "$TREE/drivers/iommu/iommufd" "$OUT/bin"
cp "$KSRC"/tools/testing/selftests/iommu/* "$ST/iommu/"
cp "$KSRC"/tools/testing/selftests/kselftest*.h "$ST/"
# Our own copy of the mock ABI, where the selftest's relative include expects the kernel's.
cp "$TOP/src/drivers/mock/iommufd_test.h" "$TREE/drivers/iommu/iommufd/iommufd_test.h"

# What iommu/Makefile and lib.mk do: CFLAGS -Wall -O2 -Wno-unused-function, the installed
# kernel headers first (KHDR_INCLUDES), -D_GNU_SOURCE=, -I the selftests directory; LDLIBS -lcap.
CFLAGS=(-Wall -O2 -Wno-unused-function -isystem "$UAPI" -D_GNU_SOURCE= -I"$ST")
LDLIBS=(-lcap -lpthread)
build_one() {
	local prog=$1
	echo "conformance: building $prog"
	(cd "$ST/iommu" && $CC "${CFLAGS[@]}" "$prog.c" -o "$OUT/bin/$prog" "${LDLIBS[@]}") \
		>"$OUT/$prog.build.log" 2>&1 || {
		cat "$OUT/$prog.build.log" >&2
		die "building $prog failed (log: $OUT/$prog.build.log)"
	}
}
build_one iommufd
[ $FAIL_NTH = 1 ] && build_one iommufd_fail_nth

# ---- hugetlb pages ----

hugetlb_reserve() {
	local size_kb free total want
	size_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	total=$(awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo)
	if [ -z "$size_kb" ] || [ -z "$free" ]; then
		echo "conformance: no hugetlb support: the MAP_HUGETLB cases will fail"
		return
	fi
	want=$(( (HUGETLB_WANT_MB * 1024 + size_kb - 1) / size_kb ))
	if [ "$free" -ge "$want" ]; then
		echo "conformance: hugetlb: $free pages of ${size_kb} kB free (want $want)"
		return
	fi
	if { echo $((total + want - free)) >/proc/sys/vm/nr_hugepages; } 2>/dev/null; then
		free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	fi
	if [ "$free" -ge "$want" ]; then
		echo "conformance: hugetlb: reserved, $free pages of ${size_kb} kB free (want $want)"
	else
		echo "conformance: hugetlb: only $free of $want pages of ${size_kb} kB free and" \
			"vm.nr_hugepages cannot be raised (needs root): the MAP_HUGETLB cases will fail"
	fi
}
hugetlb_reserve

# ---- run and parse ----

# run_prog PROG LOG [ARGS...]: the harness's TAP output, stdout and stderr, into LOG.
run_prog() {
	local prog=$1 log=$2 rc=0
	shift 2
	echo "conformance: running $prog${SHIM:+ with LD_PRELOAD=$SHIM}${*:+ $*}$([ $DAEMON = 1 ] && echo ' in daemon mode')"
	if [ $DAEMON = 1 ]; then
		# softiommu run preloads $SOFTIOMMU_PRELOAD (the shim, after a sanitizer runtime)
		(cd "$OUT/bin" && timeout --kill-after=10 "$TIMEOUT" \
			env SOFTIOMMU_PRELOAD="$SHIM" "$BUILD/softiommu" run --daemon -- \
			"./$prog" "$@") >"$log" 2>&1 || rc=$?
	else
		(cd "$OUT/bin" && timeout --kill-after=10 "$TIMEOUT" \
			env ${SHIM:+LD_PRELOAD="$SHIM"} "./$prog" "$@") >"$log" 2>&1 || rc=$?
	fi
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "conformance: $prog hit the ${TIMEOUT}s timeout"
	fi
	echo "conformance: $prog exited with status $rc, log: $log"
}

# results LOG: one "STATUS NAME" line per case (STATUS pass|fail|skip), plus "fail NAME" for
# each case the plan announced but the log never reported (a crash or the outer timeout).
results() {
	awk '
	/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0 }
	/^(not )?ok [0-9]+ / {
		notok = ($1 == "not")
		name = notok ? $4 : $3
		st = notok ? "fail" : (/ # [Ss][Kk][Ii][Pp]( |$)/ ? "skip" : "pass")
		print st, name
		n++
	}
	END { for (i = n; i < plan; i++) print "fail", "(not-reported)." i + 1 }
	' "$1"
}

# table RESULTS [TITLE]: the per-fixture table, then with TITLE the summary line.
table() {
	awk -v title="${2:-}" '
	{
		f = $2; sub(/\..*/, "", f)
		if (!(f in seen)) { seen[f] = 1; order[++nf] = f }
		cnt[f, $1]++; tot[$1]++
	}
	END {
		printf "%-34s %7s %7s %7s\n", "fixture", "passed", "failed", "skipped"
		for (i = 1; i <= nf; i++) {
			f = order[i]
			printf "%-34s %7d %7d %7d\n", f, cnt[f, "pass"], cnt[f, "fail"], cnt[f, "skip"]
		}
		printf "%-34s %7d %7d %7d\n", "total", tot["pass"], tot["fail"], tot["skip"]
		if (title != "")
			printf "%s: %d passed, %d failed, %d skipped\n", title, tot["pass"], tot["fail"], tot["skip"]
	}' "$1"
}

LOG=$OUT/iommufd.log
RES=$OUT/iommufd.results
run_prog iommufd "$LOG" "${FILTER[@]}"
results "$LOG" >"$RES"

if [ $FAIL_NTH = 1 ]; then
	run_prog iommufd_fail_nth "$OUT/iommufd_fail_nth.log" "${FILTER[@]}"
	results "$OUT/iommufd_fail_nth.log" >"$OUT/iommufd_fail_nth.results"
	echo
	echo "iommufd_fail_nth:"
	table "$OUT/iommufd_fail_nth.results"
fi

echo
table "$RES" "upstream iommufd selftest" >"$OUT/summary.txt"
head -n -1 "$OUT/summary.txt"

# ---- expectations ----

status=0
if [ ! -s "$RES" ]; then
	echo "conformance: no TAP results in $LOG" >&2
	status=1
fi
want=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$EXPECTED" | grep -v '^$' | sort -u || true)
CHECK=$RES
if [ $FAIL_NTH = 1 ]; then
	CHECK=$OUT/all.results
	cat "$RES" "$OUT/iommufd_fail_nth.results" >"$CHECK"
else
	want=$(echo "$want" | grep -v '^basic_fail_nth\.' || true)
fi
passed=$(awk '$1 == "pass" { print $2 }' "$CHECK" | sort -u)
ran=$(awk '{ print $2 }' "$CHECK" | sort -u)
if [ ${#FILTER[@]} -gt 0 ]; then
	want=$(comm -12 <(echo "$want") <(echo "$ran"))
fi
missing=$(comm -23 <(echo "$want") <(echo "$passed") | grep -v '^$' || true)
newly=$(comm -13 <(echo "$want") <(echo "$passed") | grep -v '^$' || true)
if [ -n "$newly" ]; then
	echo
	echo "newly passing: add to expected-pass.txt:"
	echo "$newly" | sed 's/^/  /'
fi
if [ -n "$missing" ]; then
	echo
	echo "REGRESSION: listed in expected-pass.txt but did not pass:"
	echo "$missing" | sed 's/^/  /'
	status=1
fi
echo
tail -n 1 "$OUT/summary.txt"
exit $status
