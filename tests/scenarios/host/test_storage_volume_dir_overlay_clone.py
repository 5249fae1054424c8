# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, overlays and clones (was storage_volume_dir's overlay_clone.yml):
overlays by backing_store pool and name and by path; clones from a volume of the same pool, into
another pool, from an overlay, and from a qcow2 file outside any pool converted to a bigger raw
volume. One life cycle: each step builds on the volumes of the one before."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import fingerprints
import dir_volume_pools as common
from system import run
from dir_volume_pools import MIB


@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def qemu_compare(fmt_a, path_a, fmt_b, path_b):
    """qemu-img compare: the guest contents of two images are the same (fails the test if not)."""
    run("qemu-img", "compare", "-q", "-f", fmt_a, "-F", fmt_b, path_a, path_b)


def test_overlays_and_clones(pools):
    vols, other, host_dir = pools.vols, pools.other, pools.host_dir
    base = os.path.join(vols, "base.qcow2")
    pools.new_volume("qcow2", 32 * MIB, pool="vols", name="base.qcow2", format="qcow2", capacity="32M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0xab 1M 1M", base)  # 1 MiB of 0xab at 1 MiB

    # -- overlay by pool and name: backed by base, as qemu-img sees it too
    done, _st, info = pools.new_volume("qcow2", 32 * MIB, pool="vols", name="overlay-a.qcow2", format="qcow2",
                                       backing_store={"pool": "vols", "name": "base.qcow2"})
    assert done.real.actions == ["create qcow2 volume 'overlay-a.qcow2' as an overlay on %s" % base]
    assert done.check["diff"]["after"]["backing"] == base
    assert done.real["volume"]["backing_chain"] == [{"path": base, "format": "qcow2"}]
    assert info["backing-filename"] == base
    assert info["backing-filename-format"] == "qcow2"
    assert done.real["volume"]["allocation"] < MIB
    assert "<backingStore>" in done.real["volume"]["xml"]

    # -- overlay by path, on the overlay: the backing chain, nearest first, as qemu-img sees it
    overlay_a, overlay_b = os.path.join(vols, "overlay-a.qcow2"), os.path.join(vols, "overlay-b.qcow2")
    done = pools.new_volume("qcow2", 32 * MIB, pool="vols", name="overlay-b.qcow2", format="qcow2",
                            backing_store={"path": overlay_a})[0]
    chain = common.qemu_info(overlay_b, chain=True)
    assert done.real["volume"]["backing_chain"] == [{"path": overlay_a, "format": "qcow2"}, {"path": base, "format": "qcow2"}]
    assert [image["filename"] for image in chain] == [overlay_b, overlay_a, base]
    assert [image["format"] for image in chain] == ["qcow2", "qcow2", "qcow2"]
    # the data of the base shows through
    read = run("qemu-io", "-r", "-f", "qcow2", "-c", "read -P 0xab 1M 1M", overlay_b)
    assert "Pattern verification failed" not in read, read

    # -- the same backing store given again (by path this time) is fine
    again = pools.volume(pool="vols", name="overlay-a.qcow2", backing_store={"path": base})
    assert not again.failed and not again.changed, again

    # -- clone in the same pool: a copy without backing file, the same contents as the base
    done = pools.new_volume("qcow2", 32 * MIB, pool="vols", name="clone-a.qcow2",
                            clone_from={"pool": "vols", "name": "base.qcow2"})[0]
    assert done.real.actions == ["clone %s (qcow2) into volume 'clone-a.qcow2' (qcow2)" % base]
    assert done.real["clone_method"] in ("reflink", "copy")
    assert "clone_method" not in done.again
    assert done.real["volume"]["backing_chain"] == []
    qemu_compare("qcow2", base, "qcow2", os.path.join(vols, "clone-a.qcow2"))

    # -- clone of an overlay: flattened by copy, no backing file left, the overlay's contents
    done, _st, info = pools.new_volume("qcow2", 32 * MIB, pool="vols", name="flat.qcow2",
                                       clone_from={"pool": "vols", "name": "overlay-b.qcow2"})
    assert done.real["clone_method"] == "copy"
    assert done.real["volume"]["backing_chain"] == []
    assert "backing-filename" not in info
    qemu_compare("qcow2", overlay_b, "qcow2", os.path.join(vols, "flat.qcow2"))

    # -- clone into a second pool
    pools.new_volume("qcow2", 32 * MIB, pool="other", name="copy.qcow2", clone_from={"pool": "vols", "name": "base.qcow2"})
    qemu_compare("qcow2", base, "qcow2", os.path.join(other, "copy.qcow2"))

    # -- from the second pool back into the first, converted to raw: by copy
    done = pools.new_volume("raw", 32 * MIB, pool="vols", name="from-other.raw", format="raw",
                            clone_from={"pool": "other", "name": "copy.qcow2"})[0]
    assert done.real["clone_method"] == "copy"
    assert done.real.actions == ["clone %s/copy.qcow2 (qcow2) into volume 'from-other.raw' (raw)" % other]

    # -- a host file outside any pool (qcow2 of 16 MiB, random in the first 256 KiB), converted to
    # raw and grown to 32 MiB
    cloud_img, cloud = os.path.join(host_dir, "cloud.img"), os.path.join(host_dir, "cloud.qcow2")
    with open(cloud_img, "wb") as handle:
        handle.write(os.urandom(256 * 1024))
        handle.truncate(16 * MIB)
    run("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", cloud_img, cloud)
    cloud_before = fingerprints.digest(cloud)
    done = pools.new_volume("raw", 32 * MIB, pool="vols", name="cloud.raw", format="raw", capacity="32M",
                            clone_from={"path": cloud})[0]
    assert done.real["clone_method"] == "copy"
    assert done.real.actions == ["clone %s (qcow2) into volume 'cloud.raw' (raw)" % cloud]
    assert done.check["diff"]["after"]["capacity"] == 32 * MIB
    assert done.real["volume"]["allocation"] < 8 * MIB  # sparse: only the data is allocated
    # the same contents as the source (the grown part reads as zeros), and the source untouched
    qemu_compare("qcow2", cloud, "raw", os.path.join(vols, "cloud.raw"))
    assert fingerprints.digest(cloud) == cloud_before
