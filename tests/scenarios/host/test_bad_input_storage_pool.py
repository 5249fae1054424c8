# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool, bad input (issue 10, item 5): generated calls beside a running dir pool `vols`
and a stopped one `stopped`, with fs, disk and logical pools defined on files (never built: a
device they need is refused, or points at a file, so no loop device is needed). The fstab is
the sandbox's own. Each call must keep the four properties of bad_inputs.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import bad_inputs as bad
import harness
from bad_inputs import W

EXAMPLES = 700
VOLS_UUID = "6f1c2f7e-5d1b-4c3a-9e8f-0a1b2c3d4e5f"
POOLS = W + "/pools"
STORE = dict(config_dir=W + "/etc", runtime_dir=W + "/run", fstab=W + "/fstab")

NEW_DIR = dict(STORE, name="newp", type="dir", target={"path": POOLS + "/newp"}, build=True, state="running")
EXISTING = dict(STORE, name="vols", type="dir", target={"path": POOLS + "/vols"}, state="running")
ABSENT = dict(STORE, name="vols", state="absent", purge=True)
NEW_FS = dict(STORE, name="fsp", type="fs", source={"device": W + "/host/blank.img", "format": "ext4"},
              target={"path": W + "/mnt/fsp"}, autostart=True)
NEW_DISK = dict(STORE, name="dkp", type="disk", source={"device": W + "/host/blank.img", "format": "gpt"})
NEW_LOGICAL = dict(STORE, name="lvp", type="logical", source={"devices": [W + "/host/blank.img"]})
SECRET = "bad-input-Secret-7f3a"
NEW_NETFS = dict(STORE, name="nfsp", type="netfs", source={"host": "nfs1.example.com", "dir": "/srv/images"},
                 target={"path": W + "/mnt/nfsp"})
NEW_ISCSI = dict(STORE, name="iscp", type="iscsi", source={"host": "192.0.2.10", "target": "iqn.2004-04.com.example:images",
                                                           "auth": {"username": "kvm01", "secret": SECRET}},
                 target={"path": "/dev/disk/by-path"})
NEW_DIRECT = dict(STORE, name="dirp", type="iscsi-direct", source={
    "host": "192.0.2.10", "target": "iqn.2004-04.com.example:images", "initiator": "iqn.2004-04.com.example:kvm01",
    "auth": {"username": "kvm01", "secret": SECRET}})
NEW_RBD = dict(STORE, name="rbdp", type="rbd", source={"name": "vms", "hosts": [{"name": "192.0.2.1", "port": 6789}],
                                                       "auth": {"username": "libvirt", "secret": SECRET}})
NETWORK = [NEW_NETFS, NEW_ISCSI, NEW_DIRECT]
DIRS = [NEW_DIR, EXISTING]
ANY = [NEW_DIR, EXISTING, ABSENT, NEW_FS, NEW_DISK, NEW_LOGICAL]


def build(sandbox):
    host = os.path.join(sandbox.work, "host")
    bad.write(os.path.join(host, "blank.img"), b"\0" * (1 << 20))
    bad.write(os.path.join(host, "file.txt"), "a file\n", mode="w")
    os.mkdir(os.path.join(host, "subdir"))
    os.symlink("loop", os.path.join(host, "loop"))
    bad.write(os.path.join(sandbox.work, "fstab"), "# the sandbox's fstab\n", mode="w")
    os.makedirs(os.path.join(sandbox.work, "pools"))
    for name, state, uuid in (("vols", "running", VOLS_UUID), ("stopped", "stopped", None)):
        args = dict(sandbox.store, name=name, type="dir", build=True, state=state,
                    target={"path": os.path.join(sandbox.work, "pools", name)})
        if uuid:
            args["uuid"] = uuid
        made = harness.run_module("storage_pool", args)
        assert made.changed and not made.failed, made


def fstab_lines(sandbox):
    with open(os.path.join(sandbox.work, "fstab"), "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
    return [line for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")]


def one_fstab_entry(sandbox, result):
    """After an fs pool with autostart: exactly its own line in fstab, nothing injected."""
    lines = fstab_lines(sandbox)
    if len(lines) != 1:
        return "fstab holds %d entries: %r" % (len(lines), lines)
    return None


BROKEN_DEFINITIONS = [
    ("definition without uuid", '<pool type="dir"><name>broken</name><target><path>%s/pools/b</path></target></pool>' % W),
    ("definition with a bad mode", '<pool type="dir"><name>broken</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a11</uuid>'
     '<target><path>%s/pools/b</path><permissions><mode>rwx</mode></permissions></target></pool>' % W),
    ("definition of an unknown type", '<pool type="zfs"><name>broken</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a12</uuid>'
     '<source><name>tank</name></source></pool>'),
    ("definition with a bad port", '<pool type="netfs"><name>broken</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a15</uuid>'
     '<source><host name="nfs" port="none"/><dir path="/x"/></source><target><path>/mnt/b</path></target></pool>'),
    ("definition that is not XML", "<pool type="),
    ("definition that is not UTF-8", b'<pool type="dir"><name>\xff</name></pool>'),
    ("definition without a target", '<pool type="dir"><name>broken</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a13</uuid></pool>'),
    ("definition with the uuid of vols", '<pool type="dir"><name>broken</name><uuid>%s</uuid>'
     '<target><path>%s/pools/b</path></target></pool>' % (VOLS_UUID, W)),
    ("definition named like vols", '<pool type="dir"><name>vols</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a14</uuid>'
     '<target><path>%s/pools/b</path></target></pool>' % W),
]


def no_secret_shown(sandbox, result):
    """Whatever the call did, the CHAP secret is in none of its result and in no world-readable file."""
    if SECRET in json.dumps(result, default=repr):
        return "the CHAP secret is in the result"
    for top, dirs, files in os.walk(sandbox.work):
        for name in files:
            path = os.path.join(top, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                if SECRET.encode() in handle.read() and os.stat(path).st_mode & 0o077:
                    return "the CHAP secret is in %s, readable by others" % path
    return None


HOSTS = [("port in it", "nfs1:2049", True), ("a path", "nfs1:/srv", True), ("an option", "-oProxyCommand=x", True),
         ("a space", "nfs1 x", True), ("a URL", "iscsi://h/iqn", True), ("NUL", "nfs1\x00", True), ("newline", "nfs1\n", True),
         ("empty", "", True), ("IPv6", "::1", False), ("bracketed IPv6", "[fe80::1]", False), ("300 chars", "h" * 300, True)]
IQNS = [("upper case", "IQN.2004-04.com.example:x", True), ("no date", "iqn.com.example:x", True), ("a space", "iqn.2004-04.a:b c", True),
        ("NUL", "iqn.2004-04.a:b\x00", True), ("too long", "iqn.2004-04.com.example:" + "x" * 300, True), ("empty", "", True),
        ("eui", "eui.02004567A425678D", False), ("naa", "naa.52004567BA64678D", False)]
SECRETS = [("newline", "a\nb", True), ("NUL", "a\x00b", True), ("empty", "", True), ("300 chars", "s" * 300, True),
           ("U+2028", "a\u2028b", True), ("a number", 12345, False)]


MOUNT_OPTIONS = [
    ("newline injecting a line", ["noatime\n/dev/sda1 / ext4 defaults 0 0"], False),
    ("newline alone", ["a\nb"], False),
    ("NUL", ["noatime\x00"], True),
    ("empty", [""], True),
    ("space", ["a b"], False),
    ("tab", ["a\tb"], False),
    ("comma inside", ["ro,rw"], False),
    ("hash", ["#x"], False),
    ("U+2028", ["a\u2028b"], False),
    ("U+0085", ["a\x85b"], True),
    ("backslash", ["a\\040b"], False),
    ("nofail twice", ["nofail", "nofail"], False),
    ("5000 bytes", ["o" * 5000], False),
    ("a string", "noatime", False),
    ("list of lists", [["a"]], True),
]


def set_auth(base, **changes):
    args = json.loads(json.dumps(base))
    args["source"]["auth"].update(changes)
    return args


def cases():
    parts = [
        bad.mutations("name", [NEW_DIR, NEW_FS, ABSENT], bad.HOSTILE_NAMES),
        bad.generated_text("name", [NEW_DIR, NEW_FS]),
        bad.mutations("name", ANY, bad.WRONG_TYPES),
        bad.mutations("uuid", [NEW_DIR, EXISTING], [
            ("not a uuid", "not-a-uuid", True), ("empty", "", True), ("NUL", VOLS_UUID[:-1] + "\x00", True),
            ("too long", VOLS_UUID + "0", True), ("upper case", VOLS_UUID.upper(), False),
            ("no dashes", VOLS_UUID.replace("-", ""), False), ("newline", VOLS_UUID + "\n", True)] + bad.WRONG_TYPES),
        bad.mutations("type", ANY, [("unknown", "zfs", True), ("empty", "", True), ("upper case", "DIR", True),
                                    ("NUL", "dir\x00", True)] + bad.WRONG_TYPES),
        bad.mutations("target.path", [NEW_DIR, NEW_FS], bad.paths_under(POOLS) + [
            ("another pool's target", POOLS + "/vols", True), ("inside another pool", POOLS + "/vols/inner", False),
            ("/", "/", True)] + bad.WRONG_TYPES[:5]),
        bad.mutations("target.path", [NEW_DISK], [("not /dev", W + "/dev", True)] + bad.paths_under(W + "/dev")[:6]),
        bad.mutations("target.permissions.mode", DIRS, bad.HOSTILE_MODES),
        bad.mutations("target.permissions.owner", DIRS, bad.HOSTILE_IDS),
        bad.mutations("target.permissions.group", DIRS, bad.HOSTILE_IDS),
        bad.mutations("target.permissions.label", DIRS, bad.HOSTILE_LABELS),
        bad.mutations("target.permissions", DIRS, bad.WRONG_TYPES[:4]),
        bad.mutations("target", DIRS, bad.WRONG_TYPES[:5]),
        bad.mutations("source.device", [NEW_FS, NEW_DISK], bad.paths_under(W + "/host") + [
            ("/dev/null", "/dev/null", True), ("/dev/zero", "/dev/zero", True), ("a directory", W + "/host/subdir", True),
            ("missing", "/dev/poolcraft-nope", False)] + bad.WRONG_TYPES[:5]),
        bad.mutations("source.devices", [NEW_LOGICAL], [
            ("NUL", [W + "/host/a\x00b"], True), ("newline", [W + "/host/a\nb"], True), ("relative", ["host/blank.img"], True),
            ("empty path", [""], True), ("empty list", [], True), ("twice the same", [W + "/host/blank.img"] * 2, True),
            ("/dev/null", ["/dev/null"], True), ("FIFO", [W + "/host/fifo"], True), ("directory", [W + "/host/subdir"], True),
            ("5000 bytes", ["/dev/" + "d" * 5000], True), ("a string", W + "/host/blank.img", False),
            ("list of lists", [["/dev/x"]], True), ("missing", ["/dev/poolcraft-nope"], False)]),
        bad.mutations("source.name", [NEW_LOGICAL], bad.lvm_names()),
        bad.mutations("source.format", [NEW_FS, NEW_DISK, NEW_LOGICAL], [
            ("unknown", "ext5", True), ("empty", "", True), ("NUL", "ext4\x00", True), ("upper case", "GPT", True),
            ("newline", "ext4\nxfs", True)] + bad.WRONG_TYPES[:5]),
        bad.mutations("source", [NEW_FS, NEW_LOGICAL], bad.WRONG_TYPES[:5]),
        bad.mutations("mount_options", [NEW_FS], MOUNT_OPTIONS, post_check=one_fstab_entry),
        bad.mutations("source.host", NETWORK, HOSTS + bad.WRONG_TYPES[:5], post_check=no_secret_shown),
        bad.mutations("source.port", [NEW_ISCSI, NEW_DIRECT], [("zero", 0, True), ("65536", 65536, True), ("negative", -1, True),
                                                               ("text", "iscsi", True), ("other digits", "\u0663\u0662\u0666\u0660", True),
                                                               ("string of digits", "3260", False)],
                      post_check=no_secret_shown),
        bad.mutations("source.dir", [NEW_NETFS], bad.paths_under("/srv")[:8] + [("relative", "srv/images", True)]),
        bad.mutations("source.protocol_version", [NEW_NETFS], [("5", "5", True), ("4.3", "4.3", True), ("float", 4.2, False),
                                                               ("int", 3, False), ("empty", "", True)]),
        bad.mutations("source.target", [NEW_ISCSI, NEW_DIRECT], IQNS, post_check=no_secret_shown),
        bad.mutations("source.initiator", [NEW_DIRECT, NEW_ISCSI], IQNS, post_check=no_secret_shown),
        bad.mutations("source.auth.secret", [NEW_ISCSI, NEW_DIRECT], SECRETS, post_check=no_secret_shown),
        bad.mutations("source.auth.username", [NEW_ISCSI, NEW_DIRECT],
                      [("newline", "a\nb", True), ("empty", "", True), ("NUL", "u\x00", True)], post_check=no_secret_shown),
        bad.mutations("source.auth", [NEW_ISCSI], bad.WRONG_TYPES[:5] + [("no secret", {"username": "u"}, True)],
                      post_check=no_secret_shown),
        bad.fixed("mutual CHAP without its secret", set_auth(NEW_ISCSI, mutual_username="tgt"), ["mutual"],
                  must_refuse=True, post_check=no_secret_shown),
        bad.fixed("CHAP on a netfs pool", dict(NEW_NETFS, source=dict(NEW_NETFS["source"], auth={"username": "u", "secret": SECRET})),
                  ["auth"], must_refuse=True, post_check=no_secret_shown),
        bad.fixed("devices on an iscsi pool", dict(NEW_ISCSI, source=dict(NEW_ISCSI["source"], devices=[W + "/host/blank.img"])),
                  ["devices"], must_refuse=True, post_check=no_secret_shown),
        bad.fixed("a target path on an iscsi-direct pool", dict(NEW_DIRECT, target={"path": "/dev"}), ["target"],
                  must_refuse=True, post_check=no_secret_shown),
        bad.mutations("source.hosts", [NEW_RBD], [("empty list", [], True), ("no name", [{"port": 1}], True),
                                                  ("host with a port", [{"name": "mon:6789"}], True),
                                                  ("port 0", [{"name": "mon", "port": 0}], True),
                                                  ("a string", "mon1", True), ("two monitors", [{"name": "a"}, {"name": "b"}], False)]
                      + bad.WRONG_TYPES[:5], post_check=no_secret_shown),
        bad.mutations("source.namespace", [NEW_RBD], bad.HOSTILE_NAMES[:12], post_check=no_secret_shown),
        bad.mutations("source.config", [NEW_RBD], [("bad option", {"rbd cache": "x"}, True), ("newline", {"rbd_cache": "a\nb"}, True),
                                                   ("bool", {"rbd_cache": True}, False), ("empty", {"rbd_cache": ""}, True),
                                                   ("a list", ["rbd_cache"], True)], post_check=no_secret_shown),
        bad.fixed("mutual CHAP on an rbd pool", set_auth(NEW_RBD, mutual_username="x", mutual_secret="y"), ["mutual"],
                  must_refuse=True, post_check=no_secret_shown),
        bad.fixed("force on a dir pool", dict(EXISTING, state="stopped", force=True), ["force"]),
        bad.mutations("name", [NEW_FS], bad.HOSTILE_NAMES[:10], kind="fs pool name", post_check=one_fstab_entry),
        bad.mutations("fstab", [NEW_FS], [
            ("FIFO", W + "/host/fifo", True), ("relative", "fstab", True), ("NUL", W + "/fs\x00tab", True),
            ("directory", W + "/host/subdir", True), ("in a missing directory", W + "/nodir/fstab", True),
            ("newline", W + "/fs\ntab", True), ("regular file", W + "/host/file.txt", False)]),
        bad.mutations("fstab", [NEW_DIR], [("empty", "", True)]),
        bad.mutations("thin_pool.size", [NEW_LOGICAL], bad.HOSTILE_SIZES),
        bad.mutations("thin_pool.name", [NEW_LOGICAL], bad.lvm_names()),
        bad.mutations("thin_pool", [NEW_LOGICAL], bad.WRONG_TYPES[:5] + [("no name", {"size": "1G"}, True)]),
        bad.mutations("state", ANY, [("unknown", "started", True), ("upper case", "RUNNING", True)] + bad.WRONG_TYPES),
        bad.mutations("build", DIRS, [("string", "maybe", True), ("int 2", 2, True), ("list", [], True)]),
        bad.mutations("autostart", DIRS + [NEW_FS], [("string", "maybe", True), ("dict", {}, True)]),
        bad.mutations("persistent", DIRS, [("string", "maybe", True)]),
        bad.mutations("purge", [ABSENT], [("string", "maybe", True)]),
        bad.mutations("list_volumes", [EXISTING], [("string", "maybe", True)]),
        bad.mutations("config_dir", [NEW_DIR], bad.paths_under(W + "/etc")),
        bad.mutations("runtime_dir", [NEW_DIR], bad.paths_under(W + "/run")),
        bad.mutations("unknown_option", [NEW_DIR], [("any", "x", True)]),
        # contradictions
        bad.mutations("target.permissions.mode", [ABSENT], bad.HOSTILE_MODES[:8], kind="state=absent with mode"),
        bad.mutations("target.path", [ABSENT], bad.paths_under(POOLS)[:6], kind="state=absent with target.path"),
        bad.mutations("type", [ABSENT], [("unknown", "zfs", True), ("another type", "fs", False)], kind="state=absent with type"),
        bad.fixed("transient with autostart", dict(NEW_DIR, persistent=False, autostart=True), ["persistent", "autostart"],
                  must_refuse=True),
        bad.fixed("type of an existing pool changed", dict(EXISTING, type="fs", source={"device": W + "/host/blank.img"}),
                  ["type"], must_refuse=True),
        bad.fixed("uuid of another pool", dict(NEW_DIR, uuid=VOLS_UUID), ["uuid"], must_refuse=True),
        bad.fixed("name and uuid of different pools", dict(EXISTING, name="stopped", uuid=VOLS_UUID), ["uuid", "name"],
                  must_refuse=True),
        bad.fixed("target of an existing pool moved", dict(EXISTING, target={"path": POOLS + "/elsewhere"}), ["target"],
                  must_refuse=True),
        bad.fixed("device and devices", dict(NEW_LOGICAL, source={"device": W + "/host/blank.img",
                                                                  "devices": [W + "/host/blank.img"]}),
                  ["device", "devices"], must_refuse=True),
        bad.fixed("two devices for an fs pool", dict(NEW_FS, source={"devices": [W + "/host/blank.img", W + "/host/file.txt"]}),
                  ["device"], must_refuse=True),
        bad.fixed("thin_pool on a dir pool", dict(NEW_DIR, thin_pool={"name": "thin", "size": "1G"}), ["thin_pool"],
                  must_refuse=True),
        bad.fixed("mount_options on a dir pool", dict(NEW_DIR, mount_options=["noatime"]), ["mount_options"]),
        bad.fixed("remove_devices on a dir pool", dict(NEW_DIR, remove_devices=True), ["remove_devices"]),
        bad.fixed("purge of a pool holding a file", dict(ABSENT), ["purge"],
                  prepare=lambda sandbox: bad.write(os.path.join(sandbox.work, "pools", "vols", "keep.img"), b"x")),
        # nonexistent things
        bad.fixed("new pool without type", dict(STORE, name="nope", state="running"), ["type"], must_refuse=True),
        bad.fixed("uuid alone that no pool has", dict(STORE, uuid="00000000-0000-4000-8000-000000000000", state="running"),
                  ["uuid"], must_refuse=True),
        bad.fixed("absent pool that does not exist", dict(STORE, name="nope", state="absent", purge=True), ["name"]),
        bad.fixed("stopped pool that does not exist", dict(STORE, name="nope", state="stopped"), ["type"], must_refuse=True),
        bad.fixed("target removed by hand, start", dict(EXISTING), ["target"], prepare=bad.remove_vols_target),
        bad.fixed("target removed by hand, list", dict(STORE, name="vols", list_volumes=True), ["target"],
                  prepare=bad.remove_vols_target),
        bad.fixed("target removed by hand, other pool", dict(NEW_DIR), must_succeed=True, prepare=bad.remove_vols_target),
        bad.fixed("target removed by hand, absent", dict(ABSENT), ["target"], prepare=bad.remove_vols_target),
    ]
    for kind, text in BROKEN_DEFINITIONS:
        for base in (NEW_DIR, EXISTING, dict(STORE, name="stopped", state="running")):
            parts.append(bad.fixed("%s beside, %s" % (kind, base["name"]), base, must_succeed=True,
                                   prepare=bad.broken_definition(text)))
    return bad.strategy(parts)


def test_bad_input_storage_pool():
    bad.run_suite("storage_pool", cases(), build, EXAMPLES, fifos=[W + "/host/fifo"])
