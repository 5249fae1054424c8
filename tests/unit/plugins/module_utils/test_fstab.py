# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_fstab: our two-line entries (marker + mount line) in a scratch fstab; never the host's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _fstab
from ansible_collections.poolcraft.storage.plugins.module_utils._mounts import _unescape

# Someone else's lines, with tabs, a comment, a blank line and no marker of ours.
OTHERS = ("# /etc/fstab: static file system information.\n"
          "UUID=0a1b2c3d\t/\text4\terrors=remount-ro\t0\t1\n"
          "\n"
          "tmpfs /tmp tmpfs defaults,size=1g 0 0\n")


@pytest.fixture
def fstab(tmp_path):
    path = tmp_path / "fstab"
    path.write_text(OTHERS)
    os.chmod(str(path), 0o644)
    return str(path)


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def entry(name="images", device="/dev/loop3", target="/srv/images", fstype="ext4", options=()):
    return _fstab.entry_lines(name, device, target, fstype, options)


# -- entry_lines ---------------------------------------------------------------------

def test_entry_lines():
    assert entry() == ["# poolcraft.storage pool images", "/dev/loop3 /srv/images ext4 nofail 0 2"]


def test_options_come_before_nofail():
    assert entry(options=["noatime", "commit=30"])[1] == "/dev/loop3 /srv/images ext4 noatime,commit=30,nofail 0 2"
    assert entry(options=("ro",))[1] == "/dev/loop3 /srv/images ext4 ro,nofail 0 2"


def test_no_fstype_is_auto():
    assert entry(fstype=None)[1] == "/dev/loop3 /srv/images auto nofail 0 2"
    assert entry(fstype="auto")[1] == "/dev/loop3 /srv/images auto nofail 0 2"


def test_spaces_tabs_newlines_and_backslashes_are_escaped():
    line = entry(device="/dev/disk/by-label/my disk", target="/srv/my pool\twith\\odd\nname")[1]
    assert line == "/dev/disk/by-label/my\\040disk /srv/my\\040pool\\011with\\134odd\\012name ext4 nofail 0 2"
    fields = line.split()
    assert len(fields) == 6
    # the kernel's own octal escapes, as the mount table has them: they read back as given
    assert _unescape(fields[0]) == "/dev/disk/by-label/my disk"
    assert _unescape(fields[1]) == "/srv/my pool\twith\\odd\nname"


def test_a_backslash_is_escaped_before_the_rest():
    # "\040" typed by hand in a path is a backslash and three digits, not a space
    assert entry(target="/srv/a\\040b")[1].split()[1] == "/srv/a\\134040b"


# -- current_entry -----------------------------------------------------------------

def test_no_file_no_entry(tmp_path):
    assert _fstab.current_entry(str(tmp_path / "missing"), "images") == []


def test_no_marker_no_entry(fstab):
    assert _fstab.current_entry(fstab, "images") == []


def test_current_entry_is_the_marker_and_the_next_line(fstab):
    with open(fstab, "a") as handle:
        handle.write("# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 nofail 0 2\n/dev/sdz1 /data xfs defaults 0 0\n")
    assert _fstab.current_entry(fstab, "images") == entry()


def test_marker_of_another_pool_is_not_ours(fstab):
    _fstab.set_entry(fstab, "images-old", entry(name="images-old", target="/srv/old"))
    assert _fstab.current_entry(fstab, "images") == []
    assert _fstab.current_entry(fstab, "images-old") == entry(name="images-old", target="/srv/old")


# -- set_entry -------------------------------------------------------------------------

def test_set_entry_appends_and_keeps_every_other_line(fstab):
    _fstab.set_entry(fstab, "images", entry())
    assert read(fstab) == OTHERS + "# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 nofail 0 2\n"
    assert _fstab.current_entry(fstab, "images") == entry()


def test_set_entry_is_idempotent(fstab):
    _fstab.set_entry(fstab, "images", entry())
    once = read(fstab)
    _fstab.set_entry(fstab, "images", entry())
    assert read(fstab) == once
    assert read(fstab).count("# poolcraft.storage pool images\n") == 1


def test_changed_entry_replaces_the_old_one(fstab):
    _fstab.set_entry(fstab, "images", entry())
    _fstab.set_entry(fstab, "images", entry(options=["noatime"]))
    assert read(fstab) == OTHERS + "# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 noatime,nofail 0 2\n"


def test_removal_leaves_the_file_as_it_was(fstab):
    _fstab.set_entry(fstab, "images", entry())
    _fstab.set_entry(fstab, "images", [])
    assert read(fstab) == OTHERS
    assert _fstab.current_entry(fstab, "images") == []


def test_removal_of_one_pool_keeps_the_others(fstab):
    _fstab.set_entry(fstab, "a", entry(name="a", target="/srv/a"))
    _fstab.set_entry(fstab, "b", entry(name="b", target="/srv/b"))
    _fstab.set_entry(fstab, "a", [])
    assert read(fstab) == OTHERS + "# poolcraft.storage pool b\n/dev/loop3 /srv/b ext4 nofail 0 2\n"


def test_entry_in_the_middle_is_removed_in_place(fstab):
    with open(fstab, "w") as handle:
        handle.write("first\n# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 nofail 0 2\nlast\n")
    _fstab.set_entry(fstab, "images", [])
    assert read(fstab) == "first\nlast\n"


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640])
def test_file_mode_is_kept(fstab, mode):
    os.chmod(fstab, mode)
    _fstab.set_entry(fstab, "images", entry())
    assert stat.S_IMODE(os.stat(fstab).st_mode) == mode
    _fstab.set_entry(fstab, "images", [])
    assert stat.S_IMODE(os.stat(fstab).st_mode) == mode


def test_new_file_is_0644(tmp_path):
    path = str(tmp_path / "fstab")
    _fstab.set_entry(path, "images", entry())
    assert read(path) == "# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 nofail 0 2\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_no_temporary_file_is_left(fstab, tmp_path):
    _fstab.set_entry(fstab, "images", entry())
    _fstab.set_entry(fstab, "images", [])
    assert sorted(os.listdir(str(tmp_path))) == ["fstab"]


def test_a_last_line_without_newline_gets_one(tmp_path):
    path = tmp_path / "fstab"
    path.write_text("tmpfs /tmp tmpfs defaults 0 0")
    _fstab.set_entry(str(path), "images", entry())
    assert path.read_text() == "tmpfs /tmp tmpfs defaults 0 0\n# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 nofail 0 2\n"


def test_names_with_spaces_have_their_own_marker(fstab):
    _fstab.set_entry(fstab, "my pool", entry(name="my pool"))
    assert _fstab.current_entry(fstab, "my pool")[0] == "# poolcraft.storage pool my pool"
    assert _fstab.current_entry(fstab, "my") == []
