# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time how long the controller takes to build one module's AnsiballZ payload, cold.

    python _payload.py COLLECTIONS MODULE PYTHON

Run in a fresh interpreter (as the first task of every play builds it: the cache is per
ansible-playbook run), it resolves MODULE with the collection from COLLECTIONS only and
builds its payload through ansible's own modify_module, which walks the module's imports
and parses every module_utils file they reach. Prints one JSON line: seconds, bytes.

Uses ansible-core's executor directly: if that moves between versions, it says so and exits 3.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys
import time


def main():
    collections, module, python = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    try:
        import ansible  # noqa: F401 pylint: disable=unused-import
    except ImportError:
        print(json.dumps({"error": "%s has no ansible-core" % sys.executable}))
        return 3
    try:
        from ansible.executor.module_common import modify_module
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins.loader import init_plugin_loader, module_loader
        from ansible.template import Templar
    except ImportError as exc:
        print(json.dumps({"error": "ansible-core's executor moved: %s" % exc}))
        return 3
    init_plugin_loader([collections])
    found = module_loader.find_plugin_with_context(module)
    if not found.resolved:
        print(json.dumps({"error": "%s not found under %s" % (module, collections)}))
        return 3
    start = time.perf_counter()
    try:
        built = modify_module(module_name=module, module_path=os.path.abspath(found.plugin_resolved_path), module_args={},
                              templar=Templar(loader=DataLoader()), task_vars={"ansible_python_interpreter": python},
                              module_compression="ZIP_DEFLATED")
    except Exception as exc:  # pylint: disable=broad-except  # any change of the private API is reported, not raised
        print(json.dumps({"error": "building %s's payload failed: %s" % (module, exc)}))
        return 3
    seconds = time.perf_counter() - start
    data = getattr(built, "b_module_data", None) or built[0]  # a _BuiltModule from 2.19, a tuple before
    print(json.dumps({"seconds": seconds, "bytes": len(data)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
