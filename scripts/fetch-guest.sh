#!/bin/bash
# fetch-guest.sh — the guest that tests/qemu boots in QEMU on softiommu: Debian unstable's
# Linux 7.2 kernel, the in-tree pci_endpoint_test driver and its test program, busybox, all
# unmodified, in the project's cache (nothing fetched is committed; the system's apt sources
# are never touched).
#
#   cache/guest/vmlinuz            linux-binary-<abi>-amd64's kernel
#   cache/guest/initrd.img         busybox-static, pci_endpoint_test.ko, pci_endpoint_test
#                                  (the selftest that replaced tools/pci/pcitest), tests/qemu/init
#   cache/guest/build-root/        a sid root (the QEMU root plus gcc and the kernel headers)
#                                  that builds the module and the test program (about 900 MB;
#                                  removed at the end unless KEEP_BUILD_ROOT=1)
#
# Debian's config leaves CONFIG_PCI_ENDPOINT_TEST unset, so the module is built here, as an
# external module from the same kernel source (linux-source-7.2, drivers/misc/), against
# Debian's linux-headers with Debian's compiler; it is not signed (the kernel does not enforce
# signatures). Kernel 7.2 has no tools/pci/pcitest: its replacement is
# tools/testing/selftests/pci_endpoint/pci_endpoint_test.c, built static.
#
# Made again when tests/qemu/guest-init.sh or this script change (their hash is kept in
# cache/guest/made-from). Environment: SOFTIOMMU_CACHE (default: <repo>/.cache), MIRROR (for
# fetch-qemu-root.sh), KEEP_BUILD_ROOT.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
C=${SOFTIOMMU_CACHE:-$HERE/.cache}
G=$C/guest
BR=$G/build-root
INIT=$HERE/tests/qemu/guest-init.sh

SUM=$(cat "$INIT" "$0" | sha256sum | cut -d' ' -f1) # what the initramfs is made from
if [ -s "$G/vmlinuz" ] && [ -s "$G/initrd.img" ] && [ "$(cat "$G/made-from" 2>/dev/null)" = "$SUM" ]; then
	echo "guest: $G ($(cat "$G/version" 2>/dev/null))"
	exit 0
fi
"$HERE/scripts/fetch-qemu-root.sh" >/dev/null
"$HERE/scripts/fetch-debian.sh" src >/dev/null
mkdir -p "$G"

# A command in the build root, with /proc (objtool reads it) in a private mount namespace
in_root() {
	unshare -m --propagation private sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
		"$BR" "$@"
}

# The build root: a copy of the QEMU root with the headers of the kernel linux-image-amd64
# names (and so the compiler that built it)
if [ ! -e "$BR/.done" ]; then
	rm -rf "$BR"
	cp -a "$C/qemu-root" "$BR"
	cp /etc/resolv.conf "$BR/etc/resolv.conf" 2>/dev/null || true
	chroot "$BR" apt-get -qq -o Acquire::Check-Valid-Until=false update
	chroot "$BR" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y \
		--no-install-recommends linux-headers-amd64 libc6-dev binutils make xz-utils cpio \
		busybox-static kmod >/dev/null
	touch "$BR/.done"
fi
KVER=$(ls "$BR/usr/src" | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -n1)
[ -n "$KVER" ] || { echo "fetch-guest: no linux-headers in $BR" >&2; exit 1; }
KPKG=linux-binary-$KVER
chroot "$BR" sh -c "cd /tmp && rm -f linux-binary-*.deb && apt-get -qq download $KPKG"
rm -rf "$BR/tmp/kimg" && mkdir -p "$BR/tmp/kimg"
dpkg-deb -x "$BR"/tmp/linux-binary-*.deb "$BR/tmp/kimg"

# The driver and the test program, from the kernel source
SRC=$BR/src/guest
rm -rf "$SRC" && mkdir -p "$SRC/mod"
dpkg-deb --fsys-tarfile "$(ls "$C"/debs/linux-source-7.2_*.deb | head -n1)" |
	tar -xO --wildcards './usr/src/linux-source-7.2.tar.*' |
	tar -xJ -C "$SRC" --strip-components=1 --wildcards \
		'linux-source-7.2/drivers/misc/pci_endpoint_test.c' \
		'linux-source-7.2/include/uapi/linux/pcitest.h' \
		'linux-source-7.2/tools/testing/selftests/pci_endpoint/*' \
		'linux-source-7.2/tools/testing/selftests/kselftest*'
cp "$SRC/drivers/misc/pci_endpoint_test.c" "$SRC/mod/"
echo 'obj-m := pci_endpoint_test.o' >"$SRC/mod/Kbuild"
in_root make -s -C "/usr/src/linux-headers-$KVER" M=/src/guest/mod modules
CC=$(cd "$BR/usr/bin" && ls x86_64-linux-gnu-gcc-[0-9]* | sort -V | tail -n1)
in_root sh -c "cd /src/guest/tools/testing/selftests/pci_endpoint &&
	$CC -O2 -static -I/src/guest/include/uapi -I.. -o /src/guest/pci_endpoint_test \
	pci_endpoint_test.c"

# The initramfs
R=$BR/tmp/initrd
rm -rf "$R" && mkdir -p "$R"/{bin,dev,proc,sys,tmp}
cp "$BR/usr/bin/busybox" "$R/bin/busybox"
cp "$SRC/mod/pci_endpoint_test.ko" "$SRC/pci_endpoint_test" "$R/"
cp "$INIT" "$R/init" && chmod 755 "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$G/initrd.img.tmp"
cp "$BR/tmp/kimg/usr/lib/modules/$KVER/vmlinuz" "$G/vmlinuz"
mv "$G/initrd.img.tmp" "$G/initrd.img"
echo "$KVER" >"$G/version"
echo "$SUM" >"$G/made-from"
[ "${KEEP_BUILD_ROOT:-0}" = 1 ] || rm -rf "$BR"
echo "guest: $G ($KVER)"
