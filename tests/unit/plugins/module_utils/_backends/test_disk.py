# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DiskBackend against parted and partx output recorded on loop devices
(fixtures/parted/*.json, made by fixtures/record_parted.py): volume names,
formats and keys, free extents, placement, the plan-time refusals, and the
exact commands of each change.

The host is faked where the backend looks at it: the device node, the kernel's
partitions (they follow each table parted prints, as parted's own BLKPG calls
make them follow it, unless a test makes the kernel lag), udev, and usage.
The real thing is tested on loop devices by the storage_pool_disk target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _disk
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._disk import DiskBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev
from ansible_collections.poolcraft.storage.plugins.module_utils._model import BackingStore, CloneSource, Permissions, PoolDef, PoolSource, VolumeSpec
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _partition_table
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._parted import parse_partx
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

DEV = "/dev/loop7"
MIB = 1 << 20
UUID = "0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41"


def is_read(step):
    return step["argv"][0] in ("wipefs", "partx", "@gpt-header") or step["argv"][-1] == "free"


class Reads(object):
    """What the backend reads of a table (wipefs, partx, the GPT header) as recorded, and parted's view of it."""

    def __init__(self, transcript, steps):
        self.size, self.sector = transcript["size"], transcript["sector_size"]
        self.steps = dict((step["argv"][0], step) for step in steps)
        self.label = next((label for label in ("gpt", "dos") if '"type": "%s"' % label in self.steps["wipefs"]["stdout"]), None)

    def parted_free(self):
        """parted's free extents (start, end) in bytes."""
        lines = self.steps["parted"]["stdout"].splitlines()
        return [tuple(int(field[:-1]) for field in line.split(":")[1:3]) for line in lines if line.endswith(":free;")]


class Transcript(object):
    """A recording cut into its changes and the reads after each."""

    def __init__(self, name):
        transcript = load_transcript("parted/" + name, DEV=DEV)
        steps = transcript["steps"]
        self.changes, groups = [], []
        for step in steps:
            if is_read(step):
                groups[-1].append(step)
            else:
                self.changes.append(step)
                groups.append([])
        self.reads = [Reads(transcript, group) for group in groups]

    def read(self, after):
        """The reads recorded after change number after (0: the first change)."""
        return self.reads[after]


def reads_of(name):
    """The reads of the last table in a recording."""
    transcript = load_transcript("parted/" + name, DEV=DEV)
    steps = transcript["steps"]
    last = max(index for index, step in enumerate(steps) if not is_read(step)) if any(not is_read(s) for s in steps) else -1
    return Reads(transcript, steps[last + 1:])


class Kernel(object):
    """The kernel's partitions: they follow every table partx reads (as parted's own BLKPG
    calls make them follow its changes), unless lagging; a lagging kernel catches up at
    partx -u or partx -d."""

    def __init__(self):
        self.nodes = {}
        self.entries = None
        self.lag = False

    def follow(self, argv, stdout):
        if argv[0] == "wipefs" and '"type": "gpt"' not in stdout and '"type": "dos"' not in stdout:
            self.entries = []
        elif argv[:2] == ["partx", "-P"]:
            self.entries = parse_partx(stdout)
        elif argv[:2] in (["partx", "-u"], ["partx", "-d"]):
            self.lag = False
        if self.entries is not None and not self.lag:
            self.nodes = dict((entry.number, ("loop7p%d" % entry.number, entry.start, entry.end - entry.start + 1))
                              for entry in self.entries)


class Host(object):
    """The faked host: a FakeRunner for the tools, the kernel, the disk's geometry and GPT header, usage."""

    def __init__(self, runner):
        self.runner = runner
        self.kernel = Kernel()
        self.geometry = (64 * MIB, 512)
        self.headers = []
        self.uses = ()

    def expect(self, *groups):
        for group in groups:
            if isinstance(group, Reads):
                self.geometry = (group.size, group.sector)
                step = group.steps["wipefs"]
                self.runner.expect(step["argv"], step["rc"], step["stdout"], step["stderr"])
                if group.label:
                    step = group.steps["partx"]
                    self.runner.expect(step["argv"], step["rc"], step["stdout"], step["stderr"])
                if group.label == "gpt":
                    self.headers.append(bytes.fromhex(group.steps["@gpt-header"]["stdout"]))
            else:
                self.runner.expect(group["argv"], group["rc"], group["stdout"], group["stderr"])

    def header(self, path, offset, length):
        assert (path, offset, length) == (DEV, self.geometry[1], 92)
        return self.headers.pop(0)


@pytest.fixture
def host(monkeypatch, fake_runner):
    runner = fake_runner()
    runner.commands.update(("parted", "partx", "wipefs", "udevadm", "qemu-img"))
    faked = Host(runner)
    real_run = runner.run

    def run(argv, data=None, env=None, check=True):
        result = real_run(argv, data, env, check)
        faked.kernel.follow([str(arg) for arg in argv], result[1])
        return result

    runner.run = run
    monkeypatch.setattr(_disk, "resolve", lambda device: device)
    monkeypatch.setattr(_disk, "kernel_name", os.path.basename)
    monkeypatch.setattr(_disk, "kernel_partitions", lambda disk: dict(faked.kernel.nodes))
    monkeypatch.setattr(_disk, "optimal_io_size", lambda disk: 0)
    monkeypatch.setattr(_disk, "udev_runs", lambda: False)
    # what the partition table reader finds on the disk
    monkeypatch.setattr(_partition_table, "kernel_name", os.path.basename)
    monkeypatch.setattr(_partition_table, "disk_geometry", lambda disk: faked.geometry)
    monkeypatch.setattr(_partition_table, "read_bytes", faked.header)
    # the disk's signatures as wipefs finds them; a partition's need not be known
    monkeypatch.setattr(_blockdev, "inspect", lambda device, runner: _blockdev.DeviceState(
        device, os.path.basename(device), tuple(Wipefs(runner).signatures(device)) if device == DEV else (), faked.uses))
    yield faked
    assert faked.headers == [], "GPT headers recorded but never read"


def applied(actions):
    """Apply planned Actions as the manager does; what each apply returned."""
    return [action.apply() for action in actions]


def pool(fmt="gpt", **changes):
    return PoolDef(name="disk1", type="disk", uuid=UUID, target_path="/dev",
                   source=PoolSource(devices=(DEV,), format=fmt)).with_changes(**changes)


# -- the definition ------------------------------------------------------------------------


@pytest.mark.parametrize("changes, option, words", [
    ({"source": PoolSource(devices=(DEV, "/dev/loop8"), format="gpt")}, "source.devices", "exactly one device"),
    ({"source": PoolSource()}, "source.devices", "disk pools need it"),
    ({"source": PoolSource(devices=(DEV,), format="mac")}, "source.format", "gpt or dos"),
    ({"target_path": "/dev/disk/by-id"}, "target.path", "under /dev"),
    ({"mount_options": ("noatime",)}, "mount_options", "mount nothing"),
    ({"permissions": Permissions(mode=0o600)}, "target.permissions", "udev"),
])
def test_definitions_refused(changes, option, words):
    with pytest.raises(ValidationError) as err:
        DiskBackend(None).validate(pool(**changes))
    assert err.value.option == option
    assert words in str(err.value)


def test_definition_defaults():
    backend = DiskBackend(None)
    assert backend.default_target_path(pool()) == "/dev"
    assert backend.fixed_target_path == "/dev" and backend.single_device and not backend.takes_mount_options
    assert backend.default_volume_format == "none"
    backend.validate(pool(fmt=None))
    backend.validate(pool(fmt="dos"))


# -- reading a table ---------------------------------------------------------------------------


def partx_of(reads):
    return dict((entry.number, entry) for entry in parse_partx(reads.steps["partx"]["stdout"]))


def test_gpt_volume_names_formats_and_keys(host):
    reads = reads_of("gpt_formats")
    host.expect(reads)
    volumes = DiskBackend(host.runner).list_volumes(pool())
    by_name = dict((vol.name, vol) for vol in volumes)
    assert [vol.name for vol in volumes] == sorted(by_name)
    # unnamed, named like an unnamed one, and names used twice: partN
    assert sorted(by_name) == sorted(["plain", "root", "swap", "pv", "md", "esp", "part7", "part8", "part9", "part10"])
    assert [by_name[name].format for name in ("plain", "root", "swap", "pv", "md", "esp", "part7")] == [
        "linux", "linux", "linux-swap", "linux-lvm", "linux-raid", "fat32", "linux"]
    for name, number in (("root", 2), ("part10", 10)):
        vol = by_name[name]
        assert vol.key == "/dev/disk/by-partuuid/" + partx_of(reads)[number].uuid
        assert vol.path == "/dev/loop7p%d" % number  # no udev link here: the kernel node
        assert vol.type == "block"
    assert (by_name["root"].capacity, by_name["root"].allocation) == (2 * MIB, 2 * MIB)


def test_dos_volumes_are_named_by_number(host):
    reads = reads_of("dos_mixed")
    host.expect(reads)
    volumes = DiskBackend(host.runner).list_volumes(pool("dos"))
    assert [(vol.name, vol.format) for vol in volumes] == [
        ("part1", "linux"), ("part2", "linux-swap"), ("part3", "fat16"), ("part4", "extended"),
        ("part5", "fat32"), ("part6", "linux-lvm")]
    disk_id = partx_of(reads)[1].uuid.split("-")[0]
    assert volumes[4].key == "/dev/disk/by-partuuid/%s-05" % disk_id


@pytest.mark.parametrize("name, fmt", [("gpt_formats", "gpt"), ("gpt_empty", "gpt"), ("gpt_4k_sectors", "gpt"),
                                       ("gpt_grow_and_remove", "gpt"), ("dos_mixed", "dos"), ("dos_primaries", "dos")])
def test_free_space_is_what_parted_finds(host, name, fmt):
    """The gaps the backend computes (GPT header, partx) are the free extents parted prints,
    aligned alike; parted's free space inside an extended partition is for logical ones."""
    reads = reads_of(name)
    host.expect(reads)
    backend = DiskBackend(host.runner)
    layout = backend._labelled(pool(fmt))
    extended = [(slot.start, slot.end) for slot in layout.slots if slot.kind == "extended"]
    parted = [_partition_table.Extent(start, end) for start, end in reads.parted_free()
              if not any(low <= start and end <= high for low, high in extended)]
    if fmt == "dos":
        # parted leaves sector 1 out of its first free extent; below 1 MiB either way
        assert layout.free[0].start == 512 and parted[0].start == 1024
    assert list(layout.free[1:] if fmt == "dos" else layout.free) == (parted[1:] if fmt == "dos" else parted)
    aligned = backend._free_extents(layout)
    expected = backend._free_extents(dataclasses.replace(layout, free=tuple(parted)))
    assert aligned == expected


def test_refresh_counts_partitions_and_the_free_space_a_volume_can_use(host):
    host.expect(reads_of("gpt_formats"), reads_of("dos_mixed"))
    gpt = DiskBackend(host.runner).refresh(pool())
    # the gap at 8 MiB, and from 14 MiB to the last whole MiB before the backup GPT
    assert gpt.free_extents == ({"start": 8 * MIB, "end": 10 * MIB - 1, "size": 2 * MIB},
                                {"start": 14 * MIB, "end": 63 * MIB - 1, "size": 49 * MIB})
    assert (gpt.capacity, gpt.allocation, gpt.available, gpt.volume_count) == (64 * MIB, 11 * MIB, 51 * MIB, 10)
    dos = DiskBackend(host.runner).refresh(pool("dos"))
    # free space inside the extended partition is for logical partitions: not counted
    assert dos.free_extents == ({"start": 40 * MIB, "end": 64 * MIB - 1, "size": 24 * MIB},)
    # the extended partition is a container: its logical partitions count, it does not
    assert (dos.capacity, dos.allocation, dos.available, dos.volume_count) == (64 * MIB, 5 * MIB, 24 * MIB, 6)


def test_a_damaged_gpt_header_is_an_error(host):
    reads = reads_of("gpt_empty")
    host.expect(reads)
    host.headers = [b"\0" * 92]
    with pytest.raises(StorageError) as err:
        DiskBackend(host.runner).refresh(pool())
    assert "primary GPT header is damaged" in str(err.value)


def test_a_device_with_another_label_is_not_built_and_says_why(host):
    dos, blank, ext4 = reads_of("dos_mixed"), reads_of("blank"), reads_of("ext4_whole_disk")
    for reads in (dos, dos, blank, ext4):
        host.runner.expect(reads.steps["wipefs"]["argv"], 0, reads.steps["wipefs"]["stdout"])
    backend = DiskBackend(host.runner)
    assert not backend.is_built(pool())
    assert backend.unbuilt_reason(pool()) == "source.device /dev/loop7 holds a dos partition table, not gpt"
    assert backend.unbuilt_reason(pool()) == "source.device /dev/loop7 holds no partition table"
    assert backend.unbuilt_reason(pool(fmt=None)) == "source.device /dev/loop7 holds no partition table (it carries ext4)"


def test_volume_lookup_by_key_and_by_node(host):
    reads = reads_of("gpt_formats")
    host.expect(reads, reads, reads, reads)
    backend = DiskBackend(host.runner)
    uuid = partx_of(reads)[3].uuid
    assert backend.volume_name_at(pool(), "/dev/disk/by-partuuid/" + uuid.upper()) == "swap"
    assert backend.volume_name_at(pool(), "/dev/loop7p5") == "md"
    assert backend.volume_name_at(pool(), "/dev/loop7p11") is None
    assert backend.volume_name_at(pool(), "/dev/disk/by-partuuid/00000000-0000-0000-0000-000000000000") is None
    # outside /dev: no command at all
    assert backend.volume_name_at(pool(), "/srv/images/disk.img") is None


def test_any_name_of_a_partition_node_is_that_volume(host, tmp_path, monkeypatch, block_node):
    """A by-id or by-path link, or another node of the same device, is the partition: compared by device
    number, not by where a link leads. Nodes of the test's own stand for /dev/loop7p5 and its other names."""
    dev = tmp_path / "dev"
    monkeypatch.setattr(_disk, "DEV", str(dev))
    block_node(dev / "loop7p5", 259, 5)
    block_node(dev / "loop7p3", 259, 3)
    elsewhere = block_node(tmp_path / "nodes" / "md-partition", 259, 5)
    (tmp_path / "by-id").mkdir()
    link = tmp_path / "by-id" / "virtio-disk-part5"
    link.symlink_to(elsewhere)
    other_disk = block_node(tmp_path / "nodes" / "loop8p5", 259, 85)
    host.kernel.nodes = {3: ("loop7p3", 4096, 2048), 5: ("loop7p5", 8192, 2048)}
    reads = reads_of("gpt_formats")
    host.expect(reads, reads)
    backend = DiskBackend(host.runner)
    assert backend.volume_name_at(pool(), elsewhere) == "md"
    assert backend.volume_name_at(pool(), str(link)) == "md"
    # a partition of another disk, a character device, a file: no command at all
    for path in (other_disk, "/dev/null", str(link.parent)):
        assert backend.volume_name_at(pool(), path) is None
    host.runner.assert_done()


@pytest.mark.parametrize("permissions", [Permissions(mode=0o640), Permissions(owner=0), Permissions(group=6),
                                         Permissions(label="system_u:object_r:fixed_disk_device_t:s0")])
def test_volume_permissions_are_refused_not_ignored(permissions):
    """udev sets them again at every boot and re-read of the table: refused in one line, in check mode too."""
    with pytest.raises(ValidationError) as err:
        DiskBackend(None).plan_volume_permissions(pool(), None, permissions)
    message = str(err.value)
    assert err.value.option == "permissions" and "\n" not in message
    assert "disk pools do not set volume permissions" in message and "would not last" in message and "udev rule" in message


def test_unset_volume_permissions_are_no_change():
    backend = DiskBackend(None)
    assert backend.plan_volume_permissions(pool(), None, Permissions()) == []
    assert backend.plan_volume_permissions(pool(), None, Permissions(owner=4294967295, group=-1)) == []


def test_volume_lookup_in_a_pool_whose_device_is_gone(monkeypatch):
    def missing(device):
        raise ValidationError("source.device", device, "no such device")
    monkeypatch.setattr(_disk, "resolve", missing)
    assert DiskBackend(None).volume_name_at(pool(), "/dev/loop7p1") is None


# -- creating -------------------------------------------------------------------------------------


def spec(name, capacity=MIB, fmt="none", clone=None):
    return VolumeSpec(name=name, format=fmt, capacity=capacity, clone=clone)


@pytest.mark.parametrize("name, fmt, option, words", [
    ("twin", "none", "name", "another partition"),
    ("plain", "none", "name", "another partition"),
    ("part3", "none", "name", "partN names are those of partitions without a name"),
    ("a b", "none", "name", "1 to 36 characters"),
    ("-x", "none", "name", "1 to 36 characters"),
    ("x" * 37, "none", "name", "1 to 36 characters"),
    (u"caf\u00e9", "none", "name", "ASCII"),
    ("new", "fat16", "format", "use fat32"),
])
def test_gpt_creations_refused(host, name, fmt, option, words):
    host.expect(reads_of("gpt_formats"))
    with pytest.raises(ValidationError) as err:
        DiskBackend(host.runner).plan_create_volume(pool(), spec(name, fmt=fmt))
    assert err.value.option == option
    assert words in str(err.value)


def test_placement_is_first_fit_on_aligned_free_space(host):
    reads = reads_of("gpt_formats")
    host.expect(reads, reads, reads)
    backend = DiskBackend(host.runner)
    layout = backend._labelled(pool())
    assert backend._plan_new(pool(), layout, spec("new", 2 * MIB)) == (11, 8 * MIB, 10 * MIB - 1)
    assert backend._plan_new(pool(), layout, spec("new", 3 * MIB)) == (11, 14 * MIB, 17 * MIB - 1)
    assert backend._plan_new(pool(), layout, spec("new", 49 * MIB)) == (11, 14 * MIB, 63 * MIB - 1)
    with pytest.raises(ValidationError) as err:
        backend.plan_create_volume(pool(), spec("new", 50 * MIB))
    assert "no free extent of 50.0 MiB" in str(err.value) and "the largest holds 49.0 MiB" in str(err.value)
    backend.plan_create_volume(pool(), spec("new", 49 * MIB))


def test_dos_names_the_next_primary_partition(host):
    host.expect(reads_of("dos_primaries"), reads_of("dos_primaries"), reads_of("dos_mixed"))
    backend = DiskBackend(host.runner)
    with pytest.raises(ValidationError) as err:
        backend.plan_create_volume(pool("dos"), spec("data"))
    assert "the next one is part4" in str(err.value)
    # 2 MiB fits the gap between 2 and 4 MiB
    layout = backend._labelled(pool("dos"))
    assert backend._plan_new(pool("dos"), layout, spec("part4", 2 * MIB)) == (4, 2 * MIB, 4 * MIB - 1)
    with pytest.raises(StorageError) as err:
        backend.plan_create_volume(pool("dos"), spec("part5"))
    assert "no free partition entry" in str(err.value) and "4 primary" in str(err.value)


def refuse_options(backend, params):
    from ansible_collections.poolcraft.storage.plugins.module_utils._volume import VolumeManager
    VolumeManager(params, None, None)._refuse_options(backend)


def test_options_a_partition_cannot_take():
    backend = DiskBackend(None)
    with pytest.raises(ValidationError) as err:
        refuse_options(backend, {"permissions": {"mode": "0600", "owner": None}})
    assert err.value.option == "permissions" and "disk pools do not set volume permissions" in str(err.value)
    with pytest.raises(ValidationError) as err:
        refuse_options(backend, {"preallocation": "full"})
    assert err.value.option == "preallocation" and "disk pools do not take it" in str(err.value)
    with pytest.raises(ValidationError) as err:
        backend.plan_create_volume(pool(), VolumeSpec(name="x", format="none", backing=BackingStore("/x", "raw"),
                                                      given={"backing_store": {"path": "/x"}}))
    assert err.value.option == "backing_store" and err.value.value == {"path": "/x"}
    refuse_options(backend, {"permissions": {"mode": None}})


def test_format_none_is_met_by_any_partition_and_is_that_of_clones():
    backend = DiskBackend(None)
    assert backend.clone_format("qcow2") == "none"
    assert backend.format_matches("none", "linux")
    assert backend.format_matches("linux-swap", "linux-swap")
    assert not backend.format_matches("linux-swap", "linux")


def test_create_runs_mkpart_then_the_flag_then_checks_the_nodes(host):
    gpt = Transcript("backend_gpt")
    # create alpha (linux-lvm): read, mkpart, read (find it), set lvm, read (nodes)
    # (each after the read of its plan)
    host.expect(gpt.read(0), gpt.read(0), gpt.changes[1], gpt.read(1), gpt.changes[2], gpt.read(2))
    # create beta (linux-swap): read, mkpart with the fs-type, read, read
    host.expect(gpt.read(2), gpt.read(2), gpt.changes[3], gpt.read(3), gpt.read(3))
    backend = DiskBackend(host.runner)
    planned = backend.plan_create_volume(pool(), spec("alpha", 5 * MIB, "linux-lvm"))
    assert [action.description for action in planned] == ["create linux-lvm volume 'alpha' of 5.0 MiB"]
    assert applied(planned) == [None]
    assert applied(backend.plan_create_volume(pool(), spec("beta", 3 * MIB, "linux-swap"))) == [None]
    assert sorted(host.kernel.nodes) == [1, 2]


def test_nodes_the_kernel_lacks_are_added_with_partx(host):
    gpt = Transcript("backend_gpt")
    host.expect(gpt.read(2), gpt.read(2), gpt.changes[3], gpt.read(3), gpt.read(3))
    host.runner.expect(["partx", "-u", DEV])
    backend = DiskBackend(host.runner)
    planned = backend.plan_create_volume(pool(), spec("beta", 3 * MIB, "linux-swap"))
    host.kernel.lag = True  # as on a host whose kernel reads no tables, after another tool changed one
    applied(planned)
    assert sorted(host.kernel.nodes) == [1, 2]


def test_nodes_that_do_not_follow_even_after_partx_are_an_error(host, monkeypatch):
    gpt = Transcript("backend_gpt")
    host.expect(gpt.read(2), gpt.read(2), gpt.changes[3], gpt.read(3), gpt.read(3))
    host.runner.expect(["partx", "-u", DEV])
    planned = DiskBackend(host.runner).plan_create_volume(pool(), spec("beta", 3 * MIB, "linux-swap"))
    monkeypatch.setattr(_disk, "kernel_partitions", lambda disk: {})
    with pytest.raises(StorageError) as err:
        applied(planned)
    assert "do not match its table even after partx -u" in str(err.value)


def test_udev_is_waited_for_where_it_runs(host, monkeypatch):
    monkeypatch.setattr(_disk, "udev_runs", lambda: True)
    monkeypatch.setattr(_disk, "_LINK_WAIT", 0)
    links = {}
    monkeypatch.setattr(_disk, "link_target", lambda uuid: links.get(uuid, "/dev/disk/by-partuuid/" + uuid))
    dos = Transcript("backend_dos")
    host.expect(dos.read(0), dos.read(0), dos.changes[1], dos.read(1))
    host.runner.expect(["udevadm", "settle"])
    host.expect(dos.read(1))
    # the link comes with the second settle
    host.runner.expect(["udevadm", "settle"])
    real_run = host.runner.run

    def run(argv, data=None, env=None, check=True):
        if argv == ["udevadm", "settle"] and [call[0] for call in host.runner.calls].count("udevadm") == 1:
            links.update((entry.uuid, "/dev/loop7p%d" % number) for number, entry in partx_of(dos.read(1)).items())
        return real_run(argv, data, env, check)

    host.runner.run = run
    applied(DiskBackend(host.runner).plan_create_volume(pool("dos"), spec("part1", 2 * MIB, "fat16")))


def test_links_udev_never_makes_do_not_fail_the_task(host, monkeypatch):
    monkeypatch.setattr(_disk, "udev_runs", lambda: True)
    monkeypatch.setattr(_disk, "_LINK_WAIT", 0)
    dos = Transcript("backend_dos")
    host.expect(dos.read(0), dos.read(0), dos.changes[1], dos.read(1))
    host.runner.expect(["udevadm", "settle"])
    host.expect(dos.read(1))
    for _wait in range(_disk._LINK_WAITS):
        host.runner.expect(["udevadm", "settle"])
    applied(DiskBackend(host.runner).plan_create_volume(pool("dos"), spec("part1", 2 * MIB, "fat16")))


def test_dos_create_is_primary(host):
    dos = Transcript("backend_dos")
    host.expect(dos.read(1), dos.read(1), dos.changes[2], dos.read(2), dos.changes[3], dos.read(3))
    applied(DiskBackend(host.runner).plan_create_volume(pool("dos"), spec("part2", MIB, "linux-raid")))
    assert dos.changes[2]["argv"][-3:] == ["primary", "%dB" % (3 * MIB), "%dB" % (4 * MIB - 1)]


def test_clone_sizes(host, tmp_path):
    source = tmp_path / "src.raw"
    source.write_bytes(b"\1" * (MIB + 512))
    gpt = Transcript("backend_gpt")
    host.expect(gpt.read(0), gpt.read(0))
    backend = DiskBackend(host.runner)
    clone = CloneSource(path=str(source), format="raw", capacity=MIB + 512)
    with pytest.raises(ValidationError) as err:
        backend.plan_create_volume(pool(), spec("alpha", MIB, clone=clone))
    assert "smaller than the clone source" in str(err.value)
    # no capacity: the source's, rounded up to whole MiB
    layout = backend._labelled(pool())
    assert backend._plan_new(pool(), layout, spec("alpha", None, clone=clone)) == (1, MIB, 3 * MIB - 1)
    # a source whose size only the device knows (a block device: probing reads 0)
    unknown = CloneSource(path=str(source), format="raw", capacity=0)
    assert backend._new_size(pool(), spec("alpha", None, clone=unknown)) == 2 * MIB


# -- growing ----------------------------------------------------------------------------------------


def volume_in(host, reads, name, fmt="gpt"):
    host.expect(reads)
    return DiskBackend(host.runner).get_volume(pool(fmt), name)


def test_grow_the_last_partition(host):
    gpt = Transcript("backend_gpt")
    beta = volume_in(host, gpt.read(3), "beta")
    assert beta.capacity == 3 * MIB
    host.expect(gpt.read(3), gpt.read(3), gpt.changes[4], gpt.read(4))
    planned = DiskBackend(host.runner).plan_resize_volume(pool(), beta, 14 * MIB)
    assert [action.description for action in planned] == ["grow volume 'beta' from 3.0 MiB to 14.0 MiB"]
    applied(planned)
    assert host.kernel.nodes[2][2] * 512 == 14 * MIB


@pytest.mark.parametrize("name, capacity, words", [
    ("beta", 2 * MIB, "disk pools do not shrink partitions"),
    ("alpha", 6 * MIB, "only the last partition grows, and 'beta' follows it"),
    # the last usable byte: 64 MiB less the backup GPT (33 sectors) and the 6 MiB before beta
    ("beta", 58 * MIB, "can grow to %d bytes (58.0 MiB) at most" % (58 * MIB - 33 * 512)),
])
def test_resizes_refused(host, name, capacity, words):
    gpt = Transcript("backend_gpt")
    vol = volume_in(host, gpt.read(3), name)
    host.expect(gpt.read(3))
    with pytest.raises(ValidationError) as err:
        DiskBackend(host.runner).plan_resize_volume(pool(), vol, capacity)
    assert words in str(err.value)


def test_logical_partitions_do_not_grow(host):
    vol = volume_in(host, reads_of("dos_mixed"), "part6", "dos")
    host.expect(reads_of("dos_mixed"))
    with pytest.raises(ValidationError) as err:
        DiskBackend(host.runner).plan_resize_volume(pool("dos"), vol, 2 * MIB)
    assert "a logical partition" in str(err.value)


# -- deleting -----------------------------------------------------------------------------------------


def test_delete_removes_the_partition_and_the_node(host):
    gpt = Transcript("backend_gpt")
    alpha = volume_in(host, gpt.read(4), "alpha")
    host.expect(gpt.read(4), gpt.read(4), gpt.changes[5], gpt.read(5))
    applied(DiskBackend(host.runner).plan_delete_volume(pool(), alpha))
    assert sorted(host.kernel.nodes) == [2]


def test_a_partition_in_use_is_not_deleted(host, monkeypatch):
    gpt = Transcript("backend_gpt")
    alpha = volume_in(host, gpt.read(4), "alpha")
    host.expect(gpt.read(4))
    monkeypatch.setattr(_blockdev, "inspect",
                        lambda device, runner: _blockdev.DeviceState(device, "loop7p1", (), ("mounted at /mnt",)))
    with pytest.raises(StorageError) as err:
        DiskBackend(host.runner).plan_delete_volume(pool(), alpha)
    assert "volume 'alpha' (/dev/loop7p1) is in use (mounted at /mnt)" in str(err.value)


def test_an_extended_partition_with_logical_ones_is_not_deleted(host):
    vol = volume_in(host, reads_of("dos_mixed"), "part4", "dos")
    host.expect(reads_of("dos_mixed"))
    with pytest.raises(StorageError) as err:
        DiskBackend(host.runner).plan_delete_volume(pool("dos"), vol)
    assert "holds logical partitions" in str(err.value)


def test_a_volume_gone_since_the_plan(host):
    gpt = Transcript("backend_gpt")
    alpha = volume_in(host, gpt.read(4), "alpha")
    host.expect(gpt.read(5))
    with pytest.raises(StorageError) as err:
        DiskBackend(host.runner).plan_delete_volume(pool(), alpha)
    assert "is gone from /dev/loop7" in str(err.value)


# -- the pool ---------------------------------------------------------------------------------------


def test_build_on_a_blank_device(host):
    gpt = Transcript("backend_gpt")
    blank = reads_of("blank")
    host.runner.expect(blank.steps["wipefs"]["argv"], 0, blank.steps["wipefs"]["stdout"])
    host.runner.expect(blank.steps["wipefs"]["argv"], 0, blank.steps["wipefs"]["stdout"])  # again, when applied
    host.expect(gpt.changes[0], gpt.read(0))
    planned = DiskBackend(host.runner).plan_build(pool(), False)
    assert [action.description for action in planned] == ["make a gpt partition table on /dev/loop7"]
    applied(planned)


def test_build_steps(host):
    blank, gpt, dos = reads_of("blank"), Transcript("backend_gpt"), reads_of("dos_mixed")
    for reads in (blank, gpt.read(0), blank, dos):
        host.runner.expect(reads.steps["wipefs"]["argv"], 0, reads.steps["wipefs"]["stdout"])
    backend = DiskBackend(host.runner)
    assert [action.description for action in backend.plan_build(pool(), False)] == ["make a gpt partition table on /dev/loop7"]
    assert backend.plan_build(pool(), False) == []
    with pytest.raises(ValidationError) as err:
        backend.plan_build(pool(fmt=None), False)
    assert err.value.option == "source.format"
    with pytest.raises(StorageError) as err:
        backend.plan_build(pool(), False)
    assert "it carries: dos; set overwrite: true" in str(err.value)


def test_build_over_a_signature_with_overwrite(host):
    gpt, ext4 = Transcript("backend_gpt"), reads_of("ext4_whole_disk")
    blank = reads_of("blank")
    # planned; erased (looked at again first); labelled (looked at again first)
    host.runner.expect(ext4.steps["wipefs"]["argv"], 0, ext4.steps["wipefs"]["stdout"])
    host.runner.expect(ext4.steps["wipefs"]["argv"], 0, ext4.steps["wipefs"]["stdout"])
    host.runner.expect(["wipefs", "--all", "--quiet", DEV])
    host.runner.expect(blank.steps["wipefs"]["argv"], 0, blank.steps["wipefs"]["stdout"])
    host.expect(gpt.changes[0], gpt.read(0))
    planned = DiskBackend(host.runner).plan_build(pool(), True)
    assert [action.description for action in planned] == ["erase ext4 signature on /dev/loop7",
                                                          "make a gpt partition table on /dev/loop7"]
    applied(planned)


def test_purge_refused_while_partitions_remain_then_erases_the_label(host):
    gpt = Transcript("backend_gpt")
    host.expect(gpt.read(5))
    backend = DiskBackend(host.runner)
    with pytest.raises(StorageError) as err:
        backend.plan_delete(pool())
    assert "still holds 1 partitions" in str(err.value)
    host.kernel.nodes = {2: ("loop7p2", 0, 0)}  # a node left behind, as wipefs leaves them on loop devices
    host.kernel.lag = True
    for _look in ("planned", "applied"):
        host.expect(gpt.read(6))
        host.runner.expect(gpt.read(6).steps["wipefs"]["argv"], 0, gpt.read(6).steps["wipefs"]["stdout"])  # in use?
    host.runner.expect(["wipefs", "--all", "--quiet", DEV])
    host.expect(reads_of("blank"))
    host.runner.expect(["partx", "-d", DEV])
    applied(backend.plan_delete(pool()))
    assert host.kernel.nodes == {}
