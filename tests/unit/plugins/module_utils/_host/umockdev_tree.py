# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A umockdev record (fixtures/umockdev/*.umockdev) laid out as a plain sysfs tree under a directory,
for code that reads sysfs through a root it is given (no LD_PRELOAD, so files can be written and
the tree changed while the code runs, as the kernel changes it).

Each `P:` device becomes ROOT/sys/devices/..., with its `A:` attributes as files and its `L:` links;
a device of a class (SUBSYSTEM scsi_host, fc_host, block ...) gets its /sys/class/CLASS/NAME link,
a SCSI device (DEVTYPE scsi_device) its /sys/bus/scsi/devices/H:C:T:L link, and a block device
(`N:`, with a `dev` attribute) udev's record ROOT/run/udev/data/bMAJ:MIN from its `E:` and `S:` lines.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

CLASSES = ("scsi_host", "fc_host", "block", "fc_remote_ports", "fc_vports", "scsi_device", "scsi_disk")


def _unescape(value):
    return value.replace("\\n", "\n")


def parse(path):
    """[{"path", "attrs", "links", "env", "symlinks"}] of the record's devices, in order."""
    devices, current = [], None
    with open(path) as handle:
        for line in handle.read().split("\n"):
            kind, _sep, rest = line.partition(": ")
            if kind == "P":
                current = {"path": rest, "attrs": {}, "links": {}, "env": {}, "symlinks": [], "node": None}
                devices.append(current)
            elif kind == "A":
                name, _sep, value = rest.partition("=")
                current["attrs"][name] = _unescape(value)
            elif kind == "L":
                name, _sep, value = rest.partition("=")
                current["links"][name] = value
            elif kind == "E":
                name, _sep, value = rest.partition("=")
                current["env"][name] = value
            elif kind == "S":
                current["symlinks"].append(rest)
            elif kind == "N":
                current["node"] = rest
    return devices


def _link(link, target):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.lexists(link):
        os.symlink(os.path.relpath(target, os.path.dirname(link)), link)


def materialize(record, root):
    """Lay the record out under root; the paths made (device directories and links), for remove()."""
    sys = os.path.join(str(root), "sys")
    made = []
    for device in parse(record):
        directory = sys + device["path"]
        os.makedirs(directory, exist_ok=True)
        made.append(directory)
        for name, value in device["attrs"].items():
            with open(os.path.join(directory, name), "w") as handle:
                handle.write(value)
        for name, target in device["links"].items():
            _link(os.path.join(directory, name), os.path.normpath(os.path.join(directory, target)))
        name, env = os.path.basename(directory), device["env"]
        if env.get("SUBSYSTEM") in CLASSES:
            made.append(os.path.join(sys, "class", env["SUBSYSTEM"], name))
            _link(made[-1], directory)
        if env.get("DEVTYPE") == "scsi_device":
            made.append(os.path.join(sys, "bus", "scsi", "devices", name))
            _link(made[-1], directory)
        if device["node"] and "dev" in device["attrs"]:
            data = os.path.join(str(root), "run", "udev", "data", "b" + device["attrs"]["dev"].strip())
            os.makedirs(os.path.dirname(data), exist_ok=True)
            with open(data, "w") as handle:
                handle.write("".join("S:%s\n" % link for link in device["symlinks"]))
                handle.write("".join("E:%s=%s\n" % item for item in sorted(env.items())))
            made.append(data)
    return made


def remove(made):
    """Take away what materialize() made (links first, then the device directories, deepest first)."""
    for path in sorted(made, key=len, reverse=True):
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
