#!/bin/bash
# fetch-qemu-root.sh — a Debian unstable root with an unmodified QEMU (qemu-system-x86), made
# with debootstrap into the project's cache, for running QEMU's iommufd/VFIO code on
# softiommu (docs/vfio.md). The system's apt sources are not touched; nothing is committed.
#
#   cache/qemu-root/   a minbase sid root with qemu-system-x86 (about 400 MB)
#
# Environment: SOFTIOMMU_CACHE (default: <repo>/.cache), MIRROR (default: the system's).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
C=${SOFTIOMMU_CACHE:-$HERE/.cache}
ROOT=$C/qemu-root
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if [ -x "$ROOT/usr/bin/qemu-system-x86_64" ]; then
	echo "qemu-root: $ROOT ($("$ROOT/usr/bin/qemu-system-x86_64" --version 2>/dev/null | head -n1 || echo present))"
	exit 0
fi
command -v debootstrap >/dev/null || {
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
rm -rf "$ROOT.tmp"
debootstrap --variant=minbase --include=qemu-system-x86 \
	--keyring=/usr/share/keyrings/debian-archive-keyring.gpg sid "$ROOT.tmp" "$MIRROR"
rm -rf "$ROOT" && mv "$ROOT.tmp" "$ROOT"
echo "qemu-root: $ROOT"
