# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""qemu-img, typed: create, info, resize, convert."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError


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
        """qemu-img info as a dict. Its output can hold credentials for network
        URLs, so callers must not return it whole."""
        argv = ["qemu-img", "info", "--output=json", "-U"]
        if fmt:
            argv += ["-f", fmt]
        _rc, out, _err = self.runner.run(argv + [path])
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
