# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""parted and partx, typed: partition tables read and changed.

Geometry and free space come from `parted -s -m DEV unit B print free` (every
parted has -m; sizes in bytes). Partition names, PARTUUIDs and type ids come
from `partx -P`, which reads the table itself (no kernel parser needed) and
quotes its fields, so names never break the parsing.

Callers pass the kernel node (links resolved): parted prints the path as given,
and a by-path link holds colons, which -m uses as its separator.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError


@dataclass(frozen=True)
class Extent:
    """Free space on a disk, in bytes; end is the last byte."""
    start: int
    end: int

    @property
    def size(self):
        return self.end - self.start + 1


@dataclass(frozen=True)
class PartedPartition:
    number: int
    start: int
    end: int
    fs: str                   # the filesystem parted detects in it, not the partition type
    name: str
    flags: Tuple[str, ...]

    @property
    def size(self):
        return self.end - self.start + 1


@dataclass(frozen=True)
class DiskTable:
    path: str
    size: int
    logical_sector: int
    physical_sector: int
    label: Optional[str]      # gpt, msdos, ...; "loop" for a filesystem on the whole disk; None: no label
    model: str
    partitions: Tuple[PartedPartition, ...] = ()
    free: Tuple[Extent, ...] = ()


@dataclass(frozen=True)
class PartxEntry:
    number: int
    start: int                # in 512-byte sectors, whatever the device's sector size
    end: int
    uuid: str                 # the PARTUUID: a GUID on gpt, DISKID-NN on dos
    type: str                 # a GUID on gpt, a hex id (0x83) on dos
    flags: str
    scheme: str
    name: str


def _bytes(field, line):
    if not field.endswith("B") or not field[:-1].isdigit():
        raise StorageError("parted printed a size that is not in bytes: %r" % line)
    return int(field[:-1])


def _fields(line):
    """The fields of a -m line: parted ends it with ';' and writes a ':' inside a field as '\\:'."""
    body = line[:-1] if line.endswith(";") else line
    fields, current, pos = [], [], 0
    while pos < len(body):
        char = body[pos]
        if char == "\\" and pos + 1 < len(body):
            current.append(body[pos + 1])
            pos += 2
            continue
        if char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        pos += 1
    fields.append("".join(current))
    return fields


def parse_print(output):
    """DiskTable from `parted -s -m DEV unit B print free` (also without `free`)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if len(lines) < 2 or lines[0] != "BYT;":
        raise StorageError("parted printed no machine-readable table in bytes: %r" % output[:200])
    disk = _fields(lines[1])
    if len(disk) != 8:
        raise StorageError("parted printed an unknown disk line: %r" % lines[1])
    label = disk[5]
    partitions, free = [], []
    for line in lines[2:]:
        fields = _fields(line)
        if len(fields) == 5 and fields[4] == "free":
            free.append(Extent(_bytes(fields[1], line), _bytes(fields[2], line)))
        elif len(fields) == 7 and fields[0].isdigit():
            flags = tuple(flag.strip() for flag in fields[-1].split(",") if flag.strip())
            partitions.append(PartedPartition(number=int(fields[0]), start=_bytes(fields[1], line),
                                              end=_bytes(fields[2], line), fs=fields[4],
                                              name=fields[5], flags=flags))
        else:
            raise StorageError("parted printed an unknown partition line: %r" % line)
    return DiskTable(path=disk[0], size=_bytes(disk[1], lines[1]), logical_sector=int(disk[3]),
                     physical_sector=int(disk[4]), label=None if label == "unknown" else label,
                     model=disk[6], partitions=tuple(partitions), free=tuple(free))


_PAIR = re.compile(r'([A-Z]+)="((?:[^"\\]|\\.)*)"')
_HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def _unescape(value):
    """partx -P writes quotes, backslashes and unprintable bytes as \\xHH; names are UTF-8."""
    data = bytearray()
    pos = 0
    for match in _HEX_ESCAPE.finditer(value):
        data.extend(value[pos:match.start()].encode("utf-8"))
        data.append(int(match.group(1), 16))
        pos = match.end()
    data.extend(value[pos:].encode("utf-8"))
    return data.decode("utf-8", "replace")


PARTX_COLUMNS = ("NR", "START", "END", "UUID", "TYPE", "FLAGS", "SCHEME", "NAME")


def parse_partx(output):
    """PartxEntry list from `partx -P -o NR,START,END,UUID,TYPE,FLAGS,SCHEME,NAME DEV`."""
    entries = []
    for line in output.splitlines():
        if not line.strip():
            continue
        fields = dict((key, _unescape(value)) for key, value in _PAIR.findall(line))
        missing = [column for column in PARTX_COLUMNS if column not in fields]
        if missing:
            raise StorageError("partx printed a line without %s: %r" % (", ".join(missing), line))
        try:
            number, start, end = int(fields["NR"]), int(fields["START"]), int(fields["END"])
        except ValueError:
            raise StorageError("partx printed a line with bad numbers: %r" % line)
        entries.append(PartxEntry(number=number, start=start, end=end, uuid=fields["UUID"].lower(),
                                  type=fields["TYPE"].lower(), flags=fields["FLAGS"], scheme=fields["SCHEME"],
                                  name=fields["NAME"]))
    return entries


class Parted(object):

    def __init__(self, runner):
        self.runner = runner

    def table(self, device):
        """DiskTable with free extents; label None on a device without a partition table."""
        rc, out, err = self.runner.run(["parted", "-s", "-m", device, "unit", "B", "print", "free"], check=False)
        if rc == 0:
            return parse_print(out)
        # a device without a label: parted still prints the disk line, and fails
        if "unrecognised disk label" in err and out.strip():
            table = parse_print(out)
            if table.label is None:
                return table
        raise CommandError(["parted", "-s", "-m", device, "unit", "B", "print", "free"], rc, out, err)

    def mklabel(self, device, label):
        self.runner.run(["parted", "-s", device, "mklabel", label])

    def mkpart(self, device, part_type, fs_type, start, end):
        """A partition from byte start to byte end (inclusive), exactly there: the caller aligns.
        part_type is the partition's name on gpt, primary/logical/extended on msdos."""
        argv = ["parted", "-s", "-a", "none", device, "unit", "B", "mkpart", part_type]
        if fs_type:
            argv.append(fs_type)
        self.runner.run(argv + ["%dB" % start, "%dB" % end])

    def set_flag(self, device, number, flag, state=True):
        self.runner.run(["parted", "-s", device, "set", str(number), flag, "on" if state else "off"])

    def resizepart(self, device, number, end):
        self.runner.run(["parted", "-s", device, "unit", "B", "resizepart", str(number), "%dB" % end])

    def rm(self, device, number):
        self.runner.run(["parted", "-s", device, "rm", str(number)])


class Partx(object):

    def __init__(self, runner):
        self.runner = runner

    def entries(self, device):
        _rc, out, _err = self.runner.run(["partx", "-P", "-o", ",".join(PARTX_COLUMNS), device])
        return parse_partx(out)

    def update(self, device):
        """Tell the kernel the partitions of the table as it is (BLKPG: adds, resizes, removes nodes)."""
        self.runner.run(["partx", "-u", device])

    def delete_all(self, device):
        """Tell the kernel the device has no partitions (after its table was erased)."""
        self.runner.run(["partx", "-d", device])
