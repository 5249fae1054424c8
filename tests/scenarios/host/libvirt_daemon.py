# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A libvirtd of the test's own, to compare with: an unprivileged session daemon run as another
user, with every directory it uses (config, runtime, cache, socket) under the test's scratch
directory, so it neither sees nor touches the host's system libvirt. It is stopped by its PID when
the with block ends, even on failure; its --timeout is a backstop only (an idle daemon exits by
itself should the test process be killed first).

    with libvirt_daemon.session(scratch) as daemon:
        daemon.virsh("pool-list", "--all", "--name")
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import pwd
import signal
import subprocess
import time

TIMEOUT = 60.0  # seconds to wait for the daemon's socket, and for the daemon to exit


class SessionDaemon(object):
    def __init__(self, scratch, user):
        account = pwd.getpwnam(user)
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.home = os.path.join(scratch, "daemon")
        self.socket = os.path.join(self.home, "run", "libvirt", "libvirt-sock")
        self.pidfile = os.path.join(self.home, "run", "libvirtd.pid")
        self.log = os.path.join(self.home, "libvirtd.log")
        self.env = dict(
            os.environ, HOME=os.path.join(self.home, "home"), XDG_CONFIG_HOME=os.path.join(self.home, "config"),
            XDG_CACHE_HOME=os.path.join(self.home, "cache"), XDG_DATA_HOME=os.path.join(self.home, "data"),
            XDG_RUNTIME_DIR=os.path.join(self.home, "run"), LIBVIRT_LOG_OUTPUTS="3:file:%s" % self.log)
        # virsh runs as root, with a home of its own, on the daemon's socket
        client = os.path.join(scratch, "virsh")
        self.virsh_env = dict(
            os.environ, HOME=client, XDG_CONFIG_HOME=os.path.join(client, "config"),
            XDG_CACHE_HOME=os.path.join(client, "cache"), XDG_RUNTIME_DIR=os.path.join(client, "run"))
        self.uri = "qemu+unix:///session?socket=%s" % self.socket
        self.proc = None
        self.stop_problems = []

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        daemon_dirs = [self.env[key] for key in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR")]
        for path in [self.home] + daemon_dirs:
            os.makedirs(path, mode=0o700, exist_ok=True)
            os.chmod(path, 0o700)
            os.chown(path, self.uid, self.gid)
        for key in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
            os.makedirs(self.virsh_env[key], mode=0o700, exist_ok=True)
        with open(os.path.join(self.home, "stderr"), "wb") as stderr:
            self.proc = subprocess.Popen(
                ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid, "--clear-groups",
                 "libvirtd", "--pid-file=%s" % self.pidfile, "--timeout=900"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=self.env, start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(self.socket):
            assert self.proc.poll() is None, "libvirtd exited (rc %s): %s" % (self.proc.returncode, self._logs())
            assert time.monotonic() < deadline, "no socket of libvirtd after %d s: %s" % (TIMEOUT, self._logs())
            time.sleep(0.02)

    def _logs(self):
        text = []
        for name in (os.path.join(self.home, "stderr"), self.log):
            if os.path.exists(name):
                with open(name) as handle:
                    text.append(handle.read()[-4000:])
        return "\n".join(text)

    def comm(self):
        """What runs under the daemon's PID (None once it is gone)."""
        try:
            with open("/proc/%d/comm" % self.pid) as handle:
                return handle.read().strip()
        except (IOError, OSError):
            return None

    def virsh(self, *argv, **kwargs):
        """virsh on the daemon's socket: (rc, stdout, stderr); fails on rc != 0 unless check=False."""
        proc = subprocess.run(["virsh", "--quiet", "--connect", self.uri] + list(argv), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, env=self.virsh_env, check=False,
                              input=kwargs.get("input"))
        if kwargs.get("check", True):
            assert proc.returncode == 0, "virsh %s: rc %d: %s" % (" ".join(argv), proc.returncode, proc.stderr.strip())
        return proc

    def stop(self):
        """SIGTERM to the daemon's PID (only while it is still the libvirtd this started), then wait
        for it to exit; what went wrong is left in stop_problems."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.comm() != "libvirtd":
            self.stop_problems.append("PID %d runs %r, not libvirtd" % (self.pid, self.comm()))
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop_problems.append("libvirtd (PID %d) did not exit within %d s of SIGTERM" % (self.pid, TIMEOUT))
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def session(scratch, user="nobody"):
    """A running session libvirtd as user (it must exist; it needs no home or shell)."""
    daemon = SessionDaemon(scratch, user)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
