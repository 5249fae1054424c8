# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the unit tests.

FakeRunner stands in for module_utils._runner.Runner: it replays recorded
command transcripts (tests/unit/plugins/module_utils/fixtures/qemu_img/*.json,
made by fixtures/record_qemu_img.py from the real qemu-img) and fails the
test on any command it was not told to expect, on an argv that differs from
the recording, and on recorded steps left unused at the end of the test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins", "module_utils", "fixtures")
TRANSCRIPTS = os.path.join(FIXTURES, "qemu_img")
PLACEHOLDER = "@TMPDIR@"


def load_transcript(name, tmpdir):
    """The steps of a recorded transcript, with @TMPDIR@ replaced by tmpdir."""
    with open(os.path.join(TRANSCRIPTS, name + ".json")) as handle:
        transcript = json.load(handle)
    steps = []
    for step in transcript["steps"]:
        steps.append({
            "argv": [arg.replace(PLACEHOLDER, str(tmpdir)) for arg in step["argv"]],
            "rc": step["rc"],
            "stdout": step["stdout"].replace(PLACEHOLDER, str(tmpdir)),
            "stderr": step["stderr"].replace(PLACEHOLDER, str(tmpdir)),
            "stdin": step.get("stdin"),
        })
    return steps


class FakeRunner(object):
    """Runner look-alike that replays expected steps in order."""

    def __init__(self, tmpdir, commands=("qemu-img", "chcon")):
        self.tmpdir = str(tmpdir)
        self.steps = []
        self.calls = []
        self.commands = set(commands)

    # -- telling it what to expect ------------------------------------------

    def load(self, name, skip=0):
        """Append the steps of transcript name, less its first skip (setup) steps."""
        self.steps.extend(load_transcript(name, self.tmpdir)[skip:])
        return self

    def expect(self, argv, rc=0, stdout="", stderr="", stdin=None):
        self.steps.append({"argv": list(argv), "rc": rc, "stdout": stdout, "stderr": stderr, "stdin": stdin})
        return self

    # -- the Runner interface -----------------------------------------------

    def which(self, name):
        if name not in self.commands:
            raise StorageError("required command %r was not found on the managed host" % name)
        return "/usr/bin/" + name

    def has(self, name):
        return name in self.commands

    def run(self, argv, data=None, env=None, check=True):
        if isinstance(argv, (str, bytes)) or not argv:
            raise TypeError("Runner.run takes a non-empty argv list, never a shell string")
        argv = [str(arg) for arg in argv]
        self.calls.append(argv)
        self.which(argv[0])
        if not self.steps:
            pytest.fail("unexpected command (no more recorded steps): %r" % (argv,))
        step = self.steps.pop(0)
        if step["argv"] != argv:
            pytest.fail("command differs from the recording:\n  expected %r\n  got      %r" % (step["argv"], argv))
        if step["stdin"] is not None and step["stdin"] != data:
            pytest.fail("stdin of %r differs from the recording: %r != %r" % (argv, data, step["stdin"]))
        if check and step["rc"] != 0:
            raise CommandError(argv, step["rc"], step["stdout"], step["stderr"])
        return step["rc"], step["stdout"], step["stderr"]

    def assert_done(self):
        if self.steps:
            pytest.fail("recorded commands were never run: %r" % ([step["argv"] for step in self.steps],))


@pytest.fixture
def fake_runner(tmp_path):
    """A FakeRunner whose transcripts use tmp_path for @TMPDIR@; all steps must be used."""
    runners = []

    def make(*transcripts, **kwargs):
        runner = FakeRunner(tmp_path)
        for name in transcripts:
            runner.load(name, kwargs.get("skip", 0))
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.assert_done()


@pytest.fixture
def quiet_runner(fake_runner):
    """A runner that must not be asked to run anything."""
    return fake_runner()


def tree_snapshot(root):
    """Everything observable about a directory tree: paths, kinds, modes, sizes, contents, link targets."""
    root = str(root)
    snapshot = {}
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(directory, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                snapshot[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                snapshot[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                with open(path, "rb") as handle:
                    snapshot[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_size, handle.read(1 << 16))
    return snapshot


@pytest.fixture
def snapshot():
    return tree_snapshot
