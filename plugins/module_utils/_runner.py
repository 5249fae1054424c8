# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way to run a command: argv lists only, no shell, LC_ALL=C; and the one way to run
Python code in a child process (call): as another user, or with a deadline that nothing it
waits on (a dead NFS server) can outlast."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import json
import os
import select
import signal
import subprocess
import time
import traceback

from ansible_collections.poolcraft.storage.plugins.module_utils import _errors
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError

# Tools live in sbin on some hosts and the module's PATH may not include it.
_EXTRA_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin")
# after a kill, how long the output of what is left is still read
_DRAIN_SECONDS = 2
# uid_t and gid_t are 32 bits and (uid_t)-1 means "no change": the ids a user may have
_MAX_ID = 2 ** 32 - 2
# a child's answer is plain data; more than this is not an answer of ours
_MAX_ANSWER = 64 * 1024 * 1024
# True in a child of call(): what it runs stays in its process group, which a deadline kills whole
_IN_CALL = [False]


class Runner(object):
    """Runs commands for the backends. Backends never see the AnsibleModule.

    Secrets go on stdin (``data``) or in ``env``, never in argv.
    """

    def __init__(self):
        self._paths = {}

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
        _check_timeout(timeout, "Runner.call")
        ids = None if as_user is None else _user_ids(as_user)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            _child(function, ids, read_fd, write_fd)  # never returns
        os.close(write_fd)
        if not _IN_CALL[0]:
            try:
                os.setpgid(pid, pid)  # also done by the child: a kill right after fork finds its group
            except OSError:
                pass
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            answer = _read_answer(read_fd, deadline)
            exited = answer is not None and _wait_exit(pid, deadline)
        except BaseException:
            _kill_child(pid)
            raise
        finally:
            os.close(read_fd)
        if not exited:
            _kill_child(pid)
            raise DeadlineExceeded("%s did not finish within %s s and was killed" % (what, timeout), timeout)
        return _result_of(answer)


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


# -- call(): the child's side ---------------------------------------------------------------------

def _child(function, ids, read_fd, write_fd):
    """In the forked child: become ids, run function, write the answer, exit at once (no cleanup
    handler of the parent's, such as AnsiballZ's removal of its directory, runs here)."""
    try:
        # no finaliser of the parent's objects may run here and close a descriptor reused meanwhile
        gc.disable()
        if not _IN_CALL[0]:
            os.setpgid(0, 0)  # a call within a call stays in the outer one's group
        _IN_CALL[0] = True
        os.close(read_fd)
        # our answer pipe only: no lock or file of the parent's is held here, and a child left
        # blocked does not hold the module's stdout open (Ansible would wait for it to close)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            if fd != write_fd:
                os.dup2(null, fd)
        _close_all_but(write_fd)
        if ids is not None:
            os.setgroups([])
            os.setgid(ids[1])
            os.setuid(ids[0])
        try:
            answer = {"result": function()}
        except BaseException as exc:  # pylint: disable=broad-except
            answer = {"error": _error_of(exc)}  # every failure is sent back, whatever it is
        try:
            data = json.dumps(answer).encode("utf-8")
        except (TypeError, ValueError) as exc:
            data = json.dumps({"error": _error_of(RuntimeError("the call's result is not plain data: %s" % exc))}).encode("utf-8")
        while data:
            data = data[os.write(write_fd, data):]
    finally:
        os._exit(0)


def _close_all_but(keep):
    """Close every descriptor from 3 up but keep (the open ones, as /proc lists them: a brute
    closerange to a high limit is slow)."""
    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(3, keep)
        os.closerange(keep + 1, 65536)
        return
    for fd in open_fds:
        if fd >= 3 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the descriptor listdir itself used


def _plain(value):
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _error_of(exc):
    """What the parent needs to raise exc again."""
    if isinstance(exc, StorageError):
        # a kind of its own elsewhere (a tool's) comes back as the nearest one we know
        kind = next(cls.__name__ for cls in type(exc).__mro__ if cls.__name__ in _error_classes())
        return {"kind": kind, "message": str(exc),
                "fields": dict((key, value) for key, value in vars(exc).items() if _plain(value))}
    if isinstance(exc, OSError) and exc.errno is not None:
        return {"kind": "OSError", "errno": exc.errno, "strerror": exc.strerror,
                "filename": exc.filename if _plain(exc.filename) else str(exc.filename)}
    return {"kind": "RuntimeError", "message": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).strip()}


# -- call(): the parent's side --------------------------------------------------------------------

def _read_answer(fd, deadline):
    """The child's answer (bytes) once it closes the pipe; None when the deadline passes first."""
    chunks, size = [], 0
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return None
        if not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > _MAX_ANSWER:
            raise StorageError("a call's child answered more than %d bytes" % _MAX_ANSWER)
        chunks.append(chunk)


def _wait_exit(pid, deadline):
    """Reap pid; False when it has not exited by the deadline (closing a file on a dead server
    blocks an exit too)."""
    try:
        if deadline is None:
            os.waitpid(pid, 0)
            return True
        while os.waitpid(pid, os.WNOHANG)[0] != pid:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True
    except ChildProcessError:
        return True  # reaped already (SIGCHLD ignored)


def _kill_child(pid):
    """Kill the child's group and reap it. A process blocked where no signal reaches it is left
    for init once we exit, rather than waited for."""
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except OSError:
            pass
    end = time.monotonic() + _DRAIN_SECONDS
    while time.monotonic() < end:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except OSError:
            return
        time.sleep(0.01)


def _error_classes():
    classes = [DeadlineExceeded, CommandTimeout] + [getattr(_errors, name) for name in dir(_errors)]
    return dict((cls.__name__, cls) for cls in classes if isinstance(cls, type) and issubclass(cls, StorageError))


def _result_of(answer):
    try:
        decoded = json.loads(answer.decode("utf-8"))
        error = decoded.get("error")
    except (ValueError, AttributeError):
        raise StorageError("a call's child gave no answer (it died, or was killed)")
    if error is None:
        return decoded.get("result")
    if error.get("kind") == "OSError":
        raise OSError(error["errno"], error["strerror"], *([error["filename"]] if error.get("filename") is not None else []))
    cls = _error_classes().get(error.get("kind"))
    if cls is None:
        raise RuntimeError("in a child process: %s" % error.get("message"))
    exc = cls.__new__(cls)
    Exception.__init__(exc, error.get("message"))
    exc.__dict__.update(error.get("fields") or {})
    raise exc


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
