# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_discovery._base: resolve_devices, the `devices` option's errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import resolve_devices
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError


# -- the devices option -----------------------------------------------------------------------

def test_no_devices_means_no_restriction():
    assert resolve_devices(None) is None


def test_a_file_is_not_a_block_device(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"")
    with pytest.raises(ValidationError) as caught:
        resolve_devices([str(path)])
    assert str(caught.value) == "devices=%r: not a block device" % str(path)


def test_a_missing_device_is_named(tmp_path):
    with pytest.raises(ValidationError) as caught:
        resolve_devices([str(tmp_path / "sdz")])
    assert str(caught.value) == "devices=%r: no such device" % str(tmp_path / "sdz")


def test_a_relative_path_is_refused():
    with pytest.raises(ValidationError) as caught:
        resolve_devices(["sdb"])
    assert str(caught.value) == "devices='sdb': must be an absolute path to a block device"
