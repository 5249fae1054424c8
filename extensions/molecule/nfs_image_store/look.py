#!/usr/bin/env python
"""What the test VM shows of the image store, as JSON on stdout: the kernel's exports
(exportfs -v), the NFS mounts (/proc/mounts), the versions nfsd offers, the files of each export
as the server sees them, a pattern written through a client mount and read back on the server,
root's write into the root_squash export, and a mount with a version the server does not offer.
Argument: EXPORT_ROOT MOUNT_ROOT. Writes only in the scratch export and a temporary mount point."""

import json
import os
import subprocess
import sys
import tempfile

export_root, mount_root = sys.argv[1:3]
seen = {}


def run(*argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, check=False)
    return proc.returncode, proc.stdout.strip()


def exports(text):
    """{path: {client: [options]}} from exportfs -v, which puts a long path on a line of its own."""
    found, path = {}, None
    for token in text.split():
        if token.startswith("/"):
            path = token
        elif "(" in token and path is not None:
            client, options = token.rstrip(")").split("(", 1)
            found.setdefault(path, {})[client] = options.split(",")
    return found


seen["exportfs_text"] = run("exportfs", "-v")[1]
seen["exportfs"] = exports(seen["exportfs_text"])
with open("/proc/mounts") as handle:
    seen["mounts"] = {fields[1]: {"source": fields[0], "type": fields[2], "options": fields[3].split(",")}
                      for fields in (line.split() for line in handle) if fields[1].startswith(mount_root + "/")}
with open("/proc/fs/nfsd/versions") as handle:
    seen["nfsd_versions"] = handle.read().split()

seen["files"] = {}
for export in ("images", "scratch"):
    for name in sorted(os.listdir(os.path.join(export_root, export))):
        path = os.path.join(export_root, export, name)
        st = os.stat(path)
        info = {"uid": st.st_uid, "gid": st.st_gid, "mode": "%04o" % (st.st_mode & 0o7777), "size": st.st_size}
        rc, out = run("qemu-img", "info", "--output=json", path)
        if rc == 0:
            info["format"] = json.loads(out)["format"]
            info["virtual_size"] = json.loads(out)["virtual-size"]
        seen["files"]["%s/%s" % (export, name)] = info

# a pattern written through the client's mount (fsync: it reached the server), read on the server
pattern = os.urandom(1 << 20)
with open(os.path.join(mount_root, "scratch", "data.raw"), "r+b") as handle:
    handle.write(pattern)
    handle.flush()
    os.fsync(handle.fileno())
with open(os.path.join(export_root, "scratch", "data.raw"), "rb") as handle:
    seen["read_back_same"] = handle.read(len(pattern)) == pattern

# root is squashed on the images export: it may not make a file there
probe = os.path.join(mount_root, "images", ".root-probe")
try:
    os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600))
    os.unlink(probe)
    seen["root_write"] = "allowed"
except OSError as exc:
    seen["root_write"] = os.strerror(exc.errno)

# NFS 4.1 is not offered: a mount that asks for it fails
where = tempfile.mkdtemp(prefix="nfs41-")
rc, out = run("timeout", "50", "mount", "-t", "nfs", "-o", "vers=4.1", "127.0.0.1:%s/scratch" % export_root, where)
if rc == 0:
    run("umount", where)
os.rmdir(where)
seen["vers41_mount"] = {"rc": rc, "output": out}

json.dump(seen, sys.stdout, indent=1, sort_keys=True)
