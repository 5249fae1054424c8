# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small, fast readers of sysfs and of udev's database records.

Every reader returns None (or an empty list) for what does not exist: devices
come and go while we read, and a missing attribute is an answer, not an error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

SYS = "/sys"
UDEV_DATA = "/run/udev/data"

# Links udev makes under /dev/disk, as fact keys.
LINK_KINDS = (
    ("disk/by-id/", "by_id"),
    ("disk/by-path/", "by_path"),
    ("disk/by-uuid/", "by_uuid"),
    ("disk/by-partuuid/", "by_partuuid"),
    ("disk/by-label/", "by_label"),
    ("disk/by-partlabel/", "by_partlabel"),
    ("mapper/", "mapper"),
)


def read(path):
    """The text of a sysfs attribute without its trailing newline, or None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 65536)
        if len(data) == 65536:  # /proc tables and large udev records: read to the end
            chunks = [data]
            while data:
                data = os.read(fd, 65536)
                chunks.append(data)
            data = b"".join(chunks)
        return data.decode("utf-8", "replace").rstrip("\n")
    except OSError:
        return None
    finally:
        os.close(fd)


def read_int(path):
    text = read(path)
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


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
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key] = value
    return result


def parse_udev_record(text):
    """A udev database record: (properties, links).

    Lines are `E:KEY=VALUE` (properties) and `S:path` (links, relative to
    /dev); the other line kinds (tags, timestamps) are not facts.
    """
    props = {}
    links = []
    for line in (text or "").splitlines():
        kind = line[:2]
        if kind == "E:":
            key, _sep, value = line[2:].partition("=")
            props[key] = value
        elif kind == "S:":
            links.append(line[2:])
    return props, links


def group_links(links):
    """udev's links of a device, grouped by kind, each list sorted, as /dev paths."""
    grouped = {}
    for link in links:
        for prefix, key in LINK_KINDS:
            if link.startswith(prefix):
                grouped.setdefault(key, []).append("/dev/" + link)
                break
    for paths in grouped.values():
        paths.sort()
    return grouped


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
