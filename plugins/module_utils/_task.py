# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module's task shares, without lxml (the facts module runs without it):
the options common to all, and the one place where an error becomes fail_json.

A module builds its spec with argument_spec() and ends with exit_with(module, work):
work is a callable returning the result dict (with `changed`); whatever it raises
as a StorageError or an OSError is reported as a failure in one line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._store import DEFAULT_CONFIG_DIR, DEFAULT_RUNTIME_DIR

COMMON_ARGS = {
    "config_dir": {"type": "path", "default": DEFAULT_CONFIG_DIR},
    "runtime_dir": {"type": "path", "default": DEFAULT_RUNTIME_DIR},
}


class MissingLibrary(StorageError):
    """A Python library the task needs is not installed on the managed host."""

    def __init__(self, library, traceback_text):
        super(MissingLibrary, self).__init__("missing Python library %s" % library)
        self.library = library
        self.traceback = traceback_text


def require_library(library, import_error):
    """Raise MissingLibrary when import_error (the traceback of a failed import) is set."""
    if import_error is not None:
        raise MissingLibrary(library, import_error)


def argument_spec(**specific):
    spec = dict(COMMON_ARGS)
    spec.update(specific)
    return spec


def exit_with(module, work):
    """Run work() and exit with the dict it returns; fail in one line on what it raises."""
    try:
        result = work()
    except MissingLibrary as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.traceback)
    except StorageError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: %s" % (getattr(exc, "filename", None) or "I/O error", exc.strerror or exc))
    else:
        module.exit_json(**result)
