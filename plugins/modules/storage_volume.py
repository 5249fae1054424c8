#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: storage_volume
short_description: Create, clone, resize and delete volumes in storage pools
version_added: 0.1.0
description:
  - Manages one volume of a running pool defined with M(poolcraft.storage.storage_pool).
  - In C(dir) and C(fs) pools a volume is an image file (raw, qcow2 or vmdk) made with qemu-img.
  - In C(disk) pools a volume is a partition, named by its GPT name (C(partN) on C(dos) labels), keyed by its
    C(/dev/disk/by-partuuid) link, its format the partition type.
  - In C(logical) pools a volume is an LVM logical volume (format V(raw)); sizes are rounded up to whole extents.
  - In C(rbd) pools a volume is an RBD image (format V(raw)) with the features of O(features); its path is C(rbd:POOL/IMAGE),
    its key C(POOL/IMAGE). An image that is open (watchers), has clones or has snapshots is not deleted; the
    refusal names them.
  - A new volume is made under a temporary name and renamed when complete, so an interrupted
    run never leaves a half-made volume that a later run would take as done.
  - An existing volume is never converted, re-created or overwritten; only its size (grow, or shrink
    with O(shrink=true)) and permissions are brought in line.
author:
  - poolcraft.storage developers (@poolcraft)
extends_documentation_fragment:
  - poolcraft.storage.common
  - poolcraft.storage.common.attributes
options:
  pool:
    description:
      - Name of the pool holding the volume. Used with O(name).
    type: str
  name:
    description:
      - Name of the volume in O(pool); for file volumes, the file name.
      - In C(disk) pools, the GPT partition name (1 to 36 ASCII letters, digits and C(_ . + @ -)); on C(dos)
        labels, C(partN) with N the number the new partition gets.
    type: str
  path:
    description:
      - Select the volume by its path instead of O(pool) and O(name); the pool is the defined pool whose
        target directory holds it.
      - Volumes with no path on the host are selected by their URL, C(iscsi://HOST:PORT/IQN/LUN) (C(iscsi-direct)).
    type: path
  key:
    description:
      - Select the volume by its key (for file volumes the key is the path; for LUNs their identifier; for C(rbd)
        volumes C(POOL/IMAGE)).
    type: str
  state:
    description:
      - V(present) creates the volume if it is missing and brings size and permissions in line.
      - V(absent) deletes it, after overwriting it when O(wipe) is set.
      - V(wiped) overwrites an existing volume with O(wipe) and keeps it, for the volumes a pool cannot delete, the
        LUNs of C(iscsi), C(iscsi-direct) and C(scsi) pools. It is an action, not a state, since nothing tells a wiped
        LUN from one that holds zeros by chance, so every run wipes again and reports a change (check mode reports
        it and writes nothing).
    type: str
    choices: [present, absent, wiped]
    default: present
  format:
    description:
      - Volume format. Which formats a pool holds depends on its type; C(dir) and C(fs) pools hold
        V(raw), V(qcow2) and V(vmdk) image files. Another format is an error that lists the pool's formats.
      - Defaults to the pool type's default (V(raw) for image files) for new volumes, or to the format of
        O(clone_from) when cloning (give another format to convert while cloning).
      - An existing volume of another format is an error; it is never converted in place.
      - C(disk) pools hold partitions of types V(none) (the default, no particular type), V(linux),
        V(linux-swap), V(linux-lvm), V(linux-raid), V(fat16) (not on C(gpt)) and V(fat32).
    type: str
  capacity:
    description:
      - Size the guest sees, as bytes or with a unit such as V(10G), V(512MiB), V(1TiB) (single letters and
        C(iB) units are binary; C(KB), C(MB), C(GB) ... are decimal). Rounded up to whole 512-byte sectors.
      - Required for a new volume unless it is a clone or an overlay (then it defaults to the source's size).
      - A larger size grows an existing volume; a smaller one needs O(shrink=true).
      - In C(disk) pools, rounded up to whole MiB; only the last partition grows, and none shrinks.
    type: str
  allocation:
    description:
      - For new V(raw) volumes, how many bytes to allocate up front (the rest stays sparse).
    type: str
  preallocation:
    description:
      - Preallocation of a new volume. V(raw) takes V(off), V(falloc), V(full); V(qcow2) also V(metadata);
        V(vmdk) only V(off).
    type: str
    choices: ['off', metadata, falloc, full]
  cluster_size:
    description:
      - Cluster size of a new V(qcow2) volume, such as V(64K) or V(2M).
    type: str
  compat:
    description:
      - qcow2 compatibility level of a new V(qcow2) volume.
    type: str
    choices: ['0.10', '1.1']
  lazy_refcounts:
    description:
      - Lazy refcounts for a new V(qcow2) volume (needs O(compat=1.1)).
    type: bool
  backing_store:
    description:
      - Make a new volume an overlay (copy-on-write) on another image, given by O(backing_store.path) or by
        O(backing_store.pool) and O(backing_store.name). The backing image must exist, be a regular file or a
        block device, and refer to no file outside itself that is not a volume of a defined pool (see O(allow_references)).
      - In C(logical) pools the volume is an LVM snapshot of another volume of the same pool, of a linear volume
        with O(capacity) as its copy-on-write space (required), of a thin volume a thin snapshot (no O(capacity)).
      - In C(rbd) pools the volume is a copy-on-write clone of another rbd volume, through a protected snapshot of it
        (C(poolcraft-clone-NAME)); O(capacity) may make it larger than its source. It lists its source as its backing
        store. An image file cannot be a backing store there.
    type: dict
    suboptions:
      path:
        description: Absolute path of the backing image.
        type: path
      pool:
        description: Pool of the backing volume.
        type: str
      name:
        description: Name of the backing volume.
        type: str
      format:
        description: Format of the backing image; probed from its header when omitted.
        type: str
  clone_from:
    description:
      - Make a new volume as a copy of another volume (in any pool) or of a file on the host, such as a
        cloud image. With the same format and a source without backing file, the copy is a reflink
        (instant, sharing blocks) where the filesystem supports it; otherwise a sparse copy with qemu-img
        (an overlay source is flattened).
      - Has no effect once the volume exists, except in C(iscsi-direct) and C(scsi) pools, whose volumes are LUNs
        and exist already. There the image is written into the LUN, once; a LUN whose first or last MiB holds data
        is refused (see C(docs/pool-types/iscsi-direct.md)), and so is a C(scsi) LUN with a signature or that is a
        path of a multipath map.
      - An image that refers to files outside itself is refused unless they are volumes of a defined pool; see
        O(allow_references).
      - In C(logical) pools the data is copied into a new LV with C(qemu-img convert) (RV(clone_method=copy)).
      - In C(rbd) pools a file is converted into a new image by C(qemu-img convert) (RV(clone_method=copy)), and another
        rbd volume is cloned copy-on-write through a protected snapshot of it (RV(clone_method=cow)), instantly; see
        O(flatten).
      - A clone into a C(logical), C(disk) or C(rbd) pool is raw whatever the format of the source, since those
        volumes are block devices (or RBD images) of their own.
    type: dict
    suboptions:
      path:
        description: Absolute path of the source image.
        type: path
      pool:
        description: Pool of the source volume.
        type: str
      name:
        description: Name of the source volume.
        type: str
      format:
        description: Format of the source; probed from its header when omitted.
        type: str
  features:
    description:
      - For C(rbd) pools, the image features of the volume. Other pool types refuse it.
      - A new image gets these; without the option, the features current Ceph gives a new image
        (V(layering), V(exclusive-lock), V(object-map), V(fast-diff), V(deep-flatten)).
      - On an existing image the option, when given, is brought in line. Ceph turns V(exclusive-lock),
        V(object-map) with V(fast-diff), and V(journaling) on and off, and V(deep-flatten) only off (for good). It
        never adds V(layering) or V(deep-flatten) to an image nor takes V(layering) off, so such a change is refused,
        naming the feature. Without the option an existing image's features are left as they are.
      - A newly enabled object map is rebuilt at once (which reads every object of the image), so that the
        volume's allocation reads true.
      - Each feature needs another. V(object-map) and V(journaling) need V(exclusive-lock), and V(object-map) and
        V(fast-diff) go together, since rbd turns them on and off at once. A copy-on-write clone needs V(layering).
      - Features the option does not set (such as C(striping) or C(data-pool), which follow from how an image was
        created) are kept as they are, and shown in RV(volume.features).
      - A feature may be changed while a guest has the image open; Ceph has the client holding the image's lock
        apply it.
    type: list
    elements: str
    choices: [layering, exclusive-lock, object-map, fast-diff, deep-flatten, journaling]
  flatten:
    description:
      - For C(rbd) pools, with O(clone_from) naming another rbd volume, copy the source's data into the new clone
        (RV(clone_method=copy)) so that it no longer depends on its source. Without it the clone is copy-on-write
        (instant, RV(clone_method=cow)) and its source cannot be deleted while the clone exists.
      - Set on an existing clone, it flattens it.
      - Other pool types refuse it.
    type: bool
    default: false
  allow_references:
    description:
      - "Use an O(clone_from) or O(backing_store) image that refers to files outside itself: a backing file,
        a qcow2 external data file, or the extents of a VMDK descriptor (also a descriptor embedded in a sparse VMDK)."
      - By default such an image is refused, naming the file it refers to, unless each such file is a volume of a
        defined pool. qemu-img reads those files when it opens the image, so an image from somebody else could
        otherwise copy any host file it names (such as C(../../etc/shadow)) into the pool.
      - Set V(true) only for images you trust. A loop, a chain of more than 16 files, and a reference to anything
        but a regular file or a block device are refused even then.
      - A file qemu finds by itself (a network or C(json:) name, a relative data file) never counts as a pool volume.
    type: bool
    default: false
  shrink:
    description:
      - Allow O(capacity) to make an existing volume smaller. Data past the new end is lost.
    type: bool
    default: false
  wipe:
    description:
      - With O(state=absent), overwrite the volume's bytes before deleting it; with O(state=wiped), overwrite
        them and keep the volume.
      - In C(logical) pools the LV must be active (the pool running).
      - In C(rbd) pools V(zero) discards every object of the image (no client can read the old data; the OSDs free
        the space without overwriting it), and V(random) is refused.
    type: str
    choices: [zero, random]
  permissions:
    description:
      - Permissions of the volume file, set at creation and kept in line afterwards.
      - A new volume gets mode V(0600) (libvirt's default) unless O(permissions.mode) is set.
      - Only image files have permissions of their own. C(logical) and C(disk) pools refuse them, since udev sets
        the mode and owner of an LV's or a partition's node again at every activation, re-read of the table and
        boot; write a udev rule instead. LUNs and RBD images refuse them too.
    type: dict
    suboptions:
      mode:
        description: Octal mode as a quoted string, such as V('0600').
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
notes:
  - The pool must be running.
seealso:
  - module: poolcraft.storage.storage_pool
"""

EXAMPLES = r"""
- name: A sparse raw disk
  poolcraft.storage.storage_volume:
    pool: images
    name: data.img
    capacity: 20G

- name: A qcow2 disk with preallocated metadata
  poolcraft.storage.storage_volume:
    pool: images
    name: vm1.qcow2
    format: qcow2
    capacity: 40GiB
    preallocation: metadata
    cluster_size: 64K
    permissions:
      mode: "0600"
      owner: libvirt-qemu

- name: A guest disk from a cloud image, converted to qcow2 and grown
  poolcraft.storage.storage_volume:
    pool: images
    name: web1.qcow2
    format: qcow2
    clone_from:
      path: /srv/cloud/debian-12-generic-amd64.raw
    capacity: 30G

- name: An overlay on a base image
  poolcraft.storage.storage_volume:
    pool: images
    name: web2.qcow2
    format: qcow2
    backing_store:
      pool: images
      name: base.qcow2

- name: Grow a disk
  poolcraft.storage.storage_volume:
    pool: images
    name: data.img
    capacity: 40G

- name: Delete a volume after zeroing it
  poolcraft.storage.storage_volume:
    path: /srv/images/old.img
    state: absent
    wipe: zero

- name: Hand a LUN back empty (the target keeps it)
  poolcraft.storage.storage_volume:
    pool: san-luns
    name: "unit:0:0:3"
    state: wiped
    wipe: zero

- name: A partition for an LVM PV on a disk pool
  poolcraft.storage.storage_volume:
    pool: guests
    name: web1-pv
    format: linux-lvm
    capacity: 40G

- name: A guest's disk as a partition, copied from a cloud image
  poolcraft.storage.storage_volume:
    pool: guests
    name: web2-root
    clone_from:
      path: /srv/cloud/debian-12-generic-amd64.qcow2
    capacity: 20G

- name: Remove a partition, zeroing it first
  poolcraft.storage.storage_volume:
    pool: guests
    name: web1-pv
    state: absent
    wipe: zero

- name: An LV of 20 GiB in a logical pool
  poolcraft.storage.storage_volume:
    pool: vmstore
    name: web1-disk
    capacity: 20G

- name: A snapshot of it with 2 GiB of copy-on-write space
  poolcraft.storage.storage_volume:
    pool: vmstore
    name: web1-disk-before-upgrade
    capacity: 2G
    backing_store:
      pool: vmstore
      name: web1-disk

- name: A cloud image copied into a new LV
  poolcraft.storage.storage_volume:
    pool: vmstore
    name: web2-disk
    format: raw
    clone_from:
      path: /srv/cloud/debian-12-generic-amd64.qcow2
    capacity: 20G

- name: A cloud image converted into an RBD image of an rbd pool
  poolcraft.storage.storage_volume:
    pool: guests
    name: web1-root
    clone_from:
      path: /srv/cloud/debian-12-generic-amd64.qcow2
    capacity: 20G

- name: An instant copy-on-write clone of it, then one flattened (independent of its source)
  poolcraft.storage.storage_volume:
    pool: guests
    name: "{{ item.name }}"
    clone_from:
      pool: guests
      name: web1-root
    flatten: "{{ item.flatten }}"
  loop:
    - {name: web2-root, flatten: false}
    - {name: web3-root, flatten: true}

- name: An RBD image found by its path, grown
  poolcraft.storage.storage_volume:
    path: rbd:guests/web2-root
    capacity: 40G

- name: An RBD image for a mirrored guest, journaled
  poolcraft.storage.storage_volume:
    pool: guests
    name: db1-data
    capacity: 100G
    features: [layering, exclusive-lock, object-map, fast-diff, deep-flatten, journaling]

- name: An RBD image shared by two clients (a cluster file system), with no exclusive lock
  poolcraft.storage.storage_volume:
    pool: guests
    name: shared-disk
    capacity: 10G
    features: [layering]
"""

RETURN = r"""
actions:
  description: What was done, or in check mode what would be done. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["create qcow2 volume 'vm1.qcow2' of 40.0 GiB"]
clone_method:
  description: How a clone was made, V(reflink), V(copy) or (C(rbd) pools) V(cow).
  returned: when a volume was cloned
  type: str
  sample: reflink
volume:
  description: The volume after the task (in check mode, as it was found).
  returned: always
  type: dict
  contains:
    name:
      description: Volume name.
      type: str
      returned: always
      sample: vm1.qcow2
    pool:
      description: Pool holding the volume.
      type: str
      returned: always
      sample: images
    state:
      description: V(present) or V(absent).
      type: str
      returned: always
    key:
      description: Unique key of the volume (for file volumes, the path).
      type: str
      returned: when present
    path:
      description: Path of the volume on the host.
      type: str
      returned: when present
      sample: /srv/images/vm1.qcow2
    type:
      description: Volume type, as libvirt names it (V(file)).
      type: str
      returned: when present
    format:
      description: Image format found in the file's header.
      type: str
      returned: when present
      sample: qcow2
    capacity:
      description: Size the guest sees, in bytes.
      type: int
      returned: when present
      sample: 42949672960
    allocation:
      description: Bytes the volume takes on the host.
      type: int
      returned: when present
      sample: 6619136
    backing_chain:
      description: The backing images, nearest first, each with C(path) and C(format).
      type: list
      elements: dict
      returned: when present
      sample: [{"path": "/srv/images/base.qcow2", "format": "qcow2"}]
    permissions:
      description: Mode (octal string), owner and group (numeric ids) of the file.
      type: dict
      returned: when present
      sample: {"mode": "0600", "owner": 64055, "group": 64055, "label": null}
    multipath_map:
      description:
        - In C(scsi) pools, for a LUN that is a path of a multipath map, the map's name (under C(/dev/mapper)).
          Such a LUN is never written to; use the map (an C(mpath) pool's volume) instead.
      type: str
      returned: in scsi pools, for a LUN that is a multipath path
      sample: mpatha
    map_state:
      description: In C(mpath) pools, V(active) while the map has an active path, else V(degraded).
      type: str
      returned: in mpath pools
      sample: active
    paths:
      description:
        - In C(mpath) pools, every path of the map with its C(device) (V(sdb)), C(hctl) (its SCSI address),
          C(state) (V(active), V(failed), ...), C(group) (its priority group, 1 first) and C(group_state).
      type: list
      elements: dict
      returned: in mpath pools
      sample: [{"device": "sdb", "hctl": "2:0:0:0", "state": "active", "group": 1, "group_state": "active"}]
    features:
      description:
        - In C(rbd) pools, the image's features as Ceph lists them (those O(features) sets and any other, such as
          C(striping)).
      type: list
      elements: str
      returned: in rbd pools
      sample: [layering, exclusive-lock, object-map, fast-diff, deep-flatten]
    xml:
      description: The volume in libvirt's volume XML format.
      type: str
      returned: when present
"""

from ansible.module_utils.basic import AnsibleModule

# first: the module_utils imported after it are compiled once, not twice, on the managed host
from ansible_collections.poolcraft.storage.plugins.module_utils import _compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.poolcraft.storage.plugins.module_utils._entry import PERMISSIONS_SPEC, argument_spec, run
from ansible_collections.poolcraft.storage.plugins.module_utils._volume import VolumeManager

_IMAGE_REF = {"path": {"type": "path"}, "pool": {"type": "str"}, "name": {"type": "str"}, "format": {"type": "str"}}


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            pool={"type": "str"},
            name={"type": "str"},
            path={"type": "path"},
            key={"type": "str", "no_log": False},
            state={"type": "str", "default": "present", "choices": ["present", "absent", "wiped"]},
            format={"type": "str"},
            capacity={"type": "str"},
            allocation={"type": "str"},
            preallocation={"type": "str", "choices": ["off", "metadata", "falloc", "full"]},
            cluster_size={"type": "str"},
            compat={"type": "str", "choices": ["0.10", "1.1"]},
            lazy_refcounts={"type": "bool"},
            backing_store={"type": "dict", "options": _IMAGE_REF},
            clone_from={"type": "dict", "options": _IMAGE_REF},
            allow_references={"type": "bool", "default": False},
            shrink={"type": "bool", "default": False},
            flatten={"type": "bool", "default": False},
            features={"type": "list", "elements": "str",
                      "choices": ["layering", "exclusive-lock", "object-map", "fast-diff", "deep-flatten", "journaling"]},
            wipe={"type": "str", "choices": ["zero", "random"]},
            permissions={"type": "dict", "options": PERMISSIONS_SPEC},
        ),
        required_one_of=[("name", "path", "key")],
        required_together=[("pool", "name")],
        mutually_exclusive=[("name", "path", "key"), ("backing_store", "clone_from")],
        supports_check_mode=True,
    )
    run(module, VolumeManager)


if __name__ == "__main__":
    main()
