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

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Permissions


@pytest.mark.parametrize("mode, expected", [("0755", 0o755), ("755", 0o755), ("2770", 0o2770), ("00644", 0o644),
                                            ("0", 0), ("7777", 0o7777), (None, None)])
def test_modes(mode, expected):
    assert _perms.from_params({"mode": mode}).mode == expected


@pytest.mark.parametrize("mode", ["rwxr-xr-x", "0999", "17777", "", " 0755", "0755\n", "0o755", "+755", "-1",
                                  u"\u0667\u0665\u0665", u"7\uff15\uff15", "07\x0055", True, 7.55, ["0755"]])
def test_bad_modes(mode):
    with pytest.raises(ValidationError) as caught:
        _perms.from_params({"mode": mode}, "target.permissions")
    assert str(caught.value).startswith("target.permissions.mode=%r: " % (mode,))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("mode", [755, 493, 0o644, 0, -1, 0o10000])
def test_integer_modes_are_refused_with_the_reason(mode):
    # YAML reads mode: 755 as the integer 755 (0o1363), and mode: 0755 as 493: never guess
    with pytest.raises(ValidationError) as caught:
        _perms.from_params({"mode": mode}, "target.permissions")
    message = str(caught.value)
    assert message.startswith("target.permissions.mode=%d: " % mode)
    assert "755 as the number 755, not 0o755" in message
    assert "quote it" in message


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


@pytest.mark.parametrize("value, expected", [
    ("0", 0), (0, 0), ("4242", 4242), (4242, 4242), ("4294967294", 4294967294), ("0004242", 4242),
    # -1 leaves it unset, as in libvirt; 4294967295 is how libvirt reads (uid_t)-1 back
    ("-1", None), (-1, None), ("4294967295", None), (4294967295, None),
])
@pytest.mark.parametrize("field", ["owner", "group"])
def test_numeric_ids(field, value, expected):
    assert getattr(_perms.from_params({field: value}), field) == expected


@pytest.mark.parametrize("value", ["4294967296", 4294967296, "99999999999", "1" * 5000, "-2", -2, "-4294967295"])
@pytest.mark.parametrize("field", ["owner", "group"])
def test_ids_out_of_range(field, value):
    with pytest.raises(ValidationError) as caught:
        _perms.from_params({field: value}, "target.permissions")
    message = str(caught.value)
    assert message.startswith("target.permissions.%s=" % field)
    assert "out of range: ids are 0 to 4294967294" in message


@pytest.mark.parametrize("value", [u"\u0661\u0660\u0660", u"\uff10", u"\u00b2", u"-\u0661"])
@pytest.mark.parametrize("field", ["owner", "group"])
def test_non_ascii_digits_are_not_ids(field, value):
    with pytest.raises(ValidationError) as caught:
        _perms.from_params({field: value})
    assert str(caught.value) == "permissions.%s=%r: only the ASCII digits 0-9 make an id" % (field, value)


@pytest.mark.parametrize("value, reason", [
    ("ro\x00ot", "NUL"), ("root\n", "U+000A"), (u"ro\u2028ot", "U+2028"), (u"root\x85", "U+0085"),
    ("", "empty string"), (True, "not a user or group"), (["root"], "not a user or group"), (1.5, "not a user or group"),
])
@pytest.mark.parametrize("field", ["owner", "group"])
def test_bad_owner_or_group_is_refused_not_a_crash(field, value, reason):
    with pytest.raises(ValidationError) as caught:
        _perms.from_params({field: value})
    message = str(caught.value)
    assert message.startswith("permissions.%s=" % field)
    assert reason in message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("label", ["", "a\x00b", "s0\nx"])
def test_bad_labels(label):
    with pytest.raises(ValidationError) as caught:
        _perms.from_params({"label": label})
    assert str(caught.value).startswith("permissions.label=")


def test_unset_ids_are_no_drift_and_no_chown(tmp_path, quiet_runner, monkeypatch):
    path = str(tmp_path / "f")
    open(path, "w").close()
    st = os.stat(path)
    # a definition libvirt wrote holds 4294967295: never a difference to fix
    wanted = Permissions(owner=4294967295, group=-1)
    assert _perms.drift(path, wanted) == []
    chowns = []
    monkeypatch.setattr(os, "chown", lambda *args: chowns.append(args))
    _perms.apply(path, wanted, quiet_runner)
    assert chowns == []
    _perms.apply(path, Permissions(owner=4294967295, group=st.st_gid), quiet_runner)
    assert chowns == [(path, -1, st.st_gid)]


def test_unset_id():
    assert _perms.unset_id(-1) is None
    assert _perms.unset_id(4294967295) is None
    assert _perms.unset_id(None) is None
    assert _perms.unset_id(0) == 0
    assert _perms.unset_id(4294967294) == 4294967294


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
