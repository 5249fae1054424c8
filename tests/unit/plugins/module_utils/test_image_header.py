# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe() on real images made by qemu-img, checked against `qemu-img info --output=json`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import struct
import subprocess

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._image_header import ImageHeader, probe, probe_path

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
