#!/usr/bin/env bash
# multipathd and its socket stopped and disabled (as the image has them), the role's files gone.
set -u
systemctl disable --now multipathd.service multipathd.socket >/dev/null 2>&1
rm -f /etc/multipath/conf.d/poolcraft-lvm-multipath.conf
if [[ -f /etc/multipath/wwids ]]; then
    sed -i '/^# BEGIN poolcraft.storage.lvm_multipath/,/^# END poolcraft.storage.lvm_multipath/d' /etc/multipath/wwids
fi
exit 0
