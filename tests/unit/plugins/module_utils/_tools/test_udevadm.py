# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_udevadm: whether udevd answers, and udevadm settle."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _udevadm


def test_udev_runs_only_when_its_socket_answers(tmp_path, monkeypatch):
    import socket
    control = str(tmp_path / "control")
    monkeypatch.setattr(_udevadm, "UDEV_CONTROL", control)
    assert not _udevadm.udev_runs()  # no socket
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listening.bind(control)
    listening.listen(1)
    try:
        assert _udevadm.udev_runs()
    finally:
        listening.close()
    assert os.path.exists(control) and not _udevadm.udev_runs()  # what a stopped udevd leaves behind


def test_settle_never_fails_the_task(fake_runner):
    runner = fake_runner()
    runner.commands.add("udevadm")
    runner.expect(["udevadm", "settle"], 1, "", "timed out")
    _udevadm.Udevadm(runner).settle()
    assert [call[0] for call in runner.calls] == ["udevadm"]


def test_settle_for_at_most_some_seconds_has_a_deadline_of_its_own(fake_runner):
    runner = fake_runner()
    runner.commands.add("udevadm")
    runner.expect(["udevadm", "settle", "--timeout=7"], 1, "", "timed out")
    runner.expect(["udevadm", "settle", "--timeout=1"])
    _udevadm.Udevadm(runner).settle(7.6)
    _udevadm.Udevadm(runner).settle(0.2)  # a deadline almost passed still waits a second: 0 would only ask
    assert runner.timeouts == [17, 11]
