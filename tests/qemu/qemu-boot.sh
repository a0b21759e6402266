#!/bin/bash
# qemu-boot.sh MODE — boot unmodified QEMU 11.1 (TCG, q35) under `softiommu run --vfio-device
# epf-test`, with the emulated device passed through (-object iommufd -device
# vfio-pci,iommufd=...,sysfsdev=...), and check the guest's pcitest results on the serial
# console. MODE: novi (no vIOMMU: QEMU maps all guest RAM once), vtd (-device
# intel-iommu,caching-mode=on: QEMU shadows the guest's DMA maps with IOAS_MAP/UNMAP, which
# QEMU's trace events iommufd_backend_{map,unmap}_dma count), fd (as novi, with /dev/iommu and
# the device handed to QEMU already open: -object iommufd,fd=10 -device vfio-pci,id=..,fd=11,
# as libvirt does; QEMU 11.1.3 segfaults on vfio-pci,fd= without an id=) or smmuv3 (as novi, the device behind the SMMUv3 model: --vfio-device
# epf-test,iommu=smmuv3).
#
# QEMU runs in the Debian root of scripts/fetch-qemu-root.sh (chroot, so it needs root), the
# guest is scripts/fetch-guest.sh's. Exit 0 pass, 1 fail, 77 skip (no root, no cache and no
# way to fetch it). Environment: BUILD (the build directory, default <repo>/build), SIO_CLI
# and SIO_SHIM (the softiommu program and the preload shim, default in BUILD),
# SOFTIOMMU_CACHE, TIMEOUT (seconds, default 300), LOG (keep the console log there, followed
# by softiommu's and QEMU's messages),
# SOFTIOMMU_QEMU_FETCH=0 (never download: skip when the cache is missing).
set -uo pipefail
HERE=$(cd "$(dirname "$0")/../.." && pwd)
MODE=${1:-novi}
BUILD=${BUILD:-$HERE/build}
C=${SOFTIOMMU_CACHE:-$HERE/.cache}
ROOT=$C/qemu-root
TIMEOUT=${TIMEOUT:-300}
skip() { echo "qemu-boot: SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (chroot into the QEMU root)"
command -v unshare >/dev/null || skip "no unshare"
if [ ! -x "$ROOT/usr/bin/qemu-system-x86_64" ] || [ ! -s "$C/guest/initrd.img" ]; then
	[ "${SOFTIOMMU_QEMU_FETCH:-1}" = 0 ] && skip "no QEMU root or guest in $C (scripts/fetch-guest.sh)"
	"$HERE/scripts/fetch-guest.sh" >/dev/null 2>&1 || skip "could not fetch the QEMU root and guest"
fi
SIO_CLI=${SIO_CLI:-$BUILD/softiommu}
SIO_SHIM=${SIO_SHIM:-$BUILD/src/frontend/shim/libsoftiommu-preload.so}
[ -x "$SIO_CLI" ] && [ -f "$SIO_SHIM" ] || { echo "qemu-boot: no $SIO_CLI or $SIO_SHIM" >&2; exit 1; }

# softiommu in its installed layout inside the root, the guest beside it: a directory of this
# run's own (a running QEMU must never see its shim overwritten by another run's copy)
O=/opt/softiommu-$MODE-$$
P=$ROOT$O
RUN=/run/sio-$MODE-$$
trap 'rm -rf "$P" "$ROOT$RUN" "$ROOT$RUN.dump" "$ROOT$RUN.trace"' EXIT
mkdir -p "$P/bin" "$P/lib" "$P/guest"
cp "$SIO_CLI" "$P/bin/softiommu"
cp "$SIO_SHIM" "$P/lib/libsoftiommu-preload.so"
cp "$C/guest/vmlinuz" "$C/guest/initrd.img" "$P/guest/"
# no_timer_check: under TCG on a loaded host the kernel's check that the 8254 timer reaches the
# IO-APIC can time out and panic ("IO-APIC + timer doesn't work!"); it proves nothing here
VIOMMU=() APPEND=
[ "$MODE" = vtd ] && VIOMMU=(-device intel-iommu,caching-mode=on) APPEND=intel_iommu=on
SIO_DEV=(--vfio-device epf-test)
QEMU_DEV=(-object iommufd,id=iommufd0 -device "vfio-pci,iommufd=iommufd0,sysfsdev=$RUN/devices/0000:00:04.0")
case $MODE in
fd)	SIO_DEV=(--iommufd-fd 10 --vfio-device epf-test,fd=11)
	QEMU_DEV=(-object iommufd,id=iommufd0,fd=10 -device vfio-pci,id=hostdev0,iommufd=iommufd0,fd=11) ;;
smmuv3) SIO_DEV=(--vfio-device epf-test,iommu=smmuv3) ;;
novi|vtd) ;;
*)	echo "qemu-boot: unknown mode $MODE" >&2; exit 1 ;;
esac
LOGF=${LOG:-$(mktemp /tmp/qemu-boot.XXXXXX)}

# (10 and 11 are closed for it: the fd mode hands the descriptors over at those numbers)
start=$(date +%s)
timeout -k 5 "$TIMEOUT" unshare -m --propagation private sh -c \
	'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$ROOT" \
	env SOFTIOMMU_VFIO_TRACE=1 SOFTIOMMU_DUMP=text SOFTIOMMU_DUMP_WHEN=exit SOFTIOMMU_DUMP_FILE=$RUN.dump $O/bin/softiommu run --run-dir "$RUN" \
	"${SIO_DEV[@]}" -- \
	qemu-system-x86_64 -machine q35 -accel tcg -m 512 -nographic -nodefaults -no-reboot \
	-serial stdio -monitor none "${VIOMMU[@]}" \
	-trace "iommufd_backend_*map*dma" -D "$RUN.trace" \
	-kernel $O/guest/vmlinuz -initrd $O/guest/initrd.img \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check $APPEND" \
	"${QEMU_DEV[@]}" \
	</dev/null >"$LOGF.raw" 2>"$LOGF.err" 10>&- 11>&-
rc=$?
secs=$(( $(date +%s) - start ))
# The console (QEMU's stdout) apart from softiommu's and QEMU's messages (stderr), so that a
# message never cuts a console line the checks read
tr -d '\r' <"$LOGF.raw" >"$LOGF"
sed 's/^/  | /' "$LOGF.err"
sed 's/^/  | /' "$LOGF"
[ -f "$ROOT$RUN.dump" ] && sed 's/^/  | softiommu dump: /' "$ROOT$RUN.dump"
# QEMU's own trace of its IOAS_MAP/UNMAP calls (its log file): counted, not printed
T=$ROOT$RUN.trace
touch "$T"
maps=$(grep -c "iommufd_backend_map_dma " "$T")
unmaps=$(grep -c "iommufd_backend_unmap_dma " "$T")
bad=$(grep "iommufd_backend_.*map.*dma " "$T" | grep -vc "(0)\$")
echo "qemu-boot: QEMU's IOMMU_IOAS_MAP calls: $maps, UNMAP: $unmaps, failed: $bad"
fail=0
[ "$bad" = 0 ] || { echo "qemu-boot: a map or unmap failed:"; grep "iommufd_backend_.*map.*dma " "$T" | grep -v "(0)\$" | head; fail=1; }
want() { grep -q -- "$1" "$LOGF" || { echo "qemu-boot: missing: $1"; fail=1; }; }
want "guest: pci_endpoint_test loaded"
want "guest: /dev/pci-endpoint-test.0"
for t in memcpy.READ_TEST memcpy.WRITE_TEST memcpy.COPY_TEST dma.READ_TEST dma.WRITE_TEST \
	dma.COPY_TEST; do
	want "^ok [0-9]* pci_ep_data_transfer.$t\$"
done
want "^ok [0-9]* pci_ep_basic.LEGACY_IRQ_TEST\$"
want "^ok [0-9]* pci_ep_bar.BAR0.BAR_TEST\$"
want "^ok [0-9]* pci_ep_bar.BAR2.BAR_TEST\$"
# 32 MSI vectors, but x86 gives a device several only with interrupt remapping (the vIOMMU's):
# without it MSI1 passes and MSI2 is "disabled" (a skip). 32 MSI-X vectors: MSI-X33 skips.
if [ "$MODE" = vtd ]; then
	want "^ok [0-9]* pci_ep_basic.MSI_TEST\$"
else
	want "^ok [0-9]* pci_ep_basic.MSI_TEST # SKIP MSI2 is disabled\$"
fi
want "^ok [0-9]* pci_ep_basic.MSIX_TEST # SKIP MSI-X33 is disabled\$"
grep -q "Test failed" "$LOGF" && { echo "qemu-boot: a pcitest check failed"; fail=1; }
# the DMA to 4 GiB: WRITE_FAIL | IRQ_RAISED | DST_ADDR_INVALID, and the device still works
want "guest: unmapped DMA status 0x00000148"
want "guest: again: ok 1 pci_ep_data_transfer.memcpy.COPY_TEST"
# With the vIOMMU on, the device is given IOVAs of the guest's DMA API (top-down from 4 GiB),
# not guest-physical addresses: a WRITE that lands at 0xf0000000 or above, where the guest has
# no RAM (and its ROM is read-only), reached memory through the maps QEMU shadowed in the IOAS.
if [ "$MODE" = vtd ]; then
	want "guest: iommu group type DMA"
	[ "$maps" -gt 100 ] || { echo "qemu-boot: QEMU did not shadow the guest's maps"; fail=1; }
	high=$(grep -c "epf-test command 0x10 src 0 dst 0xf[0-9a-f]\{7\} size [0-9]*: status 0x4\$" "$LOGF.err")
	echo "qemu-boot: WRITEs to vIOMMU IOVAs at 0xf0000000 and above: $high"
	[ "$high" -gt 0 ] || { echo "qemu-boot: no transfer used a vIOMMU IOVA"; fail=1; }
fi
# the handed-over descriptors were the ones QEMU used; the SMMUv3 model was behind the device
if [ "$MODE" = fd ]; then
	grep -q "softiommu: vfio0 fd=11, iommufd fd=10" "$LOGF.err" || { echo "qemu-boot: no fd handover line"; fail=1; }
	grep -q "iommufd 10 " "$ROOT$RUN.dump" || { echo "qemu-boot: QEMU's iommufd is not descriptor 10"; fail=1; }
fi
if [ "$MODE" = smmuv3 ]; then
	grep -q "device .* smmu[0-9]*:sid" "$ROOT$RUN.dump" || { echo "qemu-boot: the device is not behind the SMMUv3 model"; fail=1; }
fi
want "guest: done"
[ $rc = 124 ] && { echo "qemu-boot: timed out after ${TIMEOUT}s"; fail=1; }
echo "qemu-boot: $MODE: QEMU exit $rc, ${secs}s, $([ $fail = 0 ] && echo PASS || echo FAIL)"
rm -f "$LOGF.raw"
[ -n "${LOG:-}" ] && cat "$LOGF.err" >>"$LOGF"
rm -f "$LOGF.err"
[ -z "${LOG:-}" ] && rm -f "$LOGF"
exit $fail
