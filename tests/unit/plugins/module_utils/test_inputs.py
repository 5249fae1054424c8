# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_inputs: the one set of validators of paths, names, devices, uuids, text and mount options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

# characters that end a line for someone: str.splitlines(), Unicode, a terminal
LINE_BREAKERS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", u"\u2028", u"\u2029"]
CONTROLS = ["\x01", "\t", "\x1b", "\x7f", "\x9b"]
# invisible format characters: bidi overrides, zero width space and joiner, BOM, soft hyphen
FORMATS = [u"\u202e", u"\u200b", u"\u200d", u"\ufeff", u"\u00ad", u"\u2066"]


def refused(validator, value, option="opt"):
    with pytest.raises(ValidationError) as caught:
        validator(value, option)
    message = str(caught.value)
    assert caught.value.option == option and caught.value.value == value
    shown = repr(value)
    assert message.startswith("%s=%s" % (option, shown[:1000])), message
    assert len(shown) > 1000 or message.startswith("%s=%s: " % (option, shown)), message
    # one line, whatever the value holds
    assert len(message.splitlines()) == 1, message
    return message


# -- path ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["/", "/srv/images", "/srv/my pool", u"/srv/\u00e9t\u00e9", u"/srv/\u200b", "/a/../b",
                                   "/srv/" + "x" * 255, "/" + "/".join(["d" * 254] * 16)])
def test_good_paths(value):
    assert _inputs.path(value, "target.path") == value


def test_none_is_not_given():
    for validator in (_inputs.path, _inputs.device, _inputs.name, _inputs.uuid, _inputs.text, _inputs.mount_options,
                      _inputs.not_empty, _inputs.source_file):
        assert validator(None, "opt") is None


@pytest.mark.parametrize("value, reason", [
    ("relative/dir", "absolute path"),
    ("", "an empty string is not a path"),
    ("/srv/a\x00b", "NUL byte"),
    (42, "not int"),
    (b"/srv", "not bytes"),
    (["/srv"], "not list"),
    ("/srv/" + "x" * 256, "component of 256 bytes"),
    (u"/srv/" + u"\u00e9" * 128, "component of 256 bytes"),
    ("/" + "/".join(["d" * 200] * 21), "a path has at most 4095"),
])
def test_bad_paths(value, reason):
    assert reason in refused(_inputs.path, value)


@pytest.mark.parametrize("char", LINE_BREAKERS + CONTROLS)
def test_paths_refuse_control_and_line_separator_characters(char):
    message = refused(_inputs.path, "/srv/a" + char + "b", "config_dir")
    assert "U+%04X" % ord(char) in message


def test_paths_refuse_lone_surrogates():
    assert "U+DC80" in refused(_inputs.path, u"/srv/\udc80")


def test_empty_fstab_is_not_the_hosts():
    message = refused(_inputs.path, "", "fstab")
    assert "leave the option out for its default" in message


# -- device ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["/dev/loop3", "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4", "/srv/images/disk.img"])
def test_good_devices(value):
    assert _inputs.device(value, "source.device") == value


@pytest.mark.parametrize("value, reason", [
    ("sdb", "absolute path"), ("/dev/sd\x00b", "NUL"), ("/dev/sdb\n", "U+000A"), ("/dev/", "a directory"), ("/", "a directory"),
    ("", "empty string"),
])
def test_bad_devices(value, reason):
    assert reason in refused(_inputs.device, value, "source.devices")


# -- name ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["images", "vm-01.qcow2", "my pool", u"d\u00e9j\u00e0", u"\u6c60", "a..b", "x" * 200, "a\\b"])
def test_good_names(value):
    assert _inputs.name(value, "name") == value


@pytest.mark.parametrize("value, reason", [
    ("", "an empty string is not a name"),
    (".", "plain name"), ("..", "plain name"), (".hidden", "plain name"), ("a/b", "plain name"), ("/", "plain name"),
    ("a\x00b", "NUL byte"),
    ("x" * 201, "longer than 200 bytes"), (u"\u00e9" * 101, "longer than 200 bytes"),
    (7, "not int"), (["a"], "not list"),
])
def test_bad_names(value, reason):
    assert reason in refused(_inputs.name, value, "name")


@pytest.mark.parametrize("char", LINE_BREAKERS + CONTROLS + FORMATS)
def test_names_refuse_separators_controls_and_format_characters(char):
    message = refused(_inputs.name, "pool" + char + "name", "name")
    assert "U+%04X" % ord(char) in message


def test_a_u2028_name_is_refused_in_one_line():
    message = refused(_inputs.name, u"images\u2028x", "name")
    assert message == "name='images\\u2028x': holds the control or separator character U+2028 (LINE SEPARATOR)"


def test_the_rules_of_validate_name_are_kept():
    # the manager's validate_name refused these; _inputs.name refuses them too
    for value in ["", ".", "..", "a/b", "a\x00b", "a\nb", ".x", "a\x1fb", "y" * 201]:
        refused(_inputs.name, value)


# -- text, not_empty ---------------------------------------------------------------------

def test_text():
    assert _inputs.text("system_u:object_r:virt_image_t:s0", "label") == "system_u:object_r:virt_image_t:s0"
    assert "NUL" in refused(_inputs.text, "a\x00", "label")
    assert "U+2029" in refused(_inputs.text, u"a\u2029", "label")
    assert "empty string" in refused(_inputs.text, "", "label")


@pytest.mark.parametrize("value", ["", " ", "\t", "\n"])
def test_empty_strings_never_stand_for_a_default(value):
    assert "does not mean the default" in refused(_inputs.not_empty, value, "format")


@pytest.mark.parametrize("value", ["qcow2", 0, False, [], "x"])
def test_not_empty_passes_the_rest(value):
    assert _inputs.not_empty(value, "format") == value


# -- uuid ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["4f2d1c3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f", "4F2D1C3E8A9B4C7D9E0F1A2B3C4D5E6F"])
def test_uuids_are_canonical(value):
    assert _inputs.uuid(value, "uuid") == "4f2d1c3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f"


@pytest.mark.parametrize("value", ["not-a-uuid", "", "4f2d1c3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f\n", "{4f2d1c3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f}",
                                   u"\u0664f2d1c3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f", "4f2d1c3e-8a9b-4c7d-9e0f-1a2b3c4d5e6", 42,
                                   "4f2d1c3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f0"])
def test_bad_uuids(value):
    assert "not a UUID" in refused(_inputs.uuid, value, "uuid")


# -- mount options ------------------------------------------------------------------------

def test_good_mount_options():
    options = ["noatime", "commit=30", "context=system_u:object_r:virt_image_t:s0", "uid=107,gid=107"]
    assert _inputs.mount_options(options, "mount_options") == options
    assert _inputs.mount_options([], "mount_options") == []


@pytest.mark.parametrize("item, reason", [
    ("noatime\n/dev/evil /mnt ext4 defaults 0 0", "U+000A"),
    ("a\x00b", "NUL"), (u"ro\u2028", "U+2028"), ("ro\x85", "U+0085"), ("ro\r", "U+000D"), ("ro\tx", "U+0009"),
    ("", "not a mount option"), ("ro rw", "not a mount option"), ("ro,,rw", "not a mount option"), (",ro", "not a mount option"),
    (5, "a mount option is a string"), ("['noatime']", "not a list or dict"), ("{'a': 1}", "not a list or dict"),
])
def test_bad_mount_options(item, reason):
    with pytest.raises(ValidationError) as caught:
        _inputs.mount_options(["noatime", item], "mount_options")
    message = str(caught.value)
    assert message.startswith("mount_options=%r: " % (item,)), message
    assert reason in message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("value", ["noatime", b"noatime", {"a": 1}, 3])
def test_mount_options_are_a_list(value):
    assert "list of mount options" in refused(_inputs.mount_options, value, "mount_options")


# -- source files -------------------------------------------------------------------------

def test_source_file_takes_regular_files_and_missing_ones(tmp_path):
    image = tmp_path / "base.qcow2"
    image.write_bytes(b"QFI\xfb")
    assert _inputs.source_file(str(image), "clone_from") == str(image)
    assert _inputs.source_file(str(tmp_path / "missing"), "clone_from") == str(tmp_path / "missing")


def test_source_file_refuses_fifos_directories_sockets_and_character_devices(tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    assert "is a FIFO; an image must be a regular file or a block device" in refused(_inputs.source_file, fifo, "backing_store")
    assert "is a directory" in refused(_inputs.source_file, str(tmp_path), "clone_from")
    assert "is a character device" in refused(_inputs.source_file, "/dev/null", "clone_from")
    sock_path = str(tmp_path / "sock")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(sock_path)
        assert "is a socket" in refused(_inputs.source_file, sock_path, "clone_from")
    finally:
        sock.close()
    assert "NUL" in refused(_inputs.source_file, fifo + "\x00", "clone_from")


# -- existing_device and directory: stat'ed, never opened --------------------------


def test_existing_device_takes_a_missing_path_an_image_or_a_block_device(tmp_path):
    image = tmp_path / "blank.img"
    image.write_bytes(b"\0")
    for value in (str(tmp_path / "missing"), str(image)):
        assert _inputs.existing_device(value, "source.devices") == value
    assert _inputs.existing_device(None, "source.devices") is None


@pytest.mark.parametrize("make, words", [("fifo", "a FIFO"), ("dir", "a directory"), ("chr", "a character device"),
                                         ("under a file", "Not a directory"), ("loop", "symbolic links")])
def test_existing_device_refuses_other_kinds(tmp_path, make, words):
    value = str(tmp_path / "x")
    if make == "fifo":
        os.mkfifo(value)
    elif make == "dir":
        os.mkdir(value)
    elif make == "chr":
        value = "/dev/null"
    elif make == "under a file":
        (tmp_path / "file").write_text("x")
        value = str(tmp_path / "file" / "x")
    else:
        os.symlink("x", value)
    assert words in refused(_inputs.existing_device, value, "source.devices")


def test_directory(tmp_path):
    assert _inputs.directory(str(tmp_path), "config_dir") == str(tmp_path)
    assert _inputs.directory(str(tmp_path / "new"), "config_dir") == str(tmp_path / "new")
    (tmp_path / "file").write_text("x")
    assert "a regular file" in refused(_inputs.directory, str(tmp_path / "file"), "config_dir")
    assert "a character device" in refused(_inputs.directory, "/dev/null", "runtime_dir")
    for value in (str(tmp_path) + "/a\x85b", str(tmp_path) + "/a\x1bb", str(tmp_path) + "/a\nb", str(tmp_path) + "/a\x00b"):
        refused(_inputs.directory, value, "config_dir")


def test_a_huge_value_is_shown_cut_short():
    message = refused(_inputs.name, "x" * 100000, "name")
    assert len(message) < 1200 and "(100002 characters)" in message


# -- network sources -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nfs1", "nfs1.example.com", "192.0.2.7", "::1", "[fe80::1%eth0]", "a-b_c.example."])
def test_good_hosts(value):
    assert _inputs.host(value, "source.host") == value


@pytest.mark.parametrize("value", ["nfs1:/srv", "-oProxyCommand=x", "nfs1 -o", "http://nfs1", "a/b", "[::1", "", ".x",
                                   "x" * 254, "nfs\n1", "127.0.0.1:2049", "1:2:3", "[::1]:3260",
                                   "fe80::1%eth0 x"])
def test_bad_hosts(value):
    with pytest.raises(ValidationError) as caught:
        _inputs.host(value, "source.host")
    assert caught.value.option == "source.host"


@pytest.mark.parametrize("value", [0, 65536, -1, True, "3260"])
def test_bad_ports(value):
    with pytest.raises(ValidationError):
        _inputs.port(value, "source.port")


@pytest.mark.parametrize("value", ["iqn.2004-04.com.example:images", "iqn.2004-04.com.example", "eui.02004567A425678D",
                                   "naa.52004567BA64678D", "iqn.1994-05.com.redhat:5a3b1c2d3e4f"])
def test_good_iscsi_names(value):
    assert _inputs.iscsi_name(value, "source.target") == value


@pytest.mark.parametrize("value", ["iqn.04-2004.com.example", "IQN.2004-04.com.example:x", "iqn.2004-04.Com:x", "eui.123",
                                   "iqn.2004-04.com.example:" + "x" * 220, "iqn.2004-04.com.example:a b", "target1"])
def test_bad_iscsi_names(value):
    with pytest.raises(ValidationError) as caught:
        _inputs.iscsi_name(value, "source.target")
    assert caught.value.option == "source.target"


@pytest.mark.parametrize("value", ["", "a\nb", "a\0b", "x" * 256, 12, "tab\there"])
def test_a_bad_secret_is_refused_without_showing_it(value):
    with pytest.raises(ValidationError) as caught:
        _inputs.secret(value, "source.auth.secret")
    assert caught.value.value == "(hidden)"
    assert str(value) not in str(caught.value) or value in ("", 12)
