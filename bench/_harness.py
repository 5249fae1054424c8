# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmarks share: commands found in sbin too, a setup error that says what is
missing, SIGTERM/SIGHUP turned into an exception so every finally block cleans up, and the
collection importable from this checkout.

The benchmarks are run as scripts (`python bench/NAME.py`), so this directory is the first
entry of sys.path and `import _harness` finds this file.
"""

from __future__ import absolute_import, division, print_function

import os
import shutil
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBIN_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin")


class SetupError(Exception):
    """The benchmark cannot run here; the message says why (exit status 2)."""


class Terminated(BaseException):
    """Raised from the SIGTERM/SIGHUP handler so the finally blocks clean up."""


# what ends a benchmark early without a traceback; main() returns stopped(exc) for them
STOPPED = (SetupError, Terminated, KeyboardInterrupt)


def _on_signal(signum, _frame):
    raise Terminated("signal %d" % signum)


def stopped(exc, name="bench"):
    """The exit status of a benchmark that exc (one of STOPPED, or a setup failure of a fixture)
    stopped, once said on stderr: 143 for SIGTERM/SIGHUP, 130 for ^C, 2 for a setup failure."""
    if isinstance(exc, Terminated):
        print("%s: stopped by %s; cleaning up" % (name, exc), file=sys.stderr)
        return 143
    if isinstance(exc, KeyboardInterrupt):
        print("%s: interrupted; cleaning up" % name, file=sys.stderr)
        return 130
    print("%s: setup failed: %s" % (name, exc), file=sys.stderr)
    return 2


def stop_on_signals():
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)


def which(name):
    """The command's path, looked up in PATH and then in the sbin directories."""
    path = shutil.which(name, path=os.pathsep.join(os.environ.get("PATH", "").split(os.pathsep) + list(SBIN_PATH)))
    if path is None:
        raise SetupError("%s not found: install it (see bench/README.md)" % name)
    return path


def run(argv, **kwargs):
    """Run argv, its output captured; a non-zero exit raises CalledProcessError."""
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True, **kwargs)


def link_collection(work):
    """A directory under work where `ansible_collections.poolcraft.storage` is this checkout."""
    top = os.path.join(work, "collections")
    parent = os.path.join(top, "ansible_collections", "poolcraft")
    os.makedirs(parent)
    os.symlink(ROOT, os.path.join(parent, "storage"))
    return top
