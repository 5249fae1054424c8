# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""qemu-img, typed: create, info, resize, convert, compare; the files an `info` says an image refers
to; and its failures as one line naming our option and the volume.

Images qemu reaches over a network (an iSCSI LUN) are given as option strings (--image-opts,
image_opts()) and their secrets as qemu secret objects read from a file (secret_object()), never
in a URL or in argv."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError

# kinds of reference, as _image_header names them
_BACKING_FILE, _DATA_FILE, _EXTENT = "backing file", "data file", "extent"
# VMDK extent types qemu opens as VMDK sparse files; the others hold raw data
_SPARSE_EXTENTS = ("SPARSE", "VMFSSPARSE", "SESPARSE")
# seconds qemu-img info may take: it reads headers, so more means it is stuck (a file that blocks,
# an image it loops on); create, convert and resize write data and take as long as it takes
INFO_TIMEOUT = 60


def _options(options):
    """-o list from a dict, skipping unset values; qemu-img wants on/off for booleans."""
    parts = []
    for key in sorted(options):
        value = options[key]
        if value is None:
            continue
        if isinstance(value, bool):
            value = "on" if value else "off"
        parts.append("%s=%s" % (key, value))
    return ["-o", ",".join(parts)] if parts else []


def image_opts(options):
    """qemu's option string for --image-opts from (key, value) pairs, in order; a comma in a
    value is doubled, as qemu's option parser wants it."""
    return ",".join("%s=%s" % (key, str(value).replace(",", ",,")) for key, value in options)


def secret_object(secret_id, path):
    """--object for a qemu secret read from the file at path (0600, written by the caller)."""
    return ["--object", "secret,id=%s,file=%s" % (secret_id, path.replace(",", ",,"))]


def zeros_opts(size):
    """An image of size bytes that reads as zeros and stores nothing (qemu's null-co driver)."""
    return image_opts([("driver", "null-co"), ("read-zeroes", "on"), ("size", size)])


class QemuImg(object):

    def __init__(self, runner):
        self.runner = runner

    def create(self, path, fmt, size, options=None, backing=None, backing_format=None):
        argv = ["qemu-img", "create", "-q", "-f", fmt] + _options(options or {})
        if backing:
            argv += ["-b", backing, "-F", backing_format]
        argv.append(path)
        if size is not None:
            argv.append(str(size))
        self.runner.run(argv)

    def info(self, path, fmt=None):
        """qemu-img info as a dict, within INFO_TIMEOUT seconds (else CommandTimeout). Its output
        can hold credentials for network URLs, so callers must not return it whole."""
        argv = ["qemu-img", "info", "--output=json", "-U"]
        if fmt:
            argv += ["-f", fmt]
        _rc, out, _err = self.runner.run(argv + [path], timeout=INFO_TIMEOUT)
        try:
            return json.loads(out)
        except ValueError:
            raise StorageError("qemu-img info %s returned no JSON" % path)

    def resize(self, path, fmt, size, shrink=False):
        argv = ["qemu-img", "resize", "-q", "-f", fmt]
        if shrink:
            argv.append("--shrink")
        self.runner.run(argv + [path, str(size)])

    def convert(self, source, source_format, target, target_format, options=None):
        # -n is not used: qemu-img creates the target itself, sparse (zeros become holes).
        argv = ["qemu-img", "convert", "-q", "-f", source_format, "-O", target_format]
        self.runner.run(argv + _options(options or {}) + [source, target])

    def convert_into(self, source, source_format, target, target_is_zero=False):
        """Copy source as raw data into an existing target (a block device) of at least its size;
        target_is_zero (a new thin LV reads as zeros) lets qemu-img skip writing the zeros."""
        argv = ["qemu-img", "convert", "-q", "-n", "-f", source_format, "-O", "raw"]
        if target_is_zero:
            argv.append("--target-is-zero")
        self.runner.run(argv + [source, target])

    def convert_into_opts(self, source, source_format, target_opts, objects=(), timeout=None):
        """Copy source as raw data into the existing image target_opts names (an --image-opts string,
        such as an iSCSI LUN), over all of source's size; qemu writes the zeros too (-n: the
        target is not known to be blank)."""
        argv = ["qemu-img", "convert", "-q", "-n", "-f", source_format] + list(objects)
        self.runner.run(argv + ["--target-image-opts", source, target_opts], timeout=timeout)

    def zero_opts(self, target_opts, size, objects=(), timeout=None):
        """Write zeros over the first size bytes of the existing image target_opts names."""
        argv = ["qemu-img", "convert", "-q", "-n"] + list(objects)
        self.runner.run(argv + ["--image-opts", zeros_opts(size), "--target-image-opts", target_opts], timeout=timeout)

    def same_opts(self, first_opts, second_opts, objects=(), timeout=None):
        """Whether two images (--image-opts strings) read the same (qemu-img compare: rc 0 the same,
        1 not). Not strict (-s): where each stores its zeros does not matter, only what they read;
        past the end of the smaller one the larger must read as zeros."""
        argv = ["qemu-img", "compare", "-q"] + list(objects) + ["--image-opts", first_opts, second_opts]
        rc, out, err = self.runner.run(argv, check=False, timeout=timeout)
        if rc in (0, 1):
            return rc == 0
        # 2: an image could not be opened, 3: an error while reading
        raise CommandError(argv, rc, out, err)


def references_from_info(info):
    """(kind, name, format) of each file `qemu-img info --output=json` (of one image, without
    --backing-chain) says the image refers to: its backing file, a qcow2 data file, VMDK extents
    other than the image itself. Names are as the image spells them; format None: qemu probes it."""
    refs = []
    if not isinstance(info, dict):
        return refs
    if info.get("backing-filename"):
        refs.append((_BACKING_FILE, info["backing-filename"], info.get("backing-filename-format")))
    specific = info.get("format-specific")
    data = specific.get("data") if isinstance(specific, dict) else None
    if not isinstance(data, dict):
        return refs
    if data.get("data-file"):
        refs.append((_DATA_FILE, data["data-file"], "raw"))
    for extent in data.get("extents") or []:
        name = extent.get("filename") if isinstance(extent, dict) else None
        if name and name != info.get("filename"):
            refs.append((_EXTENT, name, "vmdk" if extent.get("format") in _SPARSE_EXTENTS else "raw"))
    return refs


def first_line(error):
    """The tool's own words: the first line of its stderr (else stdout) that says something."""
    for text in (error.stderr, error.stdout):
        for line in (text or "").splitlines():
            if line.strip():
                return line.strip()
    return "%s exited with rc=%s and no output" % (error.argv[0] if error.argv else "qemu-img", error.rc)


def qemu_img_error(error, option, volume):
    """A qemu-img CommandError as one line: our option, the volume, then the tool's words."""
    return StorageError("%s: qemu-img failed for volume %r: %s" % (option, volume, first_line(error)))


def _of_qemu_img(exc):
    """Whether exc is the failure of a qemu-img run (other tools' failures keep their own words)."""
    argv = getattr(exc, "argv", None)
    return bool(argv) and os.path.basename(str(argv[0])) == "qemu-img"


@contextlib.contextmanager
def qemu_img_errors(option, volume):
    """`with qemu_img_errors("clone_from", name): ...`: a qemu-img CommandError inside becomes
    qemu_img_error; another error of a qemu-img run (a missed deadline: it has the argv) gets the
    same prefix. Errors of other commands (lvcreate, sgdisk ...) pass unchanged."""
    try:
        yield
    except CommandError as exc:
        if not _of_qemu_img(exc):
            raise
        raise qemu_img_error(exc, option, volume)
    except StorageError as exc:
        if not _of_qemu_img(exc):
            raise
        raise StorageError("%s: qemu-img failed for volume %r: %s" % (option, volume, exc))
