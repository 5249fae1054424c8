# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's module_utils compiled once each, not twice, when AnsiballZ runs them from its zip.

On the managed host AnsiballZ imports every module from source in a zip file, and zipimport
(Python 3.11) compiles each one twice: once to tell the module's file name when it makes the
spec (zipimporter.get_filename), once more to run it. Compiling is most of what a no-op task
costs there. The finder below makes the spec of our own modules from the zip's entry directly,
so that each is compiled once, when it runs; it answers nothing outside a zip (unit tests,
the controller), and anything it does not know falls through to Python's own finders.

Every module imports this first, before any other module_utils of ours (AnsiballZ ships the
module_utils package's own __init__.py empty, so it cannot live there).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys
import zipimport
from importlib.machinery import PathFinder
from importlib.util import spec_from_file_location


class _ZipSpecFinder(object):
    """A meta path finder for our module_utils inside a zip."""

    prefix = __name__.rpartition(".")[0] + "."

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if not fullname.startswith(cls.prefix) or not path:
            return None
        for entry in path:
            importer = sys.path_importer_cache.get(entry)
            if importer is None and ".zip" in entry:
                try:
                    importer = sys.path_importer_cache[entry] = zipimport.zipimporter(entry)  # as PathFinder keeps it
                except (zipimport.ZipImportError, OSError):
                    continue
            if not isinstance(importer, zipimport.zipimporter):
                continue
            try:
                package = importer.is_package(fullname)  # reads the zip's index only
            except zipimport.ZipImportError:
                continue  # not in this entry
            location = "%s/%s%s%s" % (importer.archive, importer.prefix, fullname.rpartition(".")[2],
                                      "/__init__.py" if package else ".py")
            return spec_from_file_location(fullname, location, loader=importer,
                                           submodule_search_locations=[] if package else None)
        return None


def _install():
    """Just before Python's PathFinder (which would ask the zipimporter for the spec), once."""
    if any(getattr(finder, "__name__", None) == _ZipSpecFinder.__name__ for finder in sys.meta_path):
        return
    index = next((place for place, finder in enumerate(sys.meta_path) if finder is PathFinder), len(sys.meta_path))
    sys.meta_path.insert(index, _ZipSpecFinder)


_install()
