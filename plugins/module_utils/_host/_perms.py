# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mode, owner, group and SELinux label of pool targets and volumes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import re
import stat

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Permissions

_SELINUX_ENFORCE = "/sys/fs/selinux/enforce"
_MODE_RE = re.compile(r"[0-7]{1,8}")
_ID_RE = re.compile(r"-?[0-9]+")
# uid_t and gid_t are 32 bits; (uid_t)-1 is "no change", so the highest id is one below
_UNSET_ID = 2 ** 32 - 1
MAX_ID = _UNSET_ID - 1


def selinux_active():
    return os.path.exists(_SELINUX_ENFORCE)


def _mode(value, option):
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads mode: 755 as the decimal 755 (0o1363) and mode: 0755 as 493: never guess
        raise ValidationError(option, value, "an integer is not a mode: YAML reads mode: 755 as the number 755, "
                                             "not 0o755; quote it, as in mode: '0755'")
    if not isinstance(value, str) or not _MODE_RE.fullmatch(value):
        raise ValidationError(option, value, "not an octal mode such as '0755' (ASCII digits 0-7)")
    mode = int(value, 8)
    if mode > 0o7777:
        raise ValidationError(option, value, "not a file mode")
    return mode


def unset_id(value):
    """None for the ids that mean "leave as it is": libvirt writes -1, and reads back
    (uid_t)-1 as 4294967295; chown() takes either as "no change"."""
    return None if value in (-1, _UNSET_ID) else value


def _ident(value, option, lookup):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError(option, value, "not a user or group name or id")
    text = str(value)
    if text == "":
        raise ValidationError(option, value, "an empty string does not mean the default; leave the option out")
    _inputs.text(text, option)
    if _ID_RE.fullmatch(text):
        # no id has more than 10 digits: a longer number never reaches int()
        number = int(text) if len(text) <= 11 else None
        if number is not None and unset_id(number) is None:
            return None
        if number is None or not 0 <= number <= MAX_ID:
            raise ValidationError(option, value, "out of range: ids are 0 to %d, and -1 leaves it unset" % MAX_ID)
        return number
    if text.lstrip("-").isdigit():
        raise ValidationError(option, value, "only the ASCII digits 0-9 make an id")
    try:
        return lookup(text)
    except (KeyError, UnicodeError, ValueError):
        raise ValidationError(option, value, "no such user or group on the managed host")


def from_params(params, option="permissions"):
    """Permissions from the module's permissions dict; names become numeric ids."""
    if not params:
        return Permissions()
    return Permissions(
        mode=_mode(params.get("mode"), option + ".mode"),
        owner=_ident(params.get("owner"), option + ".owner", lambda name: pwd.getpwnam(name).pw_uid),
        group=_ident(params.get("group"), option + ".group", lambda name: grp.getgrnam(name).gr_gid),
        label=_inputs.not_empty(_inputs.text(params.get("label"), option + ".label"), option + ".label"))


def of_path(path, st=None):
    st = st or os.stat(path)
    return Permissions(mode=stat.S_IMODE(st.st_mode), owner=st.st_uid, group=st.st_gid)


def drift(path, wanted):
    """Names of the permission fields of path that differ from what is wanted."""
    have = of_path(path)
    fields = [name for name in ("mode", "owner", "group")
              if _wanted_id(wanted, name) is not None and _wanted_id(wanted, name) != getattr(have, name)]
    if wanted.label and selinux_active() and _label(path) != wanted.label:
        fields.append("label")
    return fields


def _wanted_id(wanted, field):
    value = getattr(wanted, field)
    return value if field == "mode" else unset_id(value)


def apply(path, wanted, runner):
    owner, group = unset_id(wanted.owner), unset_id(wanted.group)
    if owner is not None or group is not None:
        os.chown(path, -1 if owner is None else owner, -1 if group is None else group)
    if wanted.mode is not None:
        os.chmod(path, wanted.mode)
    if wanted.label and selinux_active():
        runner.run(["chcon", wanted.label, path])


def _label(path):
    try:
        return os.getxattr(path, "security.selinux").rstrip(b"\x00").decode("utf-8")
    except OSError:
        return None
