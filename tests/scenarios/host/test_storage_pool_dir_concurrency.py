# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with dir pools, many writers at once: the store's lock and atomic writes must leave
every definition complete and valid.

1. 20 runs started together on a store that does not exist yet (they all make its directories at
   once).
2. 20 more runs started while the store's lock is held, so all of them wait for it together and
   then write one after the other.

Each writer is a process of its own (forked from this one, with the module already imported, so
no Python start-up per writer), running the module's real main() through harness.run_module; the
in-process AnsibleModule patches module globals, so writers cannot be threads.

Ported from tests/integration/targets/storage_pool_dir/tasks/concurrency.yml (async tasks there)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import importlib
import json
import os
import re
import select
import signal
import time
import traceback

import fingerprints
import harness

FIRST = ["c%02d" % number for number in range(20)]
SECOND = ["d%02d" % number for number in range(20)]


class Writers(object):
    """storage_pool runs in processes of their own, all let go at once through a gate (a pipe whose
    write end this process closes); each sends its result back through a pipe."""

    def __init__(self):
        self.running = {}  # pid: read end of its result pipe
        self.keep_closed = []  # descriptors of this process the writers must not hold
        self.reaped = set()

    def start(self, args_list):
        importlib.import_module(harness.MODULES + "storage_pool")
        gate_read, gate_write = os.pipe()
        pids = []
        try:
            for args in args_list:
                pids.append(self._fork(args, gate_read, [gate_write] + self.keep_closed))
        finally:
            os.close(gate_read)
            os.close(gate_write)  # let them go
        return pids

    def _fork(self, args, gate_read, close):
        result_read, result_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer
            try:
                os.close(result_read)
                for fd in close + list(self.running.values()):
                    os.close(fd)
                os.read(gate_read, 1)  # EOF once every writer is started
                try:
                    payload = {"result": dict(harness.run_module("storage_pool", args))}
                except BaseException:  # a traceback or a failed harness check: the test reports it
                    payload = {"error": traceback.format_exc()}
                data = json.dumps(payload).encode("utf-8")
                while data:
                    data = data[os.write(result_write, data):]
            finally:
                os._exit(0)
        os.close(result_write)
        self.running[pid] = result_read
        return pid

    def finished(self, pids):
        """The writers of pids that have ended (reaped, their results still to be read)."""
        for pid in pids:
            if pid not in self.reaped and os.waitpid(pid, os.WNOHANG)[0] == pid:
                self.reaped.add(pid)
        return [pid for pid in pids if pid in self.reaped]

    def results(self, pids):
        """Wait for the writers of pids; their results (a failed test if one crashed)."""
        results = []
        deadline = time.monotonic() + 120
        for pid in pids:
            fd = self.running[pid]
            chunks = []
            while True:
                ready = select.select([fd], [], [], max(0, deadline - time.monotonic()))[0]
                assert ready, "writer %d did not finish within 120 s" % pid
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            os.close(fd)
            del self.running[pid]
            if pid not in self.reaped:
                os.waitpid(pid, 0)
                self.reaped.add(pid)
            assert chunks, "writer %d sent no result" % pid
            payload = json.loads(b"".join(chunks).decode("utf-8"))
            assert "error" not in payload, "writer %d: %s" % (pid, payload.get("error"))
            results.append(harness.Result(payload["result"]))
        return results

    def stop(self):
        """Kill and reap the writers still there (a failed test), by their PIDs."""
        for pid, fd in list(self.running.items()):
            if pid not in self.reaped:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.reaped.add(pid)
            os.close(fd)
        self.running = {}


def waiting_for_lock(path):
    """PIDs blocked in flock() on the file at path, from /proc/locks."""
    st = os.stat(path)
    inode = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    pids = set()
    with open("/proc/locks") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 6 and fields[1] == "->" and fields[2] == "FLOCK" and fields[6] == inode:
                pids.add(int(fields[5]))
    return pids


def pool_args(store, pools, name, **extra):
    return dict(store, name=name, type="dir", target={"path": os.path.join(pools, name)}, build=True, state="running", **extra)


def test_concurrent_writers(scratch, pool_schema):
    top = os.path.join(scratch, "conc")
    store = {"config_dir": top + "/etc", "runtime_dir": top + "/run"}
    pools = os.path.join(scratch, "pools", "conc")
    writers = Writers()
    lock_fd = None
    try:
        # 1. 20 definitions at once on a new store
        first = writers.results(writers.start([pool_args(store, pools, name) for name in FIRST]))
        msgs = [result.msg for result in first if "pool" not in result]
        assert [result for result in first if result.failed] == [], msgs
        assert len([result for result in first if result.changed]) == 20
        assert set(result["pool"]["state"] for result in first) == set(["running"])
        assert sorted(result["pool"]["name"] for result in first) == FIRST
        assert len(set(result["pool"]["uuid"] for result in first)) == 20

        # 2. hold the store's lock, start 20 more, which must all wait for it
        lock = os.path.join(store["runtime_dir"], ".lock")
        lock_fd = os.open(lock, os.O_RDWR)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        writers.keep_closed = [lock_fd]
        before = fingerprints.combine(store=lambda: fingerprints.tree(top), pools=lambda: fingerprints.tree(pools))
        held = before()
        pids = writers.start([pool_args(store, pools, name, autostart=True) for name in SECOND])
        deadline = time.monotonic() + 60
        while not waiting_for_lock(lock) >= set(pids) and not writers.finished(pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        # all of them wait; none has ended or written anything
        assert waiting_for_lock(lock) >= set(pids), "not every writer waits for the lock"
        assert writers.finished(pids) == []
        assert [name for name in os.listdir(store["config_dir"]) if re.match(r"d.*\.xml$", name)] == []
        harness.assert_unchanged(before, held, "writers waiting for the lock")
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)
        lock_fd = None
        writers.keep_closed = []
        second = writers.results(pids)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)
        writers.stop()
    msgs = [result.msg for result in second if "pool" not in result]
    assert [result for result in second if result.failed] == [], msgs
    assert len([result for result in second if result.changed]) == 20
    assert set(result["pool"]["state"] for result in second) == set(["running"])
    assert set(result["pool"]["autostart"] for result in second) == set([True])
    assert sorted(result["pool"]["name"] for result in second) == SECOND
    assert len(set(result["pool"]["uuid"] for result in first + second)) == 40

    # the store holds exactly the 40 definitions, live states and 20 links; nothing else: no
    # temporaries left behind, no stopped marks
    names = sorted(os.path.relpath(os.path.join(directory, name), top)
                   for directory in (store["config_dir"], store["runtime_dir"], store["config_dir"] + "/autostart")
                   for name in os.listdir(directory))
    all_pools = FIRST + SECOND
    assert [name for name in names if re.match(r"etc/[cd]\d\d\.xml$", name)] == ["etc/%s.xml" % name for name in all_pools], names
    assert [name for name in names if re.match(r"run/[cd]\d\d\.xml$", name)] == ["run/%s.xml" % name for name in all_pools], names
    assert len([name for name in names if re.match(r"etc/autostart/d\d\d\.xml$", name)]) == 20, names
    assert len([name for name in names if name not in ("etc/autostart", "run/.lock")]) == 100, names
    # every definition, live state and link is valid pool XML
    documents = [os.path.join(top, name) for name in names if re.match(r".*/[cd]\d\d\.xml$", name)]
    assert len(documents) == 100
    for path in documents:
        pool_schema(path)
