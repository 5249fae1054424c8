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


# Columns of a probe of many devices at once: DEVICE tells whose each signature is.
PROBE_COLUMNS = "DEVICE,TYPE,USAGE,OFFSET,UUID,LABEL"


def parse_probe(output):
    """{device: [{type, usage, offsets, uuid, label}]} from `wipefs --no-act --json -O PROBE_COLUMNS`
    on several devices. wipefs names each device by the base name of the path it was given.
    The entries of one type (GPT's primary and backup header) are one signature with its offsets."""
    if not output.strip():
        return {}
    try:
        entries = json.loads(output).get("signatures", [])
    except ValueError:
        raise StorageError("wipefs printed no JSON: %s" % output[:200])
    found = {}
    for entry in entries:
        signatures = found.setdefault(entry.get("device"), [])
        same = [sig for sig in signatures if sig["type"] == entry.get("type")]
        offset = int(entry["offset"], 16) if entry.get("offset") else None
        if same:
            same[0]["offsets"].append(offset)
            continue
        signatures.append({"type": entry.get("type"), "usage": entry.get("usage"), "offsets": [offset],
                           "uuid": entry.get("uuid"), "label": entry.get("label")})
    return found


class Wipefs(object):

    def __init__(self, runner):
        self.runner = runner

    def signatures(self, device):
        _rc, out, _err = self.runner.read(["wipefs", "--no-act", "--json", "-O", "TYPE,OFFSET", device])
        return parse_signatures(out)

    def probe(self, devices):
        """Signatures of many devices in one run (as parse_probe); a device that is gone
        fails the whole run, so callers pass nodes they just found."""
        _rc, out, _err = self.runner.read(["wipefs", "--no-act", "--json", "-O", PROBE_COLUMNS] + list(devices))
        return parse_probe(out)

    def erase_all(self, device):
        """Only for an explicit overwrite: removes every signature wipefs knows."""
        self.runner.run(["wipefs", "--all", "--quiet", device])
