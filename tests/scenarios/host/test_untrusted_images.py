# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images from somebody else (issue 10, "untrusted images"), made with the real qemu-img.

The three images that make qemu-img copy a host file into a pool: a qcow2 whose backing file is a
relative path out of its directory, a qcow2 whose external data file is the host file, a VMDK
descriptor (and a monolithicSparse with an embedded descriptor) whose extent is the host file.
Then what must never hang: a qcow2 naming itself, A -> B -> A, a 20-deep chain, a FIFO, a
character device, a directory, a truncated qcow2 header. The host file is a file of the test's own
scratch directory, outside the images' directory, holding known bytes.

The image-inspection functions are tested on them directly, each call under a deadline, so a hang
fails the test instead of stopping the run; then the same images through storage_volume, which
refuses them (in check mode as for real) unless allow_references says the image is trusted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import signal
import struct

import pytest

import dir_volume_pools as common
from system import run

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _image_header
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg, qemu_img_errors

MIB = 1 << 20
SECRET = b"HOST-SECRET-0123456789abcdef\n"
DEADLINE = 10  # seconds for any one call; a hang is a failure


class Hang(Exception):
    """A call did not return within its deadline."""


def _children_of_this_process():
    mine = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (IOError, OSError, IndexError):
                continue
            if int(fields[1]) == os.getpid():
                mine.append(int(entry))
    return mine


@contextlib.contextmanager
def deadline(seconds=DEADLINE):
    """Fail with Hang when the block takes longer; a child the block started (a hanging qemu-img) is
    killed by its pid, so the test run goes on."""
    before = set(_children_of_this_process())

    def expired(_signum, _frame):
        raise Hang("no answer within %s seconds" % seconds)
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hang:
        for pid in set(_children_of_this_process()) - before:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def references(path, fmt=None, option="clone_from.path"):
    with deadline():
        return _image_header.image_references(path, fmt, Runner(), option)


def refusal(path, fmt=None, option="clone_from.path"):
    """The one-line refusal of image_references for path."""
    with pytest.raises(StorageError) as caught:
        references(path, fmt, option)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("%s=%r: " % (option, path)), message
    return message


def qemu_img(*args):
    return run("qemu-img", *[str(arg) for arg in args])


class Images(object):
    """scratch/secret/host.bin (the host file, known bytes) and the images in scratch/host/images:
    two levels down, so "../../secret/host.bin" leaves the images' directory as ../../etc/... would."""

    def __init__(self, scratch):
        self.secret_dir = os.path.join(scratch, "secret")
        self.dir = os.path.join(scratch, "host", "images")
        os.makedirs(self.secret_dir)
        os.makedirs(self.dir)
        self.host_file = os.path.join(self.secret_dir, "host.bin")
        self.write_secret()

    def write_secret(self):
        with open(self.host_file, "wb") as handle:
            handle.write((SECRET * (MIB // len(SECRET) + 1))[:MIB])

    def path(self, name):
        return os.path.join(self.dir, name)

    def backing_attack(self):
        path = self.path("evil-backing.qcow2")
        qemu_img("create", "-q", "-f", "qcow2", "-b", "../../secret/host.bin", "-F", "raw", path)
        return path

    def data_file_attack(self):
        path = self.path("evil-data.qcow2")
        # qemu-img create makes the data file anew: the host file's bytes are put back after
        qemu_img("create", "-q", "-f", "qcow2", "-o", "data_file=%s,data_file_raw=on" % self.host_file, path, MIB)
        self.write_secret()
        return path

    def vmdk_attack(self):
        path = self.path("evil-descriptor.vmdk")
        with open(path, "w") as handle:
            handle.write('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
                         'createType="monolithicFlat"\n\n# Extent description\n'
                         'RW 2048 FLAT "../../secret/host.bin" 0\n')
        return path

    def embedded_vmdk_attack(self):
        """A monolithicSparse made by qemu-img, its capacity set to 0 and its embedded descriptor's
        extent pointed at the host file: qemu then reads the embedded descriptor (CVE-2022-47951)."""
        path = self.path("evil-embedded.vmdk")
        qemu_img("create", "-q", "-f", "vmdk", path, MIB)
        with open(path, "r+b") as handle:
            head = handle.read(512)
            desc_offset, desc_size = struct.unpack_from("<QQ", head, 28)
            handle.seek(desc_offset * 512)
            text = handle.read(desc_size * 512).rstrip(b"\x00")
            text = text.replace(b'createType="monolithicSparse"', b'createType="monolithicFlat"')
            text = text.replace(b'RW 2048 SPARSE "evil-embedded.vmdk"', b'RW 2048 FLAT "../../secret/host.bin" 0')
            assert b"secret/host.bin" in text
            handle.seek(desc_offset * 512)
            handle.write(text.ljust(desc_size * 512, b"\x00"))
            handle.seek(12)
            handle.write(struct.pack("<Q", 0))
        return path

    def attacks(self):
        return [(self.backing_attack(), "qcow2", "backing file", "../../secret/host.bin"),
                (self.data_file_attack(), "qcow2", "data file", self.host_file),
                (self.vmdk_attack(), "vmdk", "extent", "../../secret/host.bin"),
                (self.embedded_vmdk_attack(), "vmdk", "extent", "../../secret/host.bin")]

    def self_backed(self):
        path = self.path("self.qcow2")
        qemu_img("create", "-q", "-f", "qcow2", path, MIB)
        qemu_img("rebase", "-q", "-u", "-f", "qcow2", "-b", "self.qcow2", "-F", "qcow2", path)
        return path

    def loop_of_two(self):
        first, second = self.path("a.qcow2"), self.path("b.qcow2")
        qemu_img("create", "-q", "-f", "qcow2", first, MIB)
        qemu_img("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", second)
        qemu_img("rebase", "-q", "-u", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", first)
        return first, second

    def chain(self, length):
        qemu_img("create", "-q", "-f", "raw", self.path("c0.raw"), MIB)
        for index in range(1, length + 1):
            below = "c%d.%s" % (index - 1, "raw" if index == 1 else "qcow2")
            qemu_img("create", "-q", "-f", "qcow2", "-b", below, "-F", "raw" if index == 1 else "qcow2",
                     self.path("c%d.qcow2" % index))
        return self.path("c%d.qcow2" % length)

    def fifo(self):
        path = self.path("fifo")
        os.mkfifo(path)
        return path

    def truncated_qcow2(self):
        whole, path = self.path("whole.qcow2"), self.path("truncated.qcow2")
        qemu_img("create", "-q", "-f", "qcow2", whole, MIB)
        with open(whole, "rb") as source, open(path, "wb") as target:
            target.write(source.read(20))
        return path


@pytest.fixture
def images(scratch):
    return Images(scratch)


def copy_of(path, fmt, scratch):
    """What qemu-img convert copies out of the image: the bytes a clone would get."""
    out = os.path.join(scratch, "copy.raw")
    with deadline():
        qemu_img("convert", "-q", "-f", fmt, "-O", "raw", path, out)
    with open(out, "rb") as handle:
        data = handle.read()
    os.unlink(out)
    return data


# -- the three attacks: real, and seen --------------------------------------------------------

def test_the_attack_images_do_read_the_host_file(images, scratch):
    """Proof that the images below are the attack: qemu-img copies the host file's bytes out of each."""
    for path, fmt, _kind, _name in images.attacks():
        assert SECRET in copy_of(path, fmt, scratch), path


def test_each_attack_is_seen_with_its_kind_and_the_host_file(images):
    for path, fmt, kind, name in images.attacks():
        for given in (fmt, None):  # the format the task gives, or the probed one
            found = references(path, given)
            assert [(ref.kind, ref.name, ref.image) for ref in found] == [(kind, name, path)], found
            assert os.path.realpath(found[0].path) == images.host_file


def test_each_attack_is_refused_unless_trusted(images):
    pool_dir = os.path.realpath(images.dir)

    def in_pool(real):  # a pool holding only the images
        return os.path.dirname(real) == pool_dir
    for path, fmt, kind, name in images.attacks():
        found = references(path, fmt)
        with pytest.raises(StorageError) as caught:
            _image_header.refuse_references("clone_from", path, found, in_pool)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith("clone_from=%r: the image refers to a file outside itself: " % path)
        assert "names %r as its %s" % (name, kind) in message and "allow_references: true" in message
        # a file of the pool is trusted: the host file is not, the images' own directory is
        _image_header.refuse_references("clone_from", path, [ref for ref in found if in_pool(os.path.realpath(ref.path))],
                                        in_pool)


def test_an_overlay_of_the_pool_is_trusted(images):
    base = images.path("base.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", base, MIB)
    overlay = images.path("overlay.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", overlay)
    found = references(overlay)
    assert [(ref.kind, ref.path) for ref in found] == [("backing file", base)]
    _image_header.refuse_references("clone_from", overlay, found, lambda real: os.path.dirname(real) == os.path.realpath(images.dir))


def test_an_image_on_a_block_device(images, loop_device):
    """A block device is an image too (an LV, a partition): probed and walked like a file."""
    device = loop_device("8M")
    staged = images.path("staged.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-b", images.host_file, "-F", "raw", staged, 4 * MIB)
    with open(staged, "rb") as source, open(device, "r+b") as target:
        target.write(source.read())
    with deadline():
        header = _image_header.probe_path(device, "clone_from.path")
    assert header.format == "qcow2" and header.capacity == 4 * MIB
    assert [(ref.kind, ref.path) for ref in references(device)] == [("backing file", images.host_file)]


# -- what must never hang ---------------------------------------------------------------------

def test_a_qcow2_naming_itself(images):
    path = images.self_backed()
    message = refusal(path, "qcow2")
    assert message.endswith("has a loop in its chain: %s names 'self.qcow2' as its backing file (%s), which is the image itself"
                            % (path, path))


def test_a_loop_of_two(images):
    first, second = images.loop_of_two()
    message = refusal(first)
    assert "has a loop in its chain: %s names 'a.qcow2' as its backing file (%s), which is %s again" % (second, first, first) \
        in message


def test_a_chain_of_twenty(images):
    top = images.chain(20)
    assert "has a chain of more than 16 files" in refusal(top, option="backing_store.path")


def test_a_chain_of_sixteen_is_fine(images):
    top = images.chain(16)
    found = references(top)
    assert len(found) == 16 and found[-1].path == images.path("c0.raw")


@pytest.mark.parametrize("what", ["fifo", "char", "dir"])
def test_what_is_not_an_image_is_refused_unopened(images, what):
    path = {"fifo": images.fifo, "char": lambda: "/dev/null", "dir": lambda: images.dir}[what]()
    words = {"fifo": "a FIFO", "char": "a character device", "dir": "a directory"}[what]
    for option in ("clone_from.path", "backing_store.path"):
        with pytest.raises(StorageError) as caught:
            with deadline():
                _image_header.probe_path(path, option)
        assert str(caught.value) == "%s=%r: is %s, not a regular file or a block device" % (option, path, words)
        assert "is %s" % words in refusal(path, None, option)


@pytest.mark.parametrize("what", ["fifo", "char", "dir"])
def test_a_backing_file_that_is_not_an_image(images, what):
    target = {"fifo": images.fifo, "char": lambda: "/dev/null", "dir": lambda: images.secret_dir}[what]()
    top = images.path("top.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", target, "-F", "raw", top, MIB)
    message = refusal(top)
    assert "%s names %r as its backing file" % (top, target) in message
    assert message.endswith("not a regular file or a block device")


def test_a_truncated_qcow2_header(images, scratch):
    path = images.truncated_qcow2()
    with deadline():
        assert _image_header.probe_path(path).format == "raw"  # what qemu probes too: too short for qcow2
    assert references(path, "qcow2") == [] and references(path) == []
    # qemu-img's refusal of it, as one line naming our option and the volume
    with pytest.raises(StorageError) as caught:
        with deadline(), qemu_img_errors("clone_from", "copy.qcow2"):
            QemuImg(Runner()).info(path, "qcow2")
    message = str(caught.value)
    assert message.startswith("clone_from: qemu-img failed for volume 'copy.qcow2': qemu-img: Could not open '%s'" % path)
    assert "\n" not in message


# -- through storage_volume ------------------------------------------------------------------------

@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def _pool_files_hold_the_secret(pools):
    for top, _dirs, names in os.walk(pools.pools):
        for name in names:
            path = os.path.join(top, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    if SECRET[:16] in handle.read():
                        return path
    return None


def _refused_within_deadline(pools, args, *expect):
    with deadline(30):
        return pools.refused(args, *expect)


@pytest.mark.parametrize("option", ["clone_from", "backing_store"])
def test_storage_volume_refuses_each_attack(pools, scratch, option):
    images = Images(scratch)
    for number, (path, fmt, kind, name) in enumerate(images.attacks()):
        args = {"pool": "vols", "name": "vol%d.qcow2" % number, "format": "qcow2", option: {"path": path, "format": fmt}}
        _refused_within_deadline(pools, args, option, name, kind, "allow_references")
        assert _pool_files_hold_the_secret(pools) is None


@pytest.mark.parametrize("option", ["clone_from", "backing_store"])
def test_storage_volume_refuses_what_would_hang(pools, scratch, option):
    images = Images(scratch)
    first, _second = images.loop_of_two()
    cases = [(images.self_backed(), "loop"), (first, "loop"), (images.chain(20), "more than 16"),
             (images.fifo(), "FIFO"), ("/dev/null", "character device"), (images.secret_dir, "directory")]
    for number, (path, words) in enumerate(cases):
        args = {"pool": "vols", "name": "vol%d.qcow2" % number, "format": "qcow2", option: {"path": path}}
        _refused_within_deadline(pools, args, option, words)


def test_storage_volume_clones_an_image_with_references_when_allowed(pools, scratch):
    images = Images(scratch)
    path = images.backing_attack()
    with deadline(30):
        done = pools.volume(pool="vols", name="trusted.raw", format="raw", allow_references=True,
                            clone_from={"path": path, "format": "qcow2"})
    assert done.changed and not done.failed, done
    assert _pool_files_hold_the_secret(pools) == os.path.join(pools.vols, "trusted.raw")


def test_storage_volume_makes_an_overlay_on_an_image_with_references_when_allowed(pools, scratch):
    """backing_store as clone_from: with allow_references the overlay is made (converged: check mode,
    real, again), and qemu-img sees its chain down to the host file."""
    images = Images(scratch)
    path = images.backing_attack()
    with deadline(60):
        done = pools.converge(pool="vols", name="trusted.qcow2", format="qcow2", allow_references=True,
                              backing_store={"path": path, "format": "qcow2"})
    assert done.real["volume"]["backing_chain"][0] == {"path": path, "format": "qcow2"}
    chain = common.qemu_info(os.path.join(pools.vols, "trusted.qcow2"), chain=True)
    assert [os.path.realpath(image["filename"]) for image in chain][1:] == [path, images.host_file]


def test_storage_volume_trusts_an_outside_image_backed_by_a_pool_volume(pools, scratch):
    """An image outside every pool whose backing file is a volume of a pool (here of another pool,
    named by a relative path out of the image's directory) is no reference to a host file: cloned
    without allow_references, flattened into a volume of its own."""
    made = pools.make(pool="other", name="base.qcow2", format="qcow2", capacity="1M")
    assert made.changed
    overlay = os.path.join(pools.host_dir, "on-base.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-b", os.path.relpath(os.path.join(pools.other, "base.qcow2"), pools.host_dir),
             "-F", "qcow2", overlay)
    with deadline(30):
        done = pools.volume(pool="vols", name="flat.qcow2", clone_from={"path": overlay})
    assert done.changed and not done.failed, done
    assert done["clone_method"] == "copy"  # a reflink would keep the relative reference
    assert "backing-filename" not in common.qemu_info(os.path.join(pools.vols, "flat.qcow2"))


def test_storage_volume_refuses_a_kernel_file_and_a_format_the_header_contradicts(pools):
    """Check mode refuses them as the real run does (the real run used to fail in qemu-img, or copy /proc)."""
    pools.make(pool="vols", name="base.qcow2", format="qcow2", capacity="1M")
    base = os.path.join(pools.vols, "base.qcow2")
    _refused_within_deadline(pools, {"pool": "vols", "name": "proc.raw", "clone_from": {"path": "/proc/self/status"}},
                             "clone_from=", "/proc/self/status", "kernel's proc file system")
    _refused_within_deadline(pools, {"pool": "vols", "name": "o.qcow2", "format": "qcow2",
                                     "backing_store": {"path": base, "format": "qcow"}},
                             "backing_store.format='qcow'", "is a qcow2 image, not qcow")
    _refused_within_deadline(pools, {"pool": "vols", "name": "lazy.qcow2", "format": "qcow2", "capacity": "1M",
                                     "compat": "0.10", "lazy_refcounts": True},
                             "lazy_refcounts=True", "compat 1.1")
