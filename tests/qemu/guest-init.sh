#!/bin/busybox sh
# The guest's /init (packed by scripts/fetch-guest.sh): load the in-tree pci_endpoint_test
# driver, which binds the epf-test device QEMU passes through from softiommu, run the kernel's
# endpoint selftest on it (READ/WRITE/COPY of 1 B to 1 MB, with and without FLAG_USE_DMA, MSI,
# MSI-X, INTx, BARs), then program one DMA to an address the guest never mapped (4 GiB: no RAM
# there, no vIOMMU mapping) by hand and read the device's status, run a COPY once more to show
# the device still works, print everything on the serial console and power off. tests/qemu
# checks the "guest:" lines and the selftest's TAP output.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "guest: linux $(uname -r)"
D=
for d in /sys/bus/pci/devices/*; do
	echo "guest: pci $(basename "$d") $(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class")"
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x104c:0xb500 ] && D=$d
done
echo "guest: iommu group type $(cat "$D/iommu_group/type" 2>/dev/null || echo none)"
if insmod /pci_endpoint_test.ko; then
	echo "guest: pci_endpoint_test loaded"
else
	echo "guest: insmod failed"
fi
ls /dev/pci-endpoint-test.* 2>&1 | sed 's/^/guest: /'
T="pci_ep_data_transfer.memcpy.READ_TEST pci_ep_data_transfer.memcpy.WRITE_TEST
   pci_ep_data_transfer.memcpy.COPY_TEST pci_ep_data_transfer.dma.READ_TEST
   pci_ep_data_transfer.dma.WRITE_TEST pci_ep_data_transfer.dma.COPY_TEST
   pci_ep_basic.MSI_TEST pci_ep_basic.MSIX_TEST pci_ep_basic.LEGACY_IRQ_TEST pci_ep_bar.BAR0.BAR_TEST
   pci_ep_bar.BAR2.BAR_TEST pci_ep_basic.CONSECUTIVE_BAR_TEST"
ARGS=
for t in $T; do ARGS="$ARGS -r $t"; done
/pci_endpoint_test $ARGS
echo "guest: pcitest exit $?"
echo "guest: interrupt lines of the driver: $(grep -c pci-endpoint-test /proc/interrupts)"

# A DMA to an address the guest never mapped, with the driver unloaded (so that /dev/mem may
# reach the BAR): memory decode and bus mastering on, DST = 4 GiB, COMMAND_WRITE.
rmmod pci_endpoint_test
printf '\006' | dd of="$D/config" bs=1 seek=4 count=1 conv=notrunc 2>/dev/null
B=$(($(cut -d' ' -f1 "$D/resource" | head -n1)))
reg() { printf '0x%x' $((B + $1)); }
devmem "$(reg 0x14)" 32 0
devmem "$(reg 0x18)" 32 1
devmem "$(reg 0x1c)" 32 4096
devmem "$(reg 0x24)" 32 1
devmem "$(reg 0x04)" 32 0x10
echo "guest: unmapped DMA status $(devmem "$(reg 0x08)" 32)"
insmod /pci_endpoint_test.ko
/pci_endpoint_test -r pci_ep_data_transfer.memcpy.COPY_TEST | grep "^ok\|^not ok" | sed 's/^/guest: again: /'
echo "guest: done"
poweroff -f
