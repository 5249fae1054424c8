# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi-direct pools: the refusals, and the commands of every read and apply, against what libiscsi's
tools and qemu-img printed for tgtd (fixtures/libiscsi/, whose recorder's docstring describes the
target). The environment a command gets is not in a recording; the CHAP variables are checked
here. The real thing, on a live tgtd: tests/scenarios/host/test_storage_pool_iscsi_direct.py and
test_storage_volume_iscsi_direct.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _iscsi_direct
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import (
    Auth, CloneSource, Permissions, PoolDef, PoolSource, PoolStatus, VolumeDef, VolumeSpec)
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _libiscsi

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner, load_transcript

UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"
PORT = 3260
INITIATOR = "iqn.2026-12.test.poolcraft:recorder"
PLAIN, CHAP, MUTUAL = ("iqn.2026-12.test.poolcraft:plain", "iqn.2026-12.test.poolcraft:chap",
                       "iqn.2026-12.test.poolcraft:mutual")
SECRET = "recorded-secret-1"
AUTH = Auth(username="pool-user", secret=SECRET)
MUTUAL_AUTH = Auth(username="pool-user", secret=SECRET, mutual_username="target-user", mutual_secret="recorded-secret-2")
MIB = 1 << 20


class Runs(FakeRunner):
    """FakeRunner for libiscsi's tools and qemu-img; keeps each command's environment, and what the
    CHAP secret file of a qemu-img run held (and its mode) while the command ran."""

    def __init__(self, tmpdir):
        super(Runs, self).__init__(tmpdir, commands=("iscsi-ls", "iscsi-inq", "iscsi-readcapacity16", "qemu-img"))
        self.envs = []
        self.secret_files = []

    def run(self, argv, data=None, env=None, check=True, timeout=None):
        self.envs.append(dict(env or {}))
        secret = os.path.join(self.tmpdir, "secret", "chap")
        if argv[0] == "qemu-img" and os.path.exists(secret):
            with open(secret) as handle:
                self.secret_files.append((stat.S_IMODE(os.stat(secret).st_mode), handle.read()))
        return super(Runs, self).run(argv, data=data, env=env, check=check, timeout=timeout)

    def steps_of(self, name, *indexes):
        """Steps of a transcript by index (a re-check runs some twice)."""
        steps = load_transcript("libiscsi/" + name, PORT=PORT, CLOSED=PORT, TMPDIR=self.tmpdir)["steps"]
        self.steps.extend(steps[index] for index in indexes)
        return self


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """runs(*transcripts): a Runs replaying them. WORKERS is 1 so that LUNs are read in order, and
    qemu-img's private directory is tmp_path/secret (the recordings name it @TMPDIR@/secret)."""
    monkeypatch.setattr(_libiscsi, "WORKERS", 1)

    def mkdtemp(prefix):
        os.mkdir(str(tmp_path / "secret"), 0o700)
        return str(tmp_path / "secret")
    monkeypatch.setattr(_iscsi_direct.tempfile, "mkdtemp", mkdtemp)
    made = []

    def make(*names):
        made.append(Runs(tmp_path))
        for name in names:
            made[-1].load("libiscsi/" + name, PORT=PORT, CLOSED=PORT)
        return made[-1]
    yield make
    for runner in made:
        runner.assert_done()


def pool(target=PLAIN, auth=None, **changes):
    source = dict(host="127.0.0.1", port=PORT, target=target, initiator=INITIATOR, auth=auth)
    source.update(changes.pop("source", {}))
    return PoolDef(name="luns", type="iscsi-direct", uuid=UUID, source=PoolSource(**source), **changes)


def backend(runner):
    return _iscsi_direct.IscsiDirectBackend(runner, {})


def lun(number, capacity, target=CHAP):
    return VolumeDef(name="unit:0:0:%d" % number, path="iscsi://127.0.0.1:3260/%s/%d" % (target, number),
                     key="1IET_0002000%d" % number, format="raw", capacity=capacity, allocation=capacity, type="network")


# -- what a definition may hold ---------------------------------------------------------------

@pytest.mark.parametrize("changes, option, words", [
    ({"source": {"initiator": None}}, "source.initiator", "iscsi-direct pools need it"),
    ({"source": {"target": None}}, "source.target", "iscsi-direct pools need it"),
    ({"source": {"host": None}}, "source.host", "iscsi-direct pools need it"),
    ({"source": {"devices": ("/dev/sdb",)}}, "source.devices", "take no source.devices"),
    ({"target_path": "/srv/luns"}, "target", "have no target"),
    ({"permissions": Permissions(mode=0o700)}, "target", "have no target"),
    ({"mount_options": ("noatime",)}, "mount_options", "mount nothing"),
])
def test_validate_refuses(quiet_runner, changes, option, words):
    with pytest.raises(ValidationError) as raised:
        backend(quiet_runner).validate(pool(**changes))
    assert raised.value.option == option and words in str(raised.value)


def test_validate_takes_mutual_chap(quiet_runner):
    backend(quiet_runner).validate(pool(MUTUAL, MUTUAL_AUTH))


# -- start: the login is checked while planning -------------------------------------------------

def test_plan_start_logs_in_now_and_again_in_the_apply(runs):
    run = runs("inq_login_plain", "inq_login_plain")
    actions = backend(run).plan_start(pool())
    assert [action.description for action in actions] == [
        "log in to target %s at 127.0.0.1:3260 as %s" % (PLAIN, INITIATOR)]
    assert len(run.calls) == 1  # planning logged in once
    actions[0].apply()
    assert len(run.calls) == 2


@pytest.mark.parametrize("name, target, auth, words", [
    ("inq_login_wrong_secret", CHAP, Auth(username="pool-user", secret="not-the-secret"), "CHAP authentication failed"),
    ("inq_login_unknown_target", "iqn.2026-12.test.poolcraft:nowhere", None, "is not at 127.0.0.1:3260"),
    ("inq_login_closed_port", PLAIN, None, "cannot connect to 127.0.0.1:3260"),
    ("inq_login_mutual_wrong", MUTUAL, MUTUAL_AUTH, "failed mutual CHAP"),
])
def test_plan_start_refuses_in_one_line(runs, name, target, auth, words):
    with pytest.raises(StorageError) as raised:
        backend(runs(name)).plan_start(pool(target, auth))
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_plan_stop_has_nothing_to_do(quiet_runner):
    assert backend(quiet_runner).plan_stop(pool()) == []


# -- reading the LUNs ---------------------------------------------------------------------------

def test_refresh_sums_the_disk_luns(runs):
    run = runs("ls_with_chap", "rc16_plain_lun1", "rc16_plain_lun2")
    status = backend(run).refresh(pool(PLAIN, AUTH))
    assert status == PoolStatus(capacity=96 * MIB, allocation=96 * MIB, available=0, volume_count=2)
    # LUN 0, tgtd's controller, is not a disk: no READ CAPACITY for it
    assert [argv[-1] for argv in run.calls[1:]] == ["iscsi://127.0.0.1:3260/%s/1" % PLAIN, "iscsi://127.0.0.1:3260/%s/2" % PLAIN]
    assert all(env["LIBISCSI_CHAP_PASSWORD"] == SECRET for env in run.envs)


def test_list_volumes(runs):
    run = runs("ls_with_chap", "vpd83_plain_lun1", "rc16_plain_lun1", "vpd83_plain_lun2", "rc16_plain_lun2")
    volumes = backend(run).list_volumes(pool(PLAIN, AUTH))
    assert volumes == [
        VolumeDef(name="unit:0:0:1", path="iscsi://127.0.0.1:3260/%s/1" % PLAIN, key="1IET_00010001", format="raw",
                  capacity=64 * MIB, allocation=64 * MIB, type="network"),
        VolumeDef(name="unit:0:0:2", path="iscsi://127.0.0.1:3260/%s/2" % PLAIN, key="1poolcraft_disk_two", format="raw",
                  capacity=32 * MIB, allocation=32 * MIB, type="network")]


def test_list_volumes_reads_luns_with_mutual_chap(runs):
    run = runs("ls_with_chap", "vpd83_chap_lun1", "rc16_chap_lun1")
    backend(run).list_volumes(pool(MUTUAL, MUTUAL_AUTH, source={"target": CHAP}))
    assert run.envs[0]["LIBISCSI_CHAP_TARGET_PASSWORD"] == ""  # iscsi-ls: one-way only
    assert all(env["LIBISCSI_CHAP_TARGET_PASSWORD"] == "recorded-secret-2" for env in run.envs[1:])


def test_get_volume_of_one_lun(runs):
    run = runs("vpd83_plain_lun2", "rc16_plain_lun2")
    volume = backend(run).get_volume(pool(), "unit:0:0:2")
    assert (volume.name, volume.key, volume.capacity) == ("unit:0:0:2", "1poolcraft_disk_two", 32 * MIB)


def test_get_volume_of_no_such_lun(runs):
    assert backend(runs("vpd83_no_such_lun")).get_volume(pool(), "unit:0:0:7") is None


def test_get_volume_of_the_controller_is_none(runs):
    assert backend(runs("vpd83_plain_lun0")).get_volume(pool(), "unit:0:0:0") is None


@pytest.mark.parametrize("name", ["lun1", "unit:0:0:", "unit:0:1:1", "unit:0:0:1 ", "../unit:0:0:1"])
def test_get_volume_of_other_names_asks_nothing(quiet_runner, name):
    assert backend(quiet_runner).get_volume(pool(), name) is None


def test_volume_path_has_no_secret(quiet_runner):
    assert backend(quiet_runner).volume_path(pool(PLAIN, AUTH), "unit:0:0:3") == "iscsi://127.0.0.1:3260/%s/3" % PLAIN
    with pytest.raises(StorageError, match="named unit:0:0:N"):
        backend(quiet_runner).volume_path(pool(), "disk1")


def test_volume_name_at_a_url_or_a_file(quiet_runner):
    here = backend(quiet_runner)
    assert here.volume_name_at(pool(), "iscsi://127.0.0.1:3260/%s/4" % PLAIN) == "unit:0:0:4"
    assert here.volume_name_at(pool(), "iscsi://127.0.0.1:3261/%s/4" % PLAIN) is None
    assert here.volume_name_at(pool(), "iscsi://127.0.0.1:3260/%s/4" % CHAP) is None
    assert here.volume_name_at(pool(), "/var/lib/libvirt/images/a.qcow2") is None


def test_volume_name_at_a_key(runs):
    run = runs("ls_with_chap", "vpd83_plain_lun1", "rc16_plain_lun1", "vpd83_plain_lun2", "rc16_plain_lun2")
    assert backend(run).volume_name_at(pool(PLAIN, AUTH), "1poolcraft_disk_two") == "unit:0:0:2"


def test_volume_name_at_a_key_of_a_target_that_does_not_answer(runs):
    assert backend(runs("ls_closed_port")).volume_name_at(pool(), "1IET_00010001") is None


# -- LUNs are the target's --------------------------------------------------------------------

def test_creating_resizing_deleting_are_refused(quiet_runner):
    here = backend(quiet_runner)
    with pytest.raises(StorageError, match="LUNs are made on the target"):
        here.plan_create_volume(pool(), VolumeSpec(name="unit:0:0:9", format="raw", capacity=MIB))
    with pytest.raises(StorageError, match="LUNs are resized on the target"):
        here.plan_resize_volume(pool(), lun(1, 16 * MIB), 32 * MIB)
    with pytest.raises(StorageError, match="LUNs are removed on the target"):
        here.plan_delete_volume(pool(), lun(1, 16 * MIB), "zero")


# -- wipe and clone_from through qemu-img -----------------------------------------------------

def test_wipe_writes_zeros_with_the_secret_in_a_0600_file(runs, tmp_path):
    run = runs("vpd83_chap_lun1", "rc16_chap_lun1").steps_of("qemu_wipe_zero", 0)
    actions = backend(run).plan_wipe_volume(pool(CHAP, AUTH), lun(1, 16 * MIB), "zero")
    assert [action.description for action in actions] == [
        "wipe (zero) volume 'unit:0:0:1' (iscsi://127.0.0.1:3260/%s/1)" % CHAP]
    assert run.calls == []  # planning a wipe reads nothing
    actions[0].apply()
    assert run.secret_files == [(0o600, SECRET)]
    assert not any(SECRET in arg for argv in run.calls for arg in argv)
    assert run.timeouts[-1] == _iscsi_direct.data_timeout(16 * MIB)
    assert not os.path.exists(str(tmp_path / "secret"))


def test_wipe_refuses_random_and_mutual_chap(quiet_runner):
    with pytest.raises(StorageError, match="wiped with zero only"):
        backend(quiet_runner).plan_wipe_volume(pool(CHAP, AUTH), lun(1, 16 * MIB), "random")
    with pytest.raises(StorageError, match="one-way CHAP only"):
        backend(quiet_runner).plan_wipe_volume(pool(MUTUAL, MUTUAL_AUTH), lun(1, 8 * MIB, MUTUAL), "zero")


def test_wipe_refuses_a_lun_that_changed_size(runs):
    run = runs("vpd83_chap_lun1", "rc16_chap_lun1")
    actions = backend(run).plan_wipe_volume(pool(CHAP, AUTH), lun(1, 32 * MIB), "zero")
    with pytest.raises(StorageError, match="changed size since it was read"):
        actions[0].apply()


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "image.qcow2"
    path.write_bytes(b"")  # only stat'ed: the recorded qemu-img read the real one
    return CloneSource(path=str(path), format="qcow2", capacity=4 * MIB)


def test_clone_into_a_blank_lun_then_no_change(runs, image):
    # plan: not the image yet, first and last MiB zeros; apply: the LUN again, the ends again, the copy;
    # plan again: the image is there
    run = runs().steps_of("qemu_blank_then_clone", 0, 1, 2)
    run.steps_of("vpd83_chap_lun1", 0).steps_of("rc16_chap_lun1", 0).steps_of("qemu_blank_then_clone", 1, 2, 3)
    run.steps_of("qemu_blank_then_clone", 4)
    here, volume = backend(run), lun(1, 16 * MIB)
    actions = here.plan_clone_into(pool(CHAP, AUTH), volume, image)
    assert [action.description for action in actions] == [
        "clone %s (qcow2) into volume 'unit:0:0:1' (iscsi://127.0.0.1:3260/%s/1)" % (image.path, CHAP)]
    assert actions[0].apply() == "copy"
    assert here.plan_clone_into(pool(CHAP, AUTH), volume, image) == []
    assert run.secret_files and all(found == (0o600, SECRET) for found in run.secret_files)
    assert not any(SECRET in arg for argv in run.calls for arg in argv)


def test_clone_into_a_lun_that_holds_data_is_refused(runs, image):
    run = runs().steps_of("qemu_blank_then_clone", 0, 5)
    with pytest.raises(StorageError) as raised:
        backend(run).plan_clone_into(pool(CHAP, AUTH), lun(1, 16 * MIB), image)
    assert str(raised.value) == ("clone_from: volume 'unit:0:0:1' (iscsi://127.0.0.1:3260/%s/1) holds data (its first MiB "
                                 "is not zeros); refusing to overwrite it" % CHAP)


def test_clone_into_with_overwrite_does_not_look(runs, image):
    run = runs().steps_of("qemu_blank_then_clone", 0).steps_of("vpd83_chap_lun1", 0).steps_of("rc16_chap_lun1", 0)
    run.steps_of("qemu_blank_then_clone", 3)
    actions = backend(run).plan_clone_into(pool(CHAP, AUTH), lun(1, 16 * MIB), image, overwrite=True)
    assert actions[0].apply() == "copy"


def test_clone_into_a_smaller_lun_or_with_mutual_chap_is_refused(quiet_runner, image):
    with pytest.raises(StorageError, match=r"\(4.0 MiB\) is larger than volume 'unit:0:0:1' \(2.0 MiB\)"):
        backend(quiet_runner).plan_clone_into(pool(CHAP, AUTH), lun(1, 2 * MIB), image)
    with pytest.raises(StorageError, match="one-way CHAP only"):
        backend(quiet_runner).plan_clone_into(pool(MUTUAL, MUTUAL_AUTH), lun(1, 8 * MIB, MUTUAL), image)


def test_qemu_img_with_a_wrong_secret_fails_without_it(runs, image):
    run = runs().steps_of("qemu_wrong_secret", 0)
    with pytest.raises(StorageError) as raised:
        backend(run)._refuse_data(pool(CHAP, AUTH), lun(1, 16 * MIB))
    assert "Authentication failure" in str(raised.value) and SECRET not in str(raised.value)
