# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few errors the backends raise; modules turn them into fail_json in one place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


_MAX_VALUE_CHARS = 1000


class StorageError(Exception):
    """Anything that stops a task, with a one-line message for the user."""


class ValidationError(StorageError):
    """Bad input: raised before anything is changed."""

    def __init__(self, option, value, reason):
        self.option = option
        self.value = value
        shown = repr(value)
        if len(shown) > _MAX_VALUE_CHARS:  # a 100,000-digit size is not a 100 KB line
            shown = "%s... (%d characters)" % (shown[:_MAX_VALUE_CHARS], len(shown))
        super(ValidationError, self).__init__("%s=%s: %s" % (option, shown, reason))


class NotSupportedError(StorageError):
    """An operation the pool type does not have."""


class NotFoundError(StorageError):
    """A pool, volume or file that the task names does not exist."""


class CommandError(StorageError):
    """A command exited non-zero; the message names the command and its stderr."""

    def __init__(self, argv, rc, stdout, stderr):
        self.argv = list(argv)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        # All of stderr, on one line: tools often print the reason before a last warning.
        detail = "; ".join(line.strip() for line in (stderr or stdout or "").splitlines() if line.strip())
        if len(detail) > 1000:
            detail = detail[:1000] + "..."
        super(CommandError, self).__init__(
            "%s failed (rc=%s): %s" % (" ".join(self.argv), rc, detail or "no output"))
