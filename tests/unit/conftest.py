# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the unit tests.

load_transcript reads the recorded command transcripts under
tests/unit/plugins/module_utils/fixtures/ (one format for every tool; see
fixtures/README.md for the format, the placeholders and how each was recorded).
FakeRunner stands in for module_utils._runner.Runner: it replays such transcripts
(FakeRunner.load) or steps it is told to expect, and fails the test on any
command it was not told to expect, on an argv that differs from the recording,
and on recorded steps left unused at the end of the test.

Also: the one stand-in for AnsibleModule (FakeModule, module_exit and its fixture
run_module), validators of libvirt's own
schemas (pool_schema, volume_schema), an OSError on demand (os_failure), and
PoolManager / VolumeManager planned and applied over a real store in tmp_path
(pool_env, volume_env).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import copy
import json
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._pool import PoolManager
from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg
from ansible_collections.poolcraft.storage.plugins.module_utils._volume import VolumeManager

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins", "module_utils", "fixtures")


def load_transcript(name, **values):
    """The recorded transcript fixtures/<name>.json (name as "lvm/vgs_host"; the format is in
    fixtures/README.md): a dict with its "steps", each with argv, rc, stdout, stderr and stdin (None
    unless recorded), and whatever else it records (recorded_with, note, size, ...). Every @KEY@ in
    argv, stdout, stderr and stdin is replaced by str(values[KEY]), e.g. TMPDIR=tmp_path, DEV="/dev/loop7"."""
    with open(os.path.join(FIXTURES, name + ".json")) as handle:
        transcript = json.load(handle)

    def fill(text):
        for key, value in values.items():
            text = text.replace("@%s@" % key, str(value))
        return text

    transcript["steps"] = [{
        "argv": [fill(arg) for arg in step["argv"]],
        "rc": step["rc"],
        "stdout": fill(step["stdout"]),
        "stderr": fill(step["stderr"]),
        "stdin": None if step.get("stdin") is None else fill(step["stdin"]),
    } for step in transcript["steps"]]
    return transcript


class FakeRunner(object):
    """Runner look-alike that replays expected steps in order."""

    def __init__(self, tmpdir, commands=("qemu-img", "chcon")):
        self.tmpdir = str(tmpdir)
        self.steps = []
        self.calls = []
        self.timeouts = []  # the timeout of each call, as calls has its argv
        self.commands = set(commands)

    # -- telling it what to expect ------------------------------------------

    def load(self, name, skip=0, **values):
        """Append the steps of transcript name (see load_transcript), less its first skip (setup) steps;
        @TMPDIR@ is this runner's tmpdir unless values say otherwise."""
        values.setdefault("TMPDIR", self.tmpdir)
        self.steps.extend(load_transcript(name, **values)["steps"][skip:])
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

    def run(self, argv, data=None, env=None, check=True, timeout=None):
        if isinstance(argv, (str, bytes)) or not argv:
            raise TypeError("Runner.run takes a non-empty argv list, never a shell string")
        argv = [str(arg) for arg in argv]
        self.calls.append(argv)
        self.timeouts.append(timeout)
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

    def read(self, argv):
        # not kept as Runner.read keeps it: a recording lists every command the code asks for
        return self.run(argv)

    def forget(self):
        pass

    def assert_done(self):
        if self.steps:
            pytest.fail("recorded commands were never run: %r" % ([step["argv"] for step in self.steps],))


@pytest.fixture
def fake_runner(tmp_path):
    """fake_runner(*transcripts, skip=0): a FakeRunner replaying them (names as "qemu_img/info_vdi"), with
    tmp_path for @TMPDIR@; all its steps must be used by the end of the test."""
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


class ModuleExit(Exception):
    """How a module ended: the result it passed and whether it failed (fail_json) or not (exit_json)."""

    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(result)
        self.result = result
        self.failed = failed


class FakeModule(object):
    """AnsibleModule as the code behind a module sees it; its exits raise ModuleExit instead of ending
    the process."""

    def __init__(self, params, check_mode=False, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff

    def exit_json(self, **result):
        raise ModuleExit(result, failed=False)

    def fail_json(self, **result):
        raise ModuleExit(result, failed=True)


def module_exit(body, params=None, check_mode=False, diff=False, argument_spec=None):
    """body(module) with a FakeModule, which must exit; returns the ModuleExit. Other exceptions pass
    through. With argument_spec, params start from its defaults, as AnsibleModule fills them in."""
    full = dict((key, spec.get("default")) for key, spec in (argument_spec or {}).items())
    full.update(params or {})
    with pytest.raises(ModuleExit) as exited:
        body(FakeModule(full, check_mode=check_mode, diff=diff))
    return exited.value


@pytest.fixture
def run_module():
    """run_module(body, params=None, check_mode=False, diff=False, argument_spec=None): module_exit."""
    return module_exit


@pytest.fixture
def qemu_img(fake_runner):
    """qemu_img(*transcripts, skip=0): a FakeRunner replaying them, and a QemuImg that runs through it."""
    def make(*transcripts, **kwargs):
        runner = fake_runner(*transcripts, **kwargs)
        return runner, QemuImg(runner)
    return make


@pytest.fixture
def os_failure():
    """`with os_failure(_store.os, "rename", errno.EIO):` every call of that function raises that OSError."""
    @contextlib.contextmanager
    def failing(namespace, name, code):
        def fail(*_args, **_kwargs):
            raise OSError(code, os.strerror(code))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(namespace, name, fail)
            yield
    return failing


# -- libvirt's schemas ------------------------------------------------------------

# Debian/Ubuntu: libvirt0 or libvirt-daemon; Fedora: libvirt-libs
SCHEMA_DIR = os.environ.get("POOLCRAFT_LIBVIRT_SCHEMAS", "/usr/share/libvirt/schemas")


def _schema_validator(name):
    etree = pytest.importorskip("lxml.etree")
    path = os.path.join(SCHEMA_DIR, name)
    if not os.path.isfile(path):
        return None
    try:
        schema = etree.RelaxNG(etree.parse(path))
    except (etree.RelaxNGParseError, etree.XMLSyntaxError):
        schema = None
    if schema is not None:
        def validate(text):
            doc = etree.fromstring(text.encode("utf-8"))
            if not schema.validate(doc):
                pytest.fail("%s rejects:\n%s\n%s" % (name, text, schema.error_log))
        return validate
    if shutil.which("xmllint") is None:
        return None

    def validate_with_xmllint(text):
        proc = subprocess.run(["xmllint", "--noout", "--relaxng", path, "-"], input=text.encode("utf-8"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            pytest.fail("%s rejects:\n%s\n%s" % (name, text, proc.stderr.decode("utf-8", "replace")))
    return validate_with_xmllint


def libvirt_schema(name):
    """A function that fails the test when libvirt's schema `name` rejects an XML text; skips without it."""
    validate = _schema_validator(name)
    if validate is None:
        pytest.skip("libvirt's %s is not in %s (install libvirt's schemas, e.g. the libvirt0 package)" % (name, SCHEMA_DIR))
    return validate


@pytest.fixture(scope="module")
def pool_schema():
    return libvirt_schema("storagepool.rng")


@pytest.fixture(scope="module")
def volume_schema():
    return libvirt_schema("storagevol.rng")


# -- managers over a real store in tmp_path -----------------------------------------

def dir_pool_params(path, **overrides):
    """storage_pool's options for the dir pool 'images' at path, as the module passes them."""
    params = {"name": "images", "uuid": None, "type": "dir", "target": {"path": path, "permissions": None},
              "state": "present", "build": False, "autostart": None, "persistent": None, "purge": False,
              "list_volumes": False}
    params.update(overrides)
    return params


VOLUME_PARAMS = {"pool": "images", "name": "disk.img", "path": None, "key": None, "state": "present", "format": None,
                 "capacity": None, "allocation": None, "preallocation": None, "cluster_size": None, "compat": None,
                 "lazy_refcounts": None, "backing_store": None, "clone_from": None, "shrink": False, "wipe": None,
                 "permissions": None, "allow_references": False}


class ManagerEnv(object):
    """A config dir, a runtime dir and a pool directory under tmp_path, and one manager class planned
    and applied over them as _entry.run does it, without the AnsibleModule."""

    def __init__(self, tmp_path, runner, manager_class, defaults, images):
        self.root = tmp_path
        self.config = str(tmp_path / "etc")
        self.runtime = str(tmp_path / "run")
        self.images = images
        self.runner = runner
        self.manager_class = manager_class
        self.defaults = defaults

    def store(self):
        return DefinitionStore(self.config, self.runtime)

    def params(self, **overrides):
        params = copy.deepcopy(self.defaults)  # a manager may change nested options; the next call starts afresh
        params.update(config_dir=self.config, runtime_dir=self.runtime)
        params.update(overrides)
        return params

    def _run(self, runner, overrides, apply):
        store = self.store()
        manager = self.manager_class(self.params(**overrides), runner or self.runner, store)
        with store:
            actions = manager.plan()
            if not apply:
                return manager, actions
            for action in actions:
                action.apply()
            return [action.description for action in actions], manager.result(applied=True)

    def plan(self, runner=None, **overrides):
        """The manager and its actions, none applied."""
        return self._run(runner, overrides, apply=False)

    def descriptions(self, **overrides):
        return [action.description for action in self.plan(**overrides)[1]]

    def apply(self, runner=None, **overrides):
        """Plan and apply: the descriptions of the actions and the manager's result."""
        return self._run(runner, overrides, apply=True)

    def stored(self, name="images"):
        return self.store().get(name)

    def pool(self, name="images", path=None, state="running"):
        """A dir pool defined and built, in state; its directory."""
        path = path or self.images
        store = self.store()
        manager = PoolManager(dir_pool_params(path, name=name, state=state, build=True), self.runner, store)
        with store:
            for action in manager.plan():
                action.apply()
        return path

    def file(self, name, size, mode=0o644, content=b""):
        """A file in the pool directory: content, then sparse up to size."""
        path = os.path.join(self.images, name)
        with open(path, "wb") as handle:
            handle.write(content)
            handle.truncate(size)
        os.chmod(path, mode)
        return path


@pytest.fixture
def pool_env(tmp_path, quiet_runner):
    """PoolManager over a store in tmp_path, for the dir pool 'images' at tmp_path/srv/images (not made)."""
    images = str(tmp_path / "srv" / "images")
    return ManagerEnv(tmp_path, quiet_runner, PoolManager, dir_pool_params(images), images)


@pytest.fixture
def volume_env(tmp_path, quiet_runner):
    """VolumeManager over a store in tmp_path, with the running dir pool 'images' at tmp_path/images."""
    env = ManagerEnv(tmp_path, quiet_runner, VolumeManager, VOLUME_PARAMS, str(tmp_path / "images"))
    env.pool()
    return env


# -- processes a test must not leave behind ------------------------------------------------------

def _child_pids():
    """The PIDs of this process's children, from /proc (a command or a forked reader left behind)."""
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (IOError, OSError):
                continue
            if fields[1] == me:
                found.add(entry)
    return found


@pytest.fixture
def child_pids():
    """A function: the PIDs of this test process's children now."""
    return _child_pids


def _block_node(path, major, minor):
    """A block device node at path (a pathlib path; no device behind it: only its number is read),
    or skip where mknod is not allowed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mknod(str(path), stat.S_IFBLK | 0o600, os.makedev(major, minor))
    except OSError as exc:
        pytest.skip("cannot make a block device node here: %s" % exc)
    return str(path)


@pytest.fixture
def block_node():
    """A function: block_node(path, major, minor) makes a block device node, the path as a string."""
    return _block_node
