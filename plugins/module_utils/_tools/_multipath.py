# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Multipath maps as the kernel holds them: `dmsetup table` and `dmsetup status`
of the multipath targets (path groups, selectors, each path's state). Works
with or without multipathd running. multipath_tables() runs each once for all
maps; maps_tables() only for the maps it names (an mpath pool's selection)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

TABLE_ARGV = ["dmsetup", "table", "--target", "multipath"]
STATUS_ARGV = ["dmsetup", "status", "--target", "multipath"]

# dmsetup table/status only ask the kernel and return at once; a deadline all the same
COMMAND_TIMEOUT = 30

_PG_STATES = {"A": "active", "E": "enabled", "D": "disabled"}


def _lines(text):
    """{map name: [words after 'start length multipath']} of dmsetup output."""
    maps = {}
    for line in (text or "").splitlines():
        name, sep, rest = line.partition(": ")
        words = rest.split()
        if not sep or len(words) < 3 or words[2] != "multipath":
            continue
        maps.setdefault(name, []).extend(words[3:])  # one multipath target per map
    return maps


class _Words(object):
    """A cursor over the words of one map's line."""

    def __init__(self, words):
        self.words = words
        self.pos = 0

    def take(self, count=1):
        chunk = self.words[self.pos:self.pos + count]
        if len(chunk) < count:
            raise ValueError("short multipath line")
        self.pos += count
        return chunk

    def one(self):
        return self.take()[0]

    def number(self):
        return int(self.one())

    def counted(self):
        """A count, then that many words."""
        return self.take(self.number())


def parse_table(words):
    """The table of one map: features, hardware handler, path groups with selector and paths."""
    w = _Words(words)
    features = w.counted()
    hw_handler = w.counted()
    pg_count = w.number()
    w.one()  # the group the kernel tries first
    groups = []
    for number in range(1, pg_count + 1):
        selector = w.one()
        w.counted()  # selector arguments
        path_count = w.number()
        path_args = w.number()
        paths = []
        for _i in range(path_count):
            paths.append(w.one())
            w.take(path_args)
        groups.append({"number": number, "selector": selector, "paths": paths})
    return {"features": " ".join(features), "hw_handler": " ".join(hw_handler), "groups": groups}


def parse_status(words):
    """The status of one map: {major:minor: (group number, group state, path state, fail count)}."""
    w = _Words(words)
    w.counted()  # features: queueing, pg_init count
    w.counted()  # hardware handler
    pg_count = w.number()
    w.one()  # the group used next
    paths = {}
    for number in range(1, pg_count + 1):
        pg_state = _PG_STATES.get(w.one(), "unknown")
        w.counted()  # selector status of the group
        path_count = w.number()
        info_args = w.number()
        for _i in range(path_count):
            dev, state, fails = w.take(3)
            w.take(info_args)
            paths[dev] = (number, pg_state, "active" if state == "A" else "failed", int(fails))
    return paths


def parse(table_text, status_text):
    """{map name: {"features", "hw_handler", "groups": [...]}} with each group's paths
    as {maj_min, dm_state, fail_count}."""
    tables = _lines(table_text)
    statuses = _lines(status_text)
    maps = {}
    for name, words in tables.items():
        try:
            table = parse_table(words)
            status = parse_status(statuses[name]) if name in statuses else {}
        except (ValueError, IndexError):
            continue  # a map that changed between the two commands: its paths come from sysfs alone
        groups = []
        for group in table["groups"]:
            state = None
            paths = []
            for dev in group["paths"]:
                number, pg_state, path_state, fails = status.get(dev, (group["number"], None, None, None))
                state = state or pg_state
                paths.append({"maj_min": dev, "dm_state": path_state, "fail_count": fails})
            groups.append({"number": group["number"], "selector": group["selector"], "state": state, "paths": paths})
        maps[name] = {"features": table["features"], "hw_handler": table["hw_handler"], "groups": groups}
    return maps


def named_argv(kind, names):
    """dmsetup table|status of the maps called names only."""
    return ["dmsetup", kind] + list(names)


def _prefixed(text, names):
    """dmsetup prints one device's lines without its name; several devices' with "name: "."""
    if len(names) != 1:
        return text
    return "".join("%s: %s\n" % (names[0], line) for line in (text or "").splitlines() if line.strip())


def _named(runner, kind, names):
    """The lines of dmsetup table|status of the maps called names, each with its "name: "; a map
    gone since it was found stops dmsetup there (rc 1, "Device does not exist"): the maps not
    printed are asked one by one."""
    rc, out, _err = runner.run(named_argv(kind, names), check=False, timeout=COMMAND_TIMEOUT)
    text = _prefixed(out, names)
    if rc != 0 and len(names) > 1:
        seen = set(_lines(text))
        for name in names:
            if name not in seen:
                _rc, more, _err = runner.run(named_argv(kind, [name]), check=False, timeout=COMMAND_TIMEOUT)
                text += _prefixed(more, [name])
    return text


def maps_tables(runner, names):
    """parse() of the maps called names only: two commands, whatever their number. A map that
    is gone is left out."""
    names = sorted(names)
    if not names:
        return {}
    return parse(_named(runner, "table", names), _named(runner, "status", names))


def multipath_tables(runner):
    _rc, table, _err = runner.run(TABLE_ARGV)
    _rc, status, _err = runner.run(STATUS_ARGV)
    return parse(table, status)
