# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner runs real (harmless) commands: env, cat, echo, sh."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import time

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _runner
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout, Runner

MISSING = "poolcraft-no-such-command-4f1c"


def _env_lines(stdout):
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


@pytest.mark.parametrize("argv", ["echo hi", b"echo hi", "", [], ()])
def test_refuses_shell_strings_and_empty_argv(argv):
    with pytest.raises(TypeError) as caught:
        Runner().run(argv)
    assert "argv list" in str(caught.value)


def test_runs_argv_with_c_locale(monkeypatch):
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.setenv("POOLCRAFT_UNIT_MARKER", "kept")
    rc, out, err = Runner().run(["env"])
    env = _env_lines(out)
    assert rc == 0 and err == ""
    assert env["LC_ALL"] == "C"
    assert env["LANG"] == "C"
    # the rest of the environment is passed on
    assert env["POOLCRAFT_UNIT_MARKER"] == "kept"


def test_extra_env_is_added():
    _rc, out, _err = Runner().run(["env"], env={"POOLCRAFT_SECRET": "s3cret"})
    assert _env_lines(out)["POOLCRAFT_SECRET"] == "s3cret"


def test_does_not_change_the_callers_environment():
    before = dict(os.environ)
    Runner().run(["env"], env={"POOLCRAFT_X": "1"})
    assert dict(os.environ) == before


def test_failure_raises_command_error_with_rc_and_stderr():
    argv = ["sh", "-c", "echo partial; echo first problem >&2; echo boom happened >&2; exit 3"]
    with pytest.raises(CommandError) as caught:
        Runner().run(argv)
    exc = caught.value
    assert exc.rc == 3
    assert exc.argv == argv
    assert exc.stdout == "partial\n"
    assert exc.stderr == "first problem\nboom happened\n"
    message = str(exc)
    assert message.startswith("sh -c ")  # names the command
    assert "rc=3" in message
    assert "boom happened" in message
    assert isinstance(exc, StorageError)


def test_failure_without_output_says_so():
    with pytest.raises(CommandError) as caught:
        Runner().run(["false"])
    assert caught.value.rc == 1
    assert str(caught.value) == "false failed (rc=1): no output"


def test_failure_with_stdout_only_quotes_stdout():
    with pytest.raises(CommandError) as caught:
        Runner().run(["sh", "-c", "echo only-on-stdout; exit 2"])
    assert "only-on-stdout" in str(caught.value)


def test_check_false_returns_the_failure():
    rc, out, err = Runner().run(["sh", "-c", "echo out; echo err >&2; exit 5"], check=False)
    assert (rc, out, err) == (5, "out\n", "err\n")


@pytest.mark.parametrize("data", ["hello\nworld\n", b"hello\nworld\n"])
def test_passes_stdin_data(data):
    _rc, out, _err = Runner().run(["cat"], data=data)
    assert out == "hello\nworld\n"


def test_unicode_stdin_round_trips():
    _rc, out, _err = Runner().run(["cat"], data=u"p\u00e4ssw\u00f6rd \u2713")
    assert out == u"p\u00e4ssw\u00f6rd \u2713"


def test_stdin_is_closed_without_data():
    rc, out, _err = Runner().run(["cat"])
    assert (rc, out) == (0, "")


def test_stdin_is_not_inherited():
    """With an open pipe as our stdin, the command must still get /dev/null (cat would hang otherwise)."""
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    try:
        os.dup2(read_end, 0)
        _rc, out, _err = Runner().run(["readlink", "/proc/self/fd/0"])
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    assert out.strip() == "/dev/null"


def test_undecodable_output_is_replaced():
    _rc, out, _err = Runner().run(["printf", "a\\377b"])
    assert out == u"a\ufffdb"


@pytest.mark.parametrize("arg", ["$HOME", "~", "~root", "*", "$(id -u)", "`id -u`", "a;b", "a|b", "a b", "'q'", "\"dq\"", "${PATH}"])
def test_no_shell_expansion(arg):
    _rc, out, _err = Runner().run(["/bin/echo", arg])
    assert out == arg + "\n"


def test_all_args_in_one_call_are_passed_verbatim(tmp_path):
    (tmp_path / "glob-target").write_text("x")
    args = ["$HOME", "~", str(tmp_path) + "/*", "&&", "exit", "1"]
    _rc, out, _err = Runner().run(["/bin/echo"] + args)
    assert out == " ".join(args) + "\n"


def test_non_string_args_are_converted():
    _rc, out, _err = Runner().run(["/bin/echo", 42, 1.5])
    assert out == "42 1.5\n"


def test_which_resolves_to_an_executable():
    path = Runner().which("sh")
    assert os.path.isabs(path)
    assert os.path.basename(path) == "sh"
    assert os.access(path, os.X_OK)


def test_which_caches_lookups(monkeypatch):
    calls = []
    real = Runner._lookup

    def counting(name):
        calls.append(name)
        return real(name)

    monkeypatch.setattr(Runner, "_lookup", staticmethod(counting))
    runner = Runner()
    first = runner.which("sh")
    assert runner.which("sh") == first
    assert runner.has("sh")
    runner.run(["sh", "-c", "true"])
    with pytest.raises(StorageError):
        runner.which(MISSING)
    with pytest.raises(StorageError):
        runner.which(MISSING)
    assert not runner.has(MISSING)
    assert calls == ["sh", MISSING]


def test_has_then_which_share_the_cache(monkeypatch):
    calls = []
    monkeypatch.setattr(Runner, "_lookup", staticmethod(lambda name: calls.append(name) or "/bin/" + name))
    runner = Runner()
    assert runner.has("tool")
    assert runner.which("tool") == "/bin/tool"
    assert calls == ["tool"]


def test_missing_command_has_a_clear_error():
    runner = Runner()
    assert runner.has(MISSING) is False
    with pytest.raises(StorageError) as caught:
        runner.which(MISSING)
    assert str(caught.value) == "required command %r was not found on the managed host" % MISSING
    assert not isinstance(caught.value, CommandError)


def test_running_a_missing_command_fails_before_starting_anything():
    with pytest.raises(StorageError) as caught:
        Runner().run([MISSING, "--version"])
    assert MISSING in str(caught.value)
    assert "not found" in str(caught.value)


def test_sbin_is_searched_even_if_path_lacks_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent-poolcraft-dir")
    path = Runner().which("sh")
    assert os.path.dirname(path) in _runner._EXTRA_PATH


def test_path_is_searched_first(monkeypatch, tmp_path):
    tool = tmp_path / "poolcraft-unit-tool"
    tool.write_text("#!/bin/sh\necho from-tmp\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    runner = Runner()
    assert runner.which("poolcraft-unit-tool") == str(tool)
    assert runner.run(["poolcraft-unit-tool"])[1] == "from-tmp\n"


def test_non_executable_files_are_not_commands(monkeypatch, tmp_path):
    (tmp_path / "poolcraft-not-exec").write_text("#!/bin/sh\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not Runner().has("poolcraft-not-exec")


def test_absolute_argv0_is_used_as_is():
    _rc, out, _err = Runner().run([sys.executable, "-c", "import sys; print(sys.argv[1:])", "$HOME"])
    assert out.strip() == "['$HOME']"


# -- deadlines ------------------------------------------------------------------------------

def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # a zombie is dead too: it only waits for its parent
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_timeout_kills_the_command_and_says_so():
    start = time.time()
    with pytest.raises(CommandTimeout) as caught:
        Runner().run(["sleep", "60"], timeout=0.5)
    assert time.time() - start < 10
    assert isinstance(caught.value, StorageError)
    assert not isinstance(caught.value, CommandError)
    message = str(caught.value)
    assert message.startswith("sleep 60 did not finish within 0.5 s")  # the command and the deadline
    assert "\n" not in message
    assert caught.value.argv == ["sleep", "60"] and caught.value.timeout == 0.5


def test_timeout_kills_the_whole_process_group(tmp_path):
    """A shell that started a child: both die, and the child does not keep us waiting on the pipes."""
    pid_file = tmp_path / "child.pid"
    script = "sleep 60 & echo $! > %s; wait" % pid_file
    start = time.time()
    with pytest.raises(CommandTimeout):
        Runner().run(["sh", "-c", script], timeout=1)
    assert time.time() - start < 10
    child = int(pid_file.read_text())
    for _attempt in range(50):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child), "the grandchild %d survived the deadline" % child


def test_a_grandchild_that_left_the_group_does_not_hang_the_deadline(tmp_path):
    # setsid: the grandchild is out of reach of the group kill and holds stdout open
    pid_file = tmp_path / "child.pid"
    script = "setsid sleep 30 & echo $! > %s; wait" % pid_file
    start = time.time()
    try:
        with pytest.raises(CommandTimeout):
            Runner().run(["sh", "-c", script], timeout=0.5)
        assert time.time() - start < 10
    finally:
        if pid_file.exists() and pid_file.read_text().strip():
            try:
                os.kill(int(pid_file.read_text()), 9)
            except OSError:
                pass


def test_the_killed_command_is_reaped(child_pids):
    before = child_pids()
    with pytest.raises(CommandTimeout):
        Runner().run(["sleep", "60"], timeout=0.3)
    assert child_pids() == before


def test_a_command_within_its_deadline_runs_as_usual():
    assert Runner().run(["sh", "-c", "echo out; echo err >&2"], timeout=30) == (0, "out\n", "err\n")
    with pytest.raises(CommandError) as caught:
        Runner().run(["sh", "-c", "exit 4"], timeout=30)
    assert caught.value.rc == 4
    _rc, out, _err = Runner().run(["cat"], data="piped", timeout=30)
    assert out == "piped"


@pytest.mark.parametrize("timeout", [0, -1, "10", True, float("nan")])
def test_a_bad_timeout_is_a_programming_error(timeout):
    with pytest.raises(TypeError):
        Runner().run(["true"], timeout=timeout)


def test_no_timeout_means_no_new_session():
    # without a deadline the command stays in our process group (Ctrl-C reaches it as before)
    _rc, out, _err = Runner().run(["sh", "-c", "ps -o pgid= -p $$"])
    assert int(out.strip()) == os.getpgrp()


def test_an_argument_with_a_nul_byte_is_refused_before_running():
    with pytest.raises(StorageError) as caught:
        Runner().run(["echo", "a\x00b"])
    assert str(caught.value) == "echo a\\0b: an argument holds a NUL byte"


# -- as_user: a command as another user ------------------------------------------------------

NOBODY = (65534, 65534)


@pytest.fixture
def open_dir():
    """A directory anyone may write to (pytest's tmp_path is under a 0700 directory of root's)."""
    import shutil
    import tempfile
    path = tempfile.mkdtemp(prefix="poolcraft-unit-")
    os.chmod(path, 0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_a_command_runs_as_the_user_and_group_without_other_groups():
    _rc, out, _err = Runner().run(["id", "-u"], as_user=NOBODY)
    assert out.strip() == "65534"
    _rc, out, _err = Runner().run(["id", "-G"], as_user=(65534, 4242))
    # the group asked for and nothing of ours (root's supplementary groups are dropped)
    assert out.split() == ["4242"]


def test_an_id_without_a_passwd_entry_is_taken_as_it_is(open_dir):
    made = os.path.join(open_dir, "made")
    Runner().run(["touch", made], as_user=(43210, 43211))
    st = os.stat(made)
    assert (st.st_uid, st.st_gid) == (43210, 43211)


@pytest.mark.parametrize("as_user", [1000, (1,), (1, 2, 3), ("1000", 1000), (True, 0), (-1, 0), (0, 2 ** 32 - 1), None])
def test_a_bad_as_user_is_a_programming_error(as_user):
    if as_user is None:
        assert Runner().run(["true"], as_user=None)[0] == 0
        return
    with pytest.raises(TypeError):
        Runner().run(["true"], as_user=as_user)
    with pytest.raises(TypeError):
        Runner().call(lambda: None, as_user=as_user)


# -- call: Python in a child process -----------------------------------------------------------

def test_call_returns_the_plain_result_of_the_child():
    assert Runner().call(lambda: {"pid": os.getpid(), "list": [1, "a", None]})["list"] == [1, "a", None]
    assert Runner().call(os.getpid) != os.getpid()
    assert Runner().call(lambda: None) is None


def test_call_leaves_nothing_behind(child_pids):
    before = child_pids()
    for _attempt in range(3):
        Runner().call(lambda: 1)
    assert child_pids() == before


def test_call_as_user_runs_the_function_and_its_commands_as_that_user():
    def work():
        return [os.getuid(), os.getgid(), os.getgroups(), Runner().run(["id", "-u"])[1].strip()]
    assert Runner().call(work, as_user=(65534, 4242)) == [65534, 4242, [], "65534"]
    # and this process is as it was
    assert os.getuid() == 0 or os.getuid() == os.geteuid()


def test_call_raises_the_childs_storage_errors_as_themselves():
    from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, ValidationError

    def fail(exc):
        def work():
            raise exc
        return work

    with pytest.raises(NotFoundError) as caught:
        Runner().call(fail(NotFoundError("no such thing")))
    assert str(caught.value) == "no such thing"
    with pytest.raises(ValidationError) as caught:
        Runner().call(fail(ValidationError("capacity", "1x", "not a size")))
    assert str(caught.value) == "capacity='1x': not a size"
    assert (caught.value.option, caught.value.value) == ("capacity", "1x")
    # a command's failure keeps what callers read of it (argv, rc, stderr)
    with pytest.raises(CommandError) as caught:
        Runner().call(lambda: Runner().run(["sh", "-c", "echo bad >&2; exit 3"]))
    assert caught.value.argv == ["sh", "-c", "echo bad >&2; exit 3"]
    assert (caught.value.rc, caught.value.stderr) == (3, "bad\n")


def test_call_raises_the_childs_os_errors_with_their_errno(open_dir):
    with pytest.raises(FileNotFoundError) as caught:
        Runner().call(lambda: os.stat(os.path.join(open_dir, "missing")))
    assert caught.value.filename == os.path.join(open_dir, "missing")
    closed = os.path.join(open_dir, "closed")
    os.mkdir(closed, 0o755)
    with pytest.raises(PermissionError) as caught:
        Runner().call(lambda: open(os.path.join(closed, "x"), "w"), as_user=NOBODY)
    assert caught.value.filename == os.path.join(closed, "x")
    # as ourselves (root) the same works: the refusal was the user's
    Runner().call(lambda: open(os.path.join(closed, "x"), "w").close())


def test_call_reports_other_failures_with_the_childs_traceback():
    with pytest.raises(RuntimeError) as caught:
        Runner().call(lambda: 1 // 0)
    assert "ZeroDivisionError" in str(caught.value)
    with pytest.raises(RuntimeError) as caught:
        Runner().call(object)
    assert "not plain data" in str(caught.value)


def test_call_child_holds_none_of_our_files(tmp_path):
    with open(str(tmp_path / "held"), "w") as held:
        def work():
            return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
        fds = Runner().call(work)
        assert held.fileno() not in fds
    # stdin, stdout, stderr (on /dev/null), the answer pipe, and listdir's own
    assert len(fds) <= 5
    targets = Runner().call(lambda: [os.readlink("/proc/self/fd/%d" % fd) for fd in (0, 1, 2)])
    assert targets == ["/dev/null"] * 3


def test_call_deadline_kills_the_child_and_what_it_started(tmp_path, child_pids):
    pid_file = tmp_path / "pids"

    def work():
        # a command started by the child (as qemu-img would be), and the child itself: both wait
        Runner().run(["sh", "-c", "echo $$ > %s; exec sleep 60" % pid_file])

    before = child_pids()
    start = time.time()
    with pytest.raises(_runner.DeadlineExceeded) as caught:
        Runner().call(work, timeout=1, what="listing /mnt/x")
    assert time.time() - start < 10
    assert str(caught.value) == "listing /mnt/x did not finish within 1 s and was killed"
    assert caught.value.timeout == 1
    assert isinstance(caught.value, StorageError)
    grandchild = int(pid_file.read_text())
    for _attempt in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild), "the command %d the child started survived the deadline" % grandchild
    assert child_pids() == before


def test_call_deadline_kills_a_command_with_a_later_deadline_of_its_own(tmp_path):
    """In a call's child a command with a timeout stays in the call's group (no session of its
    own), so the call's deadline ends it too, though its own has not passed."""
    pid_file = tmp_path / "pids"

    def work():
        Runner().run(["sh", "-c", "echo $$ > %s; exec sleep 60" % pid_file], timeout=120)

    start = time.time()
    with pytest.raises(_runner.DeadlineExceeded):
        Runner().call(work, timeout=1)
    assert time.time() - start < 10
    grandchild = int(pid_file.read_text())
    for _attempt in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_a_call_within_a_call_stays_in_the_outer_group():
    def outer():
        inner_group = Runner().call(os.getpgrp)
        return [os.getpgrp(), os.getpid(), inner_group]
    group, pid, inner = Runner().call(outer)
    assert group == pid == inner


def _counting(tmp_path):
    """argv of a command that appends a line to a file each time it runs, and prints the count."""
    log = tmp_path / "runs"
    return log, ["sh", "-c", 'echo run >> "$0"; wc -l < "$0"', str(log)]


def test_read_runs_a_report_once_until_a_command_or_forget(tmp_path):
    log, argv = _counting(tmp_path)
    runner = Runner()
    assert runner.read(argv)[1].strip() == "1"
    assert runner.read(list(argv))[1].strip() == "1"      # kept: the command ran once
    (tmp_path / "other").mkdir()
    other_log, other = _counting(tmp_path / "other")
    assert runner.read(other)[1].strip() == "1"           # another read keeps the first
    assert runner.read(argv)[1].strip() == "1"
    assert log.read_text().count("run") == 1
    runner.run(["true"])                                  # a command may change what reads report
    assert runner.read(argv)[1].strip() == "2"
    runner.forget()                                       # an action about to check the host again
    assert runner.read(argv)[1].strip() == "3"
    assert runner.read(argv)[1].strip() == "3"
    assert other_log.read_text().count("run") == 1


def test_read_keeps_no_failure(tmp_path):
    flag = tmp_path / "fail"
    flag.write_text("")
    argv = ["sh", "-c", '[ ! -e "$0" ] && echo ok', str(flag)]
    runner = Runner()
    with pytest.raises(CommandError):
        runner.read(argv)
    flag.unlink()
    assert runner.read(argv)[1] == "ok\n"


@pytest.mark.parametrize("argv", ["echo hi", b"echo hi", []])
def test_read_refuses_shell_strings_and_empty_argv(argv):
    with pytest.raises(TypeError) as caught:
        Runner().read(argv)
    assert "argv list" in str(caught.value)
