#!/bin/bash
# fetch-debian.sh — fetch the Linux 7.2 uAPI headers and selftest sources from Debian unstable
# into a cache the project owns, with a private apt configuration (the system's apt sources are
# never touched, nothing fetched is committed).
#
#   cache/uapi/usr/include/linux/{iommufd.h,vfio.h,...}   from linux-libc-dev (7.2)
#   cache/ksrc/tools/testing/selftests/iommu/...           from linux-source-7.2
#   cache/ksrc/tools/testing/selftests/kselftest*.h
#   cache/ksrc/drivers/iommu/iommufd/iommufd_test.h
#
# Environment: SOFTIOMMU_CACHE (default: <repo>/.cache), MIRROR (default: the system's).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
C=${SOFTIOMMU_CACHE:-$HERE/.cache}
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
want_uapi=0 want_src=0
for a in "${@:-uapi src}"; do
	for w in $a; do
		case $w in
		uapi) want_uapi=1 ;;
		src) want_src=1 ;;
		*) echo "usage: $0 [uapi] [src]" >&2; exit 2 ;;
		esac
	done
done

A=(-o "Dir::Etc::SourceList=$C/apt/sources.list" -o "Dir::Etc::SourceParts=$C/apt/no-parts"
   -o "Dir::State::Lists=$C/apt/lists" -o "Dir::Cache=$C/apt/cache" -o "APT::Sandbox::User=root"
   -o "Debug::NoLocking=1" -o "Dir::State::status=$C/apt/status")
updated=0
apt_update() {
	[ $updated = 1 ] && return 0
	mkdir -p "$C/apt/lists/partial" "$C/apt/cache/archives/partial" "$C/apt/no-parts" "$C/debs"
	: >"$C/apt/status"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR sid main" >"$C/apt/sources.list"
	apt-get "${A[@]}" -qq update
	updated=1
}
download() { # download PKG -> prints the .deb path
	local pkg=$1 deb
	deb=$(ls "$C"/debs/"$pkg"_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		apt_update
		(cd "$C/debs" && apt-get "${A[@]}" -qq download "$pkg" >&2)
		deb=$(ls "$C"/debs/"$pkg"_*.deb | head -n1)
	fi
	echo "$deb"
}

if [ $want_uapi = 1 ] && [ ! -f "$C/uapi/usr/include/linux/iommufd.h" ]; then
	deb=$(download linux-libc-dev)
	rm -rf "$C/uapi.tmp" && mkdir -p "$C/uapi.tmp"
	dpkg-deb -x "$deb" "$C/uapi.tmp"
	# Debian puts asm/ under the multiarch triplet; expose it beside linux/.
	triplet=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
	if [ -d "$C/uapi.tmp/usr/include/$triplet/asm" ]; then
		cp -r "$C/uapi.tmp/usr/include/$triplet/asm" "$C/uapi.tmp/usr/include/asm"
	fi
	rm -rf "$C/uapi" && mv "$C/uapi.tmp" "$C/uapi"
	echo "uapi headers: $(basename "$deb")"
fi

if [ $want_src = 1 ] && [ ! -f "$C/ksrc/drivers/iommu/iommufd/iommufd_test.h" ]; then
	deb=$(download linux-source-7.2)
	tarball=$(dpkg-deb -c "$deb" | awk '$6 ~ /usr\/src\/linux-source-.*\.tar\./ { print $6 }' | head -n1)
	top=$(basename "$tarball"); top=${top%.tar.*}
	rm -rf "$C/ksrc.tmp" && mkdir -p "$C/ksrc.tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO -f - "$tarball" |
		tar -xJ -f - -C "$C/ksrc.tmp" --wildcards \
			"$top/tools/testing/selftests/iommu/*" \
			"$top/tools/testing/selftests/kselftest*.h" \
			"$top/drivers/iommu/iommufd/*" \
			"$top/include/uapi/linux/iommufd.h" \
			"$top/include/linux/iommufd.h" \
			"$top/tools/include/*"
	rm -rf "$C/ksrc" && mv "$C/ksrc.tmp/$top" "$C/ksrc" && rm -rf "$C/ksrc.tmp"
	echo "kernel sources: $(basename "$deb")"
fi
