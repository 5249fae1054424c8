# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mount -t nfs and umount of NFS exports, each with a deadline.

A dead server makes mount.nfs retry for minutes and umount wait as long as the server is away
(a hard mount): every command here is killed, with its process group, when its deadline passes,
and the failure then names the server that did not answer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import DeadlineExceeded

# The protocol versions a netfs pool may ask for, as vers= takes them.
VERSIONS = ("3", "4", "4.1", "4.2")
# mount options that say the version themselves; with protocol_version given they must agree
VERSION_OPTIONS = ("vers", "nfsvers")


def export_source(host, directory):
    """host:dir as mount.nfs takes it; an IPv6 address in brackets."""
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "%s:%s" % (host, directory)


def mount_options(version, options):
    """The -o list: vers= first when a version is asked for, then the task's options in order."""
    return (["vers=%s" % version] if version else []) + list(options)


def option_versions(options):
    """The versions the options themselves ask for (vers=4.2, nfsvers=3), in order."""
    found = []
    for option in options:
        key, _sep, value = option.partition("=")
        if key in VERSION_OPTIONS:
            found.append(value)
    return found


def not_answering(host, timeout, doing):
    """The error of a call on host's export that missed its deadline, in one line naming the server."""
    return DeadlineExceeded("NFS server %s did not answer within %s s (%s)" % (host, timeout, doing), timeout)


class Nfs(object):
    """The NFS client commands for the export dir of host; every call ends by timeout seconds."""

    def __init__(self, runner, host, timeout):
        self.runner = runner
        self.host = host
        self.timeout = timeout

    def _run(self, argv, doing):
        try:
            return self.runner.run(argv, timeout=self.timeout)
        except DeadlineExceeded:
            raise not_answering(self.host, self.timeout, doing)

    def mount(self, directory, target, version=None, options=()):
        source = export_source(self.host, directory)
        opts = mount_options(version, options)
        argv = ["mount", "-t", "nfs"] + (["-o", ",".join(opts)] if opts else []) + [source, target]
        self._run(argv, "mounting %s on %s" % (source, target))

    def umount(self, target, lazy=False):
        """Unmount target; lazy: detach it now, while files in it are still open (umount -l).
        -c: umount must not stat target to canonicalise it, which blocks on a dead server."""
        argv = ["umount", "-c"] + (["-l"] if lazy else []) + [target]
        try:
            self._run(argv, "unmounting %s" % target)
        except CommandError as exc:
            if "busy" in exc.stderr:
                raise StorageError("%s is busy: a volume or file in it is open; close it before stopping the pool, "
                                   "or stop with force: true (a lazy unmount)" % target)
            raise
