#!/bin/bash
# setup.sh — install what is missing (Debian packages), fetch the Linux 7.2 uAPI headers and
# selftest sources into .cache/, and build softiommu into build/.
#
# Environment: BUILD (default build), WERROR=1 to treat warnings as errors,
# CMAKE_ARGS for extra configure arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

need=()
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v cmake >/dev/null || need+=(cmake)
command -v xz >/dev/null || need+=(xz-utils)
[ -f /usr/include/sys/capability.h ] || need+=(libcap-dev)
command -v clang >/dev/null || need+=(clang)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	echo "setup: installing ${need[*]}"
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

scripts/fetch-debian.sh uapi src

args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
[ "${WERROR:-0}" = 1 ] && args+=(-DSOFTIOMMU_WERROR=ON)
# shellcheck disable=SC2206
[ -n "${CMAKE_ARGS:-}" ] && args+=($CMAKE_ARGS)
cmake -S . -B "$BUILD" "${args[@]}" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >"$BUILD.log" 2>&1 || { cat "$BUILD.log"; exit 1; }
echo "setup: built into $BUILD/ (softiommu, libsoftiommu, libsoftiommu-preload.so)"
