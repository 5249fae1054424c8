# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Frozen records for the model: what @dataclass(frozen=True) gives a class (an __init__ with
defaults, ==, hash, repr, no assignment), written once here instead of per class.

Why not dataclasses: a dataclass generates the source of its methods and compiles it, for every
class, at import; the model's classes took more than any other module of a no-op task on the
managed host, where AnsiballZ imports every module from source. The records behave as those
dataclasses did: the same __init__ arguments, equality on the class and the compared fields,
hash of those fields, repr of the fields marked repr, and FrozenInstanceError on assignment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# ansible.module_utils.basic imports dataclasses already: this costs no import
from dataclasses import FrozenInstanceError

_MISSING = object()


class Field(object):
    """A field's settings beyond a plain default, as dataclasses.field takes them."""

    __slots__ = ("default", "default_factory", "repr", "compare")

    def __init__(self, default=_MISSING, default_factory=_MISSING, repr=True, compare=True):  # pylint: disable=redefined-builtin
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare


def field(default=_MISSING, default_factory=_MISSING, repr=True, compare=True):  # pylint: disable=redefined-builtin
    return Field(default, default_factory, repr, compare)


def _init(self, *args, **kwargs):
    cls = self.__class__
    names = cls.__record_fields__
    if len(args) > len(names):
        raise TypeError("%s.__init__() takes %d positional arguments but %d were given"
                        % (cls.__qualname__, len(names) + 1, len(args) + 1))
    values = dict(zip(names, args))
    for name, value in kwargs.items():
        if name not in cls.__record_settings__:
            raise TypeError("%s.__init__() got an unexpected keyword argument %r" % (cls.__qualname__, name))
        if name in values:
            raise TypeError("%s.__init__() got multiple values for argument %r" % (cls.__qualname__, name))
        values[name] = value
    state = self.__dict__
    for name in names:
        if name in values:
            state[name] = values[name]
            continue
        setting = cls.__record_settings__[name]
        if setting.default is not _MISSING:
            state[name] = setting.default
        elif setting.default_factory is not _MISSING:
            state[name] = setting.default_factory()
        else:
            raise TypeError("%s.__init__() missing 1 required positional argument: %r" % (cls.__qualname__, name))


def _compared(self):
    state = self.__dict__
    return tuple(state[name] for name in self.__record_compared__)


def _eq(self, other):
    if other.__class__ is self.__class__:
        return _compared(self) == _compared(other)
    return NotImplemented


def _hash(self):
    return hash(_compared(self))


def _repr(self):
    state = self.__dict__
    return "%s(%s)" % (self.__class__.__qualname__,
                       ", ".join("%s=%r" % (name, state[name]) for name in self.__record_shown__))


def _setattr(self, name, value):
    raise FrozenInstanceError("cannot assign to field %r" % name)


def _delattr(self, name):
    raise FrozenInstanceError("cannot delete field %r" % name)


def record(cls):
    """Make cls, declared as a frozen dataclass would be (annotated fields, defaults, field()), a record."""
    names = tuple(cls.__dict__.get("__annotations__", {}))
    settings = {}
    for name in names:
        declared = cls.__dict__.get(name, _MISSING)
        setting = declared if isinstance(declared, Field) else Field(default=declared)
        if setting.default is not _MISSING and setting.default.__class__ in (list, dict, set):
            raise ValueError("mutable default %r for field %s: use field(default_factory=...)" % (setting.default, name))
        if isinstance(declared, Field):
            if setting.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, setting.default)  # as dataclasses leave it: the default on the class
        settings[name] = setting
    required = [name for name in names if settings[name].default is _MISSING and settings[name].default_factory is _MISSING]
    if required and names.index(required[-1]) + 1 != len(required):
        raise TypeError("%s: a field without a default follows one with a default" % cls.__qualname__)
    cls.__record_fields__ = names
    cls.__record_settings__ = settings
    cls.__record_compared__ = tuple(name for name in names if settings[name].compare)
    cls.__record_shown__ = tuple(name for name in names if settings[name].repr)
    cls.__init__ = _init
    cls.__eq__ = _eq
    cls.__hash__ = _hash
    cls.__repr__ = _repr
    cls.__setattr__ = _setattr
    cls.__delattr__ = _delattr
    return cls


def replace(instance, **changes):
    """A copy of instance with changes, as dataclasses.replace makes one."""
    values = dict(instance.__dict__)
    for name in changes:
        if name not in instance.__record_settings__:
            raise TypeError("%s.__init__() got an unexpected keyword argument %r" % (instance.__class__.__qualname__, name))
    values.update(changes)
    return instance.__class__(**values)


def field_values(instance):
    """{field: value} of a record, in the order of its fields."""
    return dict((name, instance.__dict__[name]) for name in instance.__record_fields__)
