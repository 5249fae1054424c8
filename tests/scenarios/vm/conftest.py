# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the VM scenarios: they run in the test VM (scripts/test-vm copies the collection
there and runs pytest with the guest's own python3), as root, with a real kernel.

The fixtures of tests/scenarios/conftest.py (scratch, store, module, loop_device, lvm_system,
udevd, run) apply here too; pool_schema / volume_schema do not (libvirt's schemas are not in the
guest).

- vm_disk(n, blank=True): the guest's blank disk n, /dev/disk/by-id/virtio-vmdiskN; asserted to
  exist and (blank=True, before first use) to carry no signature and no partition. Leaving it blank
  at the end is the test's job: guest.wipe_disk(path) does it and asserts it.
- persist: a directory of the test module's own under /var/lib/poolcraft-scenarios/ that survives
  a reboot of the guest (.path, .save(key, value), .load(key), .clear()); persistent_store: the
  config_dir in it and a runtime_dir under /run (gone after a reboot, as a host's would be).
- units: units.start(name, also=()) starts a systemd unit and stops it (and `also`, such as its
  socket) at the end of the test, whatever happens.
- guest.py (a plain module) has the helpers: sh, settle, assert_blank, wipe_disk, Saved (a
  configuration file put back), boot_id, wait_booted, wait_for, is_blank, Holder.
- vm_report: a list; lines a test appends (measurements) are printed at the end of the run.
- The `reboot(stage=N)` marker: a test of stage N runs in the pytest run given
  --reboot-stage=N, after the host rebooted the guest N times since stage 0 (scripts/test-vm
  drives it: `-m reboot --reboot-stage=N`, reboot, next N). Without --reboot-stage the reboot
  tests are deselected; --reboot-stage=all keeps every stage (to list them: the collection
  reports a line "reboot-stages: 0 1 2", or "reboot-stages:" when there is none).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess

import pytest

from guest import assert_blank, settle
from system import run

DISK_BY_ID = "/dev/disk/by-id/virtio-vmdisk%d"
PERSIST_ROOT = "/var/lib/poolcraft-scenarios"
RUNTIME_ROOT = "/run/poolcraft-scenarios"


# -- the reboot marker ----------------------------------------------------------------------------

def pytest_addoption(parser):
    parser.addoption("--reboot-stage", action="store", default=None,
                     help="run the tests marked reboot(stage=N) of this stage (N, or 'all'); without it they are deselected")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reboot(stage): runs in the pytest run of --reboot-stage=stage, after the guest rebooted stage times")


def reboot_stage(item):
    """The stage of a test marked reboot(stage=N) (or reboot(N)); None without the marker."""
    mark = item.get_closest_marker("reboot")
    if mark is None:
        return None
    stage = mark.kwargs.get("stage", mark.args[0] if mark.args else None)
    assert isinstance(stage, int) and stage >= 0, "%s: reboot(stage=N) needs an integer N >= 0" % item.nodeid
    return stage


def pytest_collection_modifyitems(config, items):
    wanted = config.getoption("--reboot-stage")
    if wanted == "all":
        return
    keep, drop = [], []
    for item in items:
        stage = reboot_stage(item)
        if stage is None or (wanted is not None and stage == int(wanted)):
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_collectionfinish(config, items):
    stages = sorted(set(stage for stage in (reboot_stage(item) for item in items) if stage is not None))
    return "reboot-stages:%s" % "".join(" %d" % stage for stage in stages)


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def luns():
    """Two scsi_debug LUNs, each over two paths, as multipath maps (multipath_luns.py); gone afterwards."""
    from multipath_luns import MultipathLuns  # only the SAN scenarios pay for it
    found = MultipathLuns()
    try:
        yield found.open()
    finally:
        found.close()


@pytest.fixture
def vm_disk():
    """vm_disk(n, blank=True): /dev/disk/by-id/virtio-vmdiskN, checked to exist (and to be blank)."""
    def get(number, blank=True):
        path = DISK_BY_ID % number
        settle()
        assert os.path.exists(path), "%s is missing: VM scenarios run in the test VM (scripts/test-vm, --disks 4)" % path
        if blank:
            assert_blank(path)
        return path
    return get


class Persist(object):
    """State a reboot scenario keeps from one stage to the next, in a directory on the root disk."""

    def __init__(self, path):
        self.path = path

    def file(self, name):
        """The path of a file in the directory (made when missing, after clear() too)."""
        os.makedirs(self.path, exist_ok=True)
        return os.path.join(self.path, name)

    def save(self, key, value):
        with open(self.file(key + ".json"), "w") as handle:
            json.dump(value, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())

    def load(self, key, *default):
        try:
            with open(os.path.join(self.path, key + ".json")) as handle:
                return json.load(handle)
        except (IOError, OSError):
            if default:
                return default[0]
            raise

    def clear(self):
        """Remove the directory and all in it (the next file() or save() makes it again)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def skip_unless_passed_before(self, number, last):
        """Skip reboot stage number unless stage number - 1 passed (and none failed); the last
        stage also clears what the scenario kept, so the next run starts afresh."""
        failed = self.load("failed", None)
        if number > 0 and (failed is not None or self.load("stage", None) != number - 1):
            if number == last:
                self.clear()
            pytest.skip("stage %s failed" % failed if failed is not None else "stage %d did not pass" % (number - 1))

    def run_stage(self, number, body, clean_up):
        """Run reboot stage number's body. When it fails, clean up at once (the later stages find
        "failed" and skip) and raise; when it passes, remember the stage for the next one."""
        try:
            body()
        except BaseException:
            try:
                clean_up()
            finally:
                self.clear()
                self.save("failed", number)
            raise
        self.save("stage", number)


def _module_name(request):
    return os.path.splitext(os.path.basename(str(request.node.fspath)))[0]


@pytest.fixture
def persist(request):
    """The test module's own directory under /var/lib/poolcraft-scenarios/ (kept across reboots;
    the last stage calls persist.clear())."""
    return Persist(os.path.join(PERSIST_ROOT, _module_name(request)))


@pytest.fixture
def persistent_store(persist, request):
    """config_dir under persist (survives a reboot), runtime_dir under /run (does not)."""
    return {"config_dir": persist.file("etc"), "runtime_dir": os.path.join(RUNTIME_ROOT, _module_name(request))}


def active_units():
    """The services and sockets systemd has active now."""
    out = run("systemctl", "list-units", "--type=service,socket", "--state=active", "--plain", "--no-legend", "--no-pager")
    return set(line.split()[0] for line in out.splitlines() if line.strip())


class Units(object):
    def __init__(self):
        self.started = []
        self.watched = None

    def start(self, name, also=()):
        """systemctl start name; at the end of the test, name and `also` (its socket ...) are stopped."""
        self.started.append((name, tuple(also)))
        run("systemctl", "start", name)

    def watch(self):
        """Note the active services and sockets now: those a script of the test starts after this
        (its own `systemctl start`, and what they pull in) are stopped at the end too."""
        self.watched = active_units()

    def stop_all(self):
        for name, also in reversed(self.started):
            subprocess.run(["systemctl", "stop", name] + list(also), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        self.started = []
        if self.watched is not None:
            new = sorted(active_units() - self.watched)
            if new:
                subprocess.run(["systemctl", "stop"] + new, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            self.watched = None


@pytest.fixture
def units():
    """units.start(name, also=()), units.watch(): what the test starts is stopped at its end."""
    started = Units()
    try:
        yield started
    finally:
        started.stop_all()


REPORT_KEY = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def vm_report(request):
    """Lines for the end of the run's output (figures a test measured)."""
    return request.config.stash.setdefault(REPORT_KEY, [])


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(REPORT_KEY, [])
    if lines:
        terminalreporter.section("measured in the guest")
        for line in lines:
            terminalreporter.write_line(line)
