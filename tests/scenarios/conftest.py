# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the scenario tests (host and guest): everything a test touches is its own.

- scratch: a directory of the test's own (0755, so other users such as libvirt's can read it),
  removed at the end; store: config_dir and runtime_dir under it, for every module call.
- loop_device(size): a loop device over a sparse file in scratch. Its partition nodes are removed
  before use (another process may have left some on that number) and before detach; it is
  detached only while it still points at the test's own file, even when the test fails.
- lvm_system(devices): a private LVM_SYSTEM_DIR (activation as asked, a filter accepting only
  the given devices, no backups), set in the environment the modules inherit.
- udevd: a running udevd (the one that runs, or one started and stopped by its PID).
- pool_schema / volume_schema: libvirt's RELAX NG schemas as validators.

Tests call modules with run_module / converge / refused / unchanged from harness.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile
import time

import pytest

import fingerprints
import harness
from schemas import SCHEMA_DIR
from system import drop_partitions, run, stop_pid, udev_answers

POOLCRAFT_NS = "urn:poolcraft:storage:pool:1"
UDEV_CONTROL = "/run/udev/control"


# -- scratch and store ------------------------------------------------------------------------

@pytest.fixture
def scratch():
    path = tempfile.mkdtemp(prefix="poolcraft-scenario-", dir=os.environ.get("POOLCRAFT_SCRATCH", "/var/tmp"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        _unmount_under(path)
        shutil.rmtree(path, ignore_errors=True)


def _unmount_under(path):
    """Mounts a failed test left under its scratch directory, deepest first (lazily, so a busy
    mount cannot keep the directory)."""
    prefix = path.rstrip("/") + "/"
    points = sorted((m[0] for m in fingerprints.mountinfo() if m[0].startswith(prefix)), key=len, reverse=True)
    for point in points:
        subprocess.run(["umount", "--lazy", point], stderr=subprocess.DEVNULL, check=False)


@pytest.fixture
def store(scratch):
    """The options every module call of the test takes: its own config_dir and runtime_dir."""
    return {"config_dir": os.path.join(scratch, "etc"), "runtime_dir": os.path.join(scratch, "run")}


# -- loop devices -------------------------------------------------------------------------------

def _backing_file(device):
    name = os.path.basename(device)
    try:
        with open("/sys/block/%s/loop/backing_file" % name) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


class LoopDevices(object):
    def __init__(self, scratch):
        self.scratch = scratch
        self.attached = []  # (device, backing file)

    def __call__(self, size="256M", name=None):
        image = os.path.join(self.scratch, name or "disk%d.img" % len(self.attached))
        with open(image, "wb") as handle:
            handle.truncate(_bytes(size))
        device = run("losetup", "--find", "--show", image).strip()
        self.attached.append((device, image))
        assert _backing_file(device) == image, "%s is not attached to %s" % (device, image)
        drop_partitions(device)
        return device

    def owns(self, device):
        return any(dev == device and _backing_file(dev) == image for dev, image in self.attached)

    def release(self):
        """Unmount, swap off and drop the partitions of each device of the test's, then detach it;
        every device is released even when one of them fails, and the first failure is raised."""
        failures = []
        for device, image in reversed(self.attached):
            if _backing_file(device) != image:
                continue  # detached already, or the number now belongs to somebody else
            users = [device] + ["/dev/%s" % name for name, _start, _size in fingerprints.partitions(device)]
            for point in sorted((m[0] for m in fingerprints.mountinfo() if m[1] in users), key=len, reverse=True):
                if subprocess.run(["umount", point], stderr=subprocess.DEVNULL, check=False).returncode != 0:
                    subprocess.run(["umount", "--lazy", point], stderr=subprocess.DEVNULL, check=False)
            for user in fingerprints.swaps(users):
                subprocess.run(["swapoff", user.split()[0]], stderr=subprocess.DEVNULL, check=False)
            try:
                drop_partitions(device)
            except AssertionError as exc:
                failures.append(exc)
            subprocess.run(["losetup", "--detach", device], stderr=subprocess.DEVNULL, check=False)
        self.attached = []
        if failures:
            raise failures[0]


def _bytes(size):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    size = str(size)
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)


@pytest.fixture
def loop_device(scratch):
    """loop_device(size="256M", name=None): a new loop device of the test's own; its path."""
    devices = LoopDevices(scratch)
    try:
        yield devices
    finally:
        devices.release()


# -- LVM ------------------------------------------------------------------------------------------

class LvmSystem(object):
    """A private LVM configuration: only `devices` are seen; `activation` on or off."""

    def __init__(self, directory, devices, activation):
        self.dir = directory
        self.devices = list(devices)
        os.makedirs(directory, exist_ok=True)
        accept = "".join('"a|^%s$|", ' % device for device in self.devices)
        with open(os.path.join(directory, "lvm.conf"), "w") as handle:
            handle.write(
                "devices {\n    use_devicesfile = 0\n    obtain_device_list_from_udev = 0\n"
                "    filter = [ %s\"r|.*|\" ]\n}\n"
                "global {\n    activation = %d\n}\n"
                "backup {\n    backup = 0\n    archive = 0\n}\n" % (accept, 1 if activation else 0))
        self.env = dict(os.environ, LVM_SYSTEM_DIR=directory, LVM_SUPPRESS_FD_WARNINGS="1")

    def run(self, *argv, **kwargs):
        return run(*argv, env=self.env, **kwargs)

    def report(self):
        return fingerprints.lvm_report(self.env)


@pytest.fixture
def lvm_system(scratch, monkeypatch):
    """lvm_system(devices, activation=False): a private LVM_SYSTEM_DIR in the environment the
    modules inherit; the LvmSystem (its .run and .report use it too)."""
    def make(devices, activation=False, name="lvm"):
        system = LvmSystem(os.path.join(scratch, name), devices, activation)
        monkeypatch.setenv("LVM_SYSTEM_DIR", system.dir)
        monkeypatch.setenv("LVM_SUPPRESS_FD_WARNINGS", "1")
        return system
    return make


# -- daemons ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def udevd():
    """A running udevd: the host's if one answers (left alone), else one of this run's, stopped by
    its PID at the end."""
    if udev_answers():
        yield None
        return
    proc = subprocess.Popen(["/lib/systemd/systemd-udevd"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _attempt in range(100):
            if udev_answers():
                break
            time.sleep(0.1)
        else:
            pytest.fail("udevd did not start")
        yield proc.pid
    finally:
        stop_pid(proc.pid)
        # udevd leaves its control socket behind; a file that answers nobody must not make
        # the next process wait for udev
        if not udev_answers() and os.path.exists(UDEV_CONTROL):
            os.unlink(UDEV_CONTROL)


# -- libvirt's schemas ------------------------------------------------------------------------

def _validator(name, strip_poolcraft_default=False):
    from lxml import etree
    path = os.path.join(SCHEMA_DIR, name)
    if not os.path.isfile(path):
        pytest.fail("libvirt's %s is not in %s (install libvirt0)" % (name, SCHEMA_DIR))
    schema = etree.RelaxNG(etree.parse(path))

    def validate(text, strip_poolcraft=strip_poolcraft_default):
        """Fail unless text (a document, or a path to one) validates; strip_poolcraft leaves out the
        elements of poolcraft's own namespace first (libvirt ignores them, its schema does not know them)."""
        if os.path.isabs(text) and os.path.isfile(text):
            with open(text, "rb") as handle:
                text = handle.read().decode("utf-8")
        doc = etree.fromstring(text.encode("utf-8"))
        if strip_poolcraft:
            for node in doc.xpath("//*[namespace-uri() = $ns]", ns=POOLCRAFT_NS):
                node.getparent().remove(node)
            etree.cleanup_namespaces(doc)
        if not schema.validate(doc):
            pytest.fail("%s rejects:\n%s\n%s" % (name, text, schema.error_log))
        return True
    return validate


@pytest.fixture(scope="session")
def pool_schema():
    return _validator("storagepool.rng")


@pytest.fixture(scope="session")
def volume_schema():
    return _validator("storagevol.rng")


# -- the harness as fixtures ------------------------------------------------------------------

@pytest.fixture
def module(store):
    """module(module_name, check=False, diff=False, **args): run_module with the test's store added
    (args may hold `name`, the module's own option)."""
    def call(module_name, check=False, diff=False, **args):
        return harness.run_module(module_name, dict(store, **args), check=check, diff=diff)
    return call
