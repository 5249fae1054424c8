# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wipefs: parse_signatures on outputs recorded from the real wipefs, and the argv it runs.

The outputs below are the exact stdout of `wipefs --no-act --json -O TYPE,OFFSET X`
(util-linux 2.38.1, Debian 12), recorded on sparse image files (and, for the LVM
PV, on a loop device over one, since pvcreate takes block devices only) made with:

  empty  truncate -s 64M empty.img
  ext4   mkfs.ext4 -q -F ext4.img                          (64 MiB)
  xfs    mkfs.xfs -q -f xfs.img                            (320 MiB)
  btrfs  mkfs.btrfs -q -f btrfs.img                        (200 MiB)
  gpt    parted -s gpt.img mklabel gpt                     (64 MiB: the backup header is at its end)
  dos    parted -s dos.img mklabel msdos
  swap   mkswap swap.img
  lvm    pvcreate -q /dev/loopN                            (lvm.conf: activation = 0)
  luks   cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2
         --pbkdf-force-iterations 1000 --key-file KEY luks.img

and, for a path that does not exist, rc 1 with only stderr.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs, parse_signatures

RECORDED = {
    "empty": '{\n   "signatures": [\n\n   ]\n}\n',
    "ext4": '{\n   "signatures": [\n      {\n         "type": "ext4",\n         "offset": "0x438"\n      }\n   ]\n}\n',
    "xfs": '{\n   "signatures": [\n      {\n         "type": "xfs",\n         "offset": "0x0"\n      }\n   ]\n}\n',
    "btrfs": '{\n   "signatures": [\n      {\n         "type": "btrfs",\n         "offset": "0x10040"\n      }\n   ]\n}\n',
    "gpt": '{\n   "signatures": [\n      {\n         "type": "gpt",\n         "offset": "0x200"\n      },{\n'
           '         "type": "gpt",\n         "offset": "0x3fffe00"\n      },{\n'
           '         "type": "PMBR",\n         "offset": "0x1fe"\n      }\n   ]\n}\n',
    "dos": '{\n   "signatures": [\n      {\n         "type": "dos",\n         "offset": "0x1fe"\n      }\n   ]\n}\n',
    "swap": '{\n   "signatures": [\n      {\n         "type": "swap",\n         "offset": "0xff6"\n      }\n   ]\n}\n',
    "lvm": '{\n   "signatures": [\n      {\n         "type": "LVM2_member",\n         "offset": "0x218"\n      }\n   ]\n}\n',
    "luks": '{\n   "signatures": [\n      {\n         "type": "crypto_LUKS",\n         "offset": "0x0"\n      },{\n'
            '         "type": "crypto_LUKS",\n         "offset": "0x4000"\n      }\n   ]\n}\n',
}
MISSING_STDERR = "wipefs: error: /nonexistent: probing initialization failed: No such file or directory\n"


@pytest.mark.parametrize("name, expected", [
    ("empty", []),
    ("ext4", ["ext4"]),
    ("xfs", ["xfs"]),
    ("btrfs", ["btrfs"]),
    # the primary and the backup header are one signature; the protective MBR is another
    ("gpt", ["gpt", "PMBR"]),
    ("dos", ["dos"]),
    ("swap", ["swap"]),
    ("lvm", ["LVM2_member"]),
    # LUKS2 has two headers: one type
    ("luks", ["crypto_LUKS"]),
])
def test_recorded_outputs(name, expected):
    assert parse_signatures(RECORDED[name]) == expected


@pytest.mark.parametrize("output", ["", "\n", "   \n\t"])
def test_no_output_is_no_signature(output):
    assert parse_signatures(output) == []


def test_order_is_kept_and_repeats_dropped():
    output = ('{"signatures": [{"type": "dos", "offset": "0x1fe"}, {"type": "ext4", "offset": "0x438"},'
              ' {"type": "dos", "offset": "0x1fe"}, {"type": "btrfs", "offset": "0x10040"}]}')
    assert parse_signatures(output) == ["dos", "ext4", "btrfs"]


def test_entries_without_a_type_are_skipped():
    output = '{"signatures": [{"offset": "0x0"}, {"type": "", "offset": "0x1"}, {"type": "xfs", "offset": "0x0"}]}'
    assert parse_signatures(output) == ["xfs"]


def test_json_without_signatures_key_is_no_signature():
    assert parse_signatures("{}") == []


@pytest.mark.parametrize("output", ["DEVICE OFFSET TYPE\nloop0 0x438 ext4\n", "{\"signatures\": [", "not json"])
def test_output_that_is_not_json_is_a_clear_error(output):
    with pytest.raises(StorageError) as caught:
        parse_signatures(output)
    assert str(caught.value).startswith("wipefs printed no JSON: ")
    assert output[:20] in str(caught.value)


def test_long_output_is_cut_in_the_message():
    with pytest.raises(StorageError) as caught:
        parse_signatures("x" * 5000)
    assert len(str(caught.value)) < 300


def _runner(fake_runner):
    runner = fake_runner()
    runner.commands.add("wipefs")
    return runner


@pytest.mark.parametrize("name, expected", [("gpt", ["gpt", "PMBR"]), ("empty", [])])
def test_signatures_runs_wipefs_read_only(fake_runner, name, expected):
    runner = _runner(fake_runner)
    runner.expect(["wipefs", "--no-act", "--json", "-O", "TYPE,OFFSET", "/dev/loop7"], stdout=RECORDED[name])
    assert Wipefs(runner).signatures("/dev/loop7") == expected
    # --no-act: the only command run never writes
    assert all("--no-act" in argv for argv in runner.calls)


def test_signatures_of_a_missing_device_is_a_command_error(fake_runner):
    runner = _runner(fake_runner)
    runner.expect(["wipefs", "--no-act", "--json", "-O", "TYPE,OFFSET", "/nonexistent"], rc=1, stderr=MISSING_STDERR)
    with pytest.raises(CommandError) as caught:
        Wipefs(runner).signatures("/nonexistent")
    assert "probing initialization failed" in str(caught.value)
    assert caught.value.rc == 1


def test_erase_all_is_the_only_erasing_command(fake_runner):
    runner = _runner(fake_runner)
    runner.expect(["wipefs", "--all", "--quiet", "/dev/loop7"])
    assert Wipefs(runner).erase_all("/dev/loop7") is None
    assert runner.calls == [["wipefs", "--all", "--quiet", "/dev/loop7"]]
