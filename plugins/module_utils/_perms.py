# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mode, owner, group and SELinux label of pool targets and volumes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import Permissions

_SELINUX_ENFORCE = "/sys/fs/selinux/enforce"


def selinux_active():
    return os.path.exists(_SELINUX_ENFORCE)


def _mode(value, option):
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value  # YAML already read 0755 as an octal number
    else:
        try:
            mode = int(str(value), 8)
        except ValueError:
            raise ValidationError(option, value, "not an octal mode such as '0755'")
    if not 0 <= mode <= 0o7777:
        raise ValidationError(option, value, "not a file mode")
    return mode


def _ident(value, option, lookup):
    if value is None:
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)
    except KeyError:
        raise ValidationError(option, value, "no such user or group on the managed host")


def from_params(params, option="permissions"):
    """Permissions from the module's permissions dict; names become numeric ids."""
    if not params:
        return Permissions()
    return Permissions(
        mode=_mode(params.get("mode"), option + ".mode"),
        owner=_ident(params.get("owner"), option + ".owner", lambda name: pwd.getpwnam(name).pw_uid),
        group=_ident(params.get("group"), option + ".group", lambda name: grp.getgrnam(name).gr_gid),
        label=params.get("label"))


def of_path(path, st=None):
    st = st or os.stat(path)
    return Permissions(mode=stat.S_IMODE(st.st_mode), owner=st.st_uid, group=st.st_gid)


def drift(path, wanted):
    """Names of the permission fields of path that differ from what is wanted."""
    have = of_path(path)
    fields = [name for name in ("mode", "owner", "group")
              if getattr(wanted, name) is not None and getattr(wanted, name) != getattr(have, name)]
    if wanted.label and selinux_active() and _label(path) != wanted.label:
        fields.append("label")
    return fields


def apply(path, wanted, runner):
    if wanted.owner is not None or wanted.group is not None:
        os.chown(path, -1 if wanted.owner is None else wanted.owner, -1 if wanted.group is None else wanted.group)
    if wanted.mode is not None:
        os.chmod(path, wanted.mode)
    if wanted.label and selinux_active():
        runner.run(["chcon", wanted.label, path])


def _label(path):
    try:
        return os.getxattr(path, "security.selinux").rstrip(b"\x00").decode("utf-8")
    except OSError:
        return None
