# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_fstab: our two-line entries (marker + mount line) in a scratch fstab; never the host's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import threading

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _fstab
from ansible_collections.poolcraft.storage.plugins.module_utils._host._mounts import _unescape

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


def test_a_network_entry_is_netdev_nofail_without_fsck():
    lines = _fstab.entry_lines("shared", "127.0.0.1:/srv/x", "/srv/shared", "nfs", ["vers=4.2", "noatime"], network=True)
    assert lines == ["# poolcraft.storage pool shared", "127.0.0.1:/srv/x /srv/shared nfs vers=4.2,noatime,_netdev,nofail 0 0"]
    # _netdev given by the task is not written twice
    assert _fstab.entry_lines("shared", "h:/x", "/s", "nfs", ["_netdev"], network=True)[1] == "h:/x /s nfs _netdev,nofail 0 0"
    # an fs pool's entry is as it was: pass 2, no _netdev
    assert _fstab.entry_lines("images", "/dev/loop3", "/srv/images", "ext4", ["_netdev"])[1] == \
        "/dev/loop3 /srv/images ext4 _netdev,nofail 0 2"


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


def test_a_missing_final_newline_stays_missing(tmp_path):
    path = tmp_path / "fstab"
    path.write_text("tmpfs /tmp tmpfs defaults 0 0")
    _fstab.set_entry(str(path), "images", entry())
    assert path.read_text() == "tmpfs /tmp tmpfs defaults 0 0\n# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 nofail 0 2"
    assert _fstab.current_entry(str(path), "images") == entry()
    _fstab.set_entry(str(path), "images", [])
    assert path.read_text() == "tmpfs /tmp tmpfs defaults 0 0"


def test_names_with_spaces_have_their_own_marker(fstab):
    _fstab.set_entry(fstab, "my pool", entry(name="my pool"))
    assert _fstab.current_entry(fstab, "my pool")[0] == "# poolcraft.storage pool my pool"
    assert _fstab.current_entry(fstab, "my") == []


# -- line rules: "\n" only, every other byte kept -------------------------------------------

ODD = (u"# a comment with a line separator \u2028 inside\n"
       u"# and a next line \x85 and a form feed \x0c and \x1c \x1d \x1e \u2029\n"
       u"/dev/sdz1 /srv/\u00e9t\u00e9 xfs defaults 0 0\n").encode("utf-8") + b"# latin-1, not UTF-8: caf\xe9\r\n"


def test_lines_are_split_on_newline_only_and_kept_byte_for_byte(tmp_path):
    path = tmp_path / "fstab"
    path.write_bytes(ODD)
    _fstab.set_entry(str(path), "images", entry())
    assert path.read_bytes() == ODD + b"# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 nofail 0 2\n"
    _fstab.set_entry(str(path), "images", [])
    assert path.read_bytes() == ODD


def test_a_marker_inside_a_longer_line_is_not_ours(tmp_path):
    # with splitlines() the U+2028 would make the tail of this line look like our marker
    path = tmp_path / "fstab"
    text = u"# note\u2028# poolcraft.storage pool images\n/dev/sdz1 /data xfs defaults 0 0\n"
    path.write_text(text, encoding="utf-8")
    assert _fstab.current_entry(str(path), "images") == []
    _fstab.set_entry(str(path), "images", [])
    assert path.read_text(encoding="utf-8") == text


def test_an_empty_file_gets_just_the_entry(tmp_path):
    path = tmp_path / "fstab"
    path.write_bytes(b"")
    _fstab.set_entry(str(path), "images", entry())
    assert path.read_bytes() == b"# poolcraft.storage pool images\n/dev/loop3 /srv/images ext4 nofail 0 2\n"
    _fstab.set_entry(str(path), "images", [])
    assert path.read_bytes() == b""


def test_an_entry_written_twice_is_seen_and_rewritten_once(fstab):
    with open(fstab, "a") as handle:
        handle.write("\n".join(entry() + entry()) + "\n")
    assert _fstab.current_entry(fstab, "images") == entry() + entry()
    _fstab.set_entry(fstab, "images", entry())
    assert read(fstab) == OTHERS + "\n".join(entry()) + "\n"


@pytest.mark.parametrize("following", ["# someone's comment", "", "   ", "# poolcraft.storage pool other"])
def test_a_marker_whose_mount_line_is_gone_takes_nothing_else_with_it(fstab, following):
    with open(fstab, "a") as handle:
        handle.write("# poolcraft.storage pool images\n%s\n" % following)
    assert _fstab.current_entry(fstab, "images") == ["# poolcraft.storage pool images"]
    _fstab.set_entry(fstab, "images", [])
    assert read(fstab) == OTHERS + following + "\n"


def test_an_entry_under_a_name_refused_today_is_still_removed(tmp_path):
    # written by an older release: one line in the file, though splitlines() would see two
    path = tmp_path / "fstab"
    old = u"# poolcraft.storage pool a\u2028b\n/dev/loop3 /srv/ab ext4 nofail 0 2\n"
    path.write_text(OTHERS + old, encoding="utf-8")
    assert len(_fstab.current_entry(str(path), u"a\u2028b")) == 2
    _fstab.set_entry(str(path), u"a\u2028b", [])
    assert path.read_text(encoding="utf-8") == OTHERS


# -- what goes into our lines: escaped or refused -------------------------------------------

@pytest.mark.parametrize("options", [["noatime\n/dev/sda1 /mnt ext4 defaults 0 0"], ["ro\n"], ["a b"], [""], [u"ro\u2028"],
                                     ["x\x00"], ["ro", "\t"]])
def test_a_mount_option_that_cannot_be_written_is_refused(options):
    with pytest.raises(ValidationError) as caught:
        entry(options=options)
    message = str(caught.value)
    assert message.startswith("mount_options=")
    assert len(message.splitlines()) == 1


def test_the_injection_of_the_issue_writes_nothing(fstab):
    before = read(fstab)
    options = ["noatime\n/dev/sdz9 /root ext4 defaults 0 0"]
    with pytest.raises(ValidationError):
        _fstab.set_entry(fstab, "images", entry(options=options))
    assert read(fstab) == before


@pytest.mark.parametrize("name", [u"a\u2028b", "a\nb", u"a\x85b", "a\x0cb", "", u"a\u202eb", "a/b", "a\x00b"])
def test_a_name_that_cannot_be_one_marker_line_is_refused(name):
    with pytest.raises(ValidationError) as caught:
        entry(name=name)
    assert str(caught.value).startswith("name=%r: " % name)


@pytest.mark.parametrize("target, reason", [("/srv/a\rb", "U+000D"), (u"/srv/a\u2028b", "U+2028"), ("/srv/a\x00b", "NUL"), ("", "not a non-empty")])
def test_a_target_that_escaping_cannot_make_safe_is_refused(target, reason):
    with pytest.raises(ValidationError) as caught:
        entry(target=target)
    assert str(caught.value).startswith("target.path=")
    assert reason in str(caught.value)


def test_a_device_with_a_control_character_is_refused():
    with pytest.raises(ValidationError) as caught:
        entry(device="/dev/loop3\x1b")
    assert str(caught.value).startswith("source.device=")


@pytest.mark.parametrize("fstype", ["ext4 defaults", "ext4\n", "#", "ext4,", u"\u0435xt4"])
def test_a_filesystem_type_that_is_not_one_word_is_refused(fstype):
    with pytest.raises(ValidationError) as caught:
        entry(fstype=fstype)
    assert str(caught.value).startswith("source.format=")


# -- the file itself --------------------------------------------------------------------------

def _with_deadline(function, seconds=10):
    """function() in a thread; fails the test instead of hanging it."""
    outcome = {}

    def call():
        try:
            outcome["value"] = function()
        except Exception as exc:  # pylint: disable=broad-except
            outcome["error"] = exc

    worker = threading.Thread(target=call)
    worker.daemon = True
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "hung for more than %s s" % seconds
    return outcome


@pytest.mark.parametrize("call", [lambda path: _fstab.current_entry(path, "images"),
                                  lambda path: _fstab.set_entry(path, "images", entry()),
                                  lambda path: _fstab.set_entry(path, "images", [])])
def test_a_fifo_is_refused_before_it_is_opened(tmp_path, call):
    fifo = str(tmp_path / "fstab")
    os.mkfifo(fifo)
    outcome = _with_deadline(lambda: call(fifo))
    error = outcome.get("error")
    assert isinstance(error, ValidationError), outcome
    assert str(error) == "fstab=%r: is a FIFO, not a regular file" % fifo
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not replaced by a regular file


def test_a_directory_or_device_is_refused(tmp_path):
    for path, kind in ((str(tmp_path), "a directory"), ("/dev/null", "a character device")):
        with pytest.raises(ValidationError) as caught:
            _fstab.current_entry(path, "images")
        assert str(caught.value) == "fstab=%r: is %s, not a regular file" % (path, kind)


@pytest.mark.parametrize("path, reason", [("", "empty string"), ("etc/fstab", "absolute"), ("/etc/fs\x00tab", "NUL")])
def test_a_bad_fstab_path_is_refused(path, reason):
    with pytest.raises(ValidationError) as caught:
        _fstab.current_entry(path, "images")
    assert str(caught.value).startswith("fstab=%r: " % path)
    assert reason in str(caught.value)


def test_an_unreadable_fstab_is_a_storage_error(tmp_path, monkeypatch):
    path = str(tmp_path / "fstab")
    open(path, "w").close()

    def denied(*args):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(StorageError) as caught:
        _fstab.current_entry(path, "images")
    assert str(caught.value) == "fstab=%r: cannot be read: Permission denied" % path


def test_a_huge_file_is_not_read(tmp_path, monkeypatch):
    path = tmp_path / "fstab"
    path.write_bytes(b"# x\n" * 8)
    monkeypatch.setattr(_fstab, "MAX_BYTES", 16)
    with pytest.raises(ValidationError) as caught:
        _fstab.current_entry(str(path), "images")
    assert "no fstab is larger than 16" in str(caught.value)
