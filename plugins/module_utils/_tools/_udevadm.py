# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""udevadm: whether udevd runs, and waiting for it to finish what a change to a device set off."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

UDEV_CONTROL = "/run/udev/control"


def udev_runs():
    """Whether a udevd answers on its control socket. The socket file alone proves nothing: a
    stopped or crashed udevd leaves it behind, and waiting for links it never makes costs seconds."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(1.0)
    try:
        sock.connect(UDEV_CONTROL)
    except (OSError, socket.error):
        return False
    finally:
        sock.close()
    return True


class Udevadm(object):

    def __init__(self, runner):
        self.runner = runner

    def settle(self, seconds=None):
        """Wait until udev has handled the events queued so far, for at most seconds (None: udevadm's
        own 120 s). Its failure (a timeout, no udevd) is no error: callers check what they wait for
        themselves."""
        if seconds is None:
            self.runner.run(["udevadm", "settle"], check=False)
            return
        seconds = max(1, int(seconds))
        self.runner.run(["udevadm", "settle", "--timeout=%d" % seconds], check=False, timeout=seconds + 10)
