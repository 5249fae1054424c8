# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_nfs: the mount and umount command lines, each with the deadline, and their failures in one
line (a missed deadline names the server). Real mounts: tests/scenarios/vm/test_storage_pool_netfs_vm.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout, DeadlineExceeded
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _nfs

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner


def runner(tmp_path):
    return FakeRunner(tmp_path, commands=("mount", "umount"))


@pytest.mark.parametrize("host, source", [
    ("127.0.0.1", "127.0.0.1:/srv/x"),
    ("nfs1.example.com", "nfs1.example.com:/srv/x"),
    ("fd00::5", "[fd00::5]:/srv/x"),
    ("[fd00::5]", "[fd00::5]:/srv/x"),
])
def test_export_source(host, source):
    assert _nfs.export_source(host, "/srv/x") == source


def test_mount_options_put_the_version_first():
    assert _nfs.mount_options("4.2", ["noatime"]) == ["vers=4.2", "noatime"]
    assert _nfs.mount_options(None, ("ro",)) == ["ro"]
    assert _nfs.mount_options(None, ()) == []


def test_option_versions():
    assert _nfs.option_versions(["noatime", "vers=3", "nfsvers=4.1", "versions=x"]) == ["3", "4.1"]


def test_mount_and_umount_have_the_deadline(tmp_path):
    fake = runner(tmp_path).expect(["mount", "-t", "nfs", "-o", "vers=3,nolock", "h:/e", "/mnt/p"]) \
        .expect(["mount", "-t", "nfs", "h:/e", "/mnt/p"]).expect(["umount", "-c", "/mnt/p"]).expect(["umount", "-c", "-l", "/mnt/p"])
    nfs = _nfs.Nfs(fake, "h", 9)
    nfs.mount("/e", "/mnt/p", "3", ["nolock"])
    nfs.mount("/e", "/mnt/p")
    nfs.umount("/mnt/p")
    nfs.umount("/mnt/p", lazy=True)
    fake.assert_done()
    assert fake.timeouts == [9, 9, 9, 9]


def test_a_refused_mount_is_one_line_with_the_servers_words(tmp_path):
    fake = runner(tmp_path).expect(["mount", "-t", "nfs", "h:/nope", "/mnt/p"], rc=32,
                                   stderr="mount.nfs: access denied by server while mounting h:/nope\n")
    with pytest.raises(CommandError) as caught:
        _nfs.Nfs(fake, "h", 9).mount("/nope", "/mnt/p")
    assert str(caught.value) == ("mount -t nfs h:/nope /mnt/p failed (rc=32): "
                                 "mount.nfs: access denied by server while mounting h:/nope")


class Late(FakeRunner):
    def run(self, argv, data=None, env=None, check=True, timeout=None, as_user=None):
        raise CommandTimeout(argv, timeout)


def test_a_missed_deadline_names_the_server(tmp_path):
    with pytest.raises(DeadlineExceeded) as caught:
        _nfs.Nfs(Late(tmp_path), "filer7", 5).umount("/mnt/p")
    assert str(caught.value) == "NFS server filer7 did not answer within 5 s (unmounting /mnt/p)"
    assert caught.value.timeout == 5


def test_a_busy_umount_names_force(tmp_path):
    fake = runner(tmp_path).expect(["umount", "-c", "/mnt/p"], rc=32, stderr="umount.nfs4: /mnt/p: device is busy\n")
    with pytest.raises(StorageError) as caught:
        _nfs.Nfs(fake, "h", 9).umount("/mnt/p")
    assert "force: true" in str(caught.value) and not isinstance(caught.value, CommandError)
