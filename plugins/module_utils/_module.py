# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The glue of the modules that change things: plan, apply unless check mode, exit once.
Options common to all modules and the exit itself are _entry's (no lxml there)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils import _entry
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import LXML_IMPORT_ERROR

# storage_pool and storage_volume take their options from here, with run()
COMMON_ARGS = _entry.COMMON_ARGS
argument_spec = _entry.argument_spec

PERMISSIONS_SPEC = {
    "mode": {"type": "raw"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "label": {"type": "str"},
}


def run(module, manager_class):
    """Build the manager, plan, apply unless check mode, exit once."""

    def plan_and_apply():
        _entry.require_library("lxml", LXML_IMPORT_ERROR)
        _entry.validate_directories(module.params)  # before the store opens anything in them
        store = DefinitionStore(module.params["config_dir"], module.params["runtime_dir"], read_only=module.check_mode)
        manager = manager_class(module.params, Runner(), store)
        with store:
            actions = manager.plan()
            before = manager.snapshot()
            if not module.check_mode:
                try:
                    for action in actions:
                        action.apply()
                except BaseException:
                    manager.rollback()  # a task that fails leaves no definition it made
                    raise
            result = manager.result(applied=not module.check_mode)
        result.update(changed=bool(actions), actions=[action.description for action in actions])
        if module._diff:
            result["diff"] = manager.diff(before)
        return result

    _entry.exit_with(module, plan_and_apply)
