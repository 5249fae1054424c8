# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's modules in-process, as Ansible would run them, and the converge contract.

run_module() calls a module's real main() through AnsibleModule with the arguments, check mode and
diff mode Ansible passes, and returns the result dict it would have sent back. fail_json is a
result (failed=True), not an exception; any other exception (a traceback) propagates and fails
the test. Python starts once per test run instead of once per task, which is what makes the
scenario suite cheap.

converge() is the one place where the "check mode, for real, again, check mode again" contract is
written; a pool type plugs in its own fingerprint of the storage the test owns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile

import ansible

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings

MODULES = "ansible_collections.poolcraft.storage.plugins.modules."


class Result(dict):
    """A module's result dict, with the fields every test reads as attributes."""

    @property
    def failed(self):
        return bool(self.get("failed"))

    @property
    def changed(self):
        return bool(self.get("changed"))

    @property
    def msg(self):
        return self.get("msg", "")

    @property
    def actions(self):
        return self.get("actions")


def _forget_warnings():
    # AnsibleModule keeps warnings and deprecations in process globals; one run must not see
    # those of the run before it
    for name in ("_global_warnings", "_global_deprecations"):
        store = getattr(ansible_warnings, name, None)
        if store is not None:
            store.clear()


def run_module(name, args, check=False, diff=False):
    """Run module `name` (storage_pool, ...) with `args` as Ansible would; its result as a Result.

    A failed result must be a clean refusal: one line, no traceback, no raw module output."""
    module = importlib.import_module(MODULES + name)
    params = dict(args)
    params.update(_ansible_check_mode=bool(check), _ansible_diff=bool(diff), _ansible_module_name=name)
    saved = (basic._ANSIBLE_ARGS, getattr(basic, "_ANSIBLE_PROFILE", None))
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": params}).encode("utf-8")
    if hasattr(basic, "_ANSIBLE_PROFILE"):
        basic._ANSIBLE_PROFILE = "legacy"
    _forget_warnings()
    out = io.StringIO()
    code = None
    try:
        with contextlib.redirect_stdout(out):
            try:
                module.main()
            except SystemExit as exc:
                code = exc.code
            else:
                raise AssertionError("%s: main() returned without exit_json or fail_json" % name)
    finally:
        basic._ANSIBLE_ARGS = saved[0]
        if hasattr(basic, "_ANSIBLE_PROFILE"):
            basic._ANSIBLE_PROFILE = saved[1]
        _forget_warnings()
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines, "%s printed no result" % name
    result = Result(json.loads(lines[-1]))
    assert code == (1 if result.failed else 0), "%s exited %r with %r" % (name, code, result)
    if result.failed:
        assert_clean_failure(result)
    return result


def run_module_bare(workdir, name, args):
    """Run module `name` as run_module does, but in a child of the same interpreter without
    site-packages (no lxml, no pyudev): what a managed host without those libraries sees.
    The child gets ansible and the collection only, through links in a directory under workdir."""
    lib = tempfile.mkdtemp(prefix="bare-python-", dir=workdir)
    os.symlink(os.path.dirname(ansible.__file__), os.path.join(lib, "ansible"))
    collections = os.path.dirname(importlib.import_module(MODULES + name).__file__)
    for _level in range(5):  # .../ansible_collections/poolcraft/storage/plugins/modules
        collections = os.path.dirname(collections)
    code = "import json, harness; print(json.dumps(harness.run_module(%r, %r)))" % (name, args)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([lib, collections, os.path.dirname(os.path.abspath(__file__))]))
    proc = subprocess.run([sys.executable, "-S", "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, check=False)
    assert proc.stdout.strip(), "no result from the Python without site-packages: %s" % proc.stderr
    return Result(json.loads(proc.stdout.strip().splitlines()[-1]))


def assert_clean_failure(result, *expect):
    """A refusal, not a crash: failed, one line holding every string of expect, no traceback."""
    assert result.failed, "expected a failure, got %r" % (dict(result),)
    msg = result.msg
    assert isinstance(msg, str) and msg, "no message: %r" % (dict(result),)
    assert "\n" not in msg, "message of more than one line: %r" % msg
    assert "MODULE FAILURE" not in msg and "module_stderr" not in result and "module_stdout" not in result, msg
    rest = dict((key, value) for key, value in result.items() if key != "exception")
    assert "Traceback" not in json.dumps(rest), "traceback in the result: %r" % (rest,)
    missing = [text for text in expect if text not in msg]
    assert not missing, "message %r does not name %r" % (msg, missing)
    return result


class Converged(object):
    """The four results of one converge(): check, real, again, recheck."""

    def __init__(self, check, real, again, recheck):
        self.check = check
        self.real = real
        self.again = again
        self.recheck = recheck


def difference(before, after):
    """A readable account of what differs between two fingerprints (dicts of sortable parts)."""
    lines = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
            gone = [item for item in old if item not in new]
            added = [item for item in new if item not in old]
            lines.append("%s: gone %r, new %r" % (key, gone, added))
        else:
            lines.append("%s: %r -> %r" % (key, old, new))
    return "; ".join(lines)


def assert_unchanged(fingerprint, before, what):
    after = fingerprint()
    assert after == before, "%s changed the storage: %s" % (what, difference(before, after))
    return after


def converge(module, args, fingerprint, diff=True):
    """The contract of every changing task, in one place:

    1. check mode (with diff): reports actions, and `fingerprint()` is unchanged;
    2. for real: changed, with exactly the actions check mode announced;
    3. the same call again: not changed, no actions;
    4. check mode again: not changed, no actions, the diff's before equal to its after.

    fingerprint: a callable returning a comparable snapshot (a dict) of the storage the test owns.
    Returns the four results (Converged) for the caller's own assertions."""
    case = "%s %s" % (module, args.get("name") or args.get("path") or args.get("key") or "")
    before = fingerprint()
    check = run_module(module, args, check=True, diff=diff)
    assert not check.failed, "%s: check mode failed: %s" % (case, check.msg)
    assert check.changed and check.actions, "%s: check mode planned nothing: %r" % (case, dict(check))
    assert_unchanged(fingerprint, before, "%s in check mode" % case)
    real = run_module(module, args, diff=diff)
    assert not real.failed, "%s: failed: %s" % (case, real.msg)
    assert real.changed, "%s: the real run reported no change" % case
    assert real.actions == check.actions, "%s: check mode planned %r, the real run did %r" % (
        case, check.actions, real.actions)
    again = run_module(module, args)
    assert not again.failed, "%s: second run failed: %s" % (case, again.msg)
    assert not again.changed and again.actions == [], "%s: not idempotent, the second run did %r" % (
        case, again.actions)
    recheck = run_module(module, args, check=True, diff=diff)
    assert not recheck.failed, "%s: check mode after the change failed: %s" % (case, recheck.msg)
    assert not recheck.changed and recheck.actions == [], "%s: check mode after the change plans %r" % (
        case, recheck.actions)
    if diff:
        assert recheck["diff"]["before"] == recheck["diff"]["after"], "%s: diff of no change: %r" % (
            case, recheck["diff"])
    return Converged(check, real, again, recheck)


def unchanged(module, args, fingerprint, diff=True):
    """A task with nothing to do: check mode and the real run both report no change and the
    storage is untouched. Returns the real run's result."""
    before = fingerprint()
    for check in (True, False):
        result = run_module(module, args, check=check, diff=diff)
        assert not result.failed, "%s: %s" % (module, result.msg)
        assert not result.changed and result.actions == [], "%s: expected no change, got %r" % (
            module, result.actions)
    assert_unchanged(fingerprint, before, "%s with nothing to do" % module)
    return result


def refused(module, args, fingerprint, *expect, **kwargs):
    """A task that must be refused in check mode and for real, with one line naming every string
    of expect, and the storage untouched. Returns the real run's result."""
    before = fingerprint()
    result = None
    for check in (True, False) if kwargs.get("check", True) else (False,):
        result = run_module(module, args, check=check, diff=kwargs.get("diff", False))
        assert_clean_failure(result, *expect)
        assert_unchanged(fingerprint, before, "refused %s (check mode %s)" % (module, check))
    return result
