# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image format probing from file headers, as libvirt does it, so listing a
pool of thousands of images needs no process per file.

Formats whose size we do not parse here are reported with ``needs_qemu_img``
so the caller can ask qemu-img once for those few.

An image given to us can name other files that qemu opens with it: a backing
file, a qcow2 external data file, the extents of a VMDK descriptor. Such an
image from somebody else can make qemu-img copy a host file into a pool.
``image_references`` lists every file an image refers to, following the chain
with a depth limit and loop detection; ``refuse_references`` turns the ones the
caller does not trust into a refusal. Every file is checked with stat() before
it is opened: opening a FIFO blocks for ever, opening a device can act on it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import re
import stat
import struct
from dataclasses import dataclass
from typing import Optional

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR

_QCOW_MAGIC = b"QFI\xfb"
_QCOW2_BACKING_FORMAT_EXT = 0xE2792ACA
_QCOW2_DATA_FILE_EXT = 0x44415441
_VMDK_SPARSE_MAGIC = b"KDMV"
_VMDK3_MAGIC = b"COWD"
_QED_MAGIC = b"QED\x00"
# qemu probes formats on its first 2 KiB (BLOCK_PROBE_BUF_SIZE); so do we, to agree with it
_PROBE_SIZE = 2048
# Magic numbers of formats we recognise but leave to qemu-img for the sizes.
_OTHER_MAGIC = ((0, _QED_MAGIC, "qed"), (0, b"vhdxfile", "vhdx"), (0, b"conectix", "vpc"),
                (64, b"\x7f\x10\xda\xbe", "vdi"), (0, b"# Disk DescriptorFile", "vmdk"),
                (0, b"LUKS\xba\xbe", "luks"))
# qemu's own limits: a qcow/qcow2 backing name (1023 bytes), a VMDK descriptor (1 MiB) and the
# part of it searched for parentFileNameHint (DESC_SIZE), a QED backing name (4 KiB)
_QCOW_MAX_BACKING = 1023
_VMDK_MAX_DESCRIPTOR = (1 << 20) - 1
_VMDK_PARENT_AREA = 20 * SECTOR
_QED_MAX_BACKING = 4095

BACKING_FILE = "backing file"
DATA_FILE = "data file"
EXTENT = "extent"
MAX_CHAIN = 16
# Formats whose references this file reads from the header, and those qemu-img is asked about.
# qemu-img drivers outside both lists (vvfat, nbd, blkdebug, json: ...) read more than one image
# file, so an image is never opened with one of them.
PARSED_FORMATS = ("raw", "qcow", "qcow2", "qed", "vmdk")
QEMU_IMG_FORMATS = ("vdi", "vpc", "vhdx", "luks", "parallels", "dmg", "cloop", "bochs")
_LOCAL_PROTOCOLS = ("file", "host_device", "host_cdrom")


@dataclass(frozen=True)
class ImageHeader:
    format: str
    capacity: Optional[int]          # None: ask qemu-img
    backing_path: Optional[str] = None
    backing_format: Optional[str] = None

    @property
    def needs_qemu_img(self):
        return self.capacity is None


@dataclass(frozen=True)
class Reference:
    """A file an image makes qemu open besides the image itself."""
    kind: str                        # BACKING_FILE, DATA_FILE or EXTENT
    name: str                        # as the image spells it
    path: Optional[str]              # the file qemu opens; None when that is not ours to know (see _resolve)
    image: str                       # the image that names it
    format: Optional[str] = None     # the format qemu opens it with, when the image says

    def describe(self):
        shown = None if self.path is None else os.path.normpath(self.path)
        where = "" if shown is None or shown == self.name else " (%s)" % _show(shown)
        return "%s names %r as its %s%s" % (_show(self.image), self.name, self.kind, where)


# -- opening an image: never anything but a regular file or a block device -------------------

def _kind(mode):
    for test, words in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return words
    return "not a regular file"


def _refuse(option, path, reason):
    if option:
        return ValidationError(option, path, reason)
    return StorageError("%s %s" % (_show(path), reason))


def check_image_file(path, option=None):
    """stat() of an image to be opened (links followed, as qemu follows them), refusing in one line
    anything but a regular file or a block device; nothing is opened."""
    try:
        st = os.stat(path)
    except ValueError:  # a NUL byte
        raise _refuse(option, path, "is not a valid path")
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise NotFoundError("%s%s does not exist" % (option + ": " if option else "", _show(path)))
        raise _refuse(option, path, "cannot be read: %s" % (exc.strerror or exc))
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise _refuse(option, path, "is %s, not a regular file or a block device" % _kind(st.st_mode))
    return st


def open_image(path, option=None):
    """The image opened for reading, after check_image_file. O_NONBLOCK and the identity check
    after the open close the gap in which the path could be swapped for a FIFO."""
    before = check_image_file(path, option)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _refuse(option, path, "cannot be read: %s" % (exc.strerror or exc))
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino) or not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise _refuse(option, path, "changed while it was opened")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def image_size(handle):
    """Bytes in an open image: a block device (an LV, a partition) has no st_size, its size is where its end is."""
    st = os.fstat(handle.fileno())
    if stat.S_ISBLK(st.st_mode):
        size = os.lseek(handle.fileno(), 0, os.SEEK_END)
        handle.seek(0)
        return size
    return st.st_size


# -- probing ----------------------------------------------------------------------------------

def probe(handle, file_size):
    """Probe an open binary file; file_size is used as the capacity of raw images."""
    head = handle.read(_PROBE_SIZE)
    if head[:4] == _QCOW_MAGIC and len(head) >= 32:
        return _qcow(handle, head)
    if head[:4] == _VMDK_SPARSE_MAGIC and len(head) >= 44:
        capacity, desc_offset = struct.unpack_from("<Q8xQ", head, 12)
        # capacity 0 with a descriptor: qemu reads the embedded descriptor as a descriptor file
        return ImageHeader("vmdk", None if capacity == 0 and desc_offset else capacity * SECTOR)
    if head[:4] == _VMDK_SPARSE_MAGIC and len(head) >= 20:
        return ImageHeader("vmdk", struct.unpack_from("<Q", head, 12)[0] * SECTOR)
    for offset, magic, name in _OTHER_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return ImageHeader(name, None)
    if _is_vmdk_descriptor(head):
        return ImageHeader("vmdk", None)
    return ImageHeader("raw", file_size)


def probe_path(path, option=None):
    """probe() of the image at path: a regular file or a block device, else a refusal naming it."""
    with open_image(path, option) as handle:
        return probe(handle, image_size(handle))


def _is_vmdk_descriptor(head):
    """qemu's vmdk_probe: comment and blank lines, then version=1, 2 or 3."""
    for line in head.split(b"\n")[:-1]:
        if line.startswith(b"#") or (line.startswith(b" ") and line.lstrip(b" ") in (b"", b"\r")):
            continue
        return line in (b"version=1", b"version=2", b"version=3", b"version=1\r", b"version=2\r", b"version=3\r")
    return False


def _c_string(data):
    """What qemu sees of bytes it reads into a C string: up to the first NUL."""
    end = data.find(b"\x00")
    return data if end < 0 else data[:end]


def _qcow(handle, head):
    version = struct.unpack_from(">I", head, 4)[0]
    capacity = struct.unpack_from(">Q", head, 24)[0]
    backing = _qcow_backing(handle, head)
    if version == 1:
        return ImageHeader("qcow", capacity, backing and backing.decode("utf-8", "replace"))
    backing_path = backing_format = None
    if backing:
        backing_path = backing.decode("utf-8", "replace")
        backing_format = _qcow2_extension(handle, head, _QCOW2_BACKING_FORMAT_EXT)
        backing_format = backing_format and _c_string(backing_format).decode("ascii", "replace")
    return ImageHeader("qcow2", capacity, backing_path, backing_format)


def _qcow_backing(handle, head):
    """The backing name of a qcow or qcow2 header as bytes (None without one, or with one qemu refuses)."""
    backing_offset, backing_size = struct.unpack_from(">QI", head, 8)
    if not backing_offset or not 0 < backing_size <= _QCOW_MAX_BACKING:
        return None
    handle.seek(backing_offset)
    return _c_string(handle.read(backing_size)) or None


def _qcow2_extension(handle, head, wanted):
    """The data of header extension `wanted` (they sit between the header and the backing name)."""
    version = struct.unpack_from(">I", head, 4)[0]
    if version < 2:
        return None
    offset = 72
    if version >= 3 and len(head) >= 104:
        offset = struct.unpack_from(">I", head, 100)[0]
    # the extensions end at the backing name, or at the end of the first cluster
    backing_offset = struct.unpack_from(">Q", head, 8)[0]
    cluster_bits = struct.unpack_from(">I", head, 20)[0]
    limit = backing_offset or (1 << min(max(cluster_bits, 9), 21))
    handle.seek(offset)
    area = handle.read(max(0, min(limit, 1 << 21) - offset))
    pos = 0
    while pos + 8 <= len(area):
        ext_type, length = struct.unpack_from(">II", area, pos)
        if ext_type == 0:
            break
        if ext_type == wanted:
            return area[pos + 8:pos + 8 + length]
        pos += 8 + ((length + 7) & ~7)
    return None


# -- references -------------------------------------------------------------------------------

def _has_protocol(name):
    """qemu's path_has_protocol: a colon before any slash (nbd://..., json:{...}, file:...)."""
    return ":" in name.split("/", 1)[0]


def _resolve(image, name, kind):
    """The file qemu opens for `name` in `image`, or None when qemu's choice does not depend on
    the image alone: a protocol or json: name, or a relative data file (qemu 7 opens it relative
    to its working directory, later versions relative to the image)."""
    if _has_protocol(name):
        protocol, rest = name.split(":", 1)
        if protocol in _LOCAL_PROTOCOLS and os.path.isabs(rest):
            return rest
        return None
    if os.path.isabs(name):
        return name
    if kind == DATA_FILE:
        return None
    # backing files and extents: relative to the image's directory, the image's path as given
    # (qemu's path_combine; a link is not resolved first)
    return os.path.join(os.path.dirname(image), name)


def _reference(image, kind, raw, fmt=None):
    """A Reference from the bytes the image holds; None for an empty name (no reference to qemu)."""
    if isinstance(raw, bytes):
        raw = _c_string(raw)
        # the bytes qemu opens, kept exactly (surrogateescape), so stat() sees the same file
        raw = os.fsdecode(raw)
    if not raw:
        return None
    if kind == EXTENT and _has_protocol(raw):
        # extents are always local files: qemu adds the image's directory to any relative name
        path = os.path.join(os.path.dirname(image), raw)
    else:
        path = _resolve(image, raw, kind)
    return Reference(kind=kind, name=raw, path=path, image=image, format=fmt)


def _qcow_references(image, handle, head):
    refs = []
    backing = _qcow_backing(handle, head)
    if backing:
        fmt = _qcow2_extension(handle, head, _QCOW2_BACKING_FORMAT_EXT)
        refs.append(_reference(image, BACKING_FILE, backing, fmt and _c_string(fmt).decode("ascii", "replace")))
    data_file = _qcow2_extension(handle, head, _QCOW2_DATA_FILE_EXT)
    if data_file:
        refs.append(_reference(image, DATA_FILE, data_file, "raw"))
    return refs


def _qed_references(image, head):
    if len(head) < 64:
        return []
    features, = struct.unpack_from("<Q", head, 16)
    offset, size = struct.unpack_from("<II", head, 56)
    if not features & 0x01 or not 0 < size <= _QED_MAX_BACKING:
        return []
    return [_reference(image, BACKING_FILE, head[offset:offset + size] if offset + size <= len(head) else b"",
                       "raw" if features & 0x04 else None)]


# An extent line, as qemu's sscanf reads it: access, sectors, type, "file name" (up to 511 bytes)
# (a longer name is cut at 511 bytes, which qemu opens all the same)
_EXTENT_LINE = re.compile(rb'(?<!\S)(\S{1,10})\s+[-+]?\d+\s+(\S{1,10})\s+"([^\n\r"]{1,511})')
_SPARSE_EXTENTS = (b"SPARSE", b"VMFSSPARSE", b"SESPARSE")


def _vmdk_extents(image, descriptor):
    refs = []
    for match in _EXTENT_LINE.finditer(_c_string(descriptor)):
        fmt = "vmdk" if match.group(2) in _SPARSE_EXTENTS else "raw"
        refs.append(_reference(image, EXTENT, match.group(3), fmt))
    return refs


def _vmdk_parent(image, area):
    """qemu's vmdk_parent_open: parentFileNameHint="..." names a backing file."""
    area = _c_string(area)
    start = area.find(b"parentFileNameHint")
    if start < 0:
        return []
    start += len("parentFileNameHint") + 2  # qemu skips '="' without looking
    end = area.find(b'"', start)
    if end < 0 or end - start > 4095:
        return []  # qemu refuses the image
    return [_reference(image, BACKING_FILE, area[start:end], "vmdk")]


def _vmdk_references(image, handle, head):
    if head[:4] in (_VMDK_SPARSE_MAGIC, _VMDK3_MAGIC):
        handle.seek(SECTOR)
        refs = _vmdk_parent(image, handle.read(_VMDK_PARENT_AREA))
        if head[:4] == _VMDK_SPARSE_MAGIC and len(head) >= 44:
            capacity, desc_offset = struct.unpack_from("<Q8xQ", head, 12)
            if capacity == 0 and desc_offset:
                # qemu then reads the embedded descriptor as a descriptor file, extents and all
                handle.seek(desc_offset * SECTOR)
                refs += _vmdk_extents(image, handle.read(_VMDK_MAX_DESCRIPTOR))
        return refs
    handle.seek(0)
    descriptor = handle.read(_VMDK_MAX_DESCRIPTOR)
    return _vmdk_parent(image, descriptor[:_VMDK_PARENT_AREA]) + _vmdk_extents(image, descriptor)


def _parsed_references(image, handle, fmt):
    head = handle.read(_PROBE_SIZE)
    if fmt in ("qcow", "qcow2"):
        return _qcow_references(image, handle, head) if head[:4] == _QCOW_MAGIC and len(head) >= 32 else []
    if fmt == "qed":
        return _qed_references(image, head) if head[:4] == _QED_MAGIC else []
    if fmt == "vmdk":
        return _vmdk_references(image, handle, head)
    return []


def direct_references(path, fmt, runner, option=None):
    """The files the image at path names itself (not theirs), when opened as fmt (None: probed).
    qemu-img is asked (one `info`, which opens no backing file) only for formats not parsed here;
    the caller turns its CommandError into one line (_qemu_img.qemu_img_errors)."""
    with open_image(path, option) as handle:
        fmt = fmt or probe(handle, 0).format
        handle.seek(0)
        if fmt in PARSED_FORMATS:
            return [ref for ref in _parsed_references(path, handle, fmt) if ref is not None]
    if fmt not in QEMU_IMG_FORMATS:
        raise _refuse(option, path, "cannot be read as %r: give one of %s" % (fmt, ", ".join(PARSED_FORMATS + QEMU_IMG_FORMATS)))
    if runner is None:
        raise StorageError("%s: qemu-img is needed to read a %s image" % (path, fmt))
    # imported here: the tool facade is needed only for the few formats qemu-img reads for us
    from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg, references_from_info
    found = (_reference(path, kind, name, ref_fmt) for kind, name, ref_fmt in references_from_info(QemuImg(runner).info(path, fmt)))
    return [ref for ref in found if ref is not None]


def image_references(path, fmt=None, runner=None, option=None, max_chain=MAX_CHAIN):
    """Every file the image at path refers to, and theirs in turn: backing files, qcow2 data files,
    VMDK extents, nearest first, each once. Refuses in one line (naming option when given) a
    referenced file that is not a regular file or a block device, a loop (an image naming itself,
    A -> B -> A) and a chain of more than max_chain files below the image. A missing file is
    listed, not followed."""
    walk = _Walk(runner, option, max_chain, path)
    walk.visit(path, fmt, ())
    return walk.found


def _identity(st):
    # two nodes of one block device are the same image
    return ("block", st.st_rdev) if stat.S_ISBLK(st.st_mode) else (st.st_dev, st.st_ino)


class _Walk(object):
    """Depth first, the chain of ancestors for loops, and the height of each file already walked
    so that a file named many times (extents of one flat file) is read once."""

    def __init__(self, runner, option, max_chain, top):
        self.runner = runner
        self.option = option
        self.max_chain = max_chain
        self.top = top
        self.found = []
        self.heights = {}

    def visit(self, path, fmt, ancestors):
        """Walk the image at path (its stat identity not in ancestors); its height below."""
        identity = _identity(check_image_file(path, self.option))
        chain = ancestors + ((identity, path),)
        height = 0
        for ref in direct_references(path, fmt, self.runner, self.option):
            if ref not in self.found:
                self.found.append(ref)
            if ref.path is None or not os.path.lexists(ref.path):
                continue
            child = _identity(self._check_referenced(ref))
            for seen, image in chain:
                if seen == child:
                    again = "the image itself" if image == ref.image else "%s again" % _show(image)
                    raise _refuse(self.option, self.top, "has a loop in its chain: %s, which is %s" % (ref.describe(), again))
            below = self.heights.get(child)
            if below is None:
                if len(chain) > self.max_chain:
                    self._too_deep(ref)
                below = self.visit(ref.path, ref.format, chain)
            if len(chain) + below > self.max_chain:
                self._too_deep(ref)
            height = max(height, below + 1)
        self.heights[identity] = height
        return height

    def _too_deep(self, ref):
        raise _refuse(self.option, self.top, "has a chain of more than %d files (%s)" % (self.max_chain, ref.describe()))

    def _check_referenced(self, ref):
        try:
            return check_image_file(ref.path)
        except StorageError as exc:
            raise _refuse(self.option, self.top, "%s: %s" % (ref.describe(), _reason(exc, ref.path)))


def _reason(exc, path):
    text, shown = str(exc), _show(path)
    return text[len(shown) + 1:] if text.startswith(shown + " ") else text


def _show(text):
    """A path or name for a one-line message: as it is when printable, else its repr."""
    return text if text.isprintable() else repr(text)


def refuse_references(option, path, references, trusted=None):
    """Refuse, in one line naming option and path, the first reference that `trusted` (a callable
    taking a real path, e.g. "a volume of a defined pool") does not accept; a reference qemu
    resolves by itself (path None) is never trusted."""
    for ref in references:
        if ref.path is not None and trusted is not None and trusted(os.path.realpath(ref.path)):
            continue
        raise ValidationError(option, path, "the image refers to a file outside itself: %s; set allow_references: true "
                                            "if you trust the image and that file" % ref.describe())
