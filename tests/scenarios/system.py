# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scenario tests' own commands and processes, shared by the host and the guest fixtures
(a plain module: pytest imports every conftest under the one name "conftest")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import time

import pytest

import fingerprints


def run(*argv, **kwargs):
    """A command of the test itself (not of the module under test); its stdout. Fails on rc != 0
    unless check=False."""
    check = kwargs.pop("check", True)
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=False, **kwargs)
    if check and proc.returncode != 0:
        pytest.fail("%s failed (rc %d): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))
    return proc.stdout


def drop_partitions(device, attempts=50):
    """Remove the kernel's partitions of device (parted adds them by BLKPG; there is no table parser
    on the host, so nothing else would). A partition still held for a moment (udev probing it, a
    lazy unmount finishing) is tried again for up to about 5 s."""
    for _attempt in range(attempts):
        if not fingerprints.partitions(device):
            return
        subprocess.run(["partx", "--delete", device], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if not fingerprints.partitions(device):
            return
        time.sleep(0.1)
    left = fingerprints.partitions(device)
    assert not left, "partitions of %s could not be removed: %r" % (device, left)


def stop_pid(pid, timeout=10.0):
    """SIGTERM, then SIGKILL after timeout; a zombie counts as stopped."""
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            if not os.path.exists("/proc/%d" % pid) or _state(pid) == "Z":
                return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (IOError, OSError, IndexError):
        return "Z"


def udev_answers():
    return subprocess.run(["udevadm", "control", "--ping", "--timeout=2"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


def udev_add(device):
    """Have udev process an add event for exactly this device, and wait for it."""
    run("udevadm", "trigger", "--action=add", "--sysname-match=%s" % os.path.basename(device))
    run("udevadm", "settle", "--timeout=30")
