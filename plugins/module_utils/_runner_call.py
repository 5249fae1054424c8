# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner.call's machinery: a function run in a forked child, its answer read back with a
deadline. Apart from _runner because most tasks never call (every module a task imports is
compiled from source on the managed host, on every run)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import json
import os
import select
import signal
import time
import traceback

from ansible_collections.poolcraft.storage.plugins.module_utils import _errors
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import (
    _DRAIN_SECONDS, _IN_CALL, CommandTimeout, DeadlineExceeded, _check_timeout, _user_ids)

# a child's answer is plain data; more than this is not an answer of ours
_MAX_ANSWER = 64 * 1024 * 1024


def call(function, timeout=None, as_user=None, what="a call"):
    """Runner.call (which says what it does)."""
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
