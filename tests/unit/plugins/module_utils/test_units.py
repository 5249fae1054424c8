# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._units import MAX_SIZE, human_size, parse_size

KI, MI, GI, TI, PI, EI = 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4, 1024 ** 5, 1024 ** 6


@pytest.mark.parametrize("text, expected", [
    ("0", 0),
    ("512", 512),
    ("512b", 512),
    ("512B", 512),
    ("1byte", 1),
    ("100 bytes", 100),
    ("1K", 1024),
    ("1k", 1024),
    ("1KiB", 1024),
    ("1kib", 1024),
    ("1KB", 1000),
    ("1M", 1048576),
    ("1MiB", 1048576),
    ("1MB", 1000000),
    ("1G", 1073741824),
    ("1GiB", 1073741824),
    ("1GB", 1000000000),
    ("10G", 10737418240),
    ("1T", 1099511627776),
    ("1TiB", 1099511627776),
    ("1TB", 1000000000000),
    ("1P", 1125899906842624),
    ("1PiB", 1125899906842624),
    ("1PB", 10 ** 15),
    ("1E", 1152921504606846976),
    ("1EiB", 1152921504606846976),
    ("7E", 7 * 1152921504606846976),
    ("9EB", 9 * 10 ** 18),
])
def test_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("1.5G", 1610612736),
    ("0.5K", 512),
    ("2.25MiB", 2359296),
    ("1.5GB", 1500000000),
    ("0.5", 0),
])
def test_decimals(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["10G", " 10G", "10G ", "10 G", "  10   GiB  "])
def test_spaces_are_ignored(text):
    assert parse_size(text) == 10 * GI


@pytest.mark.parametrize("value, code", [("10\tM", 9), ("\t10G\n", 9), ("10G\n", 10), ("10\rG", 13), ("10\x0bG", 11),
                                         ("10\x85G", 0x85), ("10G\x1b", 0x1b)])
def test_control_characters_are_refused_by_name(value, code):
    # a tab between number and unit was read as 10 MiB: \s let every ASCII control character through
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "capacity")
    message = str(caught.value)
    assert message.startswith("capacity=%r: not a size: holds the unprintable character U+%04X; " % (value, code)), message
    assert "\n" not in message and "\t" not in message


def test_ints_are_bytes():
    assert parse_size(0) == 0
    assert parse_size(4096) == 4096
    assert parse_size(MAX_SIZE) == 2 ** 63 - 1
    assert parse_size("9223372036854775807") == 2 ** 63 - 1


def test_result_is_int():
    assert isinstance(parse_size("1.5G"), int)  # not a float
    assert isinstance(parse_size("3"), int)


@pytest.mark.parametrize("value, reason", [
    (-1, "negative"),
    ("-1G", "cannot be negative"),
    ("-5", "cannot be negative"),
    ("10X", "unknown size unit 'X'"),
    ("10 GiBs", "unknown size unit 'GiBs'"),
    ("1Zi", "unknown size unit"),
    ("ten", "not a size"),
    ("", "not a size"),
    ("   ", "not a size"),
    ("G", "not a size"),
    ("1.2.3G", "not a size"),
    ("1,5G", "not a size"),
    ("0x10", "not a size"),
    ("1e9", "not a size"),
    ("10G 5M", "not a size"),
    (True, "not a size"),
    (False, "not a size"),
    (None, "not a size"),
    ("8E", "8 EiB"),
    ("8EiB", "8 EiB"),
    ("8.0E", "8 EiB"),
    ("10000PB", "8 EiB"),
    (2 ** 63, "8 EiB"),
    ("9223372036854775808", "8 EiB"),
])
def test_errors(value, reason):
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "capacity")
    message = str(caught.value)
    assert reason in message
    # the message names the option and the value as given
    assert message.startswith("capacity=%r: " % (value,))
    assert caught.value.option == "capacity"
    assert caught.value.value == value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_validation_errors(value):
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "allocation")
    assert str(caught.value).startswith("allocation=")


def test_huge_decimal_is_too_large_not_a_crash():
    # float() of this is infinite: the check must happen before int()
    value = "1" + "0" * 400 + ".5G"
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "capacity")
    assert "8 EiB" in str(caught.value)


@pytest.mark.parametrize("digits", [5000, 100000])
def test_thousands_of_digits_are_refused_before_int(digits):
    # int() of more than 4300 digits raises a bare ValueError on Python 3.11+
    value = "9" * digits + "M"
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "capacity")
    message = str(caught.value)
    assert "more than 30 digits" in message
    assert message.startswith("capacity='999")
    assert "\n" not in message


def test_thirty_digits_are_parsed_and_thirty_one_are_not():
    assert parse_size("0" * 29 + "1") == 1
    assert parse_size("0" * 20 + "1.5" + "0" * 8 + "K") == 1536
    with pytest.raises(ValidationError) as caught:
        parse_size("0" * 30 + "1")
    assert "more than 30 digits" in str(caught.value)


@pytest.mark.parametrize("value", [
    u"\u0661\u0660M",  # Arabic-Indic "10"
    u"\u0661\u0660",
    u"\u0967\u0966G",  # Devanagari "10"
    u"\uff11\uff10M",  # fullwidth "10"
    u"1\u0660M",
    u"\u00b2M",  # superscript two: isdigit() says yes
])
def test_only_ascii_digits_count(value):
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "capacity")
    message = str(caught.value)
    assert message.startswith("capacity=%r: " % value)
    assert "ASCII digits" in message


@pytest.mark.parametrize("value", [u"10G\u2028", u"\u200310G", u"10\u00a0G", u"\x0010G", "10G\x00"])
def test_only_ascii_whitespace_around_a_size(value):
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "capacity")
    assert "not a size" in str(caught.value)
    assert "\n" not in str(caught.value) and u"\u2028" not in str(caught.value)


@pytest.mark.parametrize("value", ["-0", "-0.5K", "- 1G", -0.5, float("-inf")])
def test_anything_negative_is_refused(value):
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "capacity")
    assert "negative" in str(caught.value) or "not a size" in str(caught.value)


@pytest.mark.parametrize("value", [[], {}, ["10G"], b"10G", object()])
def test_other_types_are_not_sizes(value):
    with pytest.raises(ValidationError) as caught:
        parse_size(value, "capacity")
    assert "not a size" in str(caught.value)


def test_decimals_are_exact_at_the_limit():
    # a float would round 2^63 - 1 up to 2^63 and refuse it
    assert parse_size("9223372036854775807.0") == MAX_SIZE
    assert parse_size("7.999999999999999999E") == 8 * EI - 2  # 8 EiB less 1.15 bytes, rounded down
    assert parse_size("0.001K") == 1
    assert parse_size("0.0009K") == 0


def test_default_option_name_is_size():
    with pytest.raises(ValidationError) as caught:
        parse_size("lots")
    assert str(caught.value).startswith("size='lots': ")


def test_largest_size_is_accepted_and_one_more_is_not():
    assert parse_size("7EiB") == 7 * EI
    assert parse_size(str(2 ** 63 - 1) + "b") == 2 ** 63 - 1
    with pytest.raises(ValidationError):
        parse_size(str(2 ** 63) + "b")


@pytest.mark.parametrize("size, text", [
    (0, "0 B"),
    (1023, "1023 B"),
    (1024, "1.0 KiB"),
    (1536, "1.5 KiB"),
    (10 * GI, "10.0 GiB"),
    (3 * TI, "3.0 TiB"),
    (PI, "1.0 PiB"),
    (EI, "1024.0 PiB"),
])
def test_human_size(size, text):
    assert human_size(size) == text
