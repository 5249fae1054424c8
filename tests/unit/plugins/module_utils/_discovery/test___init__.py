# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_discovery: the registry of discoveries, each imported when a task first asks for its type."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import DISCOVERY, SOURCE_TYPES, discovery_class, discovery_for
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError


def test_registry_is_alphabetical_and_the_types_follow_it():
    assert list(DISCOVERY) == sorted(DISCOVERY)
    assert SOURCE_TYPES == tuple(DISCOVERY) == ("disk", "fs", "logical")


@pytest.mark.parametrize("pool_type", sorted(DISCOVERY))
def test_every_registered_discovery_loads(pool_type, quiet_runner):
    assert issubclass(discovery_class(pool_type), Discovery)
    assert discovery_for(pool_type, quiet_runner).runner is quiet_runner


@pytest.mark.parametrize("pool_type", ["iscsi", "LOGICAL", "", None, ["fs"]])
def test_an_unknown_type_is_one_line_naming_the_known_ones(pool_type, quiet_runner):
    with pytest.raises(ValidationError) as caught:
        discovery_for(pool_type, quiet_runner)
    assert str(caught.value) == "type=%r: no discovery for this pool type; known: disk, fs, logical" % (pool_type,)
    assert caught.value.option == "type"


def test_the_payload_has_every_discovery():
    """AnsiballZ packs what import statements name, not what importlib imports."""
    with open(_discovery.__file__) as handle:
        tree = ast.parse(handle.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == _discovery.__name__:
            imported.update(alias.name for alias in node.names)
    assert imported == set(module_name for module_name, _class in DISCOVERY.values())


def test_only_the_asked_for_discovery_is_imported():
    code = ("import json, sys\n"
            "from ansible_collections.poolcraft.storage.plugins.module_utils import _sources, _discovery\n"
            "before = sorted(name for name in sys.modules if name.startswith(_discovery.__name__ + '.'))\n"
            "_discovery.discovery_class('logical')\n"
            "after = sorted(name for name in sys.modules if name.startswith(_discovery.__name__ + '.'))\n"
            "tools = sorted(name for name in sys.modules if '._tools.' in name)\n"
            "print(json.dumps([before, after, tools]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    before, after, tools = json.loads(proc.stdout)
    prefix = _discovery.__name__ + "."
    assert before == [prefix + "_base"]
    assert after == [prefix + "_base", prefix + "_logical"]
    tools = [name.rsplit(".", 1)[-1] for name in tools]
    assert "_lvm_report" in tools and "_parted" not in tools and "_filesystems" not in tools, tools
