# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemctl: whether units start at boot, and making them (not) start. Nothing is started or
stopped here. A deadline on each call: systemctl waits on PID 1, which may be busy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

TIMEOUT = 60
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
# `systemctl is-enabled` words of a unit that starts at boot (or is pulled in by one that does)
_ENABLED = ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated")


def unit_exists(unit, dirs=None):
    """Whether a unit file of that name is installed."""
    return any(os.path.exists(os.path.join(directory, unit)) for directory in dirs or UNIT_DIRS)


class Systemctl(object):

    def __init__(self, runner):
        self.runner = runner

    def is_enabled(self, unit):
        rc, out, _err = self.runner.run(["systemctl", "is-enabled", unit], check=False, timeout=TIMEOUT)
        return rc == 0 and out.strip() in _ENABLED

    def enable(self, units):
        self.runner.run(["systemctl", "enable", "--quiet"] + list(units), timeout=TIMEOUT)

    def disable(self, units):
        self.runner.run(["systemctl", "disable", "--quiet"] + list(units), timeout=TIMEOUT)
