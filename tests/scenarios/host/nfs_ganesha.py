# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An NFS server of the test's own on 127.0.0.1: nfs-ganesha (userspace, VFS backend) exporting
the test's directories to the clients it names, registered with rpcbind, so that showmount,
nfs-ls and qemu's nfs:// driver can ask it (the host kernel has no NFS server or client).

rpcbind (port 111) and an NFS server (port 2049) are singletons of the host: every user of this
fixture holds one lock for as long as its server runs, rpcbind is started only when none
answers, and only what was started here is stopped, by its PID. Ganesha's configuration, log,
PID file and NFSv4 recovery directory are under the test's scratch directory; the log is in
every failure message about the server.

    with nfs_ganesha.server(scratch, [Export("/srv/a", ["127.0.0.1"]), Export("/srv/b")]) as nfs:
        nfs.host                 # "127.0.0.1"
        with nfs.frozen():       # SIGSTOP: a server that accepts and never answers
            ...
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time

from system import stop_pid

HOST = "127.0.0.1"
NFS_PORT = 2049
RPCBIND_PORT = 111
# host-wide, shared with every other user of this fixture (other checkouts of the project too)
LOCK = "/run/lock/poolcraft-nfs-server.lock"
LOCK_WAIT = 600.0  # seconds to wait for another test's server to go
READY_WAIT = 30.0  # seconds for rpcbind and ganesha to answer
ASK_TIMEOUT = 5  # seconds of one rpcinfo or showmount of the fixture's own


class Export(object):
    """One export: a directory, the clients it is open to (None: everyone) and their access."""

    def __init__(self, path, clients=None, access="RW", squash="root_squash"):
        self.path = path
        self.clients = clients
        self.access = access
        self.squash = squash

    def block(self, export_id):
        lines = ["EXPORT {", "    Export_Id = %d;" % export_id, "    Path = %s;" % _quoted(self.path),
                 "    Pseudo = %s;" % _quoted("/poolcraft/%d" % export_id), "    Protocols = 3, 4;",
                 "    Squash = %s;" % self.squash, "    FSAL { Name = VFS; }"]
        if self.clients is None:
            lines.append("    Access_Type = %s;" % self.access)
        else:
            lines += ["    Access_Type = None;",
                      "    CLIENT { Clients = %s; Access_Type = %s; }" % (", ".join(self.clients), self.access)]
        return "\n".join(lines + ["}"])


def _quoted(text):
    if '"' in text or "\n" in text:
        raise ValueError("ganesha's configuration cannot hold %r" % text)
    return '"%s"' % text


def config(home, exports):
    """ganesha.conf: NFSv3 (the MOUNT protocol showmount asks) and v4 on 127.0.0.1 only, no lock
    manager or quota service (less to register with rpcbind), no grace period, its NFSv4
    recovery records under home."""
    core = "\n".join([
        "NFS_CORE_PARAM {", "    Bind_Addr = %s;" % HOST, "    NFS_Port = %d;" % NFS_PORT, "    Protocols = 3, 4;",
        "    Enable_NLM = false;", "    Enable_RQUOTA = false;", "}",
        "NFSV4 {", "    Graceless = true;", "    RecoveryBackend = fs;",
        "    RecoveryRoot = %s;" % _quoted(os.path.join(home, "recovery")), "}",
    ])
    return "\n".join([core] + [export.block(number) for number, export in enumerate(exports, 1)]) + "\n"


def _asks(argv):
    """Whether argv answers (rc 0) within ASK_TIMEOUT seconds; its output."""
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=ASK_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return False, "no answer within %d s" % ASK_TIMEOUT
    return proc.returncode == 0, proc.stdout


def rpcbind_answers():
    return _asks(["rpcinfo", "-p", HOST])[0]


def _port_taken(port):
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        return probe.connect_ex((HOST, port)) == 0
    finally:
        probe.close()


def _tail(path, size=4000):
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - size))
            return handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return "(no log at %s)" % path


@contextlib.contextmanager
def _host_lock():
    """The fixture's host-wide lock, waited for at most LOCK_WAIT seconds."""
    handle = open(LOCK, "a")
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError):
                if time.monotonic() > deadline:
                    raise AssertionError("another test's NFS server held %s for %d s" % (LOCK, LOCK_WAIT))
                time.sleep(0.2)
        yield
    finally:
        handle.close()  # closing it releases the lock


class Server(object):
    """A running ganesha: its PID, log, and what rpcbind it uses."""

    def __init__(self, home, exports):
        self.home = home
        self.exports = exports
        self.host = HOST
        self.conf = os.path.join(home, "ganesha.conf")
        self.log = os.path.join(home, "ganesha.log")
        self.pidfile = os.path.join(home, "ganesha.pid")
        self.proc = None
        self.rpcbind = None  # the rpcbind this fixture started, if it had to

    def start(self):
        os.makedirs(os.path.join(self.home, "recovery"), mode=0o700, exist_ok=True)
        with open(self.conf, "w") as handle:
            handle.write(config(self.home, self.exports))
        if not rpcbind_answers():
            self.rpcbind = subprocess.Popen(["rpcbind", "-f", "-w"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
            self._wait(rpcbind_answers, "rpcbind (PID %d)" % self.rpcbind.pid, self.rpcbind)
        assert not _port_taken(NFS_PORT), "port %d on %s is taken: another NFS server runs" % (NFS_PORT, HOST)
        with open(os.path.join(self.home, "ganesha.stderr"), "wb") as stderr:
            self.proc = subprocess.Popen(
                ["ganesha.nfsd", "-F", "-f", self.conf, "-p", self.pidfile, "-L", self.log, "-N", "NIV_EVENT"],
                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True)
        self._wait(self._exports_listed, "ganesha (PID %d)" % self.proc.pid, self.proc)

    def _exports_listed(self):
        ok, out = _asks(["showmount", "--no-headers", "--exports", HOST])
        return ok and all(export.path in out for export in self.exports)

    def _wait(self, ready, what, proc):
        deadline = time.monotonic() + READY_WAIT
        while not ready():
            assert proc.poll() is None, "%s exited (rc %s); ganesha's log: %s" % (what, proc.returncode, _tail(self.log))
            assert time.monotonic() < deadline, "%s did not answer within %d s; ganesha's log: %s" % (
                what, READY_WAIT, _tail(self.log))
            time.sleep(0.1)

    @contextlib.contextmanager
    def frozen(self):
        """The server stopped (SIGSTOP) but not gone: its sockets accept and nothing answers, as a
        hung server's do. It runs again (SIGCONT) when the block ends."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)

    def problems(self):
        """What ganesha's log says went wrong (its CRIT lines that are not about the missing DBus or Kerberos)."""
        harmless = ("DBUS", "krb5", "credentials for principal", "keytab")
        return [line for line in _tail(self.log, 200000).splitlines()
                if ":CRIT :" in line and not any(word in line for word in harmless)]

    def stop(self):
        """ganesha, then rpcbind if it was started here, each by its PID (SIGCONT first: a frozen
        process does not act on SIGTERM)."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGCONT)
                stop_pid(self.proc.pid)
                self.proc.wait()
        finally:
            if self.rpcbind is not None and self.rpcbind.poll() is None:
                stop_pid(self.rpcbind.pid)
                self.rpcbind.wait()


@contextlib.contextmanager
def server(scratch, exports):
    """A running ganesha exporting exports (Export objects) on 127.0.0.1, for the block's length."""
    for export in exports:
        assert os.path.isdir(export.path), "an export must be a directory: %s" % export.path
    with _host_lock():
        nfs = Server(os.path.join(scratch, "ganesha"), exports)
        try:
            nfs.start()
            yield nfs
        finally:
            nfs.stop()
