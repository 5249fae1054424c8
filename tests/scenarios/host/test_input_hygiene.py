# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input hygiene on real files: the fstab writer keeps every byte that is not ours (lines are
ended by "\\n" only, a missing final newline stays missing), a FIFO given as fstab is refused
without hanging, and what cannot be written into fstab (a newline in a mount option, a name with
U+2028) is refused before anything changes. Also the permissions and sizes the issue found
crashing or changing on every run (issue 10, "Bad input still crashes or misleads")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import signal
import stat

import pytest

import dir_volume_pools
import fingerprints
import fs_pool_host as common
import harness
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _fstab

fs_host = common.fs_host

# someone else's fstab: a comment with U+2028, one with U+0085 and a form feed, a line that is
# not UTF-8, a CR LF line, and no newline at the end
ODD_FSTAB = (u"# maintained by hand \u2028 keep this line whole\n"
             u"# next line \x85 and form feed \x0c and separators \x1c\x1d\x1e \u2029\n"
             u"LABEL=other\t/srv/\u00e9t\u00e9\text4\tdefaults,noatime\t0 2\n").encode("utf-8") \
    + b"# latin-1: caf\xe9\r\n" + b"tmpfs /srv/tmp tmpfs defaults 0 0"

DEADLINE = 20  # seconds: a FIFO opened for reading blocks forever; the test must not


class Hung(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds=DEADLINE):
    """Fail, instead of hanging, when the block takes longer than seconds (SIGALRM interrupts
    a blocking open() of a FIFO; PEP 475 retries it only when the handler does not raise)."""
    def expired(_signum, _frame):
        raise Hung("no answer within %s s" % seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


# -- the writer on a real file -------------------------------------------------------------

def test_an_entry_added_then_removed_leaves_an_odd_fstab_byte_identical(scratch):
    path = os.path.join(scratch, "fstab")
    with open(path, "wb") as handle:
        handle.write(ODD_FSTAB)
    os.chmod(path, 0o640)
    wanted = _fstab.entry_lines("images", "/dev/loop3", "/srv/my images", "ext4", ["noatime"])
    with deadline():
        assert _fstab.current_entry(path, "images") == []
        _fstab.set_entry(path, "images", wanted)
        written = read(path)
        assert written == ODD_FSTAB + b"\n# poolcraft.storage pool images\n/dev/loop3 /srv/my\\040images ext4 noatime,nofail 0 2"
        assert _fstab.current_entry(path, "images") == wanted
        _fstab.set_entry(path, "images", wanted)  # the same entry again: the same bytes
        assert read(path) == written
        _fstab.set_entry(path, "images", [])
    assert read(path) == ODD_FSTAB
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert sorted(os.listdir(scratch)) == ["fstab"]  # no temporary file left


@pytest.mark.parametrize("entry", [lambda path: _fstab.current_entry(path, "images"),
                                   lambda path: _fstab.set_entry(path, "images", []),
                                   lambda path: _fstab.set_entry(path, "images", _fstab.entry_lines(
                                       "images", "/dev/loop3", "/srv/images", "ext4", []))])
def test_a_fifo_as_fstab_is_refused_by_the_writer_without_hanging(scratch, entry):
    fifo = os.path.join(scratch, "fstab")
    os.mkfifo(fifo)
    with deadline():
        with pytest.raises(ValidationError) as caught:
            entry(fifo)
    assert str(caught.value) == "fstab=%r: is a FIFO, not a regular file" % fifo
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO, not a file put in its place


# -- through storage_pool on a real fs pool --------------------------------------------------

def _fs_args(host, name, **args):
    target = os.path.join(host.mnt, name)
    return dict(name=name, type="fs", source={"device": host.dev, "format": "ext4"}, target={"path": target},
                build=True, state="running", **args)


def test_autostart_on_and_off_keeps_an_odd_fstab_byte_for_byte(fs_host):
    host = fs_host("64M")
    with open(host.fstab, "wb") as handle:
        handle.write(ODD_FSTAB)
    done = host.converge(autostart=True, **_fs_args(host, "fs-odd"))
    line = "%s %s ext4 nofail 0 2" % (host.dev, os.path.join(host.mnt, "fs-odd"))
    assert read(host.fstab) == ODD_FSTAB + ("\n# poolcraft.storage pool fs-odd\n" + line).encode("utf-8")
    assert done.real["pool"]["autostart"]
    # off again: exactly the file the test wrote, its missing final newline included
    host.converge(name="fs-odd", autostart=False)
    assert read(host.fstab) == ODD_FSTAB


def test_a_fifo_as_fstab_is_refused_in_check_mode_and_for_real(fs_host):
    host = fs_host("64M")
    fifo = os.path.join(host.scratch, "fstab.fifo")
    os.mkfifo(fifo)
    snapshot = fingerprints.combine(files=lambda: fingerprints.tree(host.scratch, exclude=[host.image]),
                                    mounts=lambda: fingerprints.mounts(host.scratch, [host.dev]),
                                    device=lambda: fingerprints.device(host.dev))
    args = dict(host.store, fstab=fifo, autostart=True, **_fs_args(host, "fs-fifo"))
    with deadline():
        harness.refused("storage_pool", args, snapshot, "fstab=", repr(fifo), "FIFO")
    defined = host.pool(check=True, name="fs-fifo", state="absent")
    assert not defined.failed and not defined.changed, defined
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_newline_in_mount_options_is_refused_and_writes_nothing(fs_host):
    host = fs_host("64M")
    with open(host.fstab, "wb") as handle:
        handle.write(ODD_FSTAB)
    injected = "noatime\n/dev/sdz9 /root ext4 defaults 0 0"
    refusal = host.refused(_fs_args(host, "fs-inject", autostart=True, mount_options=[injected]),
                           "mount_options=", repr(injected), "U+000A")
    assert refusal.before["fstab"] == refusal.after["fstab"]
    assert read(host.fstab) == ODD_FSTAB


def test_a_pool_name_with_a_line_separator_is_refused(fs_host):
    host = fs_host("64M")
    with open(host.fstab, "wb") as handle:
        handle.write(ODD_FSTAB)
    args = host.args(**dict(_fs_args(host, "fs-sep", autostart=True), name=u"fs\u2028odd"))
    host.snapshot.clear()
    harness.refused("storage_pool", args, host.snapshot, "name=", "\\u2028", "U+2028")
    assert read(host.fstab) == ODD_FSTAB
    # no definition was written (the name itself is refused, so ask the store's directory)
    config_dir = host.store["config_dir"]
    assert not os.path.isdir(config_dir) or [name for name in os.listdir(config_dir) if name.endswith(".xml")] == []


# -- permissions and sizes on a dir pool -----------------------------------------------------

@pytest.fixture
def pools(scratch, store, volume_schema):
    return dir_volume_pools.DirPools(scratch, store, volume_schema)


def test_libvirts_unset_owner_is_no_change_on_the_second_run(pools):
    # 4294967295 is how libvirt reads (uid_t)-1 back; -1 is how it writes "unset"
    done = pools.converge(pool="vols", name="unset.raw", capacity="1M",
                          permissions={"mode": "0640", "owner": "4294967295", "group": "-1"})
    assert done.real["volume"]["permissions"]["mode"] == "0640"
    st = os.stat(os.path.join(pools.vols, "unset.raw"))
    assert (st.st_uid, st.st_gid) == (0, 0)


@pytest.mark.parametrize("permissions, expect", [
    ({"mode": 755}, ["permissions.mode=755", "not 0o755", "quote it"]),
    ({"mode": 493}, ["permissions.mode=493", "quote it"]),
    ({"mode": u"\u0667\u0665\u0665"}, ["permissions.mode=", "ASCII digits"]),
    ({"owner": "4294967296"}, ["permissions.owner=", "out of range"]),
    ({"group": "99999999999999999999"}, ["permissions.group=", "out of range"]),
    ({"owner": u"\u0661\u0660\u0660"}, ["permissions.owner=", "ASCII digits"]),
    ({"owner": "ro\x00ot"}, ["permissions.owner=", "NUL"]),
    ({"group": ""}, ["permissions.group=''", "empty string"]),
])
def test_bad_permissions_are_refused_in_one_line(pools, permissions, expect):
    pools.refused(dict(pool="vols", name="perm.raw", capacity="1M", permissions=permissions), *expect)


@pytest.mark.parametrize("capacity, expect", [
    (u"\u0661\u0660M", ["capacity=", "ASCII digits"]),
    ("9" * 5000 + "M", ["capacity='999", "more than 30 digits"]),
    ("1" * 31, ["more than 30 digits"]),
    ("10G\x00", ["capacity=", "not a size"]),
])
def test_bad_sizes_are_refused_in_one_line(pools, capacity, expect):
    pools.refused(dict(pool="vols", name="size.raw", capacity=capacity), *expect)
