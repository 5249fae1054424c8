# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wipefs, read-only: which signatures a device carries. We never let it erase."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError


def parse_signatures(output):
    """Signature types from `wipefs --no-act --json`, in order, without repeats."""
    if not output.strip():
        return []
    try:
        entries = json.loads(output).get("signatures", [])
    except ValueError:
        raise StorageError("wipefs printed no JSON: %s" % output[:200])
    types = []
    for entry in entries:
        if entry.get("type") and entry["type"] not in types:
            types.append(entry["type"])
    return types


class Wipefs(object):

    def __init__(self, runner):
        self.runner = runner

    def signatures(self, device):
        _rc, out, _err = self.runner.run(["wipefs", "--no-act", "--json", "-O", "TYPE,OFFSET", device])
        return parse_signatures(out)

    def erase_all(self, device):
        """Only for an explicit overwrite: removes every signature wipefs knows."""
        self.runner.run(["wipefs", "--all", "--quiet", device])
