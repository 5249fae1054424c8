# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes as users write them ("10G", "512MiB", 1073741824) -> bytes.

Single letters and the *iB forms are binary, as in libvirt and qemu-img;
KB/MB/GB/... are decimal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

_BINARY = "KMGTPE"
_FACTORS = {"": 1, "b": 1, "byte": 1, "bytes": 1}
for _power, _letter in enumerate(_BINARY, start=1):
    _FACTORS[_letter.lower()] = 1024 ** _power
    _FACTORS[_letter.lower() + "ib"] = 1024 ** _power
    _FACTORS[_letter.lower() + "b"] = 1000 ** _power

# Nothing on Linux addresses more than this (off_t is signed 64-bit).
MAX_SIZE = 2 ** 63 - 1

_SIZE_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(value, option="size"):
    """Return the size in bytes, or raise ValidationError naming the option."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(option, value, "not a size")
    if isinstance(value, int):
        number, factor = value, 1
    elif isinstance(value, float):
        number, factor = value, 1
    else:
        match = _SIZE_RE.match(str(value))
        if not match:
            raise ValidationError(option, value, "not a size; use bytes or a number with a unit such as 512MiB, 10G, 1TiB")
        unit = match.group(2).lower()
        if unit not in _FACTORS:
            raise ValidationError(option, value, "unknown size unit %r" % match.group(2))
        number, factor = float(match.group(1)) if "." in match.group(1) else int(match.group(1)), _FACTORS[unit]
    if math.isnan(number):
        raise ValidationError(option, value, "not a size")
    if number < 0:
        raise ValidationError(option, value, "a size cannot be negative")
    # compared before int(): a float product can be infinite
    if number * factor > MAX_SIZE:
        raise ValidationError(option, value, "larger than any Linux file or device can be (8 EiB)")
    return int(number * factor)


def round_up(value, unit):
    """value rounded up to a whole multiple of unit (sectors, extents, alignment)."""
    return (value + unit - 1) // unit * unit


def human_size(size):
    """'10.0 GiB' style, for messages only."""
    value, unit = float(size), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            break
        value /= 1024
    return "%d B" % size if unit == "B" else "%.1f %s" % (value, unit)
