# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import Permissions


@pytest.mark.parametrize("mode, expected", [("0755", 0o755), ("755", 0o755), ("2770", 0o2770), (0o644, 0o644),
                                            (493, 0o755), ("0", 0), (None, None)])
def test_modes(mode, expected):
    assert _perms.from_params({"mode": mode}).mode == expected


@pytest.mark.parametrize("mode", ["rwxr-xr-x", "0999", "17777", 0o10000, -1, "", True])
def test_bad_modes(mode):
    with pytest.raises(ValidationError) as caught:
        _perms.from_params({"mode": mode}, "target.permissions")
    assert str(caught.value).startswith("target.permissions.mode=")


def test_owner_and_group_names_become_ids():
    root_user = pwd.getpwuid(0).pw_name
    root_group = grp.getgrgid(0).gr_name
    perms = _perms.from_params({"owner": root_user, "group": root_group, "label": "x_t"})
    assert perms == Permissions(owner=0, group=0, label="x_t")
    assert _perms.from_params({"owner": "4242", "group": 4343}) == Permissions(owner=4242, group=4343)


@pytest.mark.parametrize("field", ["owner", "group"])
def test_unknown_owner_or_group(field):
    with pytest.raises(ValidationError) as caught:
        _perms.from_params({field: "poolcraft-nobody-such"})
    assert str(caught.value).startswith("permissions.%s='poolcraft-nobody-such'" % field)


def test_empty_params_are_no_permissions():
    assert _perms.from_params(None) == Permissions()
    assert _perms.from_params({}) == Permissions()


def test_drift_and_apply(tmp_path, quiet_runner):
    path = str(tmp_path / "f")
    open(path, "w").close()
    os.chmod(path, 0o644)
    st = os.stat(path)
    assert _perms.of_path(path) == Permissions(mode=0o644, owner=st.st_uid, group=st.st_gid)
    wanted = Permissions(mode=0o600, owner=st.st_uid)
    assert _perms.drift(path, wanted) == ["mode"]
    _perms.apply(path, wanted, quiet_runner)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert _perms.drift(path, wanted) == []
    assert _perms.drift(path, Permissions()) == []


def test_label_is_left_alone_without_selinux(tmp_path, quiet_runner, monkeypatch):
    monkeypatch.setattr(_perms, "selinux_active", lambda: False)
    path = str(tmp_path / "f")
    open(path, "w").close()
    wanted = Permissions(label="system_u:object_r:virt_image_t:s0")
    assert _perms.drift(path, wanted) == []
    _perms.apply(path, wanted, quiet_runner)  # quiet_runner fails the test if chcon is run


def test_label_is_applied_with_chcon_under_selinux(tmp_path, fake_runner, monkeypatch):
    monkeypatch.setattr(_perms, "selinux_active", lambda: True)
    monkeypatch.setattr(_perms, "_label", lambda path: "system_u:object_r:tmp_t:s0")
    path = str(tmp_path / "f")
    open(path, "w").close()
    wanted = Permissions(label="system_u:object_r:virt_image_t:s0")
    assert _perms.drift(path, wanted) == ["label"]
    runner = fake_runner().expect(["chcon", "system_u:object_r:virt_image_t:s0", path])
    _perms.apply(path, wanted, runner)
