#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pool_sources
short_description: Find what could back a storage pool, as libvirt's find-storage-pool-sources does
version_added: 0.3.0
description:
  - Discovers the sources a pool of type O(type) could be made from on the managed host, and returns
    them as a list (RV(sources)) and as libvirt's C(<sources>) XML (RV(xml)).
  - V(logical) - volume groups with their physical volumes, from one C(lvm fullreport); the same
    VGs, devices and XML as C(virsh find-storage-pool-sources logical). Physical volumes in no VG are
    not sources, as in libvirt.
  - V(disk) - whole block devices (never partitions), each with the signatures it carries, its
    partition table as RV(sources[].format) (V(gpt), V(dos)...), and whether and how it is in use.
  - V(fs) - whole block devices and partitions, each with its signatures, its filesystem as
    RV(sources[].format), and its uses. A device carrying a partition table is left out (its
    partitions are listed instead).
  - Block devices come from sysfs; the signatures of all of them come from one C(wipefs --no-act)
    run (it never writes). Devices with no medium (size 0, such as detached loop devices) and
    devices the kernel hides are left out.
  - V(netfs) - the exports of the NFS server O(source.host), each with the clients it is open to, from
    C(showmount -e) (the server's mountd, found through its rpcbind); the same exports and XML as
    C(virsh find-storage-pool-sources-as netfs HOST).
  - V(iscsi) and V(iscsi-direct) - the targets the iSCSI portal O(source.host):O(source.port) offers
    (SendTargets discovery), each with the portals it can be reached on. Asked with libiscsi's C(iscsi-ls)
    where it is installed (a discovery session of its own - no daemon, no kernel module, nothing written),
    else with open-iscsi's C(iscsiadm -m discovery -o nonpersistent), which writes no node or discovery
    record. V(iscsi-direct) asks with C(iscsi-ls) as the initiator O(source.initiator), as libvirt does.
  - A server that does not answer within O(timeout) seconds (down, or a firewall dropping the packets)
    fails the task in one line naming it; so does one that refuses or answers with an error.
  - Never changes anything on the host, nor on the servers it asks.
author:
  - poolcraft.storage developers (@poolcraft)
extends_documentation_fragment:
  - poolcraft.storage.common.read_only
options:
  type:
    description:
      - The pool type to find sources for.
    type: str
    required: true
    choices: [disk, fs, iscsi, iscsi-direct, logical, netfs]
  devices:
    description:
      - Restricts the search to these block devices, given as absolute paths (links such as
        C(/dev/disk/by-id/...) are followed). On hosts with many devices this also keeps the probe short.
      - For V(disk), each must be a whole device (a partition is an error).
      - For V(fs), a whole device brings its partitions along.
      - For V(logical), only the VGs with a physical volume among them are returned.
      - A path that is not a block device, or a device with no medium, is an error naming it.
      - Only for V(disk), V(fs) and V(logical).
    type: list
    elements: path
  source:
    description:
      - The server to ask, for V(netfs), V(iscsi) and V(iscsi-direct) (required for them, refused for the others).
    type: dict
    suboptions:
      host:
        description:
          - The NFS server (V(netfs)) or the iSCSI portal's host (V(iscsi), V(iscsi-direct)) - a DNS name, an IPv4
            address or an IPv6 address (bare, or in brackets). No port, scheme or path in it.
        type: str
        required: true
      port:
        description:
          - The iSCSI portal's TCP port, 1 to 65535; V(3260) when left out.
          - Not for V(netfs) - showmount finds the server's mountd through its rpcbind (port 111).
        type: int
      initiator:
        description:
          - The initiator IQN to ask as. A target may offer only the targets this initiator may log in to.
          - Required for V(iscsi-direct) (the name the pool will log in with, as libvirt requires); optional for
            V(iscsi), where it needs C(iscsi-ls) (C(iscsiadm) asks as the host's own initiator name).
          - Not for V(netfs).
        type: str
  timeout:
    description:
      - Seconds the server has to answer, 1 to 600 (V(netfs), V(iscsi), V(iscsi-direct)); then the task fails in
        one line naming it. The time to resolve O(source.host) counts.
      - Defaults to 10 seconds.
    type: int
requirements:
  - lxml (Python library) on the managed host
  - wipefs (util-linux) for V(disk) and V(fs), lvm2 for V(logical)
  - showmount (nfs-common) for V(netfs)
  - iscsi-ls (libiscsi-bin) or iscsiadm (open-iscsi) for V(iscsi); iscsi-ls for V(iscsi-direct)
notes:
  - In use (RV(sources[].in_use)) means what the kernel shows - mounted, active swap, held by another
    device (device-mapper, md) or, for a whole device, any of these of one of its partitions. A physical
    volume of a VG with no active LV is not in use by that definition; its C(LVM2_member) signature says what it is.
  - libvirt has no discovery for V(disk) and V(fs) pools; RV(xml) lists the same devices in the shape of
    libvirt's pool C(<source>) - C(<device path=.../>) and C(<format type=.../>), the format only when
    libvirt's C(storagepool.rng) knows it for that pool type (so a btrfs or swap device has none).
  - The XML of every type validates against libvirt's C(storagepool.rng) source definitions.
  - LVM reads its configuration from C(LVM_SYSTEM_DIR) when it is set in the task's C(environment).
  - For V(netfs) the XML is what libvirt prints - C(<host name=.../>), C(<dir path=.../>), C(<format type="nfs"/>).
    For V(iscsi) and V(iscsi-direct) libvirt prints only C(<device path="IQN"/>); RV(xml) adds the portal asked
    (C(<host name=... port=.../>)) and, when given, the initiator (C(<initiator><iqn name=.../></initiator>)), so
    that each C(<source>) is a pool source libvirt's C(storagepool.rng) accepts.
  - Discovery CHAP (a portal that wants a login before it lists its targets) is not supported.
seealso:
  - module: poolcraft.storage.storage_pool
  - module: poolcraft.storage.storage_device_facts
"""

EXAMPLES = r"""
- name: Volume groups a logical pool could use
  poolcraft.storage.pool_sources:
    type: logical
  register: vgs

- name: The VGs with at least 10 GiB free, and their physical volumes
  ansible.builtin.debug:
    msg: "{{ vgs.sources | selectattr('free', 'ge', 10737418240) | items2dict(key_name='name', value_name='devices') }}"

- name: Which of these disks are free for a disk pool
  poolcraft.storage.pool_sources:
    type: disk
    devices: [/dev/sdb, /dev/sdc, /dev/disk/by-id/wwn-0x5000c500a1b2c3d4]
  register: disks
- ansible.builtin.debug:
    msg: "{{ disks.sources | rejectattr('in_use') | selectattr('signatures', 'equalto', []) | map(attribute='path') | list }}"

- name: Filesystems an fs pool could mount, as libvirt's XML
  poolcraft.storage.pool_sources:
    type: fs
  register: filesystems
- ansible.builtin.copy:
    content: "{{ filesystems.xml }}"
    dest: /root/fs-sources.xml
    mode: "0600"

- name: The exports of an NFS server, and which of them this host may mount
  poolcraft.storage.pool_sources:
    type: netfs
    source:
      host: nfs1.example.com
    timeout: 5
  register: exports
- ansible.builtin.debug:
    msg: "{{ exports.sources | map(attribute='dir') | list }}"

- name: A netfs pool on the first export
  poolcraft.storage.storage_pool:
    name: images
    type: netfs
    source:
      host: "{{ exports.sources[0].host }}"
      dir: "{{ exports.sources[0].dir }}"
    target:
      path: /var/lib/libvirt/images/nfs

- name: The targets an iSCSI portal offers (kernel initiator)
  poolcraft.storage.pool_sources:
    type: iscsi
    source:
      host: 192.0.2.10
      port: 3260
  register: targets
- ansible.builtin.debug:
    msg: "{{ targets.sources | map(attribute='target') | list }}"

- name: The targets an iscsi-direct pool may log in to, as the initiator it will be
  poolcraft.storage.pool_sources:
    type: iscsi-direct
    source:
      host: "2001:db8::10"
      initiator: iqn.2024-01.com.example:kvm1
"""

RETURN = r"""
sources:
  description:
    - The sources found; empty when there is none. Block devices are in kernel name order (V(loop2) before
      V(loop10)), VGs in name order. Sizes are in bytes.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VG name (V(logical)), or the device's kernel name (V(disk), V(fs)).
      type: str
      returned: for disk, fs and logical
      sample: vg0
    host:
      description: The server asked, as O(source.host) gave it (an IPv6 address without brackets).
      type: str
      returned: for netfs, iscsi and iscsi-direct
      sample: nfs1.example.com
    dir:
      description: The exported directory.
      type: str
      returned: for netfs
      sample: /srv/images
    clients:
      description:
        - Who may mount the export, as the server lists them - addresses, networks (V(192.0.2.0/24)), host names,
          wildcards (V(*.example.com)), netgroups. V(*) when it is open to every client.
      type: list
      elements: str
      returned: for netfs
      sample: ["192.0.2.0/24", "kvm1.example.com"]
    port:
      description: The portal's port asked.
      type: int
      returned: for iscsi and iscsi-direct
      sample: 3260
    target:
      description: The target's iSCSI name (IQN), what a pool's C(source.target) takes.
      type: str
      returned: for iscsi and iscsi-direct
      sample: iqn.2024-01.com.example:storage.disk1
    portals:
      description:
        - The portals the target says it can be reached on, in its order - C(host), C(port) and C(tpgt) (its portal
          group tag; null when the target sent none).
      type: list
      elements: dict
      returned: for iscsi and iscsi-direct
      sample: [{"host": "192.0.2.10", "port": 3260, "tpgt": 1}]
    initiator:
      description: The initiator IQN the portal was asked as (O(source.initiator)); null when not given.
      type: str
      returned: for iscsi and iscsi-direct
    devices:
      description: The VG's physical volumes, as LVM names them.
      type: list
      elements: str
      returned: for logical
      sample: [/dev/sdb, /dev/sdc]
    format:
      description:
        - V(nfs) for an NFS export; V(lvm2) for a VG; a disk's partition table (V(gpt), V(dos), V(dvh), V(mac), V(bsd), V(sun)...); the
          filesystem on a device for V(fs) when it carries exactly one (V(ext4), V(xfs), V(btrfs)...).
          Null when there is none.
      type: str
      returned: for disk, fs, logical and netfs
      sample: gpt
    uuid:
      description: The VG's UUID.
      type: str
      returned: for logical
    size:
      description: The VG's size, or the device's.
      type: int
      returned: for disk, fs and logical
      sample: 107374182400
    free:
      description: Bytes free in the VG.
      type: int
      returned: for logical
    extent_size:
      description: The VG's extent size in bytes.
      type: int
      returned: for logical
      sample: 4194304
    pv_count:
      description: How many physical volumes the VG has.
      type: int
      returned: for logical
    lv_count:
      description: How many logical volumes the VG has.
      type: int
      returned: for logical
    path:
      description: The device node (C(/dev/mapper/NAME) for device-mapper devices).
      type: str
      returned: for disk and fs
      sample: /dev/sdb
    parent:
      description: The whole device of a partition; null for a whole device.
      type: str
      returned: for disk and fs
    partitions:
      description: Kernel names of a whole device's partitions.
      type: list
      elements: str
      returned: for disk and fs
      sample: [sdb1, sdb2]
    read_only:
      description: Whether the kernel has the device read-only.
      type: bool
      returned: for disk and fs
    signatures:
      description:
        - Every signature wipefs finds on the device - C(type) (V(ext4), V(gpt), V(PMBR), V(LVM2_member), V(swap),
          V(crypto_LUKS)...), C(usage) (V(filesystem), V(partition-table), V(raid), V(crypto), V(other)), C(offsets)
          (bytes; a GPT has two headers), C(uuid) and C(label). Empty for a blank device.
      type: list
      elements: dict
      returned: for disk and fs
      sample: [{"type": "ext4", "usage": "filesystem", "offsets": [1080], "uuid": "0b6c4e3c-7a9d-4e21-8f3b-2c1d0e9f8a7b",
                "label": "data"}]
    in_use:
      description: Whether the device is in use now (see the notes).
      type: bool
      returned: for disk and fs
    uses:
      description: How it is in use - V(mounted at /srv), V(active swap), V(held by dm-0), V(partition sdb1 mounted at /x).
      type: list
      elements: str
      returned: for disk and fs
    probe_error:
      description: Why the device's signatures could not be read (then C(signatures) is empty); null when they were.
      type: str
      returned: for disk and fs
xml:
  description:
    - libvirt's C(<sources>) document with one C(<source>) per entry of RV(sources). For V(logical) it is what
      C(virsh find-storage-pool-sources logical) prints; see the notes for V(disk) and V(fs).
  returned: always
  type: str
  sample: "<sources>\n  <source>\n    <device path=\"/dev/sdb\"/>\n    <name>vg0</name>\n    <format type=\"lvm2\"/>\n  </source>\n</sources>\n"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import LXML_IMPORT_ERROR, SOURCE_TYPES, discover
from ansible_collections.poolcraft.storage.plugins.module_utils._entry import exit_with, fitted_spec, require_library
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner


def main():
    module = AnsibleModule(
        argument_spec=fitted_spec({
            "type": {"type": "str", "required": True, "choices": list(SOURCE_TYPES)},
            "devices": {"type": "list", "elements": "path"},
            "source": {"type": "dict", "options": {
                "host": {"type": "str", "required": True},
                "port": {"type": "int"},
                "initiator": {"type": "str"},
            }},
            "timeout": {"type": "int"},
        }),
        supports_check_mode=True,
    )

    def work():
        require_library("lxml", LXML_IMPORT_ERROR)
        params = module.params
        found = discover(params["type"], params["devices"], Runner(), source=params["source"], timeout=params["timeout"])
        return dict(found, changed=False)

    exit_with(module, work)


if __name__ == "__main__":
    main()
