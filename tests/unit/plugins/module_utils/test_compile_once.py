# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_compile_once against zipimport's own finder, on a zip laid out as AnsiballZ lays out ours:
the same spec, one compile instead of two, and nothing answered outside a zip."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import builtins
import importlib.util
import sys
import zipfile
import zipimport

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _compile_once

PACKAGE = "ansible_collections.poolcraft.storage.plugins.module_utils"
INSIDE = PACKAGE.replace(".", "/")


@pytest.fixture
def payload(tmp_path, monkeypatch):
    """A zip with a module and a package with a module of its own under our module_utils; the path
    entries of the two packages inside it."""
    archive = tmp_path / "ansible_probe_payload.zip"
    with zipfile.ZipFile(str(archive), "w") as handle:
        handle.writestr(INSIDE + "/_probe.py", "ANSWER = 42\n")
        handle.writestr(INSIDE + "/_probe_pkg/__init__.py", "KIND = 'package'\n")
        handle.writestr(INSIDE + "/_probe_pkg/_leaf.py", "KIND = 'leaf'\n")
    monkeypatch.setattr(sys, "path_importer_cache", dict(sys.path_importer_cache))
    return "%s/%s" % (archive, INSIDE), "%s/%s/_probe_pkg" % (archive, INSIDE)


def compiles(monkeypatch):
    counted = []
    real = builtins.compile

    def counting(source, filename, *args, **kwargs):
        counted.append(filename)
        return real(source, filename, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counting)
    return counted


@pytest.mark.parametrize("name, entry_index, package", [
    ("_probe", 0, False),
    ("_probe_pkg", 0, True),
    ("_probe_pkg._leaf", 1, False),
])
def test_the_spec_zipimport_makes_with_one_compile(payload, monkeypatch, name, entry_index, package):
    fullname = "%s.%s" % (PACKAGE, name)
    entry = payload[entry_index]
    counted = compiles(monkeypatch)
    theirs = zipimport.zipimporter(entry).find_spec(fullname)
    assert len(counted) == 1  # zipimport compiled it to name its file: the double compile we avoid
    del counted[:]
    ours = _compile_once._ZipSpecFinder.find_spec(fullname, [entry])
    assert counted == []
    assert (ours.name, ours.origin, ours.cached, ours.has_location, ours.parent) == \
        (theirs.name, theirs.origin, theirs.cached, theirs.has_location, theirs.parent)
    assert ours.submodule_search_locations == theirs.submodule_search_locations
    assert isinstance(ours.loader, zipimport.zipimporter) and (ours.submodule_search_locations is not None) == package
    module = importlib.util.module_from_spec(ours)
    ours.loader.exec_module(module)
    assert len(counted) == 1 and module.__file__ == theirs.origin
    assert getattr(module, "ANSWER", None) == 42 or module.KIND in ("package", "leaf")


@pytest.mark.parametrize("fullname, path", [
    (PACKAGE + "._absent", None),  # a top-level import: not ours to answer
    ("json", ["/somewhere.zip/x"]),  # not our package
])
def test_answers_nothing_it_does_not_know(payload, fullname, path):
    assert _compile_once._ZipSpecFinder.find_spec(fullname, path) is None


def test_answers_nothing_outside_a_zip_or_for_what_the_zip_lacks(payload, tmp_path):
    assert _compile_once._ZipSpecFinder.find_spec(PACKAGE + "._probe", [str(tmp_path)]) is None
    assert _compile_once._ZipSpecFinder.find_spec(PACKAGE + "._absent", [payload[0]]) is None
    assert _compile_once._ZipSpecFinder.find_spec(PACKAGE + "._probe", [str(tmp_path / "missing.zip" / "x")]) is None


def test_installed_once_before_the_path_finder(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", [finder for finder in sys.meta_path if finder is not _compile_once._ZipSpecFinder])
    _compile_once._install()
    _compile_once._install()
    assert sys.meta_path.count(_compile_once._ZipSpecFinder) == 1
    position = sys.meta_path.index(_compile_once._ZipSpecFinder)
    assert sys.meta_path[position + 1] is importlib.machinery.PathFinder
