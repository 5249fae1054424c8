# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The glue every module shares: options common to all, plan/apply, and the
one place where a StorageError becomes fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._store import (
    DEFAULT_CONFIG_DIR, DEFAULT_RUNTIME_DIR, DefinitionStore)
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import LXML_IMPORT_ERROR

COMMON_ARGS = {
    "config_dir": {"type": "path", "default": DEFAULT_CONFIG_DIR},
    "runtime_dir": {"type": "path", "default": DEFAULT_RUNTIME_DIR},
}

PERMISSIONS_SPEC = {
    "mode": {"type": "raw"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "label": {"type": "str"},
}


def argument_spec(**specific):
    spec = dict(COMMON_ARGS)
    spec.update(specific)
    return spec


def run(module, manager_class):
    """Build the manager, plan, apply unless check mode, exit once."""
    if LXML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("lxml"), exception=LXML_IMPORT_ERROR)
    try:
        store = DefinitionStore(module.params["config_dir"], module.params["runtime_dir"], read_only=module.check_mode)
        manager = manager_class(module.params, Runner(), store)
        with store:
            actions = manager.plan()
            before = manager.snapshot()
            if not module.check_mode:
                for action in actions:
                    action.apply()
            result = manager.result(applied=not module.check_mode)
    except StorageError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: %s" % (getattr(exc, "filename", None) or "I/O error", exc.strerror or exc))
    result.update(changed=bool(actions), actions=[action.description for action in actions])
    if module._diff:
        result["diff"] = manager.diff(before)
    module.exit_json(**result)
