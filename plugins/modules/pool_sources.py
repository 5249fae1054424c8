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
  - V(rbd) - the Ceph pools whose application is rbd (C(rbd pool init)), with their sizes, from the cluster whose
    monitors are O(source.hosts), asked as the cephx user of O(source.auth), with the C(ceph) command (ceph-common).
    Pools of other applications (cephfs, rgw) are left out. The key is handed to the tool in a private keyring
    file, never in a command line, and is in no result.
  - V(scsi) - the SCSI hosts of the managed host (C(/sys/class/scsi_host)), each with its driver, PCI parent
    address and unique_id, what a scsi pool's C(source.adapter) names it by. FC hosts (HBA ports and NPIV vHBAs)
    add their WWNN, WWPN, port state, fabric name and NPIV room (how many vports the port can have, how many it
    has). Read from udev and sysfs; nothing is rescanned.
  - V(mpath) - the multipath maps of the managed host, each with its WWID, alias, size and paths (device,
    C(H:C:T:L), state and priority group), read as an mpath pool reads them (sysfs, C(dmsetup table) and
    C(dmsetup status)); a map with no active path is listed as degraded. multipathd need not run.
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
    choices: [disk, fs, iscsi, iscsi-direct, logical, mpath, netfs, rbd, scsi]
  devices:
    description:
      - Restricts the search to these block devices, given as absolute paths (links such as
        C(/dev/disk/by-id/...) are followed). On hosts with many devices this also keeps the probe short.
      - For V(disk), each must be a whole device (a partition is an error).
      - For V(fs), a whole device brings its partitions along.
      - For V(logical), only the VGs with a physical volume among them are returned.
      - A path that is not a block device, or a device with no medium, is an error naming it.
      - Only for V(disk), V(fs) and V(logical); V(scsi) and V(mpath) always list all of the host's.
    type: list
    elements: path
  source:
    description:
      - The server to ask, for V(netfs), V(iscsi), V(iscsi-direct) and V(rbd) (required for them, refused for the others).
    type: dict
    suboptions:
      host:
        description:
          - The NFS server (V(netfs)) or the iSCSI portal's host (V(iscsi), V(iscsi-direct)) - a DNS name, an IPv4
            address or an IPv6 address (bare, or in brackets). No port, scheme or path in it.
          - Required for V(netfs), V(iscsi) and V(iscsi-direct); not for V(rbd), which takes O(source.hosts).
        type: str
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
      hosts:
        description:
          - For V(rbd) (and required for it), the Ceph cluster's monitors, one or more; the first that answers is asked.
        type: list
        elements: dict
        suboptions:
          name:
            description: A monitor's host name or IP address (an IPv6 address bare or in brackets).
            type: str
            required: true
          port:
            description: Its port, 1 to 65535; when left out, the monitors' defaults (3300, then 6789) are tried.
            type: int
      auth:
        description:
          - For V(rbd), the cephx user to ask as, and its key. Without it the Ceph tools' default user and keyring
            are used.
          - The key is never in a command line, a result or a log.
        type: dict
        suboptions:
          username:
            description: The cephx user, without C(client.) (V(libvirt) for C(client.libvirt)).
            type: str
            required: true
          secret:
            description: Its key (base64), as C(ceph auth get-key) prints it.
            type: str
            required: true
  timeout:
    description:
      - Seconds the server has to answer, 1 to 600 (V(netfs), V(iscsi), V(iscsi-direct), V(rbd)); then the task fails
        in one line naming it. The time to resolve O(source.host) counts. For V(rbd) it bounds the wait for a monitor,
        and each of the two questions asked may take 5 seconds more.
      - Defaults to 10 seconds.
    type: int
requirements:
  - lxml (Python library) on the managed host
  - wipefs (util-linux) for V(disk) and V(fs), lvm2 for V(logical)
  - showmount (nfs-common) for V(netfs)
  - iscsi-ls (libiscsi-bin) or iscsiadm (open-iscsi) for V(iscsi); iscsi-ls for V(iscsi-direct)
  - ceph (ceph-common) for V(rbd)
  - pyudev (Python library) for V(scsi); dmsetup (dmsetup, from the device-mapper tools) for V(mpath)
notes:
  - In use (RV(sources[].in_use)) means what the kernel shows - mounted, active swap, held by another
    device (device-mapper, md) or, for a whole device, any of these of one of its partitions. A physical
    volume of a VG with no active LV is not in use by that definition; its C(LVM2_member) signature says what it is.
  - libvirt has no discovery for V(disk) and V(fs) pools; RV(xml) lists the same devices in the shape of
    libvirt's pool C(<source>) - C(<device path=.../>) and C(<format type=.../>), the format only when
    libvirt's C(storagepool.rng) knows it for that pool type (so a btrfs or swap device has none).
  - The XML of every type but V(mpath) validates against libvirt's C(storagepool.rng) source definitions.
  - libvirt has no discovery for V(rbd), V(scsi) and V(mpath) pools. For V(rbd) each C(<source>) is an rbd pool's
    (the monitors as C(<host name=... port=.../>), the Ceph pool as C(<name>)), without the login. For V(scsi) it is a
    scsi pool's C(<adapter>) - C(type="scsi_host" name="hostN"), or C(type="fc_host") with the WWNN and WWPN for an
    FC host. For V(mpath) libvirt's C(<source>) is empty; ours names the map with C(<device path="/dev/mapper/NAME"/>)
    and C(<name>WWID</name>), what an mpath pool's C(source.aliases) and C(source.wwids) take.
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

- name: The rbd pools of a Ceph cluster, with their sizes
  poolcraft.storage.pool_sources:
    type: rbd
    source:
      hosts:
        - name: mon1.example.com
        - name: 192.0.2.21
          port: 3300
      auth:
        username: libvirt
        secret: "{{ vault_cephx_key }}"
    timeout: 5
  register: ceph_pools
- ansible.builtin.debug:
    msg: "{{ ceph_pools.sources | map(attribute='name') | list }}"

- name: The SCSI hosts of this host, and the FC ports that can take another NPIV vHBA
  poolcraft.storage.pool_sources:
    type: scsi
  register: hbas
- ansible.builtin.debug:
    msg: "{{ hbas.sources | selectattr('fc') | selectattr('fc.npiv.can_create') | map(attribute='fc.wwpn') | list }}"

- name: The multipath maps, and the WWIDs of those with no active path
  poolcraft.storage.pool_sources:
    type: mpath
  register: maps
- ansible.builtin.debug:
    msg: "{{ maps.sources | selectattr('state', 'equalto', 'degraded') | map(attribute='wwid') | list }}"
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
      description:
        - The VG name (V(logical)), the device's kernel name (V(disk), V(fs)), the Ceph pool (V(rbd)), the SCSI host
          (V(scsi), V(host3)) or the map's name under C(/dev/mapper), its alias or else its WWID (V(mpath)).
      type: str
      returned: for disk, fs, logical, rbd, scsi and mpath
      sample: vg0
    host:
      description: The server asked, as O(source.host) gave it (an IPv6 address without brackets).
      type: str
      returned: for netfs, iscsi and iscsi-direct
      sample: nfs1.example.com
    hosts:
      description: The monitors asked (O(source.hosts)), each C(name) and C(port) (null for the defaults).
      type: list
      elements: dict
      returned: for rbd
      sample: [{"name": "mon1.example.com", "port": null}]
    replicas:
      description: How many copies of each object the Ceph pool keeps (its C(size)).
      type: int
      returned: for rbd
      sample: 3
    stored:
      description: Bytes of data stored in the Ceph pool, one copy counted.
      type: int
      returned: for rbd
    used:
      description: Bytes the OSDs hold for the Ceph pool, every copy counted.
      type: int
      returned: for rbd
    max_available:
      description: Bytes that can still be stored in the Ceph pool, given its copies and the fullest OSD.
      type: int
      returned: for rbd
    number:
      description: The SCSI host's number (N of hostN).
      type: int
      returned: for scsi
      sample: 3
    driver:
      description: The SCSI host's driver (its C(proc_name)) - V(qla2xxx), V(lpfc), V(ahci), V(scsi_debug)...
      type: str
      returned: for scsi
      sample: qla2xxx
    state:
      description:
        - For V(scsi), the SCSI host's state (V(running)...).
        - For V(mpath), V(active) when at least one path is active, else V(degraded).
      type: str
      returned: for scsi and mpath
      sample: running
    unique_id:
      description: The SCSI host's unique_id, which with RV(sources[].parent_address) names it across reboots.
      type: int
      returned: for scsi
      sample: 1
    pci_address:
      description: The PCI function the SCSI host sits under (V(0000:05:00.0)); null for one that is under none (scsi_debug, iSCSI).
      type: str
      returned: for scsi
    parent_address:
      description: The same as C(domain), C(bus), C(slot) and C(function), as a scsi pool's C(source.adapter.parent_address) takes it.
      type: dict
      returned: for scsi
      sample: {"domain": 0, "bus": 5, "slot": 0, "function": 0}
    transport:
      description: V(fc), V(iscsi), V(sas), or null for another.
      type: str
      returned: for scsi
    fc:
      description:
        - For an FC host (an HBA port or an NPIV vHBA), C(wwnn), C(wwpn) and C(fabric_name) (16 hex digits), C(port_state)
          (V(Online), V(Linkdown)...), C(port_type), C(speed), C(is_vport), C(parent) (the port a vHBA was made on, as
          the adapter's C(parent) takes it; null for a port), and C(npiv) - C(max_vports), C(vports_in_use)
          and C(can_create) (whether another vHBA can be made on this port now). Null for other hosts.
      type: dict
      returned: for scsi
      sample: {"wwnn": "2000001b32912a4c", "wwpn": "2100001b32912a4c", "fabric_name": "100000051e0271b6",
               "port_state": "Online", "port_type": "NPort (fabric via point-to-point)", "speed": "8 Gbit",
               "is_vport": false, "parent": null, "npiv": {"max_vports": 254, "vports_in_use": 1, "can_create": true}}
    wwid:
      description: The map's WWID, what an mpath pool's C(source.wwids) takes.
      type: str
      returned: for mpath
      sample: 36001405a1b2c3d4e5f60718293a4b5c6
    paths:
      description:
        - The map's paths, each C(device) (V(sdb)), C(hctl) (V(2:0:0:0)), C(state) (V(active), V(failed), V(unknown)),
          C(group) (its priority group, 1 first) and C(group_state) (V(active), V(enabled), V(disabled)).
      type: list
      elements: dict
      returned: for mpath
      sample: [{"device": "sdb", "hctl": "2:0:0:0", "state": "active", "group": 1, "group_state": "active"}]
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
        - Null for rbd; V(nfs) for an NFS export; V(lvm2) for a VG; a disk's partition table (V(gpt), V(dos), V(dvh), V(mac), V(bsd), V(sun)...); the
          filesystem on a device for V(fs) when it carries exactly one (V(ext4), V(xfs), V(btrfs)...).
          Null when there is none.
      type: str
      returned: for disk, fs, logical, netfs and rbd
      sample: gpt
    uuid:
      description: The VG's UUID.
      type: str
      returned: for logical
    size:
      description: The VG's size, the device's, or the map's.
      type: int
      returned: for disk, fs, logical and mpath
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
      description: The device node (C(/dev/mapper/NAME) for device-mapper devices and multipath maps).
      type: str
      returned: for disk, fs and mpath
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

# first: the module_utils imported after it are compiled once, not twice, on the managed host
from ansible_collections.poolcraft.storage.plugins.module_utils import _compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import LXML_IMPORT_ERROR, SOURCE_TYPES, discover
from ansible_collections.poolcraft.storage.plugins.module_utils._entry import exit_with, fitted_spec, require_library
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner


def main():
    module = AnsibleModule(
        argument_spec=fitted_spec({
            "type": {"type": "str", "required": True, "choices": list(SOURCE_TYPES)},
            "devices": {"type": "list", "elements": "path"},
            "source": {"type": "dict", "options": {
                "host": {"type": "str"},
                "port": {"type": "int"},
                "initiator": {"type": "str"},
                "hosts": {"type": "list", "elements": "dict", "options": {
                    "name": {"type": "str", "required": True},
                    "port": {"type": "int"},
                }},
                "auth": {"type": "dict", "options": {
                    "username": {"type": "str", "required": True},
                    "secret": {"type": "str", "required": True, "no_log": True},
                }},
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
