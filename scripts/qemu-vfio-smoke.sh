#!/bin/bash
# qemu-vfio-smoke.sh — unmodified QEMU 11.1 (from scripts/fetch-qemu-root.sh's root) realizing
# an emulated VFIO device through softiommu: -object iommufd + -device vfio-pci,sysfsdev=...
# Prints QEMU's output and softiommu's trace of the device ioctls (SOFTIOMMU_VFIO_TRACE=1).
# Not a test: it records how far QEMU gets (docs/vfio.md). Needs root (chroot).
#
# Environment: BUILD (default build), SOFTIOMMU_CACHE (default: <repo>/.cache).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
C=${SOFTIOMMU_CACHE:-$HERE/.cache}
ROOT=$C/qemu-root
BUILD=${BUILD:-build}
"$HERE/scripts/fetch-qemu-root.sh" >/dev/null
mkdir -p "$ROOT/opt/softiommu" "$ROOT/run/sio"
cp "$HERE/$BUILD/src/frontend/shim/libsoftiommu-preload.so" "$ROOT/opt/softiommu/"
set -x
timeout 20 chroot "$ROOT" env LD_PRELOAD=/opt/softiommu/libsoftiommu-preload.so \
	SOFTIOMMU_RUN_DIR=/run/sio SOFTIOMMU_VFIO_DEVICES=edu SOFTIOMMU_VFIO_TRACE=1 \
	qemu-system-x86_64 -nodefaults -machine q35 -accel tcg -m 256 -display none -S \
	-monitor none -serial none -object iommufd,id=i0 \
	-device vfio-pci,iommufd=i0,sysfsdev=/run/sio/devices/0000:00:04.0 "$@" || true
