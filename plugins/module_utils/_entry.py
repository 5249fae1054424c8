# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The entry point of every module: the options common to all, the one place where an error
becomes fail_json, and, for the modules that change things, plan, apply unless check mode,
exit once.

A module builds its spec with argument_spec() and ends with exit_with(module, work):
work is a callable returning the result dict (with `changed`); whatever it raises
as a StorageError or an OSError is reported as a failure in one line. storage_pool and
storage_volume end with run(module, manager_class), which does that around a manager.

Nothing here imports lxml (the facts module runs without it): run() asks _xml whether it
could, when it runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils import basic
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.validation import check_type_int

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._store import DEFAULT_CONFIG_DIR, DEFAULT_RUNTIME_DIR, DefinitionStore

COMMON_ARGS = {
    "config_dir": {"type": "path", "default": DEFAULT_CONFIG_DIR},
    "runtime_dir": {"type": "path", "default": DEFAULT_RUNTIME_DIR},
}

# the permissions suboptions of storage_pool's target and of storage_volume
PERMISSIONS_SPEC = {
    "mode": {"type": "raw"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "label": {"type": "str"},
}


class MissingLibrary(StorageError):
    """A Python library the task needs is not installed on the managed host."""

    def __init__(self, library, traceback_text):
        super(MissingLibrary, self).__init__("missing Python library %s" % library)
        self.library = library
        self.traceback = traceback_text


def require_library(library, import_error):
    """Raise MissingLibrary when import_error (the traceback of a failed import) is set."""
    if import_error is not None:
        raise MissingLibrary(library, import_error)


def argument_spec(**specific):
    """The module's argument spec: the common options and its own, fitted to the task's
    parameters (see fitted_spec)."""
    spec = dict(COMMON_ARGS)
    spec.update(specific)
    return fitted_spec(spec)


def fitted_spec(spec, params=None):
    """spec, changed only where ansible-core would raise a traceback instead of a message for the
    task's parameters (params, or the ones the module is about to read): a dict option with
    suboptions given a number, a bool or a list (set_fallbacks() iterates it) is left without its
    suboptions, so AnsibleModule's type check refuses it in one line; an int option given as text
    is converted by ascii_int, as ansible-core takes the digits of every script ("\u0665" is 5)."""
    if params is None:
        params = _task_params()
    if not isinstance(params, dict):
        return spec
    fitted = dict(spec)
    for option, option_spec in spec.items():
        value = params.get(option)
        if option_spec.get("type") == "int" and isinstance(value, str):
            fitted[option] = dict(option_spec, type=ascii_int)
            continue
        if option_spec.get("type") != "dict" or not option_spec.get("options") or value is None:
            continue
        if isinstance(value, dict):
            fitted[option] = dict(option_spec, options=fitted_spec(option_spec["options"], value))
        elif not isinstance(value, str):  # a string may be k=v or JSON, which ansible-core turns into a dict
            fitted[option] = dict((key, setting) for key, setting in option_spec.items() if key != "options")
    return fitted


def ascii_int(value):
    """An int option's value: only the ASCII digits count."""
    if isinstance(value, str) and not value.isascii():
        raise TypeError("%r: only the ASCII digits 0-9 make a number" % value)
    return check_type_int(value)


def _task_params():
    """The parameters AnsibleModule will read, when they have been handed to the module (None
    otherwise: nothing is read from stdin here)."""
    if getattr(basic, "_ANSIBLE_ARGS", None) is None:
        return None
    try:
        return basic._load_params()
    except Exception:  # pylint: disable=broad-except
        return None  # AnsibleModule reads them again, and reports what is wrong with them


def validate_directories(params):
    """config_dir and runtime_dir: good paths, and directories where they exist."""
    for option in COMMON_ARGS:
        _inputs.directory(params.get(option), option)


def exit_with(module, work):
    """Run work() and exit with the dict it returns; fail in one line on what it raises."""
    try:
        result = work()
    except MissingLibrary as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.traceback)
    except StorageError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: %s" % (getattr(exc, "filename", None) or "I/O error", exc.strerror or exc))
    else:
        module.exit_json(**result)


def run(module, manager_class):
    """Build the manager, plan, apply unless check mode, exit once."""

    def plan_and_apply():
        # imported here, not above: the facts module shares this file and must not import lxml
        from ansible_collections.poolcraft.storage.plugins.module_utils._xml import LXML_IMPORT_ERROR

        require_library("lxml", LXML_IMPORT_ERROR)
        validate_directories(module.params)  # before the store opens anything in them
        store = DefinitionStore(module.params["config_dir"], module.params["runtime_dir"], read_only=module.check_mode)
        runner = Runner()
        manager = manager_class(module.params, runner, store)
        with store:
            actions = manager.plan()
            before = manager.snapshot()
            if not module.check_mode:
                try:
                    for action in actions:
                        runner.forget()
                        action.apply()
                except BaseException:
                    manager.rollback()  # a task that fails leaves no definition it made
                    raise
            result = manager.result(applied=not module.check_mode)
        result.update(changed=bool(actions), actions=[action.description for action in actions])
        if module._diff:
            result["diff"] = manager.diff(before)
        return result

    exit_with(module, plan_and_apply)
