# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources, bad input (issue 10, item 5): generated types and device lists, pointed at
paths that are not block devices (files, a FIFO, /dev/null, hostile and missing paths) and at
the host's own disk (only read: wipefs --no-act). LVM sees no device of the host (the sandbox's
LVM_SYSTEM_DIR). The kinds that ask a server (netfs, iscsi, iscsi-direct, rbd) get hostile hosts,
ports, initiator names, monitors, logins, deadlines and options of the other kinds; their bases ask
127.0.0.1 on port 1, where nothing listens, with a deadline of 2 s (rbd: 1 s, the ceph tool starts
slowly), so even a host that is accepted answers at once or is given up in time. The kinds that
read all of the host's SCSI hosts or multipath maps (scsi, mpath; none on this host) get the
options of the others. Each call must keep the four properties of bad_inputs.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import bad_inputs as bad
from bad_inputs import W

EXAMPLES = 800
TYPES = ["disk", "fs", "logical"]
BASES = [dict(type=kind, devices=["/dev/vda"]) for kind in TYPES]
KVM1 = "iqn.2026-12.test.poolcraft:kvm1"
# nothing listens on port 1 of 127.0.0.1, and NFS has no port to give (showmount asks rpcbind)
NETWORK_BASES = [dict(type="netfs", source={"host": "127.0.0.1"}, timeout=2),
                 dict(type="iscsi", source={"host": "127.0.0.1", "port": 1}, timeout=2),
                 dict(type="iscsi-direct", source={"host": "127.0.0.1", "port": 1, "initiator": KVM1}, timeout=2)]
ISCSI_BASES = NETWORK_BASES[1:]
RBD_BASES = [dict(type="rbd", source={"hosts": [{"name": "127.0.0.1", "port": 1}]}, timeout=1),
             dict(type="rbd", source={"hosts": [{"name": "127.0.0.1", "port": 1}],
                                      "auth": {"username": "u1", "secret": "AQDXvA9rpY7iIhAAuM8XotFsQJ3HHhZkoRX6GA=="}},
                  timeout=1)]
LOCAL_BASES = [dict(type="scsi"), dict(type="mpath")]


def build(sandbox):
    host = os.path.join(sandbox.work, "host")
    bad.write(os.path.join(host, "file.txt"), "a file\n", mode="w")
    bad.write(os.path.join(host, "blank.img"), b"\0" * (1 << 20))
    os.mkdir(os.path.join(host, "subdir"))
    os.symlink("loop", os.path.join(host, "loop"))
    os.symlink("/dev/null", os.path.join(host, "devnull-link"))


DEVICE_LISTS = [(label, [path], refuse) for label, path, refuse in bad.paths_under(W + "/host")] + [
    ("/dev/null", ["/dev/null"], True), ("/dev/zero", ["/dev/zero"], True), ("link to /dev/null", [W + "/host/devnull-link"], True),
    ("missing", ["/dev/poolcraft-nope"], True), ("directory", [W + "/host/subdir"], True),
    ("an image file", [W + "/host/blank.img"], True), ("proc file", ["/proc/self/status"], True),
    ("twice the same", ["/dev/vda", "/dev/vda"], False), ("empty list", [], False), ("a string", "/dev/vda", False),
    ("list of lists", [["/dev/vda"]], True), ("a name, not a path", ["vda"], True), ("5000 paths", ["/dev/vda"] * 5000, False),
    ("U+2028", ["/dev/vda\u2028"], True), ("dot dot", ["/dev/../dev/vda"], False), ("int", [8], True),
    ("a partition of the host disk", ["/dev/vda1"], False),
]


# (label, value, must_refuse) of source.host: a host, never a port, path, URL, option or list. Every
# hostile name is refused (no space, slash, dot first, control, format or non-ASCII character); no value
# here makes the module send a packet off the machine (no numbers Python would read as an address).
HOSTS = [(label, value, True) for label, value, _refuse in bad.HOSTILE_NAMES] + [
    ("with a port", "127.0.0.1:111", True), ("IPv4-mapped IPv6", "::ffff:127.0.0.1", False),
    ("unbalanced bracket", "[::1", True), ("bracketed name", "[localhost]", True), ("URL", "nfs://127.0.0.1/x", True),
    ("path", "127.0.0.1:/srv", True), ("user", "root@127.0.0.1", True), ("a network", "10.0.0.0/8", True),
    ("option", "-e", True), ("long option", "--help", True), ("IDN", "b\u00fccher.example", True),
    ("254 bytes", ("a" * 62 + ".") * 4 + "bb", True), ("label of 64", "a" * 64 + ".example", True),
    ("IPv6", "::1", False), ("bracketed IPv6", "[::1]", False), ("zone", "fe80::1%lo", False),
    ("trailing dot", "localhost.", False), ("localhost", "localhost", False),
    ("NUL", "127.0.0.1\x00", True), ("newline", "127.0.0.1\nx", True),
    ("list", ["127.0.0.1"], True), ("dict", {"a": 1}, True), ("null", None, True),
]
PORTS = [("zero", 0, True), ("65536", 65536, True), ("negative", -1, True), ("huge", 10 ** 40, True),
         ("text", "iscsi", True), ("float", 1.5, True), ("bool", True, True), ("list", [3260], True),
         ("Arabic-Indic digits", "\u0663\u0662\u0666\u0660", True), ("digits as text", "1", False),
         ("65535", 65535, False)]  # no null: 3260, where another test's target may listen
INITIATORS = [("no iqn prefix", "kvm1", True), ("upper case", "IQN.2026-12.TEST:KVM1", True),
              ("space", "iqn.2026-12.test:a b", True), ("newline", "iqn.2026-12.test:a\nb", True),
              ("NUL", "iqn.2026-12.test:a\x00", True), ("224 bytes", "iqn.2026-12.test:" + "a" * 207, True),
              ("bad month format", "iqn.26-12.test:a", True), ("leading dash", "-iqn.2026-12.test:a", True),
              ("eui", "eui.0123456789abcdef", False), ("naa", "naa.0123456789abcdef", False),
              ("empty", "", True)] + bad.WRONG_TYPES
TIMEOUTS = [("zero", 0, True), ("negative", -1, True), ("601", 601, True), ("huge", 10 ** 40, True),
            ("float", 2.5, True), ("bool", True, True), ("text", "soon", True), ("Arabic-Indic digit", "\u0662", True),
            ("list", [2], True), ("digits as text", "1", False), ("one", 1, False)]


def rbd_cases():
    """rbd: its monitors and its login made bad one at a time, and the options of the other kinds."""
    monitors = [(label, [{"name": value, "port": 1}], refuse) for label, value, refuse in HOSTS] + [
        ("empty list", [], True), ("a string", "127.0.0.1", True), ("list of strings", ["127.0.0.1"], True),
        ("no name", [{"port": 1}], True), ("port zero", [{"name": "127.0.0.1", "port": 0}], True),
        ("port as text", [{"name": "127.0.0.1", "port": "x"}], True),
        ("unknown key", [{"name": "127.0.0.1", "port": 1, "addr": "x"}], True),
        ("two monitors", [{"name": "127.0.0.1", "port": 1}, {"name": "::1", "port": 1}], False)]
    logins = [("a string", "AQDXvA9rpY7iIhAAuM8XotFsQJ3HHhZkoRX6GA==", True), ("no username", {"secret": "k"}, True),
              ("no secret", {"username": "u1"}, True), ("empty secret", {"username": "u1", "secret": ""}, True),
              ("newline in secret", {"username": "u1", "secret": "a\nb"}, True),
              ("NUL in secret", {"username": "u1", "secret": "a\x00b"}, True),
              ("newline in username", {"username": "u\n1", "secret": "k"}, True),
              ("empty username", {"username": "", "secret": "k"}, True),
              ("unknown key", {"username": "u1", "secret": "k", "mutual_secret": "m"}, True)]
    return [
        bad.mutations("source.hosts", RBD_BASES, monitors, kind="rbd monitors"),
        bad.mutations("source.auth", RBD_BASES, logins, kind="rbd login"),
        bad.mutations("timeout", RBD_BASES, TIMEOUTS[:8], kind="rbd timeout"),
        bad.mutations("source.host", RBD_BASES, [("any", "127.0.0.1", True)], kind="rbd host"),
        bad.mutations("devices", RBD_BASES, [("a device", ["/dev/vda"], True)], kind="rbd devices"),
        bad.fixed("rbd without monitors", dict(type="rbd", timeout=1), ["source.hosts"], must_refuse=True),
        bad.mutations("source.hosts", NETWORK_BASES, [("any", [{"name": "127.0.0.1", "port": 1}], True)],
                      kind="monitors of another kind"),
    ]


def local_cases():
    """scsi and mpath: every option of the other kinds is refused."""
    return [
        bad.mutations("devices", LOCAL_BASES, [("a device", ["/dev/vda"], True), ("empty", [], True),
                                               ("missing", ["/dev/poolcraft-nope"], True)], kind="local devices"),
        bad.mutations("source", LOCAL_BASES, [("a host", {"host": "127.0.0.1"}, True),
                                              ("monitors", {"hosts": [{"name": "127.0.0.1"}]}, True)], kind="local source"),
        bad.mutations("timeout", LOCAL_BASES, [("any", 2, True)], kind="local timeout"),
        bad.mutations("unknown_option", LOCAL_BASES, [("any", "x", True)]),
        bad.fixed("scsi as it is", dict(type="scsi"), must_succeed=True),
        bad.fixed("mpath as it is", dict(type="mpath"), must_succeed=True),
    ]


def network_cases():
    """The kinds that ask a server: their options made bad one at a time, and the other kinds' options."""
    return [
        bad.mutations("source.host", NETWORK_BASES, HOSTS, kind="network host"),
        bad.mutations("source.port", ISCSI_BASES, PORTS, kind="iscsi port"),
        bad.mutations("source.port", NETWORK_BASES[:1], [("any", 2049, True)], kind="netfs port"),
        bad.mutations("source.initiator", ISCSI_BASES, INITIATORS, kind="iscsi initiator"),
        bad.mutations("source.initiator", NETWORK_BASES[:1], [("any", KVM1, True)], kind="netfs initiator"),
        bad.mutations("timeout", NETWORK_BASES, TIMEOUTS, kind="network timeout"),
        bad.mutations("source", NETWORK_BASES, [("string", "127.0.0.1", True), ("list", ["127.0.0.1"], True),
                                                ("int", 5, True), ("empty", {}, True), ("null", None, True),
                                                ("unknown key", {"host": "127.0.0.1", "dir": "/srv"}, True)],
                      kind="network source"),
        bad.mutations("devices", NETWORK_BASES, [("a device", ["/dev/vda"], True), ("empty", [], True)],
                      kind="network devices"),
        bad.mutations("source", BASES, [("a host", {"host": "127.0.0.1"}, True)], kind="block source"),
        bad.mutations("timeout", BASES, [("any", 2, True)], kind="block timeout"),
        bad.fixed("iscsi-direct without initiator",
                  dict(type="iscsi-direct", source={"host": "127.0.0.1", "port": 1}, timeout=2),
                  ["source.initiator"], must_refuse=True),
        bad.mutations("unknown_option", NETWORK_BASES, [("any", "x", True)]),
    ]


def cases():
    parts = [
        bad.mutations("type", BASES, [("unknown", "zfs", True), ("dir", "dir", True), ("empty", "", True),
                                      ("upper case", "DISK", True), ("NUL", "disk\x00", True)] + bad.WRONG_TYPES),
        bad.fixed("type missing", dict(devices=["/dev/vda"]), ["type"], must_refuse=True),
    ]
    for kind in TYPES:
        parts.append(bad.mutations("devices", [dict(type=kind)], DEVICE_LISTS, kind="%s devices" % kind))
        parts.append(bad.mutations("devices", [dict(type=kind)], bad.WRONG_TYPES, kind="%s devices" % kind))
    parts += [
        bad.mutations("config_dir", BASES, [("any", W + "/etc", True)]),
        bad.mutations("unknown_option", BASES, [("any", "x", True)]),
    ] + network_cases() + rbd_cases() + local_cases()
    return bad.strategy(parts, generated_share=0)


def test_bad_input_pool_sources():
    bad.run_suite("pool_sources", cases(), build, EXAMPLES, fifos=[W + "/host/fifo"])
