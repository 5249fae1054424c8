# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small, fast readers of sysfs, /proc/partitions and udev's database records.

Every reader returns None (or an empty list) for what does not exist: devices
come and go while we read, and a missing attribute is an answer, not an error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.poolcraft.storage.plugins.module_utils._units import to_int

SYS = "/sys"
UDEV_DATA = "/run/udev/data"
_ASCII_BLANKS = re.compile(r"[ \t]+")

# The stable links udev makes, relative to /dev (by-diskseq and the loop links are left out).
LINK_PREFIXES = ("disk/by-id/", "disk/by-path/", "disk/by-uuid/", "disk/by-partuuid/", "disk/by-label/",
                 "disk/by-partlabel/", "mapper/")


def read(path):
    """The text of a sysfs attribute (one read: sysfs gives all of it at once) without its
    trailing newline, or None. Also for udev records (small files on tmpfs)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 65536).decode("utf-8", "replace").rstrip("\n")
    except OSError:
        return None
    finally:
        os.close(fd)


def read_all(path):
    """The whole text of a file that may come in pieces (/proc tables come a page per read), or None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def read_int(path):
    return to_int(read(path))


def read_bool(path):
    value = read_int(path)
    return None if value is None else value != 0


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def parse_uevent(text):
    """KEY=VALUE lines of a sysfs uevent file, as a dict."""
    result = {}
    for line in (text or "").split("\n"):  # sysfs lines end in \n alone: a value may hold \x85
        key, sep, value = line.partition("=")
        if sep:
            result[key] = value
    return result


_RECORD_PROPERTY = re.compile(r"^E:([^=\n]+)=(.*)$", re.M)
_RECORD_LINK = re.compile(r"^S:(.*)$", re.M)


def parse_udev_record(text):
    """A udev database record: (properties, links).

    Lines are `E:KEY=VALUE` (properties) and `S:path` (links, relative to
    /dev); the other line kinds (tags, timestamps) are not facts.
    """
    if not text:
        return {}, []
    return dict(_RECORD_PROPERTY.findall(text)), _RECORD_LINK.findall(text)


def stable_links(links):
    """udev's stable links of a device (by-id, by-path, by-uuid, by-partuuid, by-label,
    by-partlabel, mapper) as sorted /dev paths."""
    return sorted("/dev/" + link for link in links if link.startswith(LINK_PREFIXES))


def unescape_udev(value):
    r"""udev escapes unsafe characters in values as \xNN."""
    if value is None or "\\x" not in value:
        return value
    out = []
    i = 0
    while i < len(value):
        if value.startswith("\\x", i) and i + 4 <= len(value):
            try:
                out.append(chr(int(value[i + 2:i + 4], 16)))
                i += 4
                continue
            except ValueError:
                pass
        out.append(value[i])
        i += 1
    return "".join(out)


def parse_proc_partitions(text):
    """{name: "major:minor"} from /proc/partitions."""
    result = {}
    for line in (text or "").split("\n")[2:]:  # the kernel's lines end in \n alone
        fields = _ASCII_BLANKS.split(line.strip(" \t"))  # str.split() would also cut at \x0c and U+0085
        if len(fields) == 4:
            result[fields[3]] = "%s:%s" % (fields[0], fields[1])
    return result
