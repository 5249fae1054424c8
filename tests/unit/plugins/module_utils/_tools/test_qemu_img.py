# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QemuImg against transcripts recorded from the real qemu-img (fixtures/qemu_img/*.json)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import (
    QemuImg, _options, first_line, qemu_img_error, qemu_img_errors, references_from_info)

GI = 1024 ** 3


def test_options_are_sorted_and_booleans_are_on_off():
    assert _options({"lazy_refcounts": True, "compat": "1.1", "cluster_size": 65536}) == \
        ["-o", "cluster_size=65536,compat=1.1,lazy_refcounts=on"]
    assert _options({"lazy_refcounts": False}) == ["-o", "lazy_refcounts=off"]


def test_unset_options_give_no_dash_o():
    assert _options({}) == []
    assert _options({"preallocation": None, "compat": None}) == []
    assert _options({"preallocation": None, "compat": "0.10"}) == ["-o", "compat=0.10"]


def test_zero_is_not_unset():
    assert _options({"cluster_size": 0}) == ["-o", "cluster_size=0"]


def test_create_with_options(qemu_img, tmp_path):
    runner, qemu = qemu_img("qemu_img/create_qcow2_options")
    path = str(tmp_path / "disk.qcow2")
    qemu.create(path, "qcow2", GI, options={"preallocation": "metadata", "cluster_size": 65536,
                                            "compat": "1.1", "lazy_refcounts": True})
    argv = runner.calls[0]
    assert argv[:5] == ["qemu-img", "create", "-q", "-f", "qcow2"]
    assert argv[argv.index("-o") + 1] == "cluster_size=65536,compat=1.1,lazy_refcounts=on,preallocation=metadata"
    assert argv[-2:] == [path, str(GI)]
    assert "-b" not in argv
    info = qemu.info(path, "qcow2")
    assert info["virtual-size"] == GI
    assert info["format"] == "qcow2"
    assert info["cluster-size"] == 65536
    assert info["format-specific"]["data"]["compat"] == "1.1"
    assert info["format-specific"]["data"]["lazy-refcounts"] is True
    assert info["filename"] == path


def test_create_with_boolean_off_and_old_compat(qemu_img, tmp_path):
    runner, qemu = qemu_img("qemu_img/create_qcow2_v2_boolean_off")
    path = str(tmp_path / "old.qcow2")
    options = {"compat": "0.10", "lazy_refcounts": False, "cluster_size": None}
    qemu.create(path, "qcow2", 10 * 1024 * 1024, options=options)
    assert "compat=0.10,lazy_refcounts=off" in runner.calls[0]
    info = qemu.info(path)
    assert info["format-specific"]["data"]["compat"] == "0.10"
    assert info["virtual-size"] == 10 * 1024 * 1024


def test_create_without_options_has_no_dash_o(fake_runner, tmp_path):
    runner = fake_runner("qemu_img/create_raw_plain")
    QemuImg(runner).create(str(tmp_path / "disk.raw"), "raw", 1048576, options={"preallocation": None})
    assert "-o" not in runner.calls[0]


def test_create_overlay_uses_b_and_f(qemu_img, tmp_path):
    runner, qemu = qemu_img("qemu_img/create_overlay")
    base, overlay = str(tmp_path / "base.qcow2"), str(tmp_path / "overlay.qcow2")
    qemu.create(base, "qcow2", 64 * 1024 * 1024)
    qemu.create(overlay, "qcow2", None, backing=base, backing_format="qcow2")
    argv = runner.calls[1]
    assert argv[argv.index("-b") + 1] == base
    assert argv[argv.index("-F") + 1] == "qcow2"
    # no size: qemu-img takes the backing file's
    assert argv[-1] == overlay
    info = qemu.info(overlay, "qcow2")
    assert info["backing-filename"] == base
    assert info["backing-filename-format"] == "qcow2"
    assert info["virtual-size"] == 64 * 1024 * 1024


def test_info_of_a_format_qemu_img_sizes(fake_runner, tmp_path):
    runner = fake_runner("qemu_img/info_vdi", skip=1)
    info = QemuImg(runner).info(str(tmp_path / "src.vdi"), "vdi")
    assert runner.calls[0][:4] == ["qemu-img", "info", "--output=json", "-U"]
    assert info["format"] == "vdi"
    assert info["virtual-size"] == 3 * 1024 * 1024


def test_info_non_json_output_is_a_storage_error(fake_runner, tmp_path):
    runner = fake_runner("qemu_img/info_not_json")
    path = str(tmp_path / "disk.raw")
    with pytest.raises(StorageError) as caught:
        QemuImg(runner).info(path)
    assert not isinstance(caught.value, CommandError)
    assert str(caught.value) == "qemu-img info %s returned no JSON" % path


def test_info_empty_output_is_a_storage_error(fake_runner, tmp_path):
    path = str(tmp_path / "x.qcow2")
    runner = fake_runner().expect(["qemu-img", "info", "--output=json", "-U", path], stdout="")
    with pytest.raises(StorageError) as caught:
        QemuImg(runner).info(path)
    assert "returned no JSON" in str(caught.value)


def test_info_of_missing_file_raises_command_error(fake_runner, tmp_path):
    runner = fake_runner("qemu_img/info_missing_file")
    path = str(tmp_path / "missing.qcow2")
    with pytest.raises(CommandError) as caught:
        QemuImg(runner).info(path)
    assert caught.value.rc == 1
    assert "No such file or directory" in str(caught.value)
    assert str(caught.value).startswith("qemu-img info --output=json -U ")


def test_resize_shrink_needs_the_flag(qemu_img, tmp_path):
    runner, qemu = qemu_img("qemu_img/resize_shrink")
    path = str(tmp_path / "disk.qcow2")
    qemu.create(path, "qcow2", GI)
    with pytest.raises(CommandError) as caught:
        qemu.resize(path, "qcow2", GI // 2)
    assert "--shrink" in caught.value.stderr
    assert "--shrink" not in runner.calls[1]
    qemu.resize(path, "qcow2", GI // 2, shrink=True)
    assert "--shrink" in runner.calls[2]
    assert runner.calls[2][-2:] == [path, str(GI // 2)]
    qemu.resize(path, "qcow2", 2 * GI)
    assert "--shrink" not in runner.calls[3]


def test_convert_argv(qemu_img, tmp_path):
    runner, qemu = qemu_img("qemu_img/convert_raw_to_qcow2")
    src, dst = str(tmp_path / "src.raw"), str(tmp_path / "dst.qcow2")
    qemu.create(src, "raw", 4 * 1024 * 1024)
    qemu.convert(src, "raw", dst, "qcow2", options={"lazy_refcounts": True, "compat": "1.1", "preallocation": None})
    argv = runner.calls[1]
    assert argv[:3] == ["qemu-img", "convert", "-q"]
    assert argv[argv.index("-f") + 1] == "raw"
    assert argv[argv.index("-O") + 1] == "qcow2"
    assert "-n" not in argv
    assert argv[-2:] == [src, dst]
    info = qemu.info(dst, "qcow2")
    assert info["virtual-size"] == 4 * 1024 * 1024
    assert info["format-specific"]["data"]["lazy-refcounts"] is True


def test_a_different_argv_fails_the_replay(fake_runner, tmp_path):
    runner = fake_runner()
    runner.load("qemu_img/create_raw_plain")
    with pytest.raises(pytest.fail.Exception) as caught:
        QemuImg(runner).create(str(tmp_path / "disk.raw"), "qcow2", 1048576)
    assert "differs from the recording" in str(caught.value)


def test_an_unexpected_command_fails(quiet_runner, tmp_path):
    with pytest.raises(pytest.fail.Exception) as caught:
        QemuImg(quiet_runner).info(str(tmp_path / "x"))
    assert "unexpected command" in str(caught.value)


def test_unused_steps_are_reported(fake_runner):
    runner = fake_runner("qemu_img/create_raw_plain")
    with pytest.raises(pytest.fail.Exception) as caught:
        runner.assert_done()
    assert "never run" in str(caught.value)
    runner.steps = []  # do not fail this test's teardown too


# -- what info says an image refers to -----------------------------------------------------------

def recorded_info(fake_runner, name, path, fmt, skip):
    runner = fake_runner("qemu_img/" + name, skip=skip)
    return QemuImg(runner).info(path, fmt)


def test_references_of_a_qed_overlay_keep_the_relative_name(fake_runner, tmp_path):
    info = recorded_info(fake_runner, "info_qed_backing", str(tmp_path / "overlay.qed"), "qed", 2)
    assert info["full-backing-filename"] == str(tmp_path / "base.raw")
    assert references_from_info(info) == [("backing file", "base.raw", "raw")]


def test_references_of_a_qcow2_with_a_data_file(fake_runner, tmp_path):
    info = recorded_info(fake_runner, "info_qcow2_data_file", str(tmp_path / "disk.qcow2"), "qcow2", 1)
    assert references_from_info(info) == [("data file", str(tmp_path / "data.raw"), "raw")]


@pytest.mark.parametrize("name, letter, fmt", [("info_vmdk_flat_extents", "f", "raw"),
                                               ("info_vmdk_sparse_extents", "s", "vmdk")])
def test_references_of_split_vmdk_descriptors(fake_runner, tmp_path, name, letter, fmt):
    info = recorded_info(fake_runner, name, str(tmp_path / "split.vmdk"), "vmdk", 1)
    assert references_from_info(info) == [("extent", str(tmp_path / ("split-%s00%d.vmdk" % (letter, number))), fmt)
                                          for number in (1, 2)]


def test_a_monolithic_sparse_vmdk_names_only_itself(fake_runner, tmp_path):
    info = recorded_info(fake_runner, "info_vmdk_monolithic_sparse", str(tmp_path / "disk.vmdk"), "vmdk", 1)
    assert info["format-specific"]["data"]["extents"][0]["filename"] == str(tmp_path / "disk.vmdk")
    assert references_from_info(info) == []


def test_an_image_without_references(fake_runner, tmp_path):
    assert references_from_info(recorded_info(fake_runner, "info_vdi", str(tmp_path / "src.vdi"), "vdi", 1)) == []


@pytest.mark.parametrize("info", [None, [], "text", {}, {"format-specific": "x"}, {"format-specific": {"data": []}},
                                  {"format-specific": {"data": {"extents": ["x", {}]}}}, {"backing-filename": ""}])
def test_odd_info_has_no_references(info):
    assert references_from_info(info) == []


# -- a failure as one line -------------------------------------------------------------------------

def test_a_failed_convert_reads_as_our_option_the_volume_and_the_tools_words(fake_runner, tmp_path):
    runner = fake_runner("qemu_img/convert_missing_backing", skip=1)
    overlay = str(tmp_path / "overlay.qcow2")
    with pytest.raises(StorageError) as caught:
        with qemu_img_errors("clone_from", "copy.raw"):
            QemuImg(runner).convert(overlay, "qcow2", str(tmp_path / "copy.raw"), "raw")
    message = str(caught.value)
    assert not isinstance(caught.value, CommandError)
    assert message == ("clone_from: qemu-img failed for volume 'copy.raw': qemu-img: Could not open '%s': Could not open "
                       "backing file: Could not open '%s': No such file or directory" % (overlay, tmp_path / "gone.qcow2"))
    assert "\n" not in message


def test_the_first_line_of_stderr_then_stdout():
    assert first_line(CommandError(["qemu-img"], 1, "out\n", "\n  first \nsecond\n")) == "first"
    assert first_line(CommandError(["qemu-img"], 1, "\nonly stdout\n", "")) == "only stdout"
    assert first_line(CommandError(["qemu-img", "info"], 3, "", "")) == "qemu-img exited with rc=3 and no output"


def test_qemu_img_error_is_one_line():
    error = qemu_img_error(CommandError(["qemu-img", "info"], 1, "", "qemu-img: bad\nmore\n"), "backing_store", "v")
    assert str(error) == "backing_store: qemu-img failed for volume 'v': qemu-img: bad"


class _Timeout(StorageError):
    """Stands for the runner's error of a command past its deadline: a StorageError with the argv."""

    def __init__(self):
        self.argv = ["qemu-img", "info"]
        super(_Timeout, self).__init__("qemu-img info did not finish within 60 s and was killed")


def test_a_command_past_its_deadline_gets_the_same_prefix():
    with pytest.raises(StorageError) as caught:
        with qemu_img_errors("backing_store", "v"):
            raise _Timeout()
    assert str(caught.value) == "backing_store: qemu-img failed for volume 'v': qemu-img info did not finish within 60 s and was killed"


def test_other_errors_pass_through_qemu_img_errors():
    with pytest.raises(ValueError):
        with qemu_img_errors("clone_from", "v"):
            raise ValueError("not ours")
    with pytest.raises(StorageError) as caught:
        with qemu_img_errors("clone_from", "v"):
            raise StorageError("qemu-img info x returned no JSON")
    assert str(caught.value) == "qemu-img info x returned no JSON"


def test_info_has_a_deadline_and_the_others_none(fake_runner, tmp_path):
    # info reads headers: a minute is plenty, more means it is stuck (it would hang the task);
    # create, convert and resize write data and take as long as they take
    runner = fake_runner("qemu_img/info_vdi")
    path = str(tmp_path / "src.vdi")
    QemuImg(runner).create(path, "vdi", 3 * 1024 * 1024)
    QemuImg(runner).info(path, "vdi")
    assert runner.timeouts == [None, 60]


def test_a_real_deadline_reads_as_our_option_and_the_volume():
    from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout
    with pytest.raises(StorageError) as caught:
        with qemu_img_errors("clone_from", "v"):
            raise CommandTimeout(["qemu-img", "info", "/x"], 60)
    assert str(caught.value) == "clone_from: qemu-img failed for volume 'v': qemu-img info /x did not finish within 60 s and was killed"


@pytest.mark.parametrize("error", [CommandError(["lvcreate", "-n", "v"], 5, "", "  Volume group \"vg\" has insufficient free space\n"),
                                   CommandError(["/usr/sbin/sgdisk", "-n"], 4, "", "Could not create partition\n")])
def test_other_tools_failures_keep_their_own_words(error):
    # a backend's apply runs other tools under the same `with`: only qemu-img's failures are relabelled
    with pytest.raises(CommandError) as caught:
        with qemu_img_errors("clone_from", "v"):
            raise error
    assert caught.value is error


def test_a_qemu_img_found_by_its_full_path_is_qemu_img():
    with pytest.raises(StorageError) as caught:
        with qemu_img_errors("capacity", "v"):
            raise CommandError(["/usr/bin/qemu-img", "create"], 1, "", "qemu-img: v: Image size is too large\n")
    assert str(caught.value) == "capacity: qemu-img failed for volume 'v': qemu-img: v: Image size is too large"
