# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that says what a good path, name, device, uuid or bit of text is.

Every validator takes (value, option), returns the value when it is good (None when the
option was not given) and raises ValidationError(option, value, reason) otherwise. The
message is one line whatever the value holds: ValidationError shows the value by repr(),
which escapes newlines, U+2028 and every other character that is not printable.

Nothing here reads the host, except source_file(), which stats (never opens) a file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import ipaddress
import os
import re
import stat
import unicodedata
import uuid as uuidlib

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

PATH_MAX = 4096  # bytes, the terminating NUL included (linux/limits.h)
NAME_MAX = 255  # bytes of one path component
NAME_BYTES = 200  # a pool or volume name: a file name with room for a suffix

# Cc: C0 and C1 controls (NUL, tab, newline, U+0085 ...); Zl/Zp: U+2028, U+2029;
# Cs: lone surrogates, which no file can hold as UTF-8
_LINE_BREAKING = frozenset(("Cc", "Zl", "Zp", "Cs"))
# in names also Cf, the invisible format characters (bidi overrides, zero width, BOM)
_NOT_IN_NAMES = _LINE_BREAKING | frozenset(("Cf",))
# Unicode gives the C0 and C1 controls no names
_CHARACTER_NAMES = {"\t": "TAB", "\n": "NEWLINE", "\r": "CARRIAGE RETURN", "\x0b": "VERTICAL TAB", "\x0c": "FORM FEED",
                    "\x1b": "ESCAPE", "\x7f": "DELETE", "\x85": "NEXT LINE"}
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")
_MOUNT_OPTION_RE = re.compile(r"[^\s,]+(?:,[^\s,]+)*")

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISBLK, "a block device"), (stat.S_ISREG, "a regular file"))


def _string(value, option, what):
    if not isinstance(value, str):
        raise ValidationError(option, value, "must be %s (a string), not %s" % (what, type(value).__name__))
    if value == "":
        raise ValidationError(option, value, "an empty string is not %s; leave the option out for its default" % what)
    return value


def _bad_character(value, categories):
    """The first character of value in one of the Unicode categories, or None."""
    for char in value:
        if unicodedata.category(char) in categories:
            return char
    return None


def _refuse_characters(value, option, categories):
    if "\0" in value:
        raise ValidationError(option, value, "holds a NUL byte")
    char = _bad_character(value, categories)
    if char is not None:
        raise ValidationError(option, value, "holds the control or separator character U+%04X (%s)"
                              % (ord(char), _CHARACTER_NAMES.get(char) or unicodedata.name(char, "a control character")))


def path(value, option):
    """An absolute path the kernel can take: no NUL, no control or line separator
    characters, at most PATH_MAX - 1 bytes, each component at most NAME_MAX bytes."""
    if value is None:
        return None
    _string(value, option, "a path")
    _refuse_characters(value, option, _LINE_BREAKING)
    if not value.startswith("/"):
        raise ValidationError(option, value, "must be an absolute path")
    encoded = value.encode("utf-8")
    if len(encoded) >= PATH_MAX:
        raise ValidationError(option, value, "is %d bytes long; a path has at most %d" % (len(encoded), PATH_MAX - 1))
    for component in encoded.split(b"/"):
        if len(component) > NAME_MAX:
            raise ValidationError(option, value, "has a component of %d bytes; at most %d fit in a file name"
                                  % (len(component), NAME_MAX))
    return value


def device(value, option):
    """A device as a pool names it: an absolute path to a node, not a directory."""
    if value is None:
        return None
    path(value, option)
    if value.endswith("/"):
        raise ValidationError(option, value, "names a directory, not a device")
    return value


def name(value, option):
    """A pool or volume name: it becomes a file name, an fstab marker and a tool's argument,
    so no path tricks, no control characters, no line or paragraph separators, no format
    characters, at most 200 bytes."""
    if value is None:
        return None
    _string(value, option, "a name")
    _refuse_characters(value, option, _NOT_IN_NAMES)
    if value in (".", "..") or "/" in value or value.startswith("."):
        raise ValidationError(option, value, "must be a plain name: no '/', no leading '.', no control characters")
    if len(value.encode("utf-8")) > NAME_BYTES:
        raise ValidationError(option, value, "longer than %d bytes" % NAME_BYTES)
    return value


def text(value, option):
    """A single line of text (a label, a source name): no NUL, no control or separator character."""
    if value is None:
        return None
    _string(value, option, "a value")
    _refuse_characters(value, option, _LINE_BREAKING)
    return value


def not_empty(value, option):
    """value, unless it is an empty or blank string: "" never stands for a default."""
    if isinstance(value, str) and not value.strip():
        raise ValidationError(option, value, "an empty string does not mean the default; leave the option out")
    return value


def uuid(value, option):
    """A UUID as libvirt writes it (hyphens optional), returned in its canonical form."""
    if value is None:
        return None
    if not isinstance(value, str) or not _UUID_RE.fullmatch(value):
        raise ValidationError(option, value, "not a UUID")
    return str(uuidlib.UUID(value))


def mount_options(value, option="mount_options"):
    """Mount options as a list of strings. Each is written into fstab and passed to mount -o,
    so none may be empty or hold whitespace, a NUL or a control or separator character
    (a newline would start a line of its own in fstab)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ValidationError(option, value, "must be a list of mount options")
    for item in value:
        if not isinstance(item, str):
            raise ValidationError(option, item, "a mount option is a string, not %s" % type(item).__name__)
        _refuse_characters(item, option, _LINE_BREAKING)
        if item.startswith(("[", "{")):
            # Ansible turns a list or dict given as an element into its text
            raise ValidationError(option, item, "a mount option is a string, not a list or dict")
        if not _MOUNT_OPTION_RE.fullmatch(item):
            raise ValidationError(option, item, "not a mount option: empty, or holds whitespace or an empty item")
    return value


def existing_device(value, option):
    """A device path that, where it exists, is a block device or a regular file (a pool may be
    defined before its device appears, and an image file can back a loop device). Only stat'ed."""
    device(value, option)
    return _where_it_exists(value, option, lambda mode: stat.S_ISBLK(mode) or stat.S_ISREG(mode),
                            "a device", "a block device")


def directory(value, option):
    """A directory the task keeps files in (config_dir, runtime_dir, target.path): a good path
    that, where it exists, is a directory. A missing one passes: it is made when needed."""
    path(value, option)
    return _where_it_exists(value, option, stat.S_ISDIR, "a directory", "a directory")


def _where_it_exists(value, option, accepts, unreadable, wanted):
    """value, refused where it exists and its st_mode fails accepts (only stat'ed, never opened)."""
    if value is None:
        return None
    try:
        mode = os.stat(value).st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return value
        raise ValidationError(option, value, "cannot be %s: %s" % (unreadable, exc.strerror or exc))
    if not accepts(mode):
        raise ValidationError(option, value, "is %s, not %s" % (kind(mode), wanted))
    return value


def kind(mode):
    """'a FIFO', 'a regular file' ... of an st_mode, for messages."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a file"


def source_file(value, option):
    """A backing store or clone source: a path to a regular file or a block device.
    Only stat'ed (opening a FIFO blocks). A missing file passes: the caller reports it."""
    path(value, option)
    if value is None:
        return None
    try:
        mode = os.stat(value).st_mode
    except OSError:
        return value
    if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
        raise ValidationError(option, value, "is %s; an image must be a regular file or a block device" % kind(mode))
    return value


# A host as NFS, iSCSI and Ceph take it: a DNS name, an IPv4 address or an IPv6 address (bare,
# or in brackets as in a URL). Nothing that could be read as a second option, a path or a URL.
_HOST_NAME_RE = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?")
# iSCSI names (RFC 3720 3.2.6): iqn.YYYY-MM.reversed.domain[:anything], eui.<16 hex>, naa.<16 or 32 hex>;
# at most 223 bytes; the characters a node name may hold (lower case after stringprep)
_IQN_RE = re.compile(r"(?:iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9][a-z0-9.-]*(?::[a-z0-9.:_-]*)?"
                     r"|eui\.[0-9A-Fa-f]{16}|naa\.(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{32}))")
IQN_BYTES = 223
SECRET_CHARS = 255  # open-iscsi and libiscsi keep a CHAP secret in a 256-byte buffer


def host(value, option):
    """A server's host name or IP address, as given (no port, no scheme, no path)."""
    if value is None:
        return None
    _string(value, option, "a host name or IP address")
    _refuse_characters(value, option, _NOT_IN_NAMES)
    if not (_HOST_NAME_RE.fullmatch(value) or _is_ipv6(value)):
        raise ValidationError(option, value, "not a host name or IP address (a port or a path goes in its own option)")
    return value


def _is_ipv6(value):
    """An IPv6 address, bare or in brackets, with an optional zone (fe80::1%eth0). Never
    "10.0.0.1:3260": that is a host with a port."""
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    address, zone = (bare.split("%", 1) + [None])[:2]
    if zone is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", zone):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def port(value, option):
    """A TCP port, 1 to 65535."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError(option, value, "a TCP port is a number from 1 to 65535")
    return value


def iscsi_name(value, option):
    """An iSCSI qualified name (iqn.2004-04.com.example:disk1, eui.…, naa.…)."""
    if value is None:
        return None
    _string(value, option, "an iSCSI name")
    _refuse_characters(value, option, _NOT_IN_NAMES)
    if len(value.encode("utf-8")) > IQN_BYTES:
        raise ValidationError(option, value, "longer than the %d bytes an iSCSI name may have" % IQN_BYTES)
    if not _IQN_RE.fullmatch(value):
        raise ValidationError(option, value, "not an iSCSI name: iqn.YYYY-MM.reversed.domain[:name] in lower case, "
                                             "eui.<16 hex digits> or naa.<16 or 32 hex digits>")
    return value


def secret(value, option):
    """A secret (a CHAP secret, a key): one line of printable text. A refusal never shows it."""
    if value is None:
        return None
    if not isinstance(value, str) or value == "":
        raise ValidationError(option, "(hidden)", "must be a non-empty string")
    if "\0" in value or _bad_character(value, _LINE_BREAKING) is not None:
        raise ValidationError(option, "(hidden)", "holds a NUL, a control or a line separator character")
    if len(value) > SECRET_CHARS:
        raise ValidationError(option, "(hidden)", "longer than %d characters" % SECRET_CHARS)
    return value
