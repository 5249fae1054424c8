# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_record against the frozen dataclasses it stands in for: each behaviour side by side with a
dataclass twin declared the same way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import dataclasses
import pickle
from typing import Optional

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _model
from ansible_collections.poolcraft.storage.plugins.module_utils._record import field, field_values, record, replace


@record
class Login:
    user: str
    secret: Optional[str] = field(default=None, repr=False)
    port: int = 22
    tags: tuple = ()
    notes: dict = field(default_factory=dict, compare=False)


@dataclasses.dataclass(frozen=True)
class LoginTwin:
    user: str
    secret: Optional[str] = dataclasses.field(default=None, repr=False)
    port: int = 22
    tags: tuple = ()
    notes: dict = dataclasses.field(default_factory=dict, compare=False)


CALLS = [
    (("alice",), {}),
    (("alice", "pw"), {"port": 2222}),
    ((), {"user": "bob", "tags": ("a", "b"), "notes": {"x": 1}}),
]


def twins(args, kwargs):
    return Login(*args, **kwargs), LoginTwin(*args, **kwargs)


@pytest.mark.parametrize("args, kwargs", CALLS)
def test_fields_repr_and_hash_as_the_dataclass(args, kwargs):
    ours, theirs = twins(args, kwargs)
    assert field_values(ours) == dataclasses.asdict(theirs)
    assert vars(ours) == vars(theirs)
    assert repr(ours).replace("Login(", "LoginTwin(", 1) == repr(theirs)
    assert "pw" not in repr(ours)
    if not kwargs.get("notes"):
        assert hash(ours) == hash(theirs)


@pytest.mark.parametrize("args, kwargs", CALLS)
def test_equality_on_the_compared_fields_of_one_class(args, kwargs):
    ours, theirs = twins(args, kwargs)
    same = Login(*args, **kwargs)
    assert ours == same and (ours != same) is False and hash(ours) == hash(same)
    assert replace(ours, notes={"other": True}) == ours  # notes: compare=False, as in the twin
    assert dataclasses.replace(theirs, notes={"other": True}) == theirs
    assert replace(ours, port=1) != ours
    assert ours != theirs  # another class is never equal, as between dataclasses
    assert ours != ("alice",)


def test_frozen_as_the_dataclass():
    ours, theirs = twins(("alice",), {})
    for instance in (ours, theirs):
        with pytest.raises(dataclasses.FrozenInstanceError):
            instance.user = "mallory"
        with pytest.raises(dataclasses.FrozenInstanceError):
            instance.other = 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            del instance.user
    assert ours.user == "alice"


def test_defaults_and_factories():
    first, second = Login("a"), Login("b")
    assert first.notes == {} and first.notes is not second.notes  # a new dict each
    assert Login.port == 22 and Login.secret is None  # defaults on the class, as dataclasses leave them
    assert not hasattr(Login, "notes")


@pytest.mark.parametrize("args, kwargs, words", [
    ((), {}, "missing 1 required positional argument: 'user'"),
    (("a",), {"bogus": 1}, "unexpected keyword argument 'bogus'"),
    (("a",), {"user": "b"}, "multiple values for argument 'user'"),
    (("a", "b", 1, (), {}, "extra"), {}, "takes 6 positional arguments but 7 were given"),
])
def test_bad_arguments_raise_type_error(args, kwargs, words):
    with pytest.raises(TypeError, match=words):
        Login(*args, **kwargs)
    with pytest.raises(TypeError):
        LoginTwin(*args, **kwargs)


def test_replace_refuses_unknown_fields():
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        replace(Login("a"), bogus=1)


def test_copies_and_pickles():
    ours = Login("a", "pw", tags=("x",), notes={"k": [1]})
    assert copy.deepcopy(ours) == ours and copy.copy(ours) == ours
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert copy.deepcopy(ours).notes == {"k": [1]}


def test_declarations_dataclasses_refuse_are_refused():
    with pytest.raises(ValueError, match="mutable default"):
        record(type("Bad", (), {"__annotations__": {"items": list}, "items": []}))
    with pytest.raises(TypeError, match="without a default follows"):
        record(type("Bad", (), {"__annotations__": {"a": int, "b": int}, "a": 1}))


def test_model_records_keep_their_secrets_out_of_repr():
    auth = _model.Auth(username="u", secret="s3cret", mutual_username="m", mutual_secret="t0p")
    assert repr(auth) == "Auth(username='u', mutual_username='m', type='chap')"
    pool = _model.PoolDef(name="p", type="dir", uuid="u")
    assert pool.permissions == _model.Permissions() and pool.source.is_empty()
    assert pool.with_changes(target_path="/x") == _model.PoolDef(name="p", type="dir", uuid="u", target_path="/x")
    spec = _model.VolumeSpec(name="v", format="raw", given={"capacity": "1G"})
    assert spec == _model.VolumeSpec(name="v", format="raw") and hash(spec) == hash(_model.VolumeSpec(name="v", format="raw"))
