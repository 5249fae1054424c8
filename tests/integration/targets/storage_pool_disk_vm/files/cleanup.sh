#!/usr/bin/env bash
# Leave the test's disk blank: every signature erased (the kernel drops the
# partitions when it re-reads the table), the test's store removed.
set -eu
disk="$(readlink -f /dev/disk/by-id/virtio-vmdisk4)"
for part in "${disk}"?*; do
	[ -b "${part}" ] || continue
	if grep -q "^${part} " /proc/mounts; then umount "${part}"; fi
	if grep -q "^${part} " /proc/swaps; then swapoff "${part}"; fi
done
wipefs --all --quiet "${disk}"
udevadm settle
rm -rf /var/tmp/poolcraft-disk-vm
if [ -n "$(wipefs --no-act --noheadings "${disk}")" ] || ls "${disk}"?* >/dev/null 2>&1; then
	echo "${disk} is not blank after the clean up" >&2
	exit 1
fi
echo "${disk} is blank"
