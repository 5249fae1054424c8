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
# 2^63 has 19 digits; 30 leaves room for leading zeros and decimals, and keeps a
# value of thousands of digits from ever reaching int() (or its 4300-digit limit)
MAX_DIGITS = 30

# The unit of the kernel's sector counts (sysfs size and start, partx, st_blocks), whatever a
# device's own logical sector size; VMDK counts in the same 512-byte sectors.
SECTOR = 512

# ASCII only: a Unicode \d would read "\u0661\u0660" (Arabic-Indic digits) as 10; spaces only
# (\s would let a tab or a newline through, which no size needs)
_SIZE_RE = re.compile(r" *(-?)([0-9]+)(?:\.([0-9]+))? *([A-Za-z]*) *", re.ASCII)
_HINT = "use bytes or a number with a unit such as 512MiB, 10G, 1TiB"
_TOO_LARGE = "larger than any Linux file or device can be (8 EiB)"


def parse_size(value, option="size"):
    """Return the size in bytes, or raise ValidationError naming the option and the value."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(option, value, "not a size")
    if isinstance(value, int):
        size = value
    elif isinstance(value, float):
        if math.isnan(value):
            raise ValidationError(option, value, "not a size")
        if value < 0:
            raise ValidationError(option, value, "a size cannot be negative")
        # compared before int(): a float can be infinite
        if value > MAX_SIZE:
            raise ValidationError(option, value, _TOO_LARGE)
        size = int(value)
    elif isinstance(value, str):
        size = _parse_text(value, option)
    else:
        raise ValidationError(option, value, "not a size; " + _HINT)
    if size < 0:
        raise ValidationError(option, value, "a size cannot be negative")
    if size > MAX_SIZE:
        raise ValidationError(option, value, _TOO_LARGE)
    return size


def _parse_text(value, option):
    if not value.strip():
        raise ValidationError(option, value, "an empty string is not a size; " + _HINT)
    unprintable = next((char for char in value if not char.isprintable()), None)
    if unprintable is not None:  # a tab, a newline, a NUL, U+2028: named, as the value's repr hides it among escapes
        raise ValidationError(option, value, "not a size: holds the unprintable character U+%04X; %s" % (ord(unprintable), _HINT))
    match = _SIZE_RE.fullmatch(value)
    if not match:
        if any(char.isdigit() and not "0" <= char <= "9" for char in value):
            raise ValidationError(option, value, "only the ASCII digits 0-9 make a size")
        raise ValidationError(option, value, "not a size; " + _HINT)
    sign, whole, fraction, unit = match.groups()
    fraction = fraction or ""
    if sign:
        raise ValidationError(option, value, "a size cannot be negative")
    if len(whole) + len(fraction) > MAX_DIGITS:
        raise ValidationError(option, value, "more than %d digits; %s" % (MAX_DIGITS, _TOO_LARGE))
    if unit.lower() not in _FACTORS:
        raise ValidationError(option, value, "unknown size unit %r" % unit)
    factor = _FACTORS[unit.lower()]
    # exact integer arithmetic: a float would round 2^63 - 1 up past the limit
    return int(whole) * factor + int(fraction or "0") * factor // 10 ** len(fraction)


def to_int(text):
    """An integer from a tool's or the kernel's text; None where it is empty or no number (-1 stays -1)."""
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


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
