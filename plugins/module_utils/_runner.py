# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way to run a command: argv lists only, no shell, LC_ALL=C."""

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

    def run(self, argv, data=None, env=None, check=True, timeout=None):
        """Run argv; return (rc, stdout, stderr). Raise CommandError on failure when check.

        timeout (seconds): a deadline for calls that can wait on a network or a cluster.
        When it passes, the command and every process of its group are killed and reaped,
        and CommandTimeout is raised."""
        if isinstance(argv, (str, bytes)) or not argv:
            raise TypeError("Runner.run takes a non-empty argv list, never a shell string")
        argv = [str(arg) for arg in argv]
        if any("\0" in arg for arg in argv):
            # execve() cannot pass it, and subprocess would raise a bare ValueError
            raise StorageError("%s: an argument holds a NUL byte" % " ".join(arg.replace("\0", "\\0") for arg in argv))
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
            raise TypeError("Runner.run timeout is a number of seconds above 0, not %r" % (timeout,))
        full_env = dict(os.environ, LC_ALL="C", LANG="C")
        full_env.update(env or {})
        proc = subprocess.Popen(
            [self.which(argv[0])] + argv[1:],
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, close_fds=True,
            # its own process group, so that a deadline kills what it started too
            start_new_session=timeout is not None)
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


class CommandTimeout(StorageError):
    """A command did not finish by its deadline; it was killed."""

    def __init__(self, argv, timeout):
        self.argv = list(argv)
        self.timeout = timeout
        super(CommandTimeout, self).__init__("%s did not finish within %s s and was killed" % (" ".join(self.argv), timeout))


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
