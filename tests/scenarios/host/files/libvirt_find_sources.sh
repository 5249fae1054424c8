#!/bin/sh
# Usage: libvirt_find_sources.sh SCRATCH TYPE
#
# Prints what `virsh find-storage-pool-sources TYPE` says, asked of a libvirtd of
# its own: run as root (LVM needs it) with only its storage driver and the TYPE
# backend loaded, in a private mount namespace whose /run, /var/lib, /var/cache,
# /var/log and /etc/libvirt are empty tmpfs mounts, so it neither sees nor
# touches the host's libvirt and leaves nothing behind. The daemon inherits
# the caller's environment (LVM_SYSTEM_DIR) and is stopped by its PID; its
# --timeout is a backstop should this script be killed first.
set -eu

scratch="$1"
pool_type="$2"

if [ "${POOLCRAFT_PRIVATE_MOUNTS:-}" != 1 ]; then
    POOLCRAFT_PRIVATE_MOUNTS=1 exec unshare --mount --propagation private sh "$0" "$@"
fi

for dir in /run /var/lib /var/cache /var/log /etc/libvirt; do
    mount -t tmpfs -o mode=0755 poolcraft-test "$dir"
done

driver="$(find /usr/lib /usr/lib64 -path '*/libvirt/connection-driver/libvirt_driver_storage.so' 2>/dev/null | head -n 1)"
if [ -z "$driver" ]; then
    echo "libvirt's storage driver (libvirt_driver_storage.so) is not installed" >&2
    exit 1
fi
libdir="$(dirname "$(dirname "$driver")")"
home="$scratch/libvirtd"
mkdir -p "$home/drivers" "$home/backends"
ln -sf "$driver" "$home/drivers/"
ln -sf "$libdir/storage-backend/libvirt_storage_backend_$pool_type.so" "$home/backends/"
: > "$home/libvirtd.conf"

LIBVIRT_DRIVER_DIR="$home/drivers" LIBVIRT_STORAGE_BACKEND_DIR="$home/backends" \
    libvirtd --config "$home/libvirtd.conf" --pid-file "$home/libvirtd.pid" --timeout 120 \
    > "$home/libvirtd.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

tries=0
while [ ! -S /run/libvirt/libvirt-sock ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "libvirtd did not start:" >&2
        cat "$home/libvirtd.log" >&2
        exit 1
    fi
    sleep 0.1
done

virsh --quiet --connect storage:///system find-storage-pool-sources "$pool_type"
