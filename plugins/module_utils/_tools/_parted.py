# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""parted and partx, typed: partition tables changed with parted, read with partx.

Reads never use parted: it opens the disk read-write even to print, and where
udev runs, every close of a disk opened for writing makes udev re-read its
table, which drops and re-adds every partition node and link. partx reads the
table itself, read-only (no kernel parser needed), and quotes its fields, so
names never break the parsing.

Callers pass the kernel node (links resolved).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError


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
        _rc, out, _err = self.runner.read(["partx", "-P", "-o", ",".join(PARTX_COLUMNS), device])
        return parse_partx(out)

    def update(self, device):
        """Tell the kernel the partitions of the table as it is (BLKPG: adds, resizes, removes nodes)."""
        self.runner.run(["partx", "-u", device])

    def delete_all(self, device):
        """Tell the kernel the device has no partitions (after its table was erased)."""
        self.runner.run(["partx", "-d", device])
