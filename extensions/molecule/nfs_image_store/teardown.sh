#!/usr/bin/env bash
# Usage: teardown.sh EXPORT_ROOT MOUNT_ROOT EXPORTS_FILE CONF_FILE
# The NFS server and its helpers stopped and disabled as in the image, the role's files removed.
set -u
export_root=$1 mount_root=$2 exports_file=$3 conf_file=$4
systemctl disable --now nfs-server.service >/dev/null 2>&1
systemctl stop nfs-mountd.service nfsdcld.service nfs-idmapd.service rpc-statd.service \
    rpcbind.service rpcbind.socket >/dev/null 2>&1
rm -f "${exports_file}" "${conf_file}"
exportfs -ra >/dev/null 2>&1
rm -rf --one-file-system "${export_root}" "${mount_root}"
exit 0
