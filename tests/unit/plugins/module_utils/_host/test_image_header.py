# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe() on real images made by qemu-img, checked against `qemu-img info --output=json`; the
kinds of file an image may be opened from; the files an image refers to (image_references), on
headers written from the specs and on images made by qemu-img, and the walk's limits."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import socket
import struct
import subprocess

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _image_header
from ansible_collections.poolcraft.storage.plugins.module_utils._host._image_header import (
    ImageHeader, Reference, direct_references, image_references, probe, probe_path, refuse_references)
from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) is not installed")

MI = 1024 * 1024


def qemu_img(*args):
    subprocess.run(["qemu-img"] + [str(arg) for arg in args], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, LC_ALL="C"))


def qemu_info(path):
    out = subprocess.run(["qemu-img", "info", "--output=json", "-U", str(path)], check=True,
                         stdout=subprocess.PIPE, env=dict(os.environ, LC_ALL="C")).stdout
    return json.loads(out.decode("utf-8"))


def make(tmp_path, name, fmt, size, *options):
    path = tmp_path / name
    qemu_img("create", "-q", "-f", fmt, *(list(options) + [path] + ([size] if size is not None else [])))
    return path


def assert_matches_qemu(path, header):
    info = qemu_info(path)
    assert header.format == info["format"]
    assert header.capacity == info["virtual-size"]
    assert not header.needs_qemu_img
    return info


@needs_qemu_img
@pytest.mark.parametrize("size", [0, 512, 5 * MI, 5 * MI + 512])
def test_raw(tmp_path, size):
    path = make(tmp_path, "disk.img", "raw", size)
    header = probe_path(str(path))
    assert_matches_qemu(path, header)
    assert header.format == "raw"
    assert header.backing_path is None


@needs_qemu_img
@pytest.mark.parametrize("compat", ["0.10", "1.1"])
@pytest.mark.parametrize("size", [MI, 100 * MI + 512, 3 * 1024 ** 4])
def test_qcow2(tmp_path, compat, size):
    path = make(tmp_path, "disk.qcow2", "qcow2", size, "-o", "compat=" + compat)
    header = probe_path(str(path))
    info = assert_matches_qemu(path, header)
    assert info["format-specific"]["data"]["compat"] == compat
    assert header.backing_path is None and header.backing_format is None


@needs_qemu_img
@pytest.mark.parametrize("compat", ["0.10", "1.1"])
@pytest.mark.parametrize("base_format", ["qcow2", "raw"])
def test_qcow2_overlay_records_backing(tmp_path, compat, base_format):
    base = make(tmp_path, "base." + base_format, base_format, 64 * MI)
    overlay = make(tmp_path, "overlay.qcow2", "qcow2", None,
                   "-o", "compat=" + compat, "-b", base, "-F", base_format)
    header = probe_path(str(overlay))
    info = assert_matches_qemu(overlay, header)
    assert header.backing_path == str(base) == info["backing-filename"]
    assert header.backing_format == base_format == info["backing-filename-format"]


@needs_qemu_img
def test_qcow2_overlay_with_relative_backing_and_own_size(tmp_path):
    make(tmp_path, "base.qcow2", "qcow2", 64 * MI)
    overlay = make(tmp_path, "overlay.qcow2", "qcow2", 128 * MI, "-b", "base.qcow2", "-F", "qcow2")
    header = probe_path(str(overlay))
    info = assert_matches_qemu(overlay, header)
    assert header.capacity == 128 * MI
    assert header.backing_path == "base.qcow2" == info["backing-filename"]
    assert header.backing_format == "qcow2"


@needs_qemu_img
def test_qcow2_overlay_chain_of_three(tmp_path):
    make(tmp_path, "a.qcow2", "qcow2", 8 * MI)
    make(tmp_path, "b.qcow2", "qcow2", None, "-b", tmp_path / "a.qcow2", "-F", "qcow2")
    top = make(tmp_path, "c.qcow2", "qcow2", None, "-o", "compat=0.10", "-b", tmp_path / "b.qcow2", "-F", "qcow2")
    header = probe_path(str(top))
    assert header.backing_path == str(tmp_path / "b.qcow2")
    assert probe_path(header.backing_path).backing_path == str(tmp_path / "a.qcow2")


@needs_qemu_img
def test_qcow2_long_backing_path(tmp_path):
    deep = tmp_path
    for index in range(16):
        deep = deep / ("directory-with-a-rather-long-name-%02d" % index)
    deep.mkdir(parents=True)
    base = make(deep, "base.raw", "raw", MI)
    overlay = make(tmp_path, "overlay.qcow2", "qcow2", None, "-b", base, "-F", "raw")
    assert len(str(base)) > 512  # longer than the first sector probe() reads
    header = probe_path(str(overlay))
    assert header.backing_path == str(base)
    assert header.backing_format == "raw"


@needs_qemu_img
@pytest.mark.parametrize("compat", ["0.10", "1.1"])
def test_qcow2_backing_format_extension_missing(tmp_path, compat):
    """An unknown extension in place of the backing-format one is skipped: format unknown."""
    base = make(tmp_path, "base.qcow2", "qcow2", MI)
    overlay = make(tmp_path, "overlay.qcow2", "qcow2", None, "-o", "compat=" + compat, "-b", base, "-F", "qcow2")
    data = bytearray(overlay.read_bytes())
    ext = struct.pack(">I", 0xE2792ACA)
    start = 72 if compat == "0.10" else struct.unpack_from(">I", data, 100)[0]
    where = data.index(ext, start)
    data[where:where + 4] = struct.pack(">I", 0x0BADF00D)
    overlay.write_bytes(bytes(data))
    header = probe_path(str(overlay))
    assert header.backing_path == str(base)
    assert header.backing_format is None
    assert header.capacity == MI


@needs_qemu_img
def test_qcow_version_1(tmp_path):
    path = make(tmp_path, "old.qcow", "qcow", 10 * MI)
    header = probe_path(str(path))
    assert_matches_qemu(path, header)
    assert header.format == "qcow"


@needs_qemu_img
@pytest.mark.parametrize("subformat", ["monolithicSparse", "streamOptimized"])
@pytest.mark.parametrize("size", [10 * MI, 3 * 1024 ** 3 + 512])
def test_vmdk_sparse(tmp_path, subformat, size):
    path = make(tmp_path, "disk.vmdk", "vmdk", size, "-o", "subformat=" + subformat)
    header = probe_path(str(path))
    assert_matches_qemu(path, header)
    assert header.format == "vmdk"


@needs_qemu_img
def test_vmdk_descriptor_needs_qemu_img(tmp_path):
    path = make(tmp_path, "flat.vmdk", "vmdk", 10 * MI, "-o", "subformat=monolithicFlat")
    header = probe_path(str(path))
    assert header == ImageHeader("vmdk", None)
    assert header.needs_qemu_img
    assert qemu_info(path)["format"] == "vmdk"


@needs_qemu_img
@pytest.mark.parametrize("fmt", ["vdi", "vpc", "qed", "vhdx"])
def test_formats_left_to_qemu_img(tmp_path, fmt):
    path = make(tmp_path, "disk." + fmt, fmt, 10 * MI)
    header = probe_path(str(path))
    info = qemu_info(path)
    assert header.format == info["format"] == fmt
    assert header.capacity is None
    assert header.needs_qemu_img
    assert info["virtual-size"] > 0


def test_probe_uses_the_given_size_for_raw(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(b"\x00" * 4096)
    with open(str(path), "rb") as handle:
        assert probe(handle, 123456) == ImageHeader("raw", 123456)


@pytest.mark.parametrize("content", [b"", b"QFI\xfb", b"QFI\xfb" + b"\x00" * 20, b"KDMV" + b"\x00" * 10,
                                     b"hello world\n" * 10])
def test_short_or_foreign_files_are_raw(tmp_path, content):
    path = tmp_path / "short"
    path.write_bytes(content)
    assert probe_path(str(path)) == ImageHeader("raw", len(content))


def test_luks_magic(tmp_path):
    path = tmp_path / "luks"
    path.write_bytes(b"LUKS\xba\xbe\x00\x02" + b"\x00" * 1000)
    assert probe_path(str(path)) == ImageHeader("luks", None)


def _ext(ext_type, data):
    """A qcow2 header extension: type, length, data padded to 8 bytes."""
    return struct.pack(">II", ext_type, len(data)) + data + b"\x00" * (-len(data) % 8)


@pytest.mark.parametrize("version, extensions", [
    (2, [_ext(0xE2792ACA, b"raw")]),
    # an unknown extension of odd length first: the walk must skip its padding too
    (2, [_ext(0x0BADF00D, b"12345"), _ext(0xE2792ACA, b"raw")]),
    (3, [_ext(0x6803F857, b"\x00" * 48), _ext(0x0BADF00D, b"x"), _ext(0xE2792ACA, b"raw")]),
])
def test_hand_made_qcow2_header(tmp_path, version, extensions):
    """Headers written from the qcow2 spec, independent of qemu-img."""
    backing = b"/images/base.img"
    header_length = 72 if version == 2 else 104
    header = bytearray(struct.pack(">4sIQIIQ", b"QFI\xfb", version, 0, 0, 16, 7 * MI))
    header += b"\x00" * (header_length - len(header))
    if version == 3:
        struct.pack_into(">I", header, 100, header_length)
    header += b"".join(extensions) + _ext(0, b"")
    struct.pack_into(">QI", header, 8, len(header), len(backing))
    header += backing
    path = tmp_path / "hand.qcow2"
    path.write_bytes(bytes(header))
    assert probe_path(str(path)) == ImageHeader("qcow2", 7 * MI, "/images/base.img", "raw")


# -- what an image may be opened from ----------------------------------------------------------

@pytest.fixture
def no_open(monkeypatch):
    """Fail the test if anything is opened: a FIFO would block the open for ever."""
    def refuse(*args, **kwargs):
        raise AssertionError("opened %r" % (args,))
    monkeypatch.setattr(os, "open", refuse)
    monkeypatch.setattr("builtins.open", refuse)


def fifo(tmp_path, name="fifo"):
    path = str(tmp_path / name)
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_without_opening_it(tmp_path, no_open):
    path = fifo(tmp_path)
    with pytest.raises(ValidationError) as caught:
        probe_path(path, "clone_from.path")
    assert str(caught.value) == "clone_from.path=%r: is a FIFO, not a regular file or a block device" % path


def test_without_an_option_the_message_starts_with_the_path(tmp_path, no_open):
    path = fifo(tmp_path)
    with pytest.raises(StorageError) as caught:
        probe_path(path)
    assert str(caught.value) == "%s is a FIFO, not a regular file or a block device" % path


def test_a_link_to_a_fifo_is_a_fifo(tmp_path, no_open):
    link = str(tmp_path / "link")
    os.symlink(fifo(tmp_path), link)
    with pytest.raises(ValidationError, match="is a FIFO"):
        probe_path(link, "backing_store.path")


def test_a_character_device_and_a_directory_are_refused(tmp_path, no_open):
    with pytest.raises(ValidationError, match=r"^backing_store.path='/dev/null': is a character device, not a regular"):
        probe_path("/dev/null", "backing_store.path")
    with pytest.raises(ValidationError, match="is a directory, not a regular file or a block device"):
        probe_path(str(tmp_path), "clone_from.path")


def test_a_socket_is_refused(tmp_path):
    path = str(tmp_path / "sock")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(path)
        with pytest.raises(ValidationError, match="is a socket"):
            probe_path(path, "clone_from.path")
    finally:
        server.close()


def test_missing_and_nul_paths(tmp_path):
    with pytest.raises(NotFoundError) as caught:
        probe_path(str(tmp_path / "gone"), "clone_from.path")
    assert str(caught.value) == "clone_from.path: %s does not exist" % (tmp_path / "gone")
    with pytest.raises(ValidationError, match="is not a valid path"):
        probe_path(str(tmp_path) + "/a\x00b", "clone_from.path")


def test_a_file_swapped_between_stat_and_open_is_refused(tmp_path, monkeypatch):
    image, other = tmp_path / "image", tmp_path / "other"
    image.write_bytes(b"x" * 512)
    other.write_bytes(b"y" * 512)
    monkeypatch.setattr(_image_header, "check_image_file", lambda path, option=None: os.stat(str(other)))
    with pytest.raises(ValidationError, match="changed while it was opened"):
        probe_path(str(image), "clone_from.path")


def test_a_message_with_a_newline_in_the_path_is_one_line(tmp_path):
    path = fifo(tmp_path, "new\nline")
    with pytest.raises(StorageError) as caught:
        probe_path(path)
    assert "\n" not in str(caught.value) and "is a FIFO" in str(caught.value)


# -- headers written from the specs ------------------------------------------------------------

def qcow2_image(path, backing=None, extensions=(), backing_format=None, version=3):
    """A qcow2 header (no data), with a backing name and header extensions."""
    header_length = 72 if version == 2 else 104
    header = bytearray(struct.pack(">4sIQIIQ", b"QFI\xfb", version, 0, 0, 16, MI))
    header += b"\x00" * (header_length - len(header))
    if version == 3:
        struct.pack_into(">I", header, 100, header_length)
    exts = list(extensions)
    if backing_format:
        exts.append(_ext(0xE2792ACA, backing_format.encode()))
    header += b"".join(exts) + _ext(0, b"")
    if backing is not None:
        name = backing if isinstance(backing, bytes) else backing.encode()
        struct.pack_into(">QI", header, 8, len(header), len(name))
        header += name
    with open(str(path), "wb") as handle:
        handle.write(bytes(header))
    return str(path)


def qed_image(path, backing, no_probe=False):
    name = backing.encode()
    header = struct.pack("<4sIIIQQQQQII", b"QED\x00", 65536, 4, 1, 0x01 | (0x04 if no_probe else 0), 0, 0, 65536, MI,
                         64, len(name))
    with open(str(path), "wb") as handle:
        handle.write(header + name)
    return str(path)


def descriptor(path, *lines, **kwargs):
    text = "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"%s\"\n\n# Extent description\n" % (
        kwargs.get("create_type", "monolithicFlat"))
    with open(str(path), "w") as handle:
        handle.write(text + "".join(line + "\n" for line in lines))
    return str(path)


def refs(path, fmt=None, runner=None):
    return [(ref.kind, ref.name, ref.path, ref.format) for ref in direct_references(str(path), fmt, runner)]


def test_qcow2_backing_relative_absolute_and_its_format(tmp_path):
    image = qcow2_image(tmp_path / "a.qcow2", "../../etc/base", backing_format="raw")
    assert refs(image) == [("backing file", "../../etc/base", str(tmp_path / "../../etc/base"), "raw")]
    image = qcow2_image(tmp_path / "b.qcow2", "/srv/base.img", version=2)
    assert refs(image) == [("backing file", "/srv/base.img", "/srv/base.img", None)]


def test_qcow2_backing_name_ends_at_a_nul_as_in_qemu(tmp_path):
    image = qcow2_image(tmp_path / "a.qcow2", b"/etc/host\x00junk")
    assert refs(image) == [("backing file", "/etc/host", "/etc/host", None)]
    assert probe_path(image).backing_path == "/etc/host"


def test_qcow2_data_file_extension(tmp_path):
    image = qcow2_image(tmp_path / "a.qcow2", extensions=[_ext(0x44415441, b"/var/lib/host.bin")])
    assert refs(image) == [("data file", "/var/lib/host.bin", "/var/lib/host.bin", "raw")]
    both = qcow2_image(tmp_path / "b.qcow2", "base", extensions=[_ext(0x44415441, b"/d")], version=2)
    assert [ref[0] for ref in refs(both)] == ["backing file", "data file"]


def test_a_relative_data_file_is_where_qemu_decides(tmp_path):
    """qemu 7 opens a relative data file from its working directory, later ones beside the image."""
    image = qcow2_image(tmp_path / "a.qcow2", extensions=[_ext(0x44415441, b"host.bin")])
    assert refs(image) == [("data file", "host.bin", None, "raw")]


@pytest.mark.parametrize("name, path", [("nbd://host/export", None), ("json:{\"file.filename\": \"/etc/x\"}", None),
                                        ("file:/etc/host", "/etc/host"), ("file:relative", None),
                                        ("http://x/y:z", None)])
def test_protocol_backing_names(tmp_path, name, path):
    image = qcow2_image(tmp_path / "a.qcow2", name)
    assert refs(image) == [("backing file", name, path, None)]


def test_qcow_version_1_backing(tmp_path):
    name = b"../host.img"
    header = struct.pack(">4sIQIIQ", b"QFI\xfb", 1, 40, len(name), 0, MI) + b"\x00" * 8 + name
    path = tmp_path / "old.qcow"
    path.write_bytes(header)
    assert refs(path) == [("backing file", "../host.img", str(tmp_path / "../host.img"), None)]
    assert probe_path(str(path)) == ImageHeader("qcow", MI, "../host.img")


def test_qcow2_without_references_and_raw(tmp_path):
    assert refs(qcow2_image(tmp_path / "a.qcow2")) == []
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"\x00" * 4096)
    assert refs(raw) == [] and refs(raw, "raw") == []


@pytest.mark.parametrize("no_probe, fmt", [(False, None), (True, "raw")])
def test_qed_backing(tmp_path, no_probe, fmt):
    image = qed_image(tmp_path / "a.qed", "../base", no_probe)
    assert refs(image) == [("backing file", "../base", str(tmp_path / "../base"), fmt)]


def test_vmdk_descriptor_extents(tmp_path):
    image = descriptor(tmp_path / "d.vmdk", 'RW 2048 FLAT "flat.bin" 0', 'RDONLY 4096 SPARSE "/abs/s.vmdk"',
                       'RW 100 ZERO', 'RW 2048 VMFS "nbd://x"')
    assert refs(image) == [("extent", "flat.bin", str(tmp_path / "flat.bin"), "raw"),
                           ("extent", "/abs/s.vmdk", "/abs/s.vmdk", "vmdk"),
                           # extents are always files: a protocol-looking name is relative
                           ("extent", "nbd://x", os.path.join(str(tmp_path), "nbd://x"), "raw")]


def test_a_long_extent_name_is_cut_where_qemu_cuts_it(tmp_path):
    image = descriptor(tmp_path / "d.vmdk", 'RW 2048 SPARSE "%s"' % ("x" * 600))
    assert refs(image)[0][1] == "x" * 511


def test_vmdk_descriptor_parent(tmp_path):
    image = descriptor(tmp_path / "d.vmdk", 'RW 2048 FLAT "flat.bin" 0', 'parentFileNameHint="../parent.vmdk"')
    assert refs(image)[0] == ("backing file", "../parent.vmdk", str(tmp_path / "../parent.vmdk"), "vmdk")


def test_a_descriptor_without_the_comment_is_still_vmdk(tmp_path):
    """qemu probes a descriptor by its version= line; so do we."""
    path = tmp_path / "d"
    path.write_bytes(b"# any comment\n   \nversion=1\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"/etc/host\" 0\n")
    assert probe_path(str(path)) == ImageHeader("vmdk", None)
    assert refs(path) == [("extent", "/etc/host", "/etc/host", "raw")]
    path.write_bytes(b"\nversion=1\n")  # an empty first line: qemu says raw
    assert probe_path(str(path)).format == "raw"


def sparse_vmdk(path, capacity, embedded):
    """A monolithicSparse header with a descriptor embedded at sector 1."""
    header = struct.pack("<4sIIQQQQ", b"KDMV", 1, 3, capacity, 128, 1, 20)
    data = header + b"\x00" * (512 - len(header)) + embedded.encode().ljust(20 * 512, b"\x00")
    with open(str(path), "wb") as handle:
        handle.write(data)
    return str(path)


def test_the_embedded_descriptor_counts_when_the_capacity_is_zero(tmp_path):
    """Then qemu opens the embedded descriptor's extents (the CVE-2022-47951 image)."""
    embedded = 'version=1\ncreateType="monolithicFlat"\nRW 2048 FLAT "../host.bin" 0\n'
    image = sparse_vmdk(tmp_path / "evil.vmdk", 0, embedded)
    assert refs(image) == [("extent", "../host.bin", str(tmp_path / "../host.bin"), "raw")]
    assert probe_path(image) == ImageHeader("vmdk", None)
    # with a capacity, the embedded extents are ignored (they name the image itself)
    assert refs(sparse_vmdk(tmp_path / "fine.vmdk", 2048, embedded)) == []


def test_a_sparse_vmdk_parent_hint(tmp_path):
    image = sparse_vmdk(tmp_path / "delta.vmdk", 2048, 'version=1\nparentFileNameHint="/srv/base.vmdk"\n')
    assert refs(image) == [("backing file", "/srv/base.vmdk", "/srv/base.vmdk", "vmdk")]


def test_a_format_qemu_img_must_read(fake_runner, tmp_path):
    image = tmp_path / "src.vdi"
    image.write_bytes(b"\x00" * 64 + b"\x7f\x10\xda\xbe" + b"\x00" * 448)
    assert refs(image, "vdi", fake_runner("qemu_img/info_vdi", skip=1)) == []


def test_qemu_img_answers_for_formats_not_parsed_here(fake_runner, tmp_path):
    """The parser of info's answer on a recorded answer (a qed overlay's, given as a vpc's)."""
    image = tmp_path / "overlay.qed"
    image.write_bytes(b"conectix" + b"\x00" * 504)
    recorded = load_transcript("qemu_img/info_qed_backing", TMPDIR=tmp_path)["steps"][2]
    runner = fake_runner().expect(["qemu-img", "info", "--output=json", "-U", "-f", "vpc", str(image)], stdout=recorded["stdout"])
    assert refs(image, "vpc", runner) == [("backing file", "base.raw", str(tmp_path / "base.raw"), "raw")]


def test_no_runner_for_a_format_qemu_img_must_read(tmp_path):
    image = tmp_path / "src.vdi"
    image.write_bytes(b"\x00" * 512)
    with pytest.raises(StorageError, match="qemu-img is needed to read a vdi image"):
        direct_references(str(image), "vdi", None)


@pytest.mark.parametrize("fmt", ["vvfat", "nbd", "json", "blkdebug", "QCOW2"])
def test_other_formats_are_refused(tmp_path, quiet_runner, fmt):
    image = tmp_path / "x"
    image.write_bytes(b"\x00" * 512)
    with pytest.raises(ValidationError, match="cannot be read as %r: give one of raw, qcow, qcow2" % fmt):
        direct_references(str(image), fmt, quiet_runner, "clone_from.format")


# -- the walk ---------------------------------------------------------------------------------

def test_the_whole_chain_nearest_first(tmp_path):
    base = tmp_path / "base.raw"
    base.write_bytes(b"\x00" * 512)
    qcow2_image(tmp_path / "mid.qcow2", "base.raw", backing_format="raw")
    top = qcow2_image(tmp_path / "top.qcow2", "mid.qcow2", extensions=[_ext(0x44415441, b"/missing/data")])
    assert [(ref.kind, ref.image, ref.path) for ref in image_references(top)] == [
        ("backing file", top, str(tmp_path / "mid.qcow2")),
        ("backing file", str(tmp_path / "mid.qcow2"), str(base)),
        ("data file", top, "/missing/data")]


def test_a_qcow2_naming_itself(tmp_path):
    image = qcow2_image(tmp_path / "self.qcow2", "self.qcow2")
    with pytest.raises(ValidationError) as caught:
        image_references(image, "qcow2", None, "clone_from.path")
    assert str(caught.value) == ("clone_from.path=%r: has a loop in its chain: %s names 'self.qcow2' as its backing file "
                                 "(%s), which is the image itself" % (image, image, image))


def test_a_loop_of_two_and_a_link_back(tmp_path):
    a = qcow2_image(tmp_path / "a.qcow2", "b.qcow2")
    b = qcow2_image(tmp_path / "b.qcow2", "link")
    os.symlink("a.qcow2", str(tmp_path / "link"))
    with pytest.raises(StorageError) as caught:
        image_references(a)
    assert str(caught.value) == ("%s has a loop in its chain: %s names 'link' as its backing file (%s), which is %s again"
                                 % (a, b, tmp_path / "link", a))


def chain(tmp_path, length):
    (tmp_path / "c0.raw").write_bytes(b"\x00" * 512)
    for index in range(1, length + 1):
        qcow2_image(tmp_path / ("c%d.qcow2" % index), "c%d.%s" % (index - 1, "raw" if index == 1 else "qcow2"))
    return str(tmp_path / ("c%d.qcow2" % length))


def test_a_chain_of_sixteen_is_followed(tmp_path):
    assert len(image_references(chain(tmp_path, 16))) == 16


def test_a_chain_of_seventeen_is_refused(tmp_path):
    with pytest.raises(ValidationError, match=r"has a chain of more than 16 files \(.*c1.qcow2 names 'c0.raw'"):
        image_references(chain(tmp_path, 17), option="backing_store.path")


def test_the_limit_counts_a_file_reached_again_deeper(tmp_path):
    """e15 -> ... -> e1 -> flat.bin is 15 deep. d1 -> e15 fits (16); d2 -> e15, d1 reaches e15 first at
    depth 1, then again at depth 2 through d1: 17, refused although e15 was walked already."""
    (tmp_path / "flat.bin").write_bytes(b"\x00" * 512)
    descriptor(tmp_path / "e1.vmdk", 'RW 8 FLAT "flat.bin" 0')
    for index in range(2, 16):
        descriptor(tmp_path / ("e%d.vmdk" % index), 'RW 8 SPARSE "e%d.vmdk"' % (index - 1))
    first = descriptor(tmp_path / "d1.vmdk", 'RW 8 SPARSE "e15.vmdk"')
    assert len(image_references(first)) == 16
    second = descriptor(tmp_path / "d2.vmdk", 'RW 8 SPARSE "e15.vmdk"', 'RW 8 SPARSE "d1.vmdk"')
    with pytest.raises(StorageError, match="has a chain of more than 16 files"):
        image_references(second)


def test_many_extents_on_one_file_are_read_once(tmp_path):
    (tmp_path / "flat.bin").write_bytes(b"\x00" * 512)
    lines = ['RW 8 FLAT "flat.bin" %d' % (index * 8) for index in range(5000)]
    image = descriptor(tmp_path / "d.vmdk", *lines)
    assert [ref.name for ref in image_references(image)] == ["flat.bin"]


@pytest.mark.parametrize("target, words", [("fifo", "is a FIFO"), ("/dev/null", "is a character device"),
                                           (".", "is a directory")])
def test_a_reference_to_what_is_not_an_image_is_refused_unopened(tmp_path, monkeypatch, target, words):
    if target == "fifo":
        os.mkfifo(str(tmp_path / "fifo"))
    image = qcow2_image(tmp_path / "a.qcow2", target)
    forbidden = os.path.realpath(os.path.join(str(tmp_path), target))
    real_open = os.open

    def guarded(path, *args, **kwargs):
        assert os.path.realpath(path) != forbidden, "opened %s" % path
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", guarded)
    with pytest.raises(ValidationError) as caught:
        image_references(image, "qcow2", None, "clone_from.path")
    assert str(caught.value).startswith("clone_from.path=%r: %s names %r as its backing file" % (image, image, target))
    assert str(caught.value).endswith("%s, not a regular file or a block device" % words)


def test_missing_files_are_listed_not_followed(tmp_path):
    image = qcow2_image(tmp_path / "a.qcow2", "gone.qcow2")
    assert [ref.path for ref in image_references(image)] == [str(tmp_path / "gone.qcow2")]


# -- refusing what is not trusted ------------------------------------------------------------------

def test_refuse_references_names_the_first_untrusted(tmp_path):
    pool = str(tmp_path / "pool")
    found = [Reference("backing file", "base", pool + "/base", pool + "/top"),
             Reference("backing file", "../../etc/shadow", pool + "/../../etc/shadow", pool + "/base")]

    def trusted(path):
        return os.path.dirname(path) == os.path.realpath(pool)
    with pytest.raises(ValidationError) as caught:
        refuse_references("clone_from", pool + "/top", found, trusted)
    assert str(caught.value) == (
        "clone_from=%r: the image refers to a file outside itself: %s/base names '../../etc/shadow' as its backing file "
        "(%s); set allow_references: true if you trust the image and that file"
        % (pool + "/top", pool, os.path.normpath(pool + "/../../etc/shadow")))
    refuse_references("clone_from", pool + "/top", found[:1], trusted)  # all trusted: nothing raised
    refuse_references("clone_from", pool + "/top", [], None)


def test_a_reference_qemu_resolves_is_never_trusted(tmp_path):
    found = [Reference("data file", "host.bin", None, str(tmp_path / "a.qcow2"))]
    with pytest.raises(ValidationError, match="names 'host.bin' as its data file; set allow_references"):
        refuse_references("backing_store", str(tmp_path / "a.qcow2"), found, lambda path: True)


# -- images made by qemu-img: the header reader agrees with what qemu-img info says ---------------

def made_by_qemu_img(tmp_path, kind):
    (tmp_path / "base.raw").write_bytes(b"\x00" * MI)
    if kind == "qcow2 backing":
        return make(tmp_path, "top.qcow2", "qcow2", None, "-b", "base.raw", "-F", "raw"), "qcow2"
    if kind == "qcow2 data file":
        return make(tmp_path, "top.qcow2", "qcow2", MI, "-o", "data_file=%s" % (tmp_path / "data.raw")), "qcow2"
    if kind == "qed backing":
        return make(tmp_path, "top.qed", "qed", None, "-b", "base.raw", "-F", "raw"), "qed"
    return make(tmp_path, "top.vmdk", "vmdk", 3 * 1024 ** 3, "-o", "subformat=" + kind), "vmdk"


@needs_qemu_img
@pytest.mark.parametrize("kind", ["qcow2 backing", "qcow2 data file", "qed backing", "monolithicFlat",
                                  "twoGbMaxExtentFlat", "twoGbMaxExtentSparse", "monolithicSparse", "streamOptimized"])
def test_references_agree_with_qemu_img(tmp_path, kind):
    from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import references_from_info
    path, fmt = made_by_qemu_img(tmp_path, kind)
    info = qemu_info(path)
    ours = [(ref.kind, ref.path, ref.format) for ref in direct_references(str(path), None, None)]
    theirs = [(ref_kind, os.path.join(str(tmp_path), name), ref_fmt) for ref_kind, name, ref_fmt in references_from_info(info)]
    assert info["format"] == fmt
    assert ours == theirs
    assert bool(ours) == (kind not in ("monolithicSparse", "streamOptimized"))
    for ref in image_references(str(path)):
        assert os.path.isfile(ref.path) and os.path.dirname(ref.path) == str(tmp_path)
