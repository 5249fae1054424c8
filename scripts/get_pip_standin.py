# -*- coding: utf-8 -*-
# Copyright: contributors to poolcraft.storage
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test creates one virtual environment per sanity test (always, with or
without --requirements), without pip, and bootstraps pip into it by running a
cached copy of get-pip.py from ~/.ansible/test/cache/get_pip_<X_Y>.py. It
downloads that file from a host that is not reachable from our machines, so
scripts/install-deps copies this file to that cache path instead.

It is run as ``python <this file> [pip install options] pip==X.Y
[--no-setuptools] [--no-wheel]`` by the virtual environment's own python.
It bootstraps pip with the standard library's ensurepip (offline), then lets
that pip install the requested packages, from the package index.
"""

from __future__ import annotations

import subprocess
import sys

MARKER = 'poolcraft-get-pip-standin'

# options that only the real get-pip.py understands
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def run_quietly(cmd):
    """Run a command, showing its output only when it fails."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout.decode('utf-8', 'replace'))
        raise SystemExit(proc.returncode)


def main():
    """Bootstrap pip with ensurepip, then pip install the given arguments."""
    args = list(sys.argv[1:])
    pip_args = [arg for arg in args if arg not in GET_PIP_ONLY]
    python = sys.executable

    run_quietly([python, '-m', 'ensurepip', '--default-pip'])

    # ensurepip of Python < 3.12 also installs setuptools; get-pip does not when told not to
    remove = [name for option, name in (('--no-setuptools', 'setuptools'), ('--no-wheel', 'wheel')) if option in args]
    if remove:
        run_quietly([python, '-m', 'pip', 'uninstall', '--yes', '--disable-pip-version-check'] + remove)

    if any(not arg.startswith('-') for arg in pip_args):
        run_quietly([python, '-m', 'pip', 'install', '--disable-pip-version-check'] + pip_args)


if __name__ == '__main__':
    main()
