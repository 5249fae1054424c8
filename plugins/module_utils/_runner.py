# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way to run a command: argv lists only, no shell, LC_ALL=C; and the one way to run
Python code in a child process (call): as another user, or with a deadline that nothing it
waits on (a dead NFS server) can outlast."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError

# Tools live in sbin on some hosts and the module's PATH may not include it.
_EXTRA_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin")
# after a kill, how long the output of what is left is still read
_DRAIN_SECONDS = 2
# uid_t and gid_t are 32 bits and (uid_t)-1 means "no change": the ids a user may have
_MAX_ID = 2 ** 32 - 2
# True in a child of call(): what it runs stays in its process group, which a deadline kills whole
_IN_CALL = [False]


class Runner(object):
    """Runs commands for the backends. Backends never see the AnsibleModule.

    Secrets go on stdin (``data``) or in ``env``, never in argv.
    """

    def __init__(self):
        self._paths = {}
        # read(): outputs kept until the next run(), which may change what they report
        self._reads = {}

    def which(self, name):
        """Resolve a binary once per run; raise a clear error when missing."""
        if name not in self._paths:
            self._paths[name] = self._lookup(name)
        if self._paths[name] is None:
            raise StorageError("required command %r was not found on the managed host" % name)
        return self._paths[name]

    def has(self, name):
        if name not in self._paths:
            self._paths[name] = self._lookup(name)
        return self._paths[name] is not None

    @staticmethod
    def _lookup(name):
        dirs = os.environ.get("PATH", "").split(os.pathsep) + list(_EXTRA_PATH)
        for directory in dirs:
            candidate = os.path.join(directory, name)
            if directory and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        return None

    def run(self, argv, data=None, env=None, check=True, timeout=None, as_user=None):
        """Run argv; return (rc, stdout, stderr). Raise CommandError on failure when check.

        timeout (seconds): a deadline for calls that can wait on a network or a cluster.
        When it passes, the command and every process of its group are killed and reaped,
        and CommandTimeout is raised.

        as_user=(uid, gid): the command runs as that user and group, with no supplementary
        groups (on an NFS export that squashes root, files are made as their owner)."""
        if isinstance(argv, (str, bytes)) or not argv:
            raise TypeError("Runner.run takes a non-empty argv list, never a shell string")
        argv = [str(arg) for arg in argv]
        if any("\0" in arg for arg in argv):
            # execve() cannot pass it, and subprocess would raise a bare ValueError
            raise StorageError("%s: an argument holds a NUL byte" % " ".join(arg.replace("\0", "\\0") for arg in argv))
        _check_timeout(timeout, "Runner.run")
        self._reads.clear()
        ids = {}
        if as_user is not None:
            uid, gid = _user_ids(as_user)
            ids = {"user": uid, "group": gid, "extra_groups": []}
        full_env = dict(os.environ, LC_ALL="C", LANG="C")
        full_env.update(env or {})
        proc = subprocess.Popen(
            [self.which(argv[0])] + argv[1:],
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, close_fds=True,
            # its own process group, so that a deadline kills what it started too (in a child of
            # call(), the call's group, which the call's deadline kills)
            start_new_session=timeout is not None and not _IN_CALL[0], **ids)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        try:
            stdout, stderr = proc.communicate(payload, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise CommandTimeout(argv, timeout)
        stdout = stdout.decode("utf-8", "replace")
        stderr = stderr.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            raise CommandError(argv, proc.returncode, stdout, stderr)
        return proc.returncode, stdout, stderr

    def read(self, argv):
        """(rc, stdout, stderr) of a command that only reports (lvm vgs, wipefs --no-act ...), run
        once until the next run() or forget(): a task reads the same report several times while it
        plans, and under emulation each LVM command takes a third of a second. A failure is never
        kept."""
        key = tuple(str(arg) for arg in argv)  # a string or an empty argv: run() refuses it below
        if key not in self._reads:
            # run() forgets what was read; this read changes nothing, so the rest is kept
            reads, self._reads = self._reads, {}
            try:
                result = self.run(argv)
            finally:
                self._reads = reads
            reads[key] = result
        return self._reads[key]

    def forget(self):
        """Read everything again from now on: before each action, whose checks must see the host
        as it is when it acts, not as it was when the task planned."""
        self._reads.clear()

    def call(self, function, timeout=None, as_user=None, what="a call"):
        """function() run in a forked child of this process, and its result, which must be plain
        JSON data (lists, dicts, strings, numbers, None). What function raises is raised here:
        StorageError and its kinds as themselves (message and fields), OSError with its errno
        (PermissionError, FileNotFoundError ...), anything else as RuntimeError with the child's
        traceback.

        as_user=(uid, gid): the child runs as that user and group, with no supplementary groups,
        and so does every command it runs.

        timeout (seconds): when it passes before the child has answered and exited, the child's
        process group is killed and DeadlineExceeded ("<what> did not finish within ...") raised.
        The child holds none of our files but its answer pipe, and is alone in its process group:
        whatever it is blocked on (a dead NFS server) can neither block us nor hold our locks.
        Without timeout, the call waits as long as function takes."""
        # its machinery is imported here: most tasks never call, and every module costs on the managed host
        from ansible_collections.poolcraft.storage.plugins.module_utils._runner_call import call

        return call(function, timeout, as_user, what)


class DeadlineExceeded(StorageError):
    """Work (a command, a call in a child) did not finish by its deadline; it was killed."""

    def __init__(self, message, timeout):
        self.timeout = timeout
        super(DeadlineExceeded, self).__init__(message)


class CommandTimeout(DeadlineExceeded):
    """A command did not finish by its deadline; it was killed."""

    def __init__(self, argv, timeout):
        self.argv = list(argv)
        super(CommandTimeout, self).__init__("%s did not finish within %s s and was killed" % (" ".join(self.argv), timeout),
                                             timeout)


def _check_timeout(timeout, caller):
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
        raise TypeError("%s timeout is a number of seconds above 0, not %r" % (caller, timeout))


def _user_ids(as_user):
    """as_user as (uid, gid), two ids a process may take; anything else is a programming error."""
    try:
        uid, gid = as_user
    except (TypeError, ValueError):
        raise TypeError("as_user is (uid, gid), not %r" % (as_user,))
    for value in (uid, gid):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
            raise TypeError("as_user is (uid, gid) with ids from 0 to %d, not %r" % (_MAX_ID, as_user))
    return uid, gid


def _kill_group(proc):
    """Kill proc and its process group, and reap it. A grandchild that left the group and
    holds the pipes open must not keep us waiting: the pipes are closed after a short drain."""
    for kill in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            kill()
        except OSError:
            pass
    try:
        proc.communicate(timeout=_DRAIN_SECONDS)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    proc.wait()
