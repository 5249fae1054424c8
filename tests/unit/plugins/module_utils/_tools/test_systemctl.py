# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_systemctl: the argv of each call, its deadline, and which `is-enabled` answers mean the unit
starts at boot."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _systemctl
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._systemctl import Systemctl


@pytest.fixture
def systemctl(fake_runner):
    runner = fake_runner()
    runner.commands.add("systemctl")
    return runner, Systemctl(runner)


@pytest.mark.parametrize("rc, word, enabled", [(0, "enabled", True), (0, "static", True), (1, "disabled", False),
                                               (1, "masked", False), (4, "", False)])
def test_is_enabled(systemctl, rc, word, enabled):
    runner, tool = systemctl
    runner.expect(["systemctl", "is-enabled", "iscsid.socket"], rc, word + "\n")
    assert tool.is_enabled("iscsid.socket") is enabled
    assert runner.timeouts == [_systemctl.TIMEOUT]


def test_enable_and_disable_in_one_run_each(systemctl):
    runner, tool = systemctl
    runner.expect(["systemctl", "enable", "--quiet", "iscsid.socket", "open-iscsi.service"])
    runner.expect(["systemctl", "disable", "--quiet", "iscsid.socket", "open-iscsi.service"])
    tool.enable(["iscsid.socket", "open-iscsi.service"])
    tool.disable(["iscsid.socket", "open-iscsi.service"])
    assert runner.timeouts == [_systemctl.TIMEOUT] * 2


def test_unit_exists(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "open-iscsi.service").write_text("[Unit]\n")
    dirs = (str(tmp_path / "etc"), str(tmp_path / "lib"))
    assert _systemctl.unit_exists("open-iscsi.service", dirs)
    assert not _systemctl.unit_exists("iscsi.service", dirs)
