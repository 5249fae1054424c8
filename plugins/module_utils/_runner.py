# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way to run a command: argv lists only, no shell, LC_ALL=C."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError

# Tools live in sbin on some hosts and the module's PATH may not include it.
_EXTRA_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin")


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

    def run(self, argv, data=None, env=None, check=True):
        """Run argv; return (rc, stdout, stderr). Raise CommandError on failure when check."""
        if isinstance(argv, (str, bytes)) or not argv:
            raise TypeError("Runner.run takes a non-empty argv list, never a shell string")
        argv = [str(arg) for arg in argv]
        full_env = dict(os.environ, LC_ALL="C", LANG="C")
        full_env.update(env or {})
        proc = subprocess.Popen(
            [self.which(argv[0])] + argv[1:],
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, close_fds=True)
        stdout, stderr = proc.communicate(data.encode("utf-8") if isinstance(data, str) else data)
        stdout = stdout.decode("utf-8", "replace")
        stderr = stderr.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            raise CommandError(argv, proc.returncode, stdout, stderr)
        return proc.returncode, stdout, stderr
