# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_atomic: a file is replaced whole or not at all, and no temporary file is left behind."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _atomic
from ansible_collections.poolcraft.storage.plugins.module_utils._host._atomic import atomic_write


def leftovers(directory):
    return [name for name in os.listdir(directory) if name.startswith(".tmp-")]


def test_atomic_write_mode_and_content(tmp_path):
    path = str(tmp_path / "f.xml")
    atomic_write(path, u"caf\u00e9\n", 0o640)
    with open(path, "rb") as handle:
        assert handle.read() == u"caf\u00e9\n".encode("utf-8")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert leftovers(str(tmp_path)) == []


@pytest.mark.parametrize("call, code", [("rename", errno.EIO), ("fsync", errno.ENOSPC)])
def test_atomic_write_keeps_old_content_when_a_step_fails(tmp_path, os_failure, call, code):
    path = str(tmp_path / "f.xml")
    atomic_write(path, "old")
    with os_failure(_atomic.os, call, code), pytest.raises(OSError):
        atomic_write(path, "new")
    with open(path) as handle:
        assert handle.read() == "old"
    assert os.listdir(str(tmp_path)) == ["f.xml"]
    assert leftovers(str(tmp_path)) == []
