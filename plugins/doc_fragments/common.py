# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  config_dir:
    description:
      - Directory of the persistent pool definitions, one libvirt-format XML file per pool.
      - Autostart is marked as libvirt marks it, by a symlink in its C(autostart/) subdirectory.
      - Set it for a whole play with C(module_defaults) and the C(group/poolcraft.storage.storage) action group.
    type: path
    default: /etc/poolcraft/storage
  runtime_dir:
    description:
      - Directory of the live state of started pools and of transient pool definitions.
      - It should be on a filesystem that is emptied at boot (such as C(/run)), so pools read as stopped
        after a reboot unless they autostart.
    type: path
    default: /run/poolcraft/storage
requirements:
  - lxml (Python library) on the managed host
notes:
  - Definitions are written atomically and under a lock, so several plays may manage pools on one host at once.
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Reports the actions it would take and changes nothing.
  diff_mode:
    support: full
    description: Returns the state before and after.
  action_group:
    support: full
    membership:
      - poolcraft.storage.storage
    description: Use C(group/poolcraft.storage.storage) in C(module_defaults) to set options such as O(config_dir) for a whole play.
"""

    # modules that only read: storage_device_facts, pool_sources
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Reads only; check mode returns the same results.
  diff_mode:
    support: none
    description: Changes nothing, so there is no difference to show.
"""
