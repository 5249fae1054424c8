# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery: what every kind of pool source discovery has, and the `devices` option."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import dataclass

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev


@dataclass(frozen=True)
class Chosen:
    """One entry of the `devices` option, resolved."""
    given: str       # as the task wrote it
    name: str        # kernel name (loop3, sda1)
    maj_min: str


def resolve_devices(devices):
    """The `devices` option as Chosen entries (repeats of one device dropped), or None when
    not given. A path that is not a block device is an error naming it."""
    if devices is None:
        return None
    chosen = []
    for given in devices:
        path = _blockdev.resolve(given, option="devices")
        entry = Chosen(given, _blockdev.kernel_name(path), "%d:%d" % _blockdev.device_number(path))
        if entry.name not in [seen.name for seen in chosen]:
            chosen.append(entry)
    return chosen


class Discovery(object):
    """A kind of pool source discovery (libvirt's findPoolSources of one backend).

    find() returns the sources as dicts; xml_parts() says what of one source goes into
    libvirt's <source> element. Discoveries never change anything on the host.
    """

    def __init__(self, runner):
        self.runner = runner

    def find(self, chosen):
        """Sources as dicts; chosen is resolve_devices() of the `devices` option."""
        raise NotImplementedError

    @staticmethod
    def xml_parts(source):
        """(device paths, name or None, format or None) of the source's <source> element."""
        raise NotImplementedError
