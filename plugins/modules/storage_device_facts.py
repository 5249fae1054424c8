#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: storage_device_facts
short_description: The host's storage as facts, complete and fast on SAN-sized hosts
version_added: 0.2.0
description:
  - Returns the managed host's storage as facts (RV(ansible_facts)) to decide where pools go
    - block devices with their identifiers, stable links, partitions, filesystems and users;
    multipath maps with their paths; SCSI hosts and FC HBAs; iSCSI sessions; LVM; mounts;
    and the pools and volumes this collection defined on the host.
  - Block devices come from one pass over sysfs and udev's database; no command runs for them.
    An external command runs only where no file holds the data, each at most once per run
    (C(lvm fullreport) when an LVM signature or LV exists, C(dmsetup table) and C(dmsetup status)
    when a multipath map exists). C(storage_facts_info.commands) lists them.
  - Mount facts never touch a network filesystem unless O(network_usage=true), and then with a deadline,
    so a dead NFS server cannot hang the task.
  - Never changes anything on the host.
author:
  - poolcraft.storage developers (@poolcraft)
extends_documentation_fragment:
  - poolcraft.storage.common
  - poolcraft.storage.common.read_only
attributes:
  facts:
    support: full
    description: Returns its results as facts, under RV(ansible_facts).
  action_group:
    support: full
    membership:
      - poolcraft.storage.storage
    description: Use C(group/poolcraft.storage.storage) in C(module_defaults) to set O(config_dir) for a whole play.
options:
  gather_subset:
    description:
      - Which facts to gather. V(all), or any of V(devices), V(multipath), V(scsi_hosts), V(iscsi),
        V(lvm), V(mounts), V(pools); V(!name) leaves one out (V(!lvm) alone means all but LVM).
    type: list
    elements: str
    default: [all]
  devices:
    description:
      - Restricts RV(ansible_facts.storage_devices) to these block devices, given as kernel names
        (V(sdb)), shell globs (V(sd*), V(nvme?n1)) or paths (V(/dev/sdb), V(/dev/disk/by-id/wwn-0x5000c500a1b2c3d4),
        V(/dev/mapper/mpatha)). A whole disk brings its partitions along.
      - A path that is not a block device is an error; a name or glob that matches nothing is not.
      - The other subsets are not restricted.
    type: list
    elements: str
  network_usage:
    description:
      - Read the usage (statvfs) of network filesystems (NFS, CIFS, CephFS, GlusterFS...) in
        RV(ansible_facts.storage_mounts). Each is read in a child process that is killed after O(usage_timeout).
      - Local filesystems are always read.
    type: bool
    default: false
  usage_timeout:
    description:
      - Seconds to wait, for all network filesystems together, when O(network_usage=true).
      - Also the deadline of each pool's reads in the V(pools) subset (a C(netfs) pool on a server that does not
        answer, an C(rbd) pool whose cluster does not); such a pool is reported V(stopped), with the reason in one line.
    type: int
    default: 5
requirements:
  - pyudev (Python library) on the managed host, for the V(devices), V(multipath), V(scsi_hosts) and V(iscsi) subsets
  - lxml (Python library) on the managed host, for the V(pools) subset when pools are defined
  - lvm2 for LVM facts, dmsetup for multipath path groups and path states
notes:
  - Without a running udev (no udev database), block devices still have sizes, types and
    relations from sysfs, but no links, serials, WWNs, partition names or filesystem facts;
    C(storage_facts_info.udev_database) is then V(false).
  - The udev database is read per device, record by record, the way libudev reads it, instead
    of through one libudev object per device, which costs about 10 times as much on hosts with
    thousands of devices. pyudev provides the udev context (where sysfs and the database are)
    and enumerates SCSI hosts, FC hosts and iSCSI sessions.
seealso:
  - module: poolcraft.storage.storage_pool
  - module: ansible.builtin.setup
"""

EXAMPLES = r"""
- name: Everything
  poolcraft.storage.storage_device_facts:

- name: Free disks, for placing a new pool
  poolcraft.storage.storage_device_facts:
    gather_subset: [devices]
- ansible.builtin.debug:
    msg: "{{ ansible_facts.storage_devices | dict2items | selectattr('value.free') | map(attribute='key') | list }}"

- name: The LUN with a given WWID and its multipath map
  poolcraft.storage.storage_device_facts:
    gather_subset: [multipath]
- ansible.builtin.debug:
    msg: "{{ ansible_facts.storage_multipath.values() | selectattr('wwid', 'equalto', '36001405a1b2c3d4e5f6a7b8c9d0e1f20') | list }}"

- name: Only a few devices, and the FC HBAs
  poolcraft.storage.storage_device_facts:
    gather_subset: [devices, scsi_hosts]
    devices:
      - sd[b-d]
      - /dev/disk/by-id/wwn-0x5000c500a1b2c3d4

- name: Mount usage, NFS too, never waiting more than 3 s on a server
  poolcraft.storage.storage_device_facts:
    gather_subset: [mounts]
    network_usage: true
    usage_timeout: 3
"""

RETURN = r"""
ansible_facts:
  description: The storage facts; each subset's key is present when the subset was gathered.
  returned: always
  type: dict
  contains:
    storage_devices:
      description:
        - Block devices keyed by kernel name (V(sda), V(sda1), V(dm-0), V(loop3), V(nvme0n1)).
        - Fields marked "when known" are left out when neither sysfs nor udev knows them.
        - Loop devices with no backing file (empty, and so not in C(/proc/partitions)) are left out, as C(lsblk) leaves them out.
      returned: when the devices subset is gathered
      type: dict
      contains:
        name:
          description: Kernel name.
          type: str
          returned: always
          sample: sda
        path:
          description: Device node.
          type: str
          returned: always
          sample: /dev/sda
        type:
          description: V(disk), V(part), V(loop), V(dm), V(md), V(nvme), V(rom), V(zram), V(nbd), V(rbd), V(drbd) or V(bcache).
          type: str
          returned: always
          sample: disk
        maj_min:
          description: Major and minor device number.
          type: str
          returned: always
          sample: "8:0"
        size:
          description: Size in bytes.
          type: int
          returned: always
          sample: 107374182400
        logical_sector_size:
          description: Logical sector size in bytes.
          type: int
          returned: for whole devices (a partition has its disk's)
          sample: 512
        physical_sector_size:
          description: Physical sector size in bytes.
          type: int
          returned: for whole devices (a partition has its disk's)
          sample: 4096
        rotational:
          description: Whether the kernel treats the device as rotational.
          type: bool
          returned: for whole devices (a partition has its disk's)
        read_only:
          description: Whether the device is read-only.
          type: bool
          returned: always
        removable:
          description: Whether the medium is removable (virtual devices never are).
          type: bool
          returned: for whole devices (a partition has its disk's)
        vendor:
          description: Vendor, from the device or udev.
          type: str
          returned: when known
          sample: LIO-ORG
        model:
          description: Model, from the device or udev.
          type: str
          returned: when known
          sample: disk01
        serial:
          description: Serial number (udev C(ID_SERIAL_SHORT), or the device's C(serial) attribute).
          type: str
          returned: when known
        wwn:
          description: World Wide Name as udev reports it (with its vendor extension when there is one).
          type: str
          returned: when known
          sample: "0x6001405a1b2c3d4e5f6a7b8c9d0e1f20"
        wwid:
          description: The kernel's World Wide Identifier of the LUN or namespace (SCSI VPD page 0x83, NVMe C(wwid)).
          type: str
          returned: when known
          sample: naa.6001405a1b2c3d4e5f6a7b8c9d0e1f20
        scsi_address:
          description: SCSI address C(host:channel:target:lun) of a SCSI disk.
          type: str
          returned: when the device is a SCSI disk
          sample: "2:0:0:1"
        scsi_state:
          description: SCSI device state (V(running), V(offline), V(blocked)...).
          type: str
          returned: when the device is a SCSI disk
          sample: running
        links:
          description:
            - The stable links udev made for the device, sorted - C(/dev/disk/by-id/...), C(/dev/disk/by-path/...),
              C(/dev/disk/by-uuid/...), C(/dev/disk/by-partuuid/...), C(/dev/disk/by-label/...), C(/dev/disk/by-partlabel/...)
              and C(/dev/mapper/...). Pick a kind with a filter such as C(select('match', '/dev/disk/by-id/')).
          type: list
          elements: str
          returned: when the device has any
          sample: ["/dev/disk/by-id/wwn-0x6001405a1b2c3d4e5f6a7b8c9d0e1f20", "/dev/disk/by-path/pci-0000:00:05.0-scsi-0:0:0:1"]
        partition_table:
          description: The partition table on a whole device, C(type) (V(gpt), V(dos)) and C(uuid).
          type: dict
          returned: when the device has a partition table
          sample: {"type": "gpt", "uuid": "7d1a2c9e-6f53-4b0e-9c45-1d2e3f4a5b6c"}
        partitions:
          description: Kernel names of the partitions of a whole device, by partition number.
          type: list
          elements: str
          returned: for whole devices
          sample: [sda1, sda2]
        parent:
          description: The whole device a partition is on.
          type: str
          returned: for partitions
          sample: sda
        partition:
          description:
            - A partition's C(number), C(start) in bytes, C(type) (a GPT type GUID or an MBR type such as V(0x83)),
              C(name) (GPT partition name) and C(uuid) (PARTUUID). Its size is RV(ansible_facts.storage_devices.size).
          type: dict
          returned: for partitions
          sample: {"number": 1, "start": 1048576, "type": "0fc63daf-8483-4772-8e79-3d69d8477de4", "name": "data",
                   "uuid": "6b1f0c2a-3e4d-4f5a-9b8c-7d6e5f4a3b2c"}
        fs:
          description:
            - The signature on the device as udev's blkid found it - C(type), C(uuid) and C(label). LVM physical volumes show
              as type V(LVM2_member), multipath paths as V(mpath_member), RAID members as V(linux_raid_member).
          type: dict
          returned: when the device carries a signature
          sample: {"type": "ext4", "uuid": "0b6c4e3c-7a9d-4e21-8f3b-2c1d0e9f8a7b", "label": "data"}
        dm:
          description: Device-mapper C(name), C(uuid) and C(kind) (V(lvm), V(mpath), V(crypt), V(part), V(vdo), V(other)).
          type: dict
          returned: for device-mapper devices
          sample: {"name": "mpatha", "uuid": "mpath-36001405a1b2c3d4e5f6a7b8c9d0e1f20", "kind": "mpath"}
        lvm_lv:
          description: The LV this device-mapper device is, as C(VG/LV) (a key of RV(ansible_facts.storage_lvm.lvs)).
          type: str
          returned: when the lvm subset is gathered too and the device is an active LV
          sample: vg0/data
        holders:
          description: Kernel names of the devices stacked on this one (device-mapper, md, bcache).
          type: list
          elements: str
          returned: always
        slaves:
          description: Kernel names of the devices this one is stacked on.
          type: list
          elements: str
          returned: always
        used_by:
          description:
            - What uses the device; empty when nothing does.
            - C(mounts) (mount points), C(swap) (V(true)), C(multipath) (the map it is a path of),
              C(md) (the array it is a member of), C(lvm_vg) (the VG it is a physical volume of, V("") for
              a PV in no VG; with the lvm subset only) and C(holders) (other devices stacked on it).
          type: dict
          returned: always
          sample: {"mounts": ["/srv/data"]}
        free:
          description:
            - Whether the device looks unused - no signature, no partition table or partitions, no holders,
              not mounted, not swap, not read-only, not empty, not an optical drive.
          type: bool
          returned: always
    storage_multipath:
      description: Multipath maps keyed by map name (alias).
      returned: when the multipath subset is gathered
      type: dict
      contains:
        name:
          description: Map name (alias or user friendly name).
          type: str
          returned: always
          sample: mpatha
        dm:
          description: Kernel name of the map.
          type: str
          returned: always
          sample: dm-2
        path:
          description: The map's device node under C(/dev/mapper).
          type: str
          returned: always
          sample: /dev/mapper/mpatha
        wwid:
          description: The map's WWID, as multipath names it (the device-mapper UUID without C(mpath-)).
          type: str
          returned: always
          sample: 36001405a1b2c3d4e5f6a7b8c9d0e1f20
        size:
          description: Size in bytes.
          type: int
          returned: always
        maj_min:
          description: Major and minor device number.
          type: str
          returned: always
        features:
          description: The map's features (such as V(queue_if_no_path)); null without dmsetup.
          type: str
          returned: always
        hw_handler:
          description: The hardware handler (such as V(1 alua)); null without dmsetup.
          type: str
          returned: always
        path_groups:
          description: Path groups in priority order - C(number) (1 is the highest priority), C(selector), C(state)
            (V(active), V(enabled), V(disabled)) and C(paths) (kernel names). Empty without dmsetup.
          type: list
          elements: dict
          returned: always
        paths:
          description:
            - Every path - C(name), C(maj_min), C(scsi_address) (host:channel:target:lun), C(device_state) (the SCSI
              device state, V(running), V(offline)...), C(dm_state) (the kernel's view, V(active) or V(failed)),
              C(fail_count), C(path_group) (its group's number) and C(path_group_state).
          type: list
          elements: dict
          returned: always
          sample: [{"name": "sdb", "maj_min": "8:16", "scsi_address": "2:0:0:0", "device_state": "running", "dm_state": "active",
                    "fail_count": 0, "path_group": 1, "path_group_state": "active"}]
    storage_scsi_hosts:
      description: SCSI hosts (HBAs, iSCSI sessions' hosts, virtual hosts) keyed by C(hostN).
      returned: when the scsi_hosts subset is gathered
      type: dict
      contains:
        number:
          description: Host number.
          type: int
          returned: always
          sample: 5
        driver:
          description: The driver (C(proc_name)), such as V(qla2xxx), V(lpfc), V(iscsi_tcp), V(virtio_scsi).
          type: str
          returned: always
        pci_address:
          description: PCI address of the adapter; null for virtual hosts.
          type: str
          returned: always
          sample: "0000:05:00.0"
        state:
          description: Host state (V(running)...).
          type: str
          returned: always
        unique_id:
          description: The host's unique id.
          type: int
          returned: always
        transport:
          description: V(fc), V(iscsi), V(sas), or null when the host has no transport class.
          type: str
          returned: always
        fc:
          description:
            - Fibre Channel details of an FC HBA, null for others - C(wwnn), C(wwpn), C(fabric_name) (16 hex digits, as libvirt
              writes them), C(port_id), C(port_state), C(port_type), C(speed), C(supported_speeds), C(supported_classes),
              C(symbolic_name), C(is_vport) (this host is an NPIV vport), C(parent) (a vport's port, V(hostN); null for
              others), and C(npiv) - C(max_vports), C(vports_in_use) and C(can_create) (the driver can create a vport now -
              it offers C(vport_create), has room, and the port is online).
          type: dict
          returned: always
          sample: {"wwnn": "20000024ff3a1b2c", "wwpn": "21000024ff3a1b2c", "port_state": "Online", "speed": "8 Gbit",
                   "npiv": {"max_vports": 254, "vports_in_use": 0, "can_create": true}}
    storage_iscsi:
      description: The kernel iSCSI initiator.
      returned: when the iscsi subset is gathered
      type: dict
      contains:
        initiator_name:
          description: The initiator name from C(/etc/iscsi/initiatorname.iscsi); null when there is none.
          type: str
          returned: always
          sample: iqn.1993-08.org.debian:01:abcdef012345
        sessions:
          description:
            - Sessions keyed by C(sessionN) - C(number), C(target) (IQN), C(portal) and C(portals) (address:port),
              C(tpgt), C(state) (V(LOGGED_IN), V(FAILED), V(FREE)), C(iface), C(initiator), C(host) (its SCSI host)
              and C(disks) (each C(name), C(scsi_address), C(lun)).
          type: dict
          returned: always
    storage_lvm:
      description: LVM, from one C(lvm fullreport); all sizes in bytes.
      returned: when the lvm subset is gathered
      type: dict
      contains:
        pvs:
          description: Physical volumes keyed by device path - C(name), C(uuid), C(vg) (null for a PV in no VG), C(size),
            C(free), C(device_size), C(attr), C(maj_min), C(device) (kernel name, when the devices subset is gathered too).
          type: dict
          returned: always
        vgs:
          description: Volume groups keyed by name - C(name), C(uuid), C(attr), C(size), C(free), C(extent_size), C(pv_count),
            C(lv_count), C(pvs) (keys of RV(ansible_facts.storage_lvm.pvs)), C(lvs) (keys of RV(ansible_facts.storage_lvm.lvs)).
          type: dict
          returned: always
        lvs:
          description:
            - Logical volumes keyed by C(VG/LV), so equal LV names in different VGs never collide - C(name), C(vg), C(uuid),
              C(size), C(attr), C(layout), C(role), C(pool), C(origin), C(active), C(path), C(dm_path), C(maj_min),
              C(data_percent), C(metadata_percent), C(device) (kernel name when active and the devices subset is gathered too).
          type: dict
          returned: always
          sample: {"vg0/data": {"name": "data", "vg": "vg0", "size": 1073741824, "active": true}}
    storage_mounts:
      description:
        - Mounts of block devices and network filesystems, keyed by mount point - C(source), C(fstype), C(maj_min), C(root),
          C(options), C(network), C(usage) (C(size_total), C(size_available), C(size_used), C(inodes_total), C(inodes_available);
          null when not read) and C(usage_error) (why usage is null).
      returned: when the mounts subset is gathered
      type: dict
    storage_pools:
      description:
        - The pools defined by this collection on the host, keyed by name, with the fields of
          RV(poolcraft.storage.storage_pool#module:pool) less C(xml), and C(volumes) (empty while a pool is stopped).
        - A pool whose storage cannot be read (its directory removed by hand, say) has C(state=stopped), null sizes
          and C(reason), why.
        - A definition this collection cannot use (damaged XML, no uuid, a malformed mode or port, a pool type it does not
          know) does not stop the other pools from being reported. It is reported by its name as C(name), C(state=unusable),
          C(definition) (the file) and C(reason); tasks on that pool are refused until the file is fixed or removed.
      returned: when the pools subset is gathered
      type: dict
      sample:
        images: {"name": "images", "state": "running", "type": "dir", "capacity": 107374182400, "volumes": []}
        broken: {"name": "broken", "state": "unusable", "definition": "/etc/poolcraft/storage/broken.xml",
                 "reason": "has no uuid"}
    storage_facts_info:
      description:
        - How the facts were gathered - C(gather_subset) (the subsets), C(commands) (the external commands run, each at most once)
          and C(udev_database) (whether udev's database was there; without it there are no links, serials or filesystem facts).
      returned: always
      type: dict
      sample: {"gather_subset": ["devices", "lvm"], "commands": ["lvm fullreport"], "udev_database": true}
"""

from ansible.module_utils.basic import AnsibleModule

# first: the module_utils imported after it are compiled once, not twice, on the managed host
from ansible_collections.poolcraft.storage.plugins.module_utils import _compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.poolcraft.storage.plugins.module_utils._entry import fitted_spec
from ansible_collections.poolcraft.storage.plugins.module_utils._facts import ARGUMENT_SPEC, gather_facts


def main():
    module = AnsibleModule(argument_spec=fitted_spec(ARGUMENT_SPEC), supports_check_mode=True)
    gather_facts(module)


if __name__ == "__main__":
    main()
