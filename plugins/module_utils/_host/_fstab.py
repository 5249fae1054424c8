# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our entries in fstab: how the host itself mounts an autostarted pool at boot.

Each entry is two lines, a marker comment naming the pool and the mount line,
so it is found and changed without touching anything else in the file.

The file is read as mount(8) reads it: bytes, lines ended by "\\n" only (never
str.splitlines(), which also splits on U+2028, U+0085, form feeds ...). Every
line that is not ours is written back byte for byte, and so is a missing final
newline. What goes into our lines is escaped as fstab(5) wants (\\040 \\011
\\012 \\134) or refused.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import stat

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host._atomic import atomic_write

MARKER = "# poolcraft.storage pool %s"
# no fstab is this large; a bigger file is not read into memory
MAX_BYTES = 16 * 1024 * 1024
_FSTYPE_RE = re.compile(r"[A-Za-z0-9_.+-]+")


def _escape(field):
    return field.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")


def _field(value, option):
    """One whitespace-free field of a mount line; what escaping cannot make safe is refused."""
    if not isinstance(value, str) or value == "":
        raise ValidationError(option, value, "cannot be written into fstab: not a non-empty string")
    if "\0" in value:
        raise ValidationError(option, value, "holds a NUL byte")
    # tab and newline have fstab escapes; any other control or line separator character does not
    _inputs.text(value.replace("\t", " ").replace("\n", " "), option)
    return _escape(value)


def marker(name):
    """Our marker line of pool name; any name that cannot be one line of the file is refused."""
    return MARKER % _inputs.name(name, "name")


def entry_lines(name, device, target, fstype, options, network=False):
    """Our entry for pool name: the marker and the mount line. network (an NFS export as device):
    _netdev, mounted once the network is up, and no fsck (pass 0)."""
    _inputs.mount_options(list(options), "mount_options")
    fstype = fstype or "auto"
    if not _FSTYPE_RE.fullmatch(fstype):
        raise ValidationError("source.format", fstype, "not a filesystem type fstab can name")
    # nofail: a missing pool device (or an NFS server away) must not stop the host from booting
    opts = ",".join(list(options) + (["_netdev"] if network and "_netdev" not in options else []) + ["nofail"])
    return [marker(name), "%s %s %s %s 0 %d" % (_field(device, "source.device"), _field(target, "target.path"), fstype, opts,
                                                0 if network else 2)]


# -- the file as lines of bytes ----------------------------------------------------------

class _Lines(object):
    """The lines of a file split on b"\\n" only, and whether the last one had its newline."""

    def __init__(self, data):
        self.final_newline = data == b"" or data.endswith(b"\n")
        self.lines = data.split(b"\n")
        if self.final_newline:
            self.lines.pop()

    def render(self):
        if not self.lines:
            return b""
        return b"\n".join(self.lines) + (b"\n" if self.final_newline else b"")


def _check_path(path):
    """path as an absolute path; the stat of the file there, None when there is none. A FIFO,
    device or directory is refused before it is opened (opening a FIFO blocks)."""
    _inputs.path(path, "fstab")
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise StorageError("fstab=%r: cannot be read: %s" % (path, exc.strerror or exc))
    if not stat.S_ISREG(st.st_mode):
        raise ValidationError("fstab", path, "is %s, not a regular file" % _inputs.kind(st.st_mode))
    return st


def _read(path):
    st = _check_path(path)
    if st is None:
        return _Lines(b""), None
    # O_NONBLOCK: should a FIFO take the file's place after the check, open() still returns
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise StorageError("fstab=%r: cannot be read: %s" % (path, exc.strerror or exc))
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValidationError("fstab", path, "is %s, not a regular file" % _inputs.kind(st.st_mode))
        if st.st_size > MAX_BYTES:
            raise ValidationError("fstab", path, "is %d bytes; no fstab is larger than %d" % (st.st_size, MAX_BYTES))
        return _Lines(handle.read(MAX_BYTES + 1)), st


def _entries(lines, name):
    """Indexes of the lines of our entries for name: each marker and the mount line after it.
    A comment, a blank line or another marker after a marker is not taken as ours."""
    # not marker(name): an entry written under a name refused today must still be found and removed
    wanted = (MARKER % name).encode("utf-8", "surrogatepass")
    taken = []
    for index, line in enumerate(lines):
        if line != wanted:
            continue
        taken.append(index)
        following = lines[index + 1] if index + 1 < len(lines) else None
        if following is not None and following.strip() and not following.lstrip().startswith(b"#"):
            taken.append(index + 1)
    return taken


def current_entry(path, name):
    """The lines of our entry for name, as text ([] when there is none). An entry written twice
    shows as both, so that it differs from the one wanted and is rewritten once."""
    lines = _read(path)[0].lines
    return [lines[index].decode("utf-8", "surrogateescape") for index in _entries(lines, name)]


def set_entry(path, name, wanted):
    """Make our entry for name equal wanted (a list of lines; [] removes it)."""
    content, st = _read(path)
    taken = set(_entries(content.lines, name))
    content.lines = [line for index, line in enumerate(content.lines) if index not in taken]
    content.lines.extend(line.encode("utf-8") for line in wanted)
    atomic_write(path, content.render(), stat.S_IMODE(st.st_mode) if st else 0o644)
