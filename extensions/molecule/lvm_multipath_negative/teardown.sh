#!/usr/bin/env bash
# multipathd and its socket stopped and disabled (as the image has them), the role's files gone,
# the maps flushed and scsi_debug unloaded.
set -u
systemctl disable --now multipathd.service multipathd.socket >/dev/null 2>&1
rm -f /etc/multipath/conf.d/poolcraft-lvm-multipath.conf
if [[ -f /etc/multipath/wwids ]]; then
    sed -i '/^# BEGIN poolcraft.storage.lvm_multipath/,/^# END poolcraft.storage.lvm_multipath/d' /etc/multipath/wwids
fi
multipath -F >/dev/null 2>&1
udevadm settle
for _ in 1 2 3 4 5; do modprobe -r scsi_debug >/dev/null 2>&1 && break; sleep 1; done
rm -f /run/poolcraft-molecule-negative-luns
exit 0
