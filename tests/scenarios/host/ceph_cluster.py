# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A one-node Ceph cluster of the test run's own: 1 mon, 1 mgr and 1 OSD (BlueStore on a sparse
file), cephx on, everything (configuration, keyrings, data, logs, sockets) under one scratch
directory and listening on 127.0.0.1 only, on ports chosen free when it starts, so that two runs
(two checkouts, two helpers) coexist. Nothing is read from or written to /etc/ceph.

Its daemons run in the foreground as children of the test process, each in a session of its own,
and are stopped by their PIDs (the OSD first) whatever happens; a daemon that is already gone, or
a zombie, counts as stopped.

    with ceph_cluster.cluster(scratch) as ceph:
        ceph.mon_port              # the monitor's msgr2 port on 127.0.0.1
        key = ceph.add_user("client.t1")
        ceph.create_pool("t1")     # a replicated pool initialised for rbd
        ceph.rbd("ls", "t1")       # the admin's rbd, as JSON

cluster(..., osd=False, mgr=False) is a monitor alone: it answers and authenticates, but nothing
that needs an OSD (reading or writing a pool) ever completes, as in a cluster whose OSDs are down.

The memory settings keep the cluster small (the machine has 2 cores and other tests run).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

HOST = "127.0.0.1"
# the commands the cluster needs, and the Debian package of each
COMMANDS = (("ceph-mon", "ceph-mon"), ("ceph-osd", "ceph-osd"), ("ceph-mgr", "ceph-mgr"), ("ceph", "ceph-common"),
            ("rbd", "ceph-common"), ("ceph-authtool", "ceph-common"), ("monmaptool", "ceph-common"))
READY_WAIT = 120.0   # seconds for the daemons to come up (a loaded machine, an OSD mkfs)
CALL_TIMEOUT = 60    # seconds for one admin command: nothing of ours may hang
STOP_WAIT = 20.0     # seconds a daemon has to exit after SIGTERM
# rbd commands that print an answer (--format json), and those that print progress (--no-progress)
_RBD_READS = ("ls", "info", "du", "status", "children", "namespace ls", "snap ls", "trash ls", "pool stats")
_RBD_PROGRESS = ("rm", "resize", "flatten", "import", "export", "bench")


def missing_packages():
    """The Debian packages whose commands are missing, in order, each named once."""
    missing = []
    for command, package in COMMANDS:
        if shutil.which(command) is None and package not in missing:
            missing.append(package)
    return missing


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]
    finally:
        probe.close()


def closed_port():
    """A port on 127.0.0.1 that refuses connections (chosen free, nothing started on it)."""
    return free_port()


class CephError(AssertionError):
    """A command of the fixture's own failed: the test cannot go on."""


class Cluster(object):

    def __init__(self, home, osd=True, mgr=True, name="ceph"):
        self.home = home
        self.with_osd = osd
        self.with_mgr = mgr
        self.cluster_name = name
        self.fsid = str(uuid.uuid4())
        self.mon_port = None
        self.conf = os.path.join(home, "ceph.conf")
        self.admin_keyring = os.path.join(home, "%s.client.admin.keyring" % name)
        self.procs = {}   # daemon name ("mon.a", "mgr.x", "osd.0") -> Popen
        self.osd_id = None

    # -- the configuration -------------------------------------------------------------------

    @property
    def mon_host(self):
        return "[v2:%s:%d]" % (HOST, self.mon_port)

    def conf_text(self):
        home = self.home
        lines = [
            "[global]",
            "fsid = %s" % self.fsid,
            "mon_initial_members = a",
            "mon_host = %s" % self.mon_host,
            "public_addr = %s" % HOST,
            "cluster_addr = %s" % HOST,
            "ms_bind_ipv6 = false",
            "ms_bind_msgr1 = false",
            "auth_cluster_required = cephx",
            "auth_service_required = cephx",
            "auth_client_required = cephx",
            "auth_allow_insecure_global_id_reclaim = false",
            "run_dir = %s/run" % home,
            "admin_socket = %s/run/$cluster-$name.asok" % home,
            "pid_file = %s/run/$name.pid" % home,
            "log_file = %s/log/$name.log" % home,
            "mon_cluster_log_file = %s/log/$cluster.log" % home,
            "mon_data = %s/mon/$cluster-$id" % home,
            "osd_data = %s/osd/$cluster-$id" % home,
            "mgr_data = %s/mgr/$cluster-$id" % home,
            "crash_dir = %s/crash" % home,
            "osd_pool_default_size = 1",
            "osd_pool_default_min_size = 1",
            "osd_pool_default_pg_num = 8",
            "osd_pool_default_pgp_num = 8",
            "osd_pool_default_pg_autoscale_mode = off",
            "osd_crush_chooseleaf_type = 0",
            "mon_allow_pool_size_one = true",
            "mon_allow_pool_delete = true",
            "mon_warn_on_pool_no_redundancy = false",
            "mon_max_pg_per_osd = 1000",
            "mon_data_avail_warn = 2",
            "mon_data_avail_crit = 1",
            # the optional mgr modules (restful, iostat, nfs) off: half the mgr's memory
            "mgr_initial_modules = ",
            "osd_memory_target = 939524096",
            "bluestore_cache_autotune = false",
            "bluestore_cache_size = 134217728",
            "osd_op_num_shards = 1",
            "ms_async_op_threads = 1",
            "[client]",
            # a global keyring line breaks the mon and the OSD: the clients' only
            "keyring = %s/$cluster.$name.keyring" % home,
            "[osd]",
            "osd_objectstore = bluestore",
            "bluestore_block_create = true",
            "bluestore_block_size = 10737418240",
            "",
        ]
        return "\n".join(lines)

    # -- commands of the fixture's own ---------------------------------------------------------

    def _run(self, argv, data=None, timeout=CALL_TIMEOUT, check=True):
        try:
            proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CephError("%s did not finish within %s s; %s" % (" ".join(argv), timeout, self.logs()))
        if check and proc.returncode != 0:
            raise CephError("%s failed (rc %d): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))
        return proc

    def ceph(self, *argv, **kwargs):
        """The admin's ceph command; its JSON answer (None when it prints nothing)."""
        out = self._run(["ceph", "--conf", self.conf, "--connect-timeout", "30", "--format", "json"] + list(argv),
                        data=kwargs.get("data"), timeout=kwargs.get("timeout", CALL_TIMEOUT)).stdout
        return json.loads(out) if out.strip() else None

    def rbd(self, *argv, **kwargs):
        """The admin's rbd command: the JSON answer of a command that reads (ls, info, ...), the
        output of one that changes something (create, rm, ...; progress never shown)."""
        reads = argv[0] in _RBD_READS or " ".join(argv[:2]) in _RBD_READS
        extra = ["--format", "json"] if reads else (["--no-progress"] if argv[0] in _RBD_PROGRESS else [])
        proc = self._run(["rbd", "--conf", self.conf] + list(argv) + extra,
                         timeout=kwargs.get("timeout", CALL_TIMEOUT), check=kwargs.get("check", True))
        if not kwargs.get("check", True) or not reads:
            return proc
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def env(self):
        """The environment for a tool of the test's (qemu-img, qemu-io) to reach the cluster as admin."""
        return dict(os.environ, CEPH_CONF=self.conf)

    # -- users and pools ------------------------------------------------------------------------

    def add_user(self, entity, caps=("mon", "allow *", "osd", "allow *", "mgr", "allow r")):
        """A new cephx user (entity "client.NAME") with a key of its own; the key."""
        answer = self.ceph("auth", "get-or-create", entity, *caps)
        return answer[0]["key"]

    def remove_user(self, entity):
        self.ceph("auth", "rm", entity)

    def create_pool(self, name, rbd=True):
        self.ceph("osd", "pool", "create", name, "8", "8", "replicated")
        if rbd:
            self.rbd("pool", "init", name)

    def delete_pool(self, name):
        self.ceph("osd", "pool", "rm", name, name, "--yes-i-really-really-mean-it")

    def pools(self):
        """The pools' names (rados lspools: quicker than the ceph command, which is Python)."""
        return sorted(self._run(["rados", "--conf", self.conf, "lspools"]).stdout.split())

    def images(self, pool, namespace=None):
        """rbd ls -l of the pool: each image and each snapshot with its size and parent."""
        spec = pool + ("/" + namespace if namespace else "")
        return self.rbd("ls", "--long", spec)

    def fingerprint(self, pool, namespace=None):
        """What a task may change in the cluster: the pools, the pool's namespaces and its images
        (sizes, parents, snapshots, protection)."""
        pools = self.pools()
        if pool not in pools:
            return {"pools": pools}
        namespaces = sorted(entry["name"] for entry in self.rbd("namespace", "ls", pool) or [])
        found = {"pools": pools, "namespaces": namespaces}
        if namespace is None or namespace in namespaces:
            found["images"] = sorted(json.dumps(image, sort_keys=True) for image in self.images(pool, namespace) or [])
        return found

    # -- starting and stopping -----------------------------------------------------------------

    def start(self):
        for sub in ("run", "log", "crash", "mon", "osd", "mgr"):
            os.makedirs(os.path.join(self.home, sub), mode=0o700, exist_ok=True)
        self._bootstrap_mon()
        if self.with_mgr:
            self._start_mgr()
        if self.with_osd:
            self._start_osd()
        self._wait_ready()

    def _bootstrap_mon(self):
        """Keyrings, a monmap, the mon's store, the mon; tried again on another port should the
        chosen one have been taken in between (another run chose it too)."""
        mon_keyring = os.path.join(self.home, "mon.keyring")
        self._run(["ceph-authtool", "--create-keyring", mon_keyring, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"])
        self._run(["ceph-authtool", "--create-keyring", self.admin_keyring, "--gen-key", "-n", "client.admin",
                   "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mgr", "allow *", "--cap", "mds", "allow *"])
        self._run(["ceph-authtool", mon_keyring, "--import-keyring", self.admin_keyring])
        for _attempt in range(5):
            self.mon_port = free_port()
            with open(self.conf, "w") as handle:
                handle.write(self.conf_text())
            monmap = os.path.join(self.home, "monmap")
            self._run(["monmaptool", "--create", "--clobber", "--fsid", self.fsid, "--addv", "a", self.mon_host, monmap])
            mon_data = os.path.join(self.home, "mon", "%s-a" % self.cluster_name)
            shutil.rmtree(mon_data, ignore_errors=True)
            self._run(["ceph-mon", "--conf", self.conf, "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", mon_keyring])
            self._spawn("mon.a", ["ceph-mon", "--conf", self.conf, "-f", "-i", "a"])
            if self._answers():
                return
            self._stop_daemon("mon.a")
        raise CephError("the monitor did not come up on a free port; %s" % self.logs())

    def _answers(self):
        """Whether the mon answers, waiting while it still runs."""
        deadline = time.monotonic() + READY_WAIT
        while time.monotonic() < deadline:
            if self.procs["mon.a"].poll() is not None:
                return False
            proc = self._run(["ceph", "--conf", self.conf, "--connect-timeout", "5", "mon", "stat"], timeout=30, check=False)
            if proc.returncode == 0:
                return True
            time.sleep(0.2)
        return False

    def _start_mgr(self):
        # devicehealth would create a pool of its own and scrape devices that are not there
        self.ceph("config", "set", "mgr", "mgr/devicehealth/enable_monitoring", "false", "--force")
        mgr_dir = os.path.join(self.home, "mgr", "%s-x" % self.cluster_name)
        os.makedirs(mgr_dir, mode=0o700, exist_ok=True)
        self._run(["ceph", "--conf", self.conf, "auth", "get-or-create", "mgr.x", "mon", "allow profile mgr", "osd", "allow *",
                   "mds", "allow *", "-o", os.path.join(mgr_dir, "keyring")])
        self._spawn("mgr.x", ["ceph-mgr", "--conf", self.conf, "-f", "-i", "x"])

    def _start_osd(self):
        key = self._run(["ceph-authtool", "--gen-print-key"]).stdout.strip()
        osd_uuid = str(uuid.uuid4())
        self.osd_id = int(self._run(["ceph", "--conf", self.conf, "osd", "new", osd_uuid, "-i", "-"],
                                    data=json.dumps({"cephx_secret": key})).stdout.strip())
        osd_dir = os.path.join(self.home, "osd", "%s-%d" % (self.cluster_name, self.osd_id))
        os.makedirs(osd_dir, mode=0o700, exist_ok=True)
        self._run(["ceph-authtool", "--create-keyring", os.path.join(osd_dir, "keyring"), "--name", "osd.%d" % self.osd_id,
                   "--add-key", key])
        self._run(["ceph-osd", "--conf", self.conf, "-i", str(self.osd_id), "--mkfs", "--osd-uuid", osd_uuid,
                   "--osd-objectstore", "bluestore"], timeout=READY_WAIT)
        self._spawn("osd.%d" % self.osd_id, ["ceph-osd", "--conf", self.conf, "-f", "-i", str(self.osd_id)])

    def _spawn(self, daemon, argv):
        with open(os.path.join(self.home, "log", "%s.stderr" % daemon), "ab") as stderr:
            self.procs[daemon] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                                                  start_new_session=True)

    def _wait_ready(self):
        deadline = time.monotonic() + READY_WAIT
        while True:
            for daemon, proc in self.procs.items():
                if proc.poll() is not None:
                    raise CephError("%s exited (rc %s) while starting; %s" % (daemon, proc.returncode, self.logs()))
            if self._ready():
                return
            if time.monotonic() > deadline:
                raise CephError("the cluster was not ready within %d s; %s" % (READY_WAIT, self.logs()))
            time.sleep(0.5)

    def _ready(self):
        try:
            if self.with_osd and self.ceph("osd", "stat", timeout=30).get("num_up_osds") != 1:
                return False
            if self.with_mgr and not self.ceph("mgr", "stat", timeout=30).get("available"):
                return False
        except CephError:
            return False
        return True

    def stop(self):
        """Every daemon by its PID, the OSD first, then the mgr and the mon; the first failure to
        stop is raised once all were tried."""
        order = sorted(self.procs, key=lambda daemon: ("osd", "mgr", "mon").index(daemon.split(".")[0]))
        problems = []
        for daemon in order:
            problem = self._stop_daemon(daemon)
            if problem:
                problems.append(problem)
        if problems:
            raise CephError("; ".join(problems))

    def stop_daemon(self, daemon):
        """Stop one daemon ("osd.0", "mon.a"), as a failure would."""
        problem = self._stop_daemon(daemon)
        if problem:
            raise CephError(problem)

    def _stop_daemon(self, daemon):
        proc = self.procs.pop(daemon, None)
        if proc is None or proc.poll() is not None:
            return None
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_WAIT)
            return None
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return "%s (PID %d) did not exit within %d s of SIGTERM and was killed" % (daemon, proc.pid, STOP_WAIT)

    def logs(self, size=3000):
        """The end of each daemon's log, for a failure message."""
        parts = []
        log_dir = os.path.join(self.home, "log")
        for name in sorted(os.listdir(log_dir)) if os.path.isdir(log_dir) else []:
            with open(os.path.join(log_dir, name), "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - size))
                parts.append("--- %s:\n%s" % (name, handle.read().decode("utf-8", "replace")))
        return "logs:\n" + "\n".join(parts)


@contextlib.contextmanager
def cluster(home, osd=True, mgr=True):
    """A running cluster under home (made here) for the block's length; its daemons stopped after."""
    missing = missing_packages()
    if missing:
        raise CephError("the Ceph test cluster needs the Debian packages %s (scripts/install-deps installs them)"
                        % " ".join(missing))
    os.makedirs(home, mode=0o700, exist_ok=True)
    ceph = Cluster(home, osd=osd, mgr=mgr)
    try:
        ceph.start()
        yield ceph
    finally:
        ceph.stop()


# -- the key: where it may and may not be ---------------------------------------------------------

class KeyAudit(object):
    """Watches every command the modules' Runner runs while installed (Runner.run wrapped): the key
    must not be in its argv or environment; a command given CEPH_CONF must find a private
    directory (0700) holding the conf and the keyring (0600 each), gone once the command is done.
    check(result) asserts the key is nowhere in a module's result (diff and invocation included);
    check_files(root) that no file under root holding the key is readable by others."""

    def __init__(self, key, runner_class):
        self.key = key
        self.runner_class = runner_class
        self.commands = []      # argv of every command run
        self.homes = []         # the private directories the commands were given
        self.problems = []
        self._original = runner_class.run

    def install(self, monkeypatch):
        audit, original = self, self._original

        def run(runner, argv, *args, **kwargs):
            audit._before(list(argv), kwargs.get("env") or {})
            return original(runner, argv, *args, **kwargs)
        monkeypatch.setattr(self.runner_class, "run", run)
        return self

    def _before(self, argv, env):
        self.commands.append(argv)
        if any(self.key in str(arg) for arg in argv):
            self.problems.append("the key is in the argv of %s" % argv[0])
        if any(self.key in str(value) for value in env.values()):
            self.problems.append("the key is in the environment of %s" % argv[0])
        conf = env.get("CEPH_CONF")
        if conf:
            home = os.path.dirname(conf)
            self.homes.append(home)
            for path, mode in ((home, 0o700), (conf, 0o600), (os.path.join(home, "keyring"), 0o600)):
                if os.path.exists(path) and os.stat(path).st_mode & 0o777 != mode:
                    self.problems.append("%s has mode %o, not %o" % (path, os.stat(path).st_mode & 0o777, mode))
            with open(conf) as handle:
                if self.key in handle.read():
                    self.problems.append("the key is in the conf file, not only in the keyring")

    def check(self, *results):
        for result in results:
            assert self.key not in json.dumps(result), "the key is in a result: %r" % (dict(result),)
        left = sorted(set(home for home in self.homes if os.path.exists(home)))
        assert not left, "private directories left behind: %r" % left
        assert not self.problems, "; ".join(sorted(set(self.problems)))

    def check_files(self, *roots):
        for root in roots:
            for directory, _dirs, files in os.walk(root):
                for name in files:
                    path = os.path.join(directory, name)
                    try:
                        with open(path, "rb") as handle:
                            holds = self.key.encode("ascii") in handle.read()
                    except (IOError, OSError):
                        continue
                    if holds:
                        mode = os.stat(path).st_mode & 0o777
                        assert mode & 0o077 == 0, "%s holds the key and has mode %o" % (path, mode)


# -- a monitor that never answers ------------------------------------------------------------------

class SilentMonitor(object):
    """A port that accepts connections and never answers (a hung monitor)."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((HOST, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]

    def stop(self):
        self.listener.close()
