# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An iSCSI target of the test's own: tgtd on 127.0.0.1, on a free port, with a control port of its
own (`-C N`), so that two test runs (or two helpers) never meet. It holds no test of its own.

    with tgt_target.daemon(os.path.join(scratch, "tgt")) as tgt:
        target = tgt.add_target("iqn.2026-01.test.poolcraft:one", [64 * MIB, 32 * MIB],
                                chap=("alice", "secret-1"), mutual=("target", "secret-2"))
        tgt.host, tgt.port, tgt.portal          # "127.0.0.1", 40123, "127.0.0.1:40123"
        target.iqn, target.tid                  # the IQN, tgtd's target id
        target.luns                             # [Lun(number=1, path=..., size=...), Lun(2, ...)]
        tgt.nexuses(target)                     # initiators logged in to it now (0 after every tool)
        tgt.fingerprint()                       # the LUNs' bytes and every session, for converge()

or, in a test file, the fixture (as fs_pool_host's is taken):

    import tgt_target
    tgt = tgt_target.tgt                        # tgt() -> a started TgtDaemon in scratch/tgt-N

- add_target(iqn, sizes, chap=None, mutual=None, initiators=("ALL",)): a target whose LUNs 1, 2, ...
  are sparse backing files of the given sizes (bytes) in the daemon's directory. tgtd adds LUN 0
  itself: a controller, not a disk. chap=(user, secret) is the account the initiator must log in
  with (incoming); mutual=(user, secret) the account the target answers with (outgoing, mutual
  CHAP). tgtd's accounts belong to the daemon: a user given again must come with the same secret,
  and serves both targets. initiators: the initiator IQNs (or addresses) allowed; ALL allows any.
- add_lun(target, size): one more LUN on a target; its Lun.
- tgtadm(*argv): tgtadm on this daemon's control port; its stdout (fails the test on rc != 0).
- free_port(): a TCP port of 127.0.0.1 that nothing listens on (a closed portal, for refusals).

Stopping (when the with block ends, even on failure): tgtd ignores SIGTERM, so every target is
deleted (--force), then `tgtadm --op delete --mode system`, then the daemon is waited for by its PID,
and SIGKILLed by that PID if it is still there after STOP_SECONDS. Its control socket and lock file
(named by its control port, under /var/run/tgtd) are removed after it.

The account secrets reach tgtd through tgtadm's argv: that is the target's set-up, a process of the
test, never a command of the module under test. tgtd's own log is `tgtd.log` in its directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import hashlib
import os
import random
import signal
import socket
import subprocess
import time

import pytest

HOST = "127.0.0.1"
MIB = 1 << 20
IPC_DIR = "/var/run/tgtd"
START_SECONDS = 20.0
STOP_SECONDS = 10.0
COMMAND_SECONDS = 30.0
ATTEMPTS = 8

Lun = collections.namedtuple("Lun", "number path size")


class Target(object):
    def __init__(self, tid, iqn):
        self.tid = tid
        self.iqn = iqn
        self.luns = []

    def __repr__(self):
        return "Target(%d, %r, %r)" % (self.tid, self.iqn, self.luns)


def free_port():
    """A port of HOST that nothing listens on now (the kernel's pick of a free ephemeral one)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _listening(port):
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(2)
        return sock.connect_ex((HOST, port)) == 0


class TgtDaemon(object):
    def __init__(self, workdir):
        self.dir = workdir
        self.log = os.path.join(workdir, "tgtd.log")
        self.host = HOST
        self.port = None
        self.control_port = None
        self.proc = None
        self.targets = []
        self.accounts = {}
        self._next_tid = 1

    @property
    def portal(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def pid(self):
        return self.proc.pid

    # -- start and stop -------------------------------------------------------------------------

    def start(self):
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        problems = []
        for _attempt in range(ATTEMPTS):
            # tgtd's control port is a C short; the socket under IPC_DIR is named by it
            control, port = random.randint(10000, 32000), free_port()
            problem = self._try_start(control, port)
            if problem is None:
                return
            problems.append(problem)
        pytest.fail("tgtd did not start in %d attempts: %s" % (ATTEMPTS, " | ".join(problems)))

    def _try_start(self, control, port):
        """None once tgtd serves the control port and the portal; else why not (it is stopped)."""
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(["tgtd", "-f", "-C", str(control), "--iscsi", "portal=%s:%d" % (HOST, port)],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        self.proc, self.control_port, self.port = proc, control, port
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                # another tgtd holds the control port's lock: leave its files alone
                self.proc = None
                return "rc %d: %s" % (proc.returncode, self._log_tail())
            if self._tgtadm("--op", "show", "--mode", "system").returncode == 0:
                break
            if time.monotonic() > deadline:
                self._stop_daemon()
                return "no answer on control port %d within %d s" % (control, START_SECONDS)
            time.sleep(0.02)
        # tgtd keeps running when it cannot bind the portal; it has tried by the time it answers
        if "failed to create/bind to portal" in self._log_tail() or not _listening(port):
            self._stop_daemon()
            return "portal %s:%d not bound: %s" % (HOST, port, self._log_tail())
        return None

    def stop(self):
        """Every target deleted, the system deleted, then the PID waited for (SIGKILL after
        STOP_SECONDS); the control socket and its lock removed. Raises what went wrong."""
        if self.proc is None:
            return
        problems = []
        for target in self.targets:
            done = self._tgtadm("--lld", "iscsi", "--op", "delete", "--force", "--mode", "target", "--tid", target.tid)
            if done.returncode != 0:
                problems.append("delete target %d: %s" % (target.tid, done.stderr.strip()))
        self.targets = []
        problems.extend(self._stop_daemon())
        assert not problems, "stopping tgtd (PID %d): %s" % (self.pid, "; ".join(problems))

    def _stop_daemon(self):
        problems = []
        done = self._tgtadm("--op", "delete", "--mode", "system")
        if done.returncode != 0:
            problems.append("delete system: %s" % (done.stderr.strip() or done.stdout.strip()))
        try:
            self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            problems.append("tgtd did not exit within %d s; killed" % STOP_SECONDS)
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        for suffix in ("", ".lock"):
            path = "%s/socket.%d%s" % (IPC_DIR, self.control_port, suffix)
            if os.path.lexists(path):
                os.unlink(path)
        return problems

    def _log_tail(self):
        try:
            with open(self.log, "rb") as handle:
                return handle.read()[-2000:].decode("utf-8", "replace").strip().replace("\n", " / ")
        except (IOError, OSError):
            return ""

    # -- tgtadm ---------------------------------------------------------------------------------

    def _tgtadm(self, *argv):
        return subprocess.run(["tgtadm", "-C", str(self.control_port)] + [str(arg) for arg in argv],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=COMMAND_SECONDS, check=False)

    def tgtadm(self, *argv):
        """tgtadm on this daemon; its stdout. Fails the test on rc != 0."""
        done = self._tgtadm(*argv)
        if done.returncode != 0:
            shown = " ".join(str(arg) for arg in argv if arg)
            pytest.fail("tgtadm %s: rc %d: %s" % (shown, done.returncode, done.stderr.strip()))
        return done.stdout

    # -- targets --------------------------------------------------------------------------------

    def add_target(self, iqn, sizes, chap=None, mutual=None, initiators=("ALL",)):
        target = Target(self._next_tid, iqn)
        self._next_tid += 1
        self.tgtadm("--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", target.tid, "-T", iqn)
        self.targets.append(target)
        for size in sizes:
            self.add_lun(target, size)
        for initiator in initiators:
            self.tgtadm("--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", target.tid, "-I", initiator)
        for account, outgoing in ((chap, False), (mutual, True)):
            if account is not None:
                self._account(*account)
                self.tgtadm("--lld", "iscsi", "--op", "bind", "--mode", "account", "--tid", target.tid,
                            "--user", account[0], *(["--outgoing"] if outgoing else []))
        return target

    def _account(self, user, secret):
        """tgtd's accounts are the daemon's, not a target's: one made once serves every target."""
        if user in self.accounts:
            assert self.accounts[user] == secret, "tgtd account %r exists with another secret" % user
            return
        done = self._tgtadm("--lld", "iscsi", "--op", "new", "--mode", "account", "--user", user, "--password", secret)
        if done.returncode != 0:  # the message leaves the secret out
            pytest.fail("tgtadm: making account %r: rc %d: %s" % (user, done.returncode, done.stderr.strip()))
        self.accounts[user] = secret

    def add_lun(self, target, size):
        number = len(target.luns) + 1
        path = os.path.join(self.dir, "lun-%d-%d.img" % (target.tid, number))
        with open(path, "wb") as handle:
            handle.truncate(size)
        self.tgtadm("--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", target.tid,
                    "--lun", number, "-b", path)
        lun = Lun(number, path, size)
        target.luns.append(lun)
        return lun

    def nexuses(self, target):
        """How many initiator sessions (I_T nexuses) the target has now."""
        text = self.tgtadm("--lld", "iscsi", "--op", "show", "--mode", "target")
        count, current = 0, None
        for line in text.splitlines():
            if line.startswith("Target "):
                current = int(line.split()[1].rstrip(":"))
            elif line.strip().startswith("I_T nexus:") and current == target.tid:
                count += 1
        return count

    def fingerprint(self):
        """What a test's initiator may change on this target: the bytes of every LUN (sha256 of each
        backing file) and the sessions logged in (none between tasks)."""
        digests = {}
        for target in self.targets:
            for lun in target.luns:
                digests["%s/%d" % (target.iqn, lun.number)] = _sha256(lun.path)
        return {"luns": digests, "sessions": dict((target.iqn, self.nexuses(target)) for target in self.targets)}


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def daemon(workdir):
    """A started TgtDaemon with its files in workdir; stopped by its PID at the end."""
    running = TgtDaemon(workdir)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def tgt(scratch):
    """tgt() -> a started TgtDaemon of the test's own (each call another, in scratch/tgt-N);
    every one stopped at the end of the test, even when it fails."""
    with contextlib.ExitStack() as stack:
        started = []

        def make():
            started.append(stack.enter_context(daemon(os.path.join(scratch, "tgt-%d" % (len(started) + 1)))))
            return started[-1]
        yield make
