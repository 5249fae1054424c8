# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mounts and swap from /proc, and filesystem usage that never hangs.

The mount table comes from /proc/self/mountinfo, which names each mount's
device by major:minor: nothing is stat'ed, so a dead NFS server cannot stall
it. Usage (statvfs) of local filesystems is read in this process; of network
filesystems only when asked, each in a child process that is killed when the
deadline passes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import select
import signal
import time

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs

NETWORK_FS = frozenset((
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "fuse.glusterfs", "fuse.sshfs", "9p",
    "afs", "ncpfs", "lustre", "gpfs", "fuse.cephfs", "fuse.s3fs", "davfs", "fuse.rclone", "ocfs2", "gfs2",
))


_OCTAL_ESCAPE = re.compile(r"\\([0-3][0-7]{2})")
# /proc/swaps pads its columns with spaces and tabs; str.split() would also split on U+2028 ...
_SWAP_FIELDS = re.compile(r"[ \t]+")


def _unescape(field):
    r"""mountinfo escapes space, tab, newline and backslash as \ooo (ASCII octal digits only)."""
    if "\\" not in field:
        return field
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def _lines(text):
    """The kernel ends lines with "\n" only; str.splitlines() would also split a mount point
    holding U+2028, U+0085 or a form feed, which the kernel does not escape."""
    return [line for line in (text or "").split("\n") if line]


def parse_mountinfo(text):
    """List of {maj_min, root, mount, options, fstype, source, super_options} in table order."""
    mounts = []
    for line in _lines(text):
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3:
            continue
        mounts.append({
            "maj_min": fields[2], "root": _unescape(fields[3]), "mount": _unescape(fields[4]),
            "options": fields[5], "fstype": fields[sep + 1], "source": _unescape(fields[sep + 2]),
            "super_options": fields[sep + 3] if len(fields) > sep + 3 else "",
        })
    return mounts


def parse_swaps(text):
    """Kernel names (or file paths) in use as swap, from /proc/swaps."""
    names = set()
    for line in _lines(text)[1:]:
        fields = _SWAP_FIELDS.split(line.strip(" \t"))
        if fields and fields[1:2] == ["partition"]:
            names.add(os.path.basename(os.path.realpath(_unescape(fields[0]))))
    return names


def mounts_by_device(mounts):
    """{major:minor or /dev/NAME source: [mount points]} of block-backed mounts."""
    by_dev = {}
    for mount in mounts:
        key = mount["maj_min"]
        if key.startswith("0:"):
            # btrfs and a few others report an anonymous device; their source names the real one
            if not mount["source"].startswith("/dev/"):
                continue
            key = "/dev/" + os.path.basename(os.path.realpath(mount["source"]))
        by_dev.setdefault(key, []).append(mount["mount"])
    return by_dev


def read_mounts(path="/proc/self/mountinfo"):
    return parse_mountinfo(_sysfs.read_all(path))


def read_swaps(path="/proc/swaps"):
    return parse_swaps(_sysfs.read_all(path))


def _statvfs(path):
    st = os.statvfs(path)
    return {"size_total": st.f_frsize * st.f_blocks, "size_available": st.f_frsize * st.f_bavail,
            "size_used": st.f_frsize * (st.f_blocks - st.f_bfree),
            "inodes_total": st.f_files, "inodes_available": st.f_favail}


def local_usage(path):
    try:
        return _statvfs(path), None
    except OSError as exc:
        return None, exc.strerror or str(exc)


def usage_with_deadline(paths, timeout):
    """{path: (usage, error)}: each statvfs in a child process; a child not done by the
    deadline is killed and its path reported as timed out. Never blocks past timeout."""
    children = {}
    results = {}
    for path in paths:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: one statvfs, one JSON line, exit without cleanup handlers
            try:
                os.close(read_fd)
                try:
                    payload = {"usage": _statvfs(path)}
                except OSError as exc:
                    payload = {"error": exc.strerror or str(exc)}
                os.write(write_fd, json.dumps(payload).encode("utf-8"))
            finally:
                os._exit(0)
        os.close(write_fd)
        children[read_fd] = (pid, path, [])
    deadline = time.time() + timeout
    while children:
        left = deadline - time.time()
        if left <= 0:
            break
        ready, _w, _x = select.select(list(children), [], [], left)
        for fd in ready:
            chunk = os.read(fd, 65536)
            pid, path, parts = children[fd]
            if chunk:
                parts.append(chunk)
                continue
            os.close(fd)
            del children[fd]
            _reap(pid)
            try:
                payload = json.loads(b"".join(parts).decode("utf-8"))
            except ValueError:
                payload = {"error": "no answer"}
            results[path] = (payload.get("usage"), payload.get("error"))
    for fd, (pid, path, _parts) in children.items():
        os.close(fd)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        _reap(pid, block=False)
        results[path] = (None, "no answer within %s s" % timeout)
    return results


def _reap(pid, block=True):
    try:
        os.waitpid(pid, 0 if block else os.WNOHANG)
    except OSError as exc:
        if exc.errno != errno.ECHILD:
            raise


def mount_facts(mounts, network_usage=False, timeout=5):
    """{mount point: facts} of block-backed and network mounts."""
    facts = {}
    network_paths = []
    for mount in mounts:
        network = mount["fstype"] in NETWORK_FS or mount["fstype"].startswith("nfs")
        block = not mount["maj_min"].startswith("0:") or mount["source"].startswith("/dev/")
        if not (network or block):
            continue
        info = {"source": mount["source"], "fstype": mount["fstype"], "maj_min": mount["maj_min"],
                "root": mount["root"], "options": mount["options"], "network": network,
                "usage": None, "usage_error": None}
        facts[mount["mount"]] = info
        if network:
            if network_usage:
                network_paths.append(mount["mount"])
            else:
                info["usage_error"] = "not read: network filesystem (set network_usage)"
        else:
            info["usage"], info["usage_error"] = local_usage(mount["mount"])
    if network_paths:
        for path, (usage, error) in usage_with_deadline(network_paths, timeout).items():
            facts[path]["usage"], facts[path]["usage_error"] = usage, error
    return facts
