#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: storage_pool
short_description: Define, build, start, stop and remove storage pools, as libvirt does, without libvirtd
version_added: 0.1.0
description:
  - Manages a storage pool on the managed host, following libvirt's storage model
    (define, build, start, stop, delete, undefine), with the definition kept as libvirt-compatible XML.
  - Pool types are provided by backends; this version has C(dir), C(fs), C(disk), C(logical), C(netfs), C(iscsi),
    C(iscsi-direct), C(rbd), C(scsi) and C(mpath) pools.
  - C(dir) pools are a directory of image files.
  - C(fs) pools are a filesystem on a block device, mounted on the target directory; their volumes are files as in C(dir) pools.
  - C(disk) pools are a partition table (C(gpt) or C(dos)) on a whole device; their volumes are its partitions.
  - C(logical) pools are an LVM volume group (O(source.name), the pool's name by default) made of
    O(source.devices); their volumes are the group's logical volumes at C(/dev/VG/LV).
  - C(netfs) pools are an NFS export (O(source.host), O(source.dir)) mounted on the target directory; their volumes
    are files as in C(dir) pools.
  - C(iscsi) pools are the LUNs of an iSCSI target (O(source.host), O(source.target)), logged in with the host's
    kernel initiator (open-iscsi); C(iscsi-direct) pools reach the same LUNs from user space (libiscsi, qemu) with
    no device nodes on the host. Their volumes are the LUNs; creating or deleting LUNs is the target's job.
  - C(rbd) pools are a Ceph pool (O(source.name)) reached through its monitors (O(source.hosts)); their volumes
    are RBD images. The cephx key is kept as CHAP secrets are (see O(source.auth)).
  - C(scsi) pools are the disk LUNs of one SCSI host named by O(source.adapter) (an HBA port, or an NPIV vHBA that a
    managed adapter creates on start and deletes on stop); creating or deleting LUNs is the storage array's job.
  - C(mpath) pools are multipath maps (all of them, or those O(source.wwids) and O(source.aliases) select); their
    volumes are the maps at C(/dev/mapper/NAME), with every path and its state.
  - Building never destroys data by default. Before writing to a device it is probed; a device carrying any
    signature is refused unless O(overwrite=true), and a device in use is refused always.
  - Every run first plans the actions, then applies them; check mode returns the plan and changes nothing.
author:
  - poolcraft.storage developers (@poolcraft)
extends_documentation_fragment:
  - poolcraft.storage.common
  - poolcraft.storage.common.attributes
options:
  name:
    description:
      - Name of the pool. A plain name, without C(/), a leading C(.) or control characters.
      - One of O(name) or O(uuid) is required; O(name) is needed to define a new pool.
    type: str
  uuid:
    description:
      - UUID of the pool. Generated when a pool is defined without one, and kept afterwards.
      - With O(name) given, it must match the existing pool's UUID; alone, it selects the pool.
    type: str
  type:
    description:
      - Pool type. Required to define a new pool; an existing pool's type cannot be changed.
    type: str
    choices: [dir, disk, fs, iscsi, iscsi-direct, logical, mpath, netfs, rbd, scsi]
  target:
    description:
      - Where the pool's volumes appear on the host.
    type: dict
    suboptions:
      path:
        description:
          - Absolute path of the pool's directory (for C(fs) pools, the mount point).
          - C(disk) pools take V(/dev) only, which is also their default; C(iscsi) pools take V(/dev/disk/by-path) only,
            which is also theirs (their volumes' paths are the LUNs' links there).
          - C(scsi) pools take V(/dev/disk/by-path) (their default) or V(/dev/disk/by-id); C(mpath) pools take
            V(/dev/mapper) only, which is also their default.
          - C(iscsi-direct) and C(rbd) pools have no target, since their volumes have no device node on the host.
        type: path
      permissions:
        description:
          - Permissions given to the target directory when the pool is built, and kept in line on later runs.
        type: dict
        suboptions:
          mode:
            description: Octal mode as a quoted string, such as V('0755').
            type: raw
          owner:
            description: User name or numeric uid.
            type: str
          group:
            description: Group name or numeric gid.
            type: str
          label:
            description: SELinux context; applied only where SELinux is active.
            type: str
  source:
    description:
      - What the pool is made from. Which fields a pool type needs is said under each type.
    type: dict
    suboptions:
      device:
        description:
          - The block device of an C(fs) pool (a path; stable links such as C(/dev/disk/by-id/...) are kept as given).
          - The whole device of a C(disk) pool.
        type: str
      devices:
        description:
          - Several block devices, for pool types made of more than one.
          - For C(logical) pools, the physical volumes of the volume group. Matched with LVM's PVs by device
            number, so any name of a device will do. Devices added to the list join the group on O(build);
            devices removed from it leave it only with O(remove_devices=true).
        type: list
        elements: str
      name:
        description:
          - The name of the storage the pool is made of, for types that have one (the volume group of a
            C(logical) pool; defaults to the pool's O(name) there).
        type: str
      format:
        description:
          - For C(fs) pools, the filesystem to make and mount (V(ext2), V(ext3), V(ext4), V(xfs), V(btrfs)), or
            V(auto) to accept whatever filesystem the device holds (then O(build) makes none).
          - libvirt itself has no C(btrfs) fs pools, so the definition of a C(btrfs) pool does not validate
            against libvirt's schema; every other definition does.
          - For C(disk) pools, the partition table, V(gpt) or V(dos); left out, the C(gpt) or C(dos) table the
            device holds is taken as it is (then O(build) needs it on a blank device).
          - For C(logical) pools, V(lvm2) or nothing.
          - For C(netfs) pools, V(nfs) or V(auto) (the default; the mount chooses).
        type: str
      host:
        description:
          - The server. For C(netfs) pools the NFS server, for C(iscsi) and C(iscsi-direct) pools the host of the
            target's portal. A host name or an IP address, without a port or a scheme.
        type: str
      port:
        description:
          - For C(iscsi) and C(iscsi-direct) pools, the portal's TCP port; 3260 when left out.
        type: int
      dir:
        description:
          - For C(netfs) pools, the exported directory on O(source.host), such as V(/srv/images).
        type: str
      protocol_version:
        description:
          - For C(netfs) pools, the NFS version to mount with (the C(vers=) mount option). Left out, the client and
            server agree on one.
        type: str
        choices: ['3', '4', '4.1', '4.2']
      target:
        description:
          - For C(iscsi) and C(iscsi-direct) pools, the IQN of the target, such as V(iqn.2004-04.com.example:images).
            libvirt keeps it in the definition's C(<source><device path=.../>).
        type: str
      initiator:
        description:
          - For C(iscsi) and C(iscsi-direct) pools, the initiator's IQN to log in as. Required for C(iscsi-direct)
            pools; C(iscsi) pools use the host's own (C(/etc/iscsi/initiatorname.iscsi)) when it is left out.
        type: str
      hosts:
        description:
          - For C(rbd) pools, the Ceph monitors, each a host name or IP address with an optional port (the
            monitors' default when left out).
        type: list
        elements: dict
        suboptions:
          name:
            description: A monitor's host name or IP address.
            type: str
            required: true
          port:
            description: Its port.
            type: int
      namespace:
        description:
          - For C(rbd) pools, an RBD namespace inside the Ceph pool O(source.name). libvirt has no RBD namespaces, so
            it is kept in poolcraft's XML namespace and such a definition does not validate against libvirt's schema.
        type: str
      config:
        description:
          - For C(rbd) pools, Ceph client options (such as V(rbd_cache)) given to every call to the cluster, kept in
            libvirt's C(rbd:config_opts).
        type: dict
      auth:
        description:
          - For C(iscsi) and C(iscsi-direct) pools, CHAP authentication; for C(rbd) pools, the cephx user and key.
          - The definition names the user only. The secrets are kept in a file readable by root only beside the
            definition (C(NAME.secret) in O(config_dir), in O(runtime_dir) for a transient pool), removed with the
            definition, and never appear in a command line, a result, a diff or a log.
        type: dict
        suboptions:
          username:
            description: The CHAP user name the initiator logs in with; for C(rbd) pools the cephx user, without C(client.).
            type: str
            required: true
          secret:
            description: The CHAP secret of O(source.auth.username); for C(rbd) pools, its cephx key (base64).
            type: str
            required: true
          mutual_username:
            description:
              - For mutual CHAP, the user name the target answers with (libvirt has no mutual CHAP; it is kept in
                poolcraft's XML namespace). Needs O(source.auth.mutual_secret).
            type: str
          mutual_secret:
            description: The secret the target proves itself with, for mutual CHAP.
            type: str
      adapter:
        description:
          - For C(scsi) pools, the SCSI host whose LUNs are the pool's volumes, kept in libvirt's C(<adapter>).
          - With O(source.adapter.type=scsi_host), give either O(source.adapter.name) (V(host3); the number may
            change across reboots) or O(source.adapter.parent_address) with O(source.adapter.unique_id), which stay.
          - With O(source.adapter.type=fc_host), an FC HBA port or an NPIV vHBA named by its WWNN and WWPN.
        type: dict
        suboptions:
          type:
            description: V(scsi_host) for any SCSI host, V(fc_host) for a Fibre Channel port or vHBA.
            type: str
            required: true
            choices: [scsi_host, fc_host]
          name:
            description: The SCSI host's name, V(hostN) (or libvirt's V(scsi_hostN)).
            type: str
          parent_address:
            description:
              - The PCI address of the HBA the SCSI host hangs under, as numbers (YAML takes hex such as V(0x1f)).
            type: dict
            suboptions:
              domain:
                description: The PCI domain, 0 to 0xffff.
                type: int
                required: true
              bus:
                description: The PCI bus, 0 to 0xff.
                type: int
                required: true
              slot:
                description: The PCI slot, 0 to 0x1f.
                type: int
                required: true
              function:
                description: The PCI function, 0 to 7.
                type: int
                required: true
          unique_id:
            description:
              - The C(unique_id) of the SCSI host under O(source.adapter.parent_address), for an HBA with several
                hosts (sysfs C(/sys/class/scsi_host/hostN/unique_id)).
            type: int
          wwnn:
            description: For V(fc_host), the port's or vHBA's World Wide Node Name, 16 hex digits.
            type: str
          wwpn:
            description: For V(fc_host), the port's or vHBA's World Wide Port Name, 16 hex digits.
            type: str
          parent:
            description:
              - For V(fc_host), the SCSI host of the physical FC port (V(hostN)) a managed vHBA is created on. Left
                out, the first port that can create vports is used.
            type: str
          managed:
            description:
              - For V(fc_host), V(true) when the pool owns the vHBA - starting the pool creates it on
                O(source.adapter.parent) (C(vport_create)) and stopping deletes it; V(false) or left out, the vHBA
                must exist and is never deleted.
            type: bool
      wwids:
        description:
          - For C(mpath) pools, the multipath maps to hold, by WWID. With neither this nor O(source.aliases), the
            pool holds every map, as libvirt's does. Kept in poolcraft's XML namespace.
        type: list
        elements: str
      aliases:
        description:
          - For C(mpath) pools, maps to hold by alias, their name under C(/dev/mapper) (V(mpatha), or a name from
            C(multipath.conf)). Kept in poolcraft's XML namespace.
        type: list
        elements: str
  mount_options:
    description:
      - Mount options of C(fs) and C(netfs) pools, kept in the definition as libvirt keeps them (its C(fs:mount_opts)).
    type: list
    elements: str
  thin_pool:
    description:
      - For pool types with thin provisioning, the thin pool that new volumes are made in, made by O(build)
        when missing and grown when O(thin_pool.size) grows. Kept in the definition in poolcraft's own XML
        namespace, which libvirt ignores (libvirt has no thin pools).
      - For C(logical) pools, an LVM thin pool in the volume group; new volumes are thin LVs in it.
    type: dict
    suboptions:
      name:
        description: Name of the thin pool.
        type: str
        required: true
      size:
        description: Its size, such as V(10G); needed to make it.
        type: str
  remove_devices:
    description:
      - Allow O(build) to take devices out of the pool when they are no longer listed in O(source), for
        pool types made of several devices. A device is taken out only when nothing is stored on it.
      - Without it, a device found in the pool but not in O(source) is an error, so nothing is removed by accident.
    type: bool
    default: false
  overwrite:
    description:
      - Allow O(build) to destroy what a device holds. Without it, a device that carries any signature
        (filesystem, partition table, LVM, RAID, swap, LUKS) is refused, with the signature in the message.
      - A device that is in use (mounted, held by another device, active swap) is refused even with it.
    type: bool
    default: false
  force:
    description:
      - For C(netfs) pools, stop (or remove) a running pool whose mount is busy with a lazy unmount (C(umount -l)). Then
        the export disappears from the target path at once, and is let go only once the last open file is closed.
      - A process that still has a file open keeps writing to the export, and nothing tells it the pool stopped;
        starting the pool again mounts the export anew beside the detached one. Use it to take a pool down when its
        server is gone for good, not to save waiting for guests.
    type: bool
    default: false
  fstab:
    description:
      - The fstab file that holds the boot-time mount of autostarted C(fs) pools.
        Change it only for images, chroots or tests.
    type: path
    default: /etc/fstab
  state:
    description:
      - V(present) defines the pool (it stays stopped if it is new).
      - V(running) defines and starts it. V(stopped) defines it and stops it if running.
      - V(absent) stops and undefines it; its storage is kept unless O(purge=true).
      - For C(logical) pools, V(running) and V(stopped) activate and deactivate the volume group; stopping is refused
        while a volume is open.
    type: str
    choices: [present, running, stopped, absent]
    default: present
  build:
    description:
      - Create the underlying storage when it is missing. For C(dir) pools that is the target directory; for C(fs)
        pools also the filesystem on O(source.device), unless the device already holds it (then nothing is made).
      - For C(disk) pools, the partition table on O(source.device), unless the device holds it already.
      - For C(logical) pools, C(pvcreate) and C(vgcreate) (or C(vgextend) with new devices, C(vgreduce) and
        C(pvremove) with O(remove_devices=true) for devices no longer listed that hold no data), and the thin pool.
      - C(iscsi), C(iscsi-direct), C(scsi) and C(mpath) pools have nothing to build or purge, since their LUNs are the
        target's or the array's.
      - Never overwrites anything that exists, unless O(overwrite=true).
    type: bool
    default: false
  autostart:
    description:
      - Whether the pool comes up at boot. Only persistent pools can autostart.
      - The host brings it up by its own means, no daemon of ours is needed. For C(fs) pools that is an
        entry in O(fstab) (marked with a comment naming the pool, with C(nofail) so a missing device never
        stops a boot), written and removed with this option.
      - For C(logical) pools, the volume group's LVM autoactivation flag (C(vgchange --setautoactivation)). It is
        turned off only by an explicit O(autostart=false), never by defining or undefining a pool on an existing group.
      - For C(iscsi) pools, C(node.startup = automatic) in open-iscsi's node record of the target, and the host's
        C(iscsid.socket) and C(open-iscsi.service) units enabled (disabled again with autostart off, when this
        collection enabled them).
      - Omitted, the current setting is kept (off for a new pool).
    type: bool
  persistent:
    description:
      - V(true) keeps the definition under O(config_dir). V(false) makes a transient pool, kept under
        O(runtime_dir) only, which exists while it runs and is gone after a reboot.
      - Omitted, an existing pool keeps its kind and a new pool is persistent.
    type: bool
  purge:
    description:
      - With O(state=absent), also delete the underlying storage, that is the empty target directory. As libvirt
        does, the filesystem of an C(fs) pool is kept on its device.
      - A pool that still holds volumes is refused, with their number in the message.
      - For C(disk) pools, erase the partition table, once the pool has no partition left.
      - For C(logical) pools, C(vgremove) and C(pvremove) of its devices (and the pool's thin pool first).
    type: bool
    default: false
  purge_volumes:
    description:
      - With O(purge=true), delete the storage even though it still holds volumes. For C(rbd) pools, the Ceph pool
        is deleted with its images, and the action names how many.
      - Without it, purge of a pool that holds volumes is refused, naming their number.
    type: bool
    default: false
  list_volumes:
    description:
      - Return the pool's volumes with format, capacity and allocation in RV(pool.volumes).
    type: bool
    default: false
seealso:
  - module: poolcraft.storage.storage_volume
  - name: libvirt storage pool XML format
    description: The format of the stored definitions.
    link: https://libvirt.org/formatstorage.html
"""

EXAMPLES = r"""
- name: An image directory that is there after every boot
  poolcraft.storage.storage_pool:
    name: images
    type: dir
    target:
      path: /srv/images
      permissions:
        mode: "0711"
        owner: root
        group: root
    build: true
    state: running
    autostart: true

- name: A scratch pool that disappears at reboot
  poolcraft.storage.storage_pool:
    name: scratch
    type: dir
    target:
      path: /var/tmp/scratch-images
    build: true
    persistent: false
    state: running

- name: A filesystem pool on a dedicated disk, mounted at boot
  poolcraft.storage.storage_pool:
    name: guests
    type: fs
    source:
      device: /dev/disk/by-id/wwn-0x5000c500a1b2c3d4
      format: xfs
    mount_options: [noatime]
    target:
      path: /var/lib/guests
    build: true
    state: running
    autostart: true

- name: Reuse a disk that held something else (its data is destroyed)
  poolcraft.storage.storage_pool:
    name: scratch-fs
    type: fs
    source:
      device: /dev/disk/by-id/virtio-scratch
      format: ext4
    target:
      path: /srv/scratch
    build: true
    overwrite: true
    state: running

- name: A disk whose partitions are the guests' disks
  poolcraft.storage.storage_pool:
    name: guests
    type: disk
    source:
      device: /dev/disk/by-id/wwn-0x5000c500a1b2c3d4
      format: gpt
    build: true
    state: running

- name: Erase the (empty) partition table when removing a disk pool
  poolcraft.storage.storage_pool:
    name: guests
    state: absent
    purge: true

- name: A volume group on two disks, activated at boot by LVM itself
  poolcraft.storage.storage_pool:
    name: vmstore
    type: logical
    source:
      devices:
        - /dev/disk/by-id/wwn-0x5000c500a1b2c3e4
        - /dev/disk/by-id/wwn-0x5000c500a1b2c3e5
    build: true
    state: running
    autostart: true

- name: A thin pool in it; new volumes are thin
  poolcraft.storage.storage_pool:
    name: vmstore
    thin_pool:
      name: thin
      size: 200G
    build: true

- name: Take a disk out of the group (only if nothing is stored on it)
  poolcraft.storage.storage_pool:
    name: vmstore
    source:
      devices:
        - /dev/disk/by-id/wwn-0x5000c500a1b2c3e4
    build: true
    remove_devices: true

- name: Use an existing volume group as it is
  poolcraft.storage.storage_pool:
    name: system
    type: logical
    source:
      name: vg0
    state: running

- name: An NFS image store, NFS 4.2, mounted at boot once the network is up
  poolcraft.storage.storage_pool:
    name: shared-images
    type: netfs
    source:
      host: nfs1.example.com
      dir: /srv/images
      protocol_version: "4.2"
    mount_options: [noatime]
    target:
      path: /var/lib/libvirt/shared-images
    build: true
    state: running
    autostart: true

- name: The LUNs of an iSCSI target, with CHAP, logged in at boot
  poolcraft.storage.storage_pool:
    name: san-luns
    type: iscsi
    source:
      host: 192.0.2.10
      target: iqn.2004-04.com.example:storage.images
      auth:
        username: kvm01
        secret: "{{ vault_chap_secret }}"
    state: running
    autostart: true

- name: The same LUNs for qemu's own initiator, no device nodes on the host
  poolcraft.storage.storage_pool:
    name: san-direct
    type: iscsi-direct
    source:
      host: 192.0.2.10
      port: 3260
      target: iqn.2004-04.com.example:storage.images
      initiator: iqn.2004-04.com.example:kvm01
      auth:
        username: kvm01
        secret: "{{ vault_chap_secret }}"
    state: running

- name: A Ceph pool of RBD images, the cephx key kept root-only beside the definition
  poolcraft.storage.storage_pool:
    name: ceph-vms
    type: rbd
    source:
      name: vms
      hosts:
        - name: 192.0.2.21
        - name: 192.0.2.22
          port: 6789
      auth:
        username: libvirt
        secret: "{{ vault_cephx_key }}"
      config:
        rados_osd_op_timeout: 30
    build: true
    state: running

- name: The LUNs of the SCSI host under the HBA at PCI 0000:05:00.0 (stable across reboots)
  poolcraft.storage.storage_pool:
    name: san-hba0
    type: scsi
    source:
      adapter:
        type: scsi_host
        parent_address: {domain: 0, bus: 5, slot: 0, function: 0}
        unique_id: 5
    state: running

- name: An NPIV vHBA the pool owns, made on start and deleted on stop
  poolcraft.storage.storage_pool:
    name: san-vhba
    type: scsi
    source:
      adapter:
        type: fc_host
        wwnn: 2002001b32912a4c
        wwpn: 2102001b32912a4c
        parent: host5
        managed: true
    state: running

- name: Two multipath maps, one by WWID and one by alias, with their paths
  poolcraft.storage.storage_pool:
    name: san-maps
    type: mpath
    source:
      wwids: [360014051f6b7a2c3d4e5f60718293a4b]
      aliases: [dbdata]
    state: running
    list_volumes: true

- name: Delete an rbd pool's Ceph pool with the images it still holds
  poolcraft.storage.storage_pool:
    name: ceph-vms
    state: absent
    purge: true
    purge_volumes: true

- name: Inventory of a pool
  poolcraft.storage.storage_pool:
    name: images
    list_volumes: true
  register: images

- name: Stop and undefine a pool, and remove its (empty) directory
  poolcraft.storage.storage_pool:
    name: scratch
    state: absent
    purge: true

- name: Keep definitions somewhere else for a whole play
  hosts: kvm_hosts
  module_defaults:
    group/poolcraft.storage.storage:
      config_dir: /etc/myorg/pools
  tasks:
    - name: Define the pool
      poolcraft.storage.storage_pool:
        name: images
        type: dir
        target:
          path: /srv/images
"""

RETURN = r"""
actions:
  description: What was done, or in check mode what would be done, in order. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["define pool 'images' (dir, persistent)", "build pool 'images' (create /srv/images)", "start pool 'images'"]
pool:
  description: The pool as it is after the task (in check mode, as it was found).
  returned: always
  type: dict
  contains:
    name:
      description: Pool name.
      type: str
      returned: always
      sample: images
    uuid:
      description: Pool UUID.
      type: str
      returned: when the pool exists
      sample: 0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41
    type:
      description: Pool type.
      type: str
      returned: when the pool exists
      sample: dir
    state:
      description: V(running), V(stopped) or V(absent).
      type: str
      returned: always
      sample: running
    persistent:
      description: Whether the definition survives a reboot.
      type: bool
      returned: when the pool exists
    autostart:
      description: Whether the pool comes up at boot.
      type: bool
      returned: when the pool exists
    capacity:
      description: Size of the filesystem holding the pool, in bytes; null while stopped.
      type: int
      returned: when the pool exists
    allocation:
      description: Bytes in use on that filesystem; null while stopped.
      type: int
      returned: when the pool exists
    available:
      description: Bytes still free for unprivileged users on that filesystem; null while stopped.
      type: int
      returned: when the pool exists
    volume_count:
      description: Number of volumes in the pool (image files, partitions, LVs); null while stopped.
      type: int
      returned: when the pool exists
    free_extents:
      description:
        - For C(disk) pools, the free extents a new partition can use, each start aligned up and each end
          down to the alignment (1 MiB), in bytes; RV(pool.available) is their sum.
      type: list
      elements: dict
      returned: when the pool is running and its type hands out extents (C(disk))
      sample: [{"start": 1048576, "end": 66060287, "size": 65011712}]
    source:
      description:
        - The source of the definition, devices, format and name; for network pools also host, port, dir,
          protocol_version, target, initiator and auth (the user names, with each secret shown as C(********)).
      type: dict
      returned: when the pool exists
      sample: {"devices": ["/dev/disk/by-id/virtio-scratch"], "format": "ext4", "name": null}
    thin_pool:
      description: The thin pool of the definition (name, size in bytes), or null.
      type: dict
      returned: when the pool exists
      sample: {"name": "thin", "size": 10737418240}
    mount_options:
      description: Mount options of the definition.
      type: list
      elements: str
      returned: when the pool exists
    target:
      description: Target path and the permissions of the definition.
      type: dict
      returned: when the pool exists
      sample: {"path": "/srv/images", "permissions": {"mode": "0711", "owner": 0, "group": 0, "label": null}}
    xml:
      description: The stored libvirt-format definition.
      type: str
      returned: when the pool exists
    volumes:
      description: The volumes, sorted by name, with the same fields as RV(poolcraft.storage.storage_volume#module:volume).
      type: list
      elements: dict
      returned: when O(list_volumes=true) and the pool is running
"""

from ansible.module_utils.basic import AnsibleModule

# first: the module_utils imported after it are compiled once, not twice, on the managed host
from ansible_collections.poolcraft.storage.plugins.module_utils import _compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.poolcraft.storage.plugins.module_utils._backends import POOL_TYPES
from ansible_collections.poolcraft.storage.plugins.module_utils._entry import PERMISSIONS_SPEC, argument_spec, run
from ansible_collections.poolcraft.storage.plugins.module_utils._pool import PoolManager


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            name={"type": "str"},
            uuid={"type": "str"},
            type={"type": "str", "choices": list(POOL_TYPES)},
            target={"type": "dict", "options": {
                "path": {"type": "path"},
                "permissions": {"type": "dict", "options": PERMISSIONS_SPEC},
            }},
            source={"type": "dict", "options": {
                "device": {"type": "str"},
                "devices": {"type": "list", "elements": "str"},
                "name": {"type": "str"},
                "format": {"type": "str"},
                "host": {"type": "str"},
                "port": {"type": "int"},
                "dir": {"type": "str"},
                "protocol_version": {"type": "str", "choices": ["3", "4", "4.1", "4.2"]},
                "target": {"type": "str"},
                "initiator": {"type": "str"},
                "hosts": {"type": "list", "elements": "dict", "options": {
                    "name": {"type": "str", "required": True},
                    "port": {"type": "int"},
                }},
                "namespace": {"type": "str"},
                "config": {"type": "dict"},
                "auth": {"type": "dict", "options": {
                    "username": {"type": "str", "required": True},
                    "secret": {"type": "str", "required": True, "no_log": True},
                    "mutual_username": {"type": "str"},
                    "mutual_secret": {"type": "str", "no_log": True},
                }},
                "adapter": {"type": "dict", "options": {
                    "type": {"type": "str", "required": True, "choices": ["scsi_host", "fc_host"]},
                    "name": {"type": "str"},
                    "parent_address": {"type": "dict", "options": {
                        "domain": {"type": "int", "required": True},
                        "bus": {"type": "int", "required": True},
                        "slot": {"type": "int", "required": True},
                        "function": {"type": "int", "required": True},
                    }},
                    "unique_id": {"type": "int"},
                    "wwnn": {"type": "str"},
                    "wwpn": {"type": "str"},
                    "parent": {"type": "str"},
                    "managed": {"type": "bool"},
                }},
                "wwids": {"type": "list", "elements": "str"},
                "aliases": {"type": "list", "elements": "str"},
            }},
            thin_pool={"type": "dict", "options": {
                "name": {"type": "str", "required": True},
                "size": {"type": "str"},
            }},
            remove_devices={"type": "bool", "default": False},
            mount_options={"type": "list", "elements": "str"},
            overwrite={"type": "bool", "default": False},
            force={"type": "bool", "default": False},
            fstab={"type": "path", "default": "/etc/fstab"},
            state={"type": "str", "default": "present", "choices": ["present", "running", "stopped", "absent"]},
            build={"type": "bool", "default": False},
            autostart={"type": "bool"},
            persistent={"type": "bool"},
            purge={"type": "bool", "default": False},
            purge_volumes={"type": "bool", "default": False},
            list_volumes={"type": "bool", "default": False},
        ),
        required_one_of=[("name", "uuid")],
        supports_check_mode=True,
    )
    run(module, PoolManager)


if __name__ == "__main__":
    main()
