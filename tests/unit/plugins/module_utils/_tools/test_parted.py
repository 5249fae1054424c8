# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Partx and Parted: the partx parser on output recorded from the real tool
(util-linux 2.38.1) on loop devices, and the commands both facades run, replayed
against those recordings of the real tools (parted 3.5) (fixtures/parted/*.json,
made by fixtures/record_parted.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._parted import Parted, Partx, parse_partx

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

DEV = "/dev/loop7"
MIB = 1 << 20


def output_of(name, command, index=-1):
    """The index-th recorded step of a partx -P."""
    return [step for step in load_transcript("parted/" + name, DEV=DEV)["steps"] if step["argv"][0] == command][index]


def is_change(step):
    """A parted command that changes the table (the recordings also hold parted's print, for the backend's tests)."""
    return step["argv"][0] == "parted" and step["argv"][-1] != "free"


def replay(fake_runner, name, pick):
    """A runner expecting the recorded steps of name for which pick(step) is true."""
    runner = fake_runner()
    runner.commands.update(("parted", "partx"))
    for step in load_transcript("parted/" + name, DEV=DEV)["steps"]:
        if pick(step):
            runner.expect(step["argv"], step["rc"], step["stdout"], step["stderr"])
    return runner


# -- partx -P ------------------------------------------------------------------------


def test_partx_gpt_types_uuids_and_names():
    entries = parse_partx(output_of("gpt_formats", "partx")["stdout"])
    assert [entry.number for entry in entries] == list(range(1, 11))
    assert [entry.name for entry in entries] == ["plain", "root", "swap", "pv", "md", "esp", "", "part1", "twin", "twin"]
    assert entries[2].type == "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"
    assert entries[3].type == "e6d6d379-f507-44c2-a23c-238f2a3df928"
    assert entries[4].type == "a19d880f-05fc-4d3b-a006-743f0f84911e"
    assert entries[5].type == "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"
    assert all(entry.scheme == "gpt" and len(entry.uuid) == 36 for entry in entries)
    assert len(set(entry.uuid for entry in entries)) == 10
    # 512-byte sectors
    assert (entries[1].start, entries[1].end) == (4096, 8191)


def test_partx_dos_ids_and_partuuids():
    entries = parse_partx(output_of("dos_mixed", "partx")["stdout"])
    assert [entry.type for entry in entries] == ["0x83", "0x82", "0xe", "0xf", "0xc", "0x8e"]
    disk_id = entries[0].uuid.split("-")[0]
    assert [entry.uuid for entry in entries] == ["%s-%02x" % (disk_id, number) for number in range(1, 7)]
    assert all(entry.name == "" and entry.scheme == "dos" for entry in entries)


def test_partx_unescapes_names():
    entries = parse_partx(output_of("gpt_names", "partx")["stdout"])
    assert [entry.name for entry in entries] == ['a "q" b:c']
    line = 'NR="1" START="1" END="2" UUID="U" TYPE="T" FLAGS="" SCHEME="gpt" NAME="caf\\xc3\\xa9 \\x5c"\n'
    assert parse_partx(line)[0].name == u"caf\u00e9 \\"


def test_partx_of_an_empty_table_is_empty():
    assert parse_partx(output_of("gpt_empty", "partx")["stdout"]) == []


@pytest.mark.parametrize("line", ['NR="1" START="2"', 'NR="x" START="1" END="2" UUID="" TYPE="" FLAGS="" SCHEME="" NAME=""'])
def test_partx_lines_it_cannot_read(line):
    with pytest.raises(StorageError):
        parse_partx(line)


# -- the facades against the recordings ---------------------------------------------------


def test_partx_of_a_blank_device_fails(fake_runner):
    runner = replay(fake_runner, "blank", lambda step: step["argv"][0] == "partx")
    with pytest.raises(CommandError) as err:
        Partx(runner).entries(DEV)
    assert "failed to read partition table" in str(err.value)


def test_the_commands_of_a_layout_with_every_format(fake_runner):
    """mklabel, mkpart (with and without fs-type), set: the argv the real parted accepted."""
    runner = replay(fake_runner, "gpt_formats", lambda step: is_change(step) or step["argv"][0] == "partx")
    parted, partx = Parted(runner), Partx(runner)
    parted.mklabel(DEV, "gpt")
    parted.mkpart(DEV, "plain", None, MIB, 2 * MIB - 1)
    parted.mkpart(DEV, "root", "ext2", 2 * MIB, 4 * MIB - 1)
    parted.mkpart(DEV, "swap", "linux-swap", 4 * MIB, 5 * MIB - 1)
    parted.mkpart(DEV, "pv", None, 5 * MIB, 6 * MIB - 1)
    parted.set_flag(DEV, 4, "lvm")
    parted.mkpart(DEV, "md", None, 6 * MIB, 7 * MIB - 1)
    parted.set_flag(DEV, 5, "raid")
    parted.mkpart(DEV, "esp", "fat32", 7 * MIB, 8 * MIB - 1)
    parted.mkpart(DEV, "''", None, 10 * MIB, 11 * MIB - 1)
    parted.mkpart(DEV, "part1", None, 11 * MIB, 12 * MIB - 1)
    parted.mkpart(DEV, "twin", None, 12 * MIB, 13 * MIB - 1)
    parted.mkpart(DEV, "twin", None, 13 * MIB, 14 * MIB - 1)
    assert len(partx.entries(DEV)) == 10


def test_resize_and_remove_and_their_errors(fake_runner):
    runner = replay(fake_runner, "gpt_grow_and_remove", lambda step: is_change(step) or step["argv"][0] == "partx")
    parted = Parted(runner)
    parted.mklabel(DEV, "gpt")
    parted.mkpart(DEV, "first", None, MIB, 9 * MIB - 1)
    parted.mkpart(DEV, "last", "linux-swap", 9 * MIB, 17 * MIB - 1)
    parted.resizepart(DEV, 2, 33 * MIB - 1)
    with pytest.raises(CommandError) as err:
        parted.resizepart(DEV, 2, 99 * MIB - 1)
    assert "outside of the device" in str(err.value)
    parted.rm(DEV, 1)
    with pytest.raises(CommandError) as err:
        parted.rm(DEV, 7)
    assert "Partition doesn't exist" in str(err.value)
    entries = Partx(runner).entries(DEV)
    assert [(entry.number, entry.name, entry.start, entry.end) for entry in entries] == [(2, "last", 18432, 67583)]


def test_a_name_parted_refuses_under_the_c_locale(fake_runner):
    runner = replay(fake_runner, "gpt_names", lambda step: "mklabel" in step["argv"] or (is_change(step) and step["rc"] != 0))
    Parted(runner).mklabel(DEV, "gpt")
    with pytest.raises(CommandError) as err:
        Parted(runner).mkpart(DEV, u"caf\u00e9", None, 2 * MIB, 3 * MIB - 1)
    assert "multibyte" in str(err.value)


def test_partx_update_and_delete_argv(fake_runner):
    runner = fake_runner()
    runner.commands.add("partx")
    runner.expect(["partx", "-u", DEV]).expect(["partx", "-d", DEV])
    Partx(runner).update(DEV)
    Partx(runner).delete_all(DEV)
