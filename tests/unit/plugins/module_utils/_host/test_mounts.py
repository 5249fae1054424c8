# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_mounts: the mount table without touching mounts, swap, and usage that cannot hang."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _mounts
from ansible_collections.poolcraft.storage.plugins.module_utils._host._mounts import _unescape

MOUNTINFO = "\n".join([
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
    "23 22 0:21 / /proc rw,nosuid - proc proc rw",
    "40 22 7:3 / /srv/my\\040data rw,relatime shared:20 - xfs /dev/loop3 rw,attr2",
    "41 22 0:45 / /srv/btr rw,relatime shared:21 - btrfs /dev/loop4 rw,space_cache=v2",
    "42 22 0:52 / /mnt/nfs rw,relatime shared:22 - nfs4 127.0.0.1:/export rw,vers=4.2",
    "43 22 0:53 / /run/user rw - tmpfs tmpfs rw",
    "garbage line",
])


def test_parse_mountinfo():
    mounts = _mounts.parse_mountinfo(MOUNTINFO)
    assert [m["mount"] for m in mounts] == ["/", "/proc", "/srv/my data", "/srv/btr", "/mnt/nfs", "/run/user"]
    assert mounts[2] == {"maj_min": "7:3", "root": "/", "mount": "/srv/my data", "options": "rw,relatime",
                         "fstype": "xfs", "source": "/dev/loop3", "super_options": "rw,attr2"}


def test_mounts_by_device_uses_the_source_of_anonymous_devices():
    by_dev = _mounts.mounts_by_device(_mounts.parse_mountinfo(MOUNTINFO))
    assert by_dev["254:0"] == ["/"]
    assert by_dev["7:3"] == ["/srv/my data"]
    assert by_dev["/dev/loop4"] == ["/srv/btr"]
    assert "0:52" not in by_dev and "0:21" not in by_dev


def test_swaps():
    text = "Filename\tType\tSize\tUsed\tPriority\n/dev/loop9  partition\t1020\t0\t-2\n/swapfile  file  10  0  -3\n"
    assert _mounts.parse_swaps(text) == {"loop9"}


def test_mount_facts_do_not_read_network_filesystems(monkeypatch):
    read = []
    monkeypatch.setattr(_mounts, "_statvfs", lambda path: read.append(path) or {"size_total": 1})
    facts = _mounts.mount_facts(_mounts.parse_mountinfo(MOUNTINFO))
    assert sorted(facts) == ["/", "/mnt/nfs", "/srv/btr", "/srv/my data"]
    assert facts["/mnt/nfs"]["network"] is True
    assert facts["/mnt/nfs"]["usage"] is None and "network_usage" in facts["/mnt/nfs"]["usage_error"]
    assert "/mnt/nfs" not in read
    assert facts["/"]["usage"] == {"size_total": 1}


def test_usage_with_deadline_reads(tmp_path):
    result = _mounts.usage_with_deadline([str(tmp_path)], 10)
    usage, error = result[str(tmp_path)]
    assert error is None
    assert usage["size_total"] >= usage["size_available"] > 0


def test_usage_with_deadline_kills_a_hung_reader(tmp_path, monkeypatch):
    """A statvfs that never returns (a dead NFS server) costs the deadline, not the task."""
    def hang(path):
        if path.endswith("dead"):
            time.sleep(60)
        return {"size_total": 7}
    monkeypatch.setattr(_mounts, "_statvfs", hang)
    start = time.time()
    result = _mounts.usage_with_deadline([str(tmp_path / "dead"), str(tmp_path / "alive")], 1)
    assert time.time() - start < 10
    assert result[str(tmp_path / "dead")] == (None, "no answer within 1 s")
    assert result[str(tmp_path / "alive")] == ({"size_total": 7}, None)


def test_usage_error_is_reported(tmp_path):
    usage, error = _mounts.local_usage(str(tmp_path / "missing"))
    assert usage is None and error


def test_network_usage_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(_mounts, "_statvfs", lambda path: {"size_total": 5})
    mount = {"maj_min": "0:60", "root": "/", "mount": str(tmp_path), "options": "rw", "fstype": "nfs",
             "source": "server:/x", "super_options": ""}
    facts = _mounts.mount_facts([mount], network_usage=True, timeout=5)
    assert facts[str(tmp_path)]["usage"] == {"size_total": 5}
    assert os.path.isdir(str(tmp_path))


def test_mountinfo_lines_end_at_newline_only():
    # the kernel escapes space, tab, newline and backslash, but not U+2028, U+0085 or a form feed
    text = u"\n".join([
        u"50 22 7:5 / /srv/a\u2028b rw - ext4 /dev/loop5 rw",
        u"51 22 7:6 / /srv/c\x85d\x0ce rw - ext4 /dev/loop6 rw",
        u"52 22 7:7 / /srv/f\\012g rw - ext4 /dev/loop7 rw",
    ]) + u"\n"
    mounts = _mounts.parse_mountinfo(text)
    assert [m["mount"] for m in mounts] == [u"/srv/a\u2028b", u"/srv/c\x85d\x0ce", u"/srv/f\ng"]
    assert [m["source"] for m in mounts] == ["/dev/loop5", "/dev/loop6", "/dev/loop7"]


def test_unescape_takes_ascii_octal_escapes_only():
    assert _unescape("/srv/a\\040b\\011c\\134d") == "/srv/a b\tc\\d"
    # not an escape: digits 8 and 9, too few digits, non-ASCII digits; none of them crashes
    assert _unescape("/srv/a\\999") == "/srv/a\\999"
    assert _unescape("/srv/a\\04") == "/srv/a\\04"
    assert _unescape(u"/srv/a\\\u0661\u0662\u0663") == u"/srv/a\\\u0661\u0662\u0663"
    assert _unescape("/srv/a\\") == "/srv/a\\"


def test_swaps_fields_split_on_spaces_and_tabs_only():
    text = u"Filename\tType\tSize\tUsed\tPriority\n/dev/loop9\u2028x  partition\t1020\t0\t-2\n/dev/loop8\t\tpartition\t1\t0\t-3"
    assert _mounts.parse_swaps(text) == {u"loop9\u2028x", "loop8"}
