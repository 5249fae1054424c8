#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: a no-op storage_pool task against an ansible.builtin.stat task, side by side.

Defines and starts 6 dir pools in a scratch directory, then times, through real
ansible-playbook against localhost with the installed collection, interleaved,
repeated and by median:

  storage_pool  a play of 6 storage_pool tasks on those pools, each a no-op
  stat          the same play with 6 ansible.builtin.stat tasks on the pools' directories

It prints both plays' times (the whole ansible-playbook run, its CPU time, and the tasks
alone as a callback times them) and the ratio storage_pool / stat (target <= 1.10). Then
where the difference goes: 1-task plays, timed in the same rounds, split each play into
what it costs once (building the AnsiballZ payload, on the first task) and what each task
adds; each module's payload build is timed on its own; and each module's AnsiballZ wrapper,
kept from a run, is run directly and split into Python start, imports (compiled from the
zip, as on every real run) and the rest (argument parsing, the work, exit_json).

With --instructions (valgrind's callgrind on the managed host's side), each wrapper's run is
also counted in CPU instructions: unlike times, a count does not move with the load of the
machine, so it compares the two modules' runs where other work shares the CPU.

Exit status: 0 target met; 1 target missed; 2 the setup failed or a storage_pool task
was not a no-op. Everything it makes is removed before it exits. See bench/README.md.
"""

from __future__ import absolute_import, division, print_function

import argparse
import glob
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # before importing _harness: no __pycache__ in the checkout

from _harness import ROOT, SetupError, Terminated, stop_on_signals

COLLECTION = "poolcraft.storage"

# A callback plugin written into the scratch directory: one JSON line per task result, with
# the time from the task's start to its result (what the controller spends on the task).
CALLBACK = '''
from __future__ import absolute_import, division, print_function
__metaclass__ = type
import json
import os
import time
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: poolcraft_task_times
type: aggregate
short_description: task times for bench/noop_tasks.py
description: [One JSON line per task result into $POOLCRAFT_TASK_TIMES.]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "poolcraft_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started = time.perf_counter()

    def _record(self, result, status):
        with open(os.environ["POOLCRAFT_TASK_TIMES"], "a") as handle:
            handle.write(json.dumps({"task": result.task_name, "status": status,
                                     "changed": bool(result._result.get("changed")),
                                     "msg": str(result._result.get("msg", ""))[:300],
                                     "seconds": time.perf_counter() - self._started}) + "\\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
'''


def children_cpu():
    """CPU seconds (user and system) of every waited-for child so far, grandchildren included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fmt(seconds):
    return "%.3f s" % seconds if seconds >= 0.1 else "%.1f ms" % (seconds * 1000)


def pool_task(index, work):
    return {"name": "pool %d" % index, "poolcraft.storage.storage_pool": {
        "name": "bench%d" % index, "type": "dir", "target": {"path": os.path.join(work, "pools", "bench%d" % index)},
        "build": True, "state": "running",
        "config_dir": os.path.join(work, "etc"), "runtime_dir": os.path.join(work, "run")}}


def stat_task(index, work):
    return {"name": "stat %d" % index, "ansible.builtin.stat": {"path": os.path.join(work, "pools", "bench%d" % index)}}


def write_play(path, tasks):
    # JSON is YAML: no YAML library needed here
    with open(path, "w") as handle:
        json.dump([{"name": os.path.basename(path), "hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle, indent=1)


class Ansible(object):
    """ansible-playbook with the collection from `collections` only, its state in the scratch directory."""

    def __init__(self, work, collections, python, playbook):
        self.work = work
        self.playbook = playbook
        callbacks = os.path.join(work, "callbacks")
        os.makedirs(callbacks)
        with open(os.path.join(callbacks, "poolcraft_task_times.py"), "w") as handle:
            handle.write(CALLBACK)
        self.times_file = os.path.join(work, "task-times.jsonl")
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                        ANSIBLE_PYTHON_INTERPRETER=python, ANSIBLE_HOME=os.path.join(work, "ansible-home"),
                        ANSIBLE_LOCAL_TEMP=os.path.join(work, "ansible-local"),
                        ANSIBLE_REMOTE_TMP=os.path.join(work, "ansible-remote"),
                        ANSIBLE_CALLBACK_PLUGINS=callbacks, ANSIBLE_CALLBACKS_ENABLED="poolcraft_task_times",
                        ANSIBLE_CONFIG=os.path.join(work, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_LOCALHOST_WARNING="false",
                        ANSIBLE_INVENTORY_UNPARSED_WARNING="false", POOLCRAFT_TASK_TIMES=self.times_file)
        with open(self.env["ANSIBLE_CONFIG"], "w") as handle:
            handle.write("[defaults]\n")  # so no ansible.cfg of the caller's is read

    def play(self, path, keep_remote_files=False, collections=None):
        """(wall seconds, [task records]) of one ansible-playbook run of the play at path
        (with the collection from collections when given); its CPU seconds in self.last_cpu."""
        if os.path.exists(self.times_file):
            os.unlink(self.times_file)
        env = dict(self.env, ANSIBLE_KEEP_REMOTE_FILES="1" if keep_remote_files else "0")
        if collections:
            env["ANSIBLE_COLLECTIONS_PATH"] = collections
        start, cpu_start = time.perf_counter(), children_cpu()
        proc = subprocess.run([self.playbook, "-i", "localhost,", "-c", "local", path], cwd=self.work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        wall, self.last_cpu = time.perf_counter() - start, children_cpu() - cpu_start
        records = []
        if os.path.exists(self.times_file):
            with open(self.times_file) as handle:
                records = [json.loads(line) for line in handle]
        if proc.returncode != 0 or any(record["status"] != "ok" for record in records):
            raise SetupError("%s failed (rc=%d):\n%s" % (os.path.basename(path), proc.returncode, proc.stdout[-3000:]))
        return wall, records


def check_noop(records, tasks):
    if len(records) != tasks:
        raise SetupError("storage_pool play: %d task results, expected %d" % (len(records), tasks))
    changed = [record["task"] for record in records if record["changed"]]
    if changed:
        raise SetupError("storage_pool play was not a no-op: %s changed" % ", ".join(changed))


# -- the managed host's side: the kept AnsiballZ wrappers, run directly --------------------

def kept_wrapper(work, module):
    found = sorted(glob.glob(os.path.join(work, "ansible-remote", "*", "AnsiballZ_%s.py" % module)))
    if not found:
        raise SetupError("no AnsiballZ_%s.py kept under %s" % (module, os.path.join(work, "ansible-remote")))
    return found[-1]


def run_timed(argv, env=None):
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SetupError("%s failed (rc=%d): %s %s" % (" ".join(argv), proc.returncode, proc.stdout[-1000:], proc.stderr[-1000:]))
    return elapsed, proc


IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)$")


def import_split(stderr):
    """Seconds of the top-level imports of one -X importtime run, by who imports: the collection's
    module_utils (with what they pull in), ansible's module_utils, and the rest (the wrapper's)."""
    split = {"poolcraft": 0.0, "ansible": 0.0, "other": 0.0}
    modules = {"poolcraft": 0, "ansible": 0, "other": 0}
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        name = match.group(4)
        group = "poolcraft" if name.startswith("ansible_collections") else "ansible" if name.startswith("ansible") else "other"
        modules[group] += 1
        if len(match.group(3)) == 1:  # top level: its cumulative time holds its children
            split[group] += int(match.group(2)) / 1e6
    return split, modules


def host_side(wrapper, python, repeat):
    """Medians of the direct run of wrapper: total, python start, the import split (from -X importtime runs)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    totals, starts, splits, rests = [], [], [], []
    for _round in range(repeat + 1):
        elapsed, proc = run_timed([python, wrapper], env)
        totals.append(elapsed)
        starts.append(run_timed([python, "-c", "pass"], env)[0])
        elapsed, proc = run_timed([python, "-X", "importtime", wrapper], env)
        splits.append(import_split(proc.stderr))
        # the rest, from the same run as its imports: what is neither the start nor an import
        rests.append(elapsed - starts[-1] - sum(splits[-1][0].values()))
    result = {"total": statistics.median(totals[1:]), "python": statistics.median(starts[1:]), "modules": splits[-1][1],
              "rest": statistics.median(rests[1:]), "result_bytes": len(proc.stdout)}
    for group in ("poolcraft", "ansible", "other"):
        result["import_" + group] = statistics.median(split[group] for split, _count in splits[1:])
    return result


def instructions(wrapper, python, work):
    """CPU instructions of one direct run of wrapper, as valgrind's callgrind counts them."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SetupError("--instructions needs valgrind (callgrind): not found")
    out = os.path.join(work, "callgrind.out")
    run_timed([valgrind, "--tool=callgrind", "--callgrind-out-file=" + out, python, wrapper],
              dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    with open(out) as handle:
        for line in handle:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SetupError("no instruction count in %s" % out)


# runs a wrapper as `python WRAPPER` does, and lists the modules it imported when it exits
_LIST_MODULES = ("import atexit, runpy, sys\n"
                 "atexit.register(lambda: sys.stderr.write('MODULES %s\\n' % ' '.join(sorted(sys.modules))))\n"
                 "sys.argv = sys.argv[1:]\n"
                 "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def loaded_collection_modules(wrapper, python):
    """The collection's module_utils a direct run of wrapper imports. (-X importtime does not
    see what importlib.import_module imports, only what that module's own imports pull in.)"""
    proc = run_timed([python, "-c", _LIST_MODULES, wrapper], dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))[1]
    names = [line.split()[1:] for line in proc.stderr.splitlines() if line.startswith("MODULES ")][-1]
    prefix = "ansible_collections.poolcraft.storage.plugins.module_utils."
    return sorted(name[len(prefix):] for name in names if name.startswith(prefix))


def print_host_side(host):
    print("")
    print("on the managed host, one module run (its kept AnsiballZ wrapper run directly; medians):")
    print("%-52s %14s %14s" % ("", "storage_pool", "stat"))
    rows = [("python start (python -c pass)", "python"),
            ("imports: ansible module_utils (basic, ...)", "import_ansible"),
            ("imports: poolcraft module_utils (and what they pull)", "import_poolcraft"),
            ("imports: the rest (AnsiballZ wrapper, runpy)", "import_other"),
            ("the rest: argument parsing, work, exit_json", "rest"),
            ("total (a run without -X importtime)", "total")]
    for label, key in rows:
        print("%-52s %14s %14s" % (label, fmt(host["storage_pool"][key]), fmt(host["stat"][key])))
    pool, stat = host["storage_pool"], host["stat"]
    print("%-52s %14d %14d" % ("modules imported from the collection / ansible", pool["modules"]["poolcraft"],
                               stat["modules"]["poolcraft"]))
    print("%-52s %14d %14d" % ("", pool["modules"]["ansible"], stat["modules"]["ansible"]))
    print("%-52s %14d %14d" % ("the result the controller reads back (bytes)", pool["result_bytes"], stat["result_bytes"]))
    print("(the import times are from runs with -X importtime, which adds a little of its own)")


# -- the controller's side: the AnsiballZ payload each play builds once per module ---------

PAYLOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_payload.py")


def controller_python(playbook):
    """The interpreter ansible-playbook runs under (its shebang's), which has ansible-core."""
    with open(playbook, "rb") as handle:
        first = handle.readline().decode("utf-8", "replace")
    words = first[2:].split() if first.startswith("#!") else []
    return words[0] if words and os.path.basename(words[0]).startswith("python") else sys.executable


def payload_build(ansible, collections, fqcn, python, repeat=3):
    """{"seconds": median, "bytes": n} of building fqcn's payload cold, each in a fresh interpreter
    (bench/_payload.py, under the controller's Python; python is the managed host's, which the
    payload's shebang names); {"error": why} when this ansible-core's executor does not allow it."""
    runs, controller = [], controller_python(ansible.playbook)
    for _round in range(repeat):
        proc = subprocess.run([controller, PAYLOAD, collections, fqcn, python], env=ansible.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
        try:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": "bench/_payload.py said nothing (rc=%d): %s" % (proc.returncode, proc.stderr[-300:])}
        if "error" in result:
            return result
        runs.append(result)
    return {"seconds": statistics.median(run["seconds"] for run in runs), "bytes": runs[-1]["bytes"]}


def print_payload(payload):
    print("")
    if any("error" in built for built in payload.values()):
        print("building the AnsiballZ payloads: not measured (%s)"
              % "; ".join(built["error"] for built in payload.values() if "error" in built))
        return
    pool, stat = payload["storage_pool"], payload["stat"]
    print("%-52s %14s %14s" % ("the AnsiballZ payload, built once a play (cold)", "storage_pool", "stat"))
    print("%-52s %14s %14s" % ("  time to build it (a fresh interpreter; median of 3)", fmt(pool["seconds"]), fmt(stat["seconds"])))
    print("%-52s %10d KiB %10d KiB" % ("  the wrapper's size (its zip in base64)", pool["bytes"] // 1024, stat["bytes"] // 1024))
    print("(a worker's first task builds it in a heap as large as the controller's, where it takes longer)")


# -- the run ------------------------------------------------------------------------------

def find_collection(collections):
    manifest = os.path.join(collections, "ansible_collections", "poolcraft", "storage", "MANIFEST.json")
    if not os.path.isfile(manifest):
        raise SetupError("no installed %s under %s: run `make install` first (or pass --collections)" % (COLLECTION, collections))
    with open(manifest) as handle:
        return json.load(handle)["collection_info"]["version"]


def measure_plays(ansible, plays, tasks, repeat, baseline=None):
    """{key: {"wall": [...], "cpu": [...], "tasks": [...]}} over repeat rounds after a warm-up, the
    order rotating. plays maps a key to (path, tasks in it); with a baseline collection, its
    storage_pool play is one more contender ("baseline")."""
    contenders = [(key, plays[key][0], plays[key][1], None) for key in sorted(plays)]
    if baseline:
        contenders.append(("baseline", plays["storage_pool"][0], tasks, baseline))
    times = dict((key, {"wall": [], "cpu": [], "tasks": []}) for key, _path, _count, _collections in contenders)
    for round_number in range(repeat + 1):  # round 0 warms the caches and is not counted
        shift = round_number % len(contenders)
        for key, path, count, collections in contenders[shift:] + contenders[:shift]:
            wall, records = ansible.play(path, collections=collections)
            if not key.startswith("stat"):
                check_noop(records, count)
            if round_number:
                times[key]["wall"].append(wall)
                times[key]["cpu"].append(ansible.last_cpu)
                times[key]["tasks"].append(sum(record["seconds"] for record in records))
    return times


def split_play(times, tasks):
    """{module: {measure: (per play, per task)}}: a play of N tasks costs its fixed part once
    and its per-task part N times; the two come from the N-task and the 1-task plays' medians."""
    split = {}
    for module in ("storage_pool", "stat"):
        split[module] = {}
        for measure in ("wall", "cpu"):
            whole = statistics.median(times[module][measure])
            single = statistics.median(times[module + "_1"][measure])
            per_task = (whole - single) / (tasks - 1)
            split[module][measure] = (single - per_task, per_task)
    return split


def print_split(split, tasks):
    """Where the whole play's difference goes: once a play, or with every task."""
    print("")
    print("a play split into what it costs once and what each task adds (from the %d-task and 1-task plays):" % tasks)
    print("%-40s %12s %12s %12s %8s" % ("", "storage_pool", "stat", "difference", "share"))
    for measure, label in (("wall", "wall"), ("cpu", "CPU (the play's processes, user + system)")):
        pool, stat = split["storage_pool"][measure], split["stat"][measure]
        gap = (pool[0] - stat[0]) + tasks * (pool[1] - stat[1])
        print(label + ":")
        for index, part in ((0, "  once a play"), (1, "  each task")):
            difference = pool[index] - stat[index]
            share = difference * (1 if index == 0 else tasks) / gap if gap > 0 else float("nan")
            print("%-40s %12s %12s %12s %7.0f%%" % (part, fmt(pool[index]), fmt(stat[index]), fmt(difference), 100 * share))
    print("(\"once a play\" holds building each module's AnsiballZ payload, done on the first task of a play)")


def print_plays(times, tasks, repeat):
    print("")
    print("%d tasks a play, %d runs of each play (after a warm-up), medians (min - max):" % (tasks, repeat))
    print("%-40s %26s %26s %8s" % ("", "storage_pool", "stat", "ratio"))
    ratios = {}
    for label, key in (("ansible-playbook, whole run", "wall"), ("its CPU (all its processes)", "cpu"),
                       ("the tasks (callback, start to result)", "tasks")):
        cells = []
        for module in ("storage_pool", "stat"):
            values = times[module][key]
            cells.append("%s (%s - %s)" % (fmt(statistics.median(values)), fmt(min(values)), fmt(max(values))))
        ratios[key] = statistics.median(times["storage_pool"][key]) / statistics.median(times["stat"][key])
        print("%-40s %26s %26s %7.2fx" % (label, cells[0], cells[1], ratios[key]))
    per_task = [statistics.median(times[module]["tasks"]) / tasks for module in ("storage_pool", "stat")]
    print("%-40s %26s %26s" % ("one task", fmt(per_task[0]), fmt(per_task[1])))
    if "baseline" in times:
        for label, key in (("baseline storage_pool, whole run", "wall"), ("baseline storage_pool, the tasks", "tasks")):
            values = times["baseline"][key]
            ratios["baseline_" + key] = statistics.median(values) / statistics.median(times["stat"][key])
            cell = "%s (%s - %s)" % (fmt(statistics.median(values)), fmt(min(values)), fmt(max(values)))
            print("%-40s %26s %26s %7.2fx" % (label, cell, "", ratios["baseline_" + key]))
    return ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--collections", default=os.path.join(ROOT, ".build", "collections"),
                        help="where the collection is installed (default .build/collections: `make install`)")
    parser.add_argument("--baseline", default=None,
                        help="another installed copy (e.g. of the last commit): its storage_pool play is timed in the same rounds")
    parser.add_argument("--tasks", type=int, default=6, help="tasks a play (default 6)")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs of each play after a warm-up (default 10)")
    parser.add_argument("--host-repeat", type=int, default=10, help="direct runs of each kept module wrapper (default 10)")
    parser.add_argument("--target", type=float, default=1.10, help="the largest ratio storage_pool / stat allowed (1.10)")
    parser.add_argument("--python", default=os.path.join(ROOT, ".venv", "bin", "python"), help="the managed host's Python")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each module run's CPU instructions with valgrind (about a minute more)")
    parser.add_argument("--tmpdir", default=None)
    parser.add_argument("--json", default=None, help="also write the results as JSON to this file")
    opts = parser.parse_args()
    stop_on_signals()

    work = tempfile.mkdtemp(prefix="poolcraft-bench-noop-", dir=opts.tmpdir)
    try:
        version = find_collection(opts.collections)
        playbook = shutil.which("ansible-playbook", path=os.pathsep.join([os.path.dirname(opts.python), os.environ.get("PATH", "")]))
        if playbook is None:
            raise SetupError("ansible-playbook not found: run `make deps`")
        ansible = Ansible(work, opts.collections, opts.python, playbook)
        # the N-task plays the claim is about, and 1-task plays that tell a play's fixed cost from a task's
        plays = {}
        for module, task in (("storage_pool", pool_task), ("stat", stat_task)):
            for key, count in ((module, opts.tasks), (module + "_1", 1)) if opts.tasks > 1 else ((module, 1),):
                plays[key] = (os.path.join(work, key + ".yml"), count)
                write_play(plays[key][0], [task(index, work) for index in range(count)])
        print("%s %s from %s; %s" % (COLLECTION, version, opts.collections, subprocess.run(
            [playbook, "--version"], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout.splitlines()[0]))

        print("defining and starting %d dir pools in %s ..." % (opts.tasks, work), flush=True)
        _wall, records = ansible.play(plays["storage_pool"][0])
        if not all(record["changed"] for record in records):
            raise SetupError("the first storage_pool play should have made the pools: %r" % records)
        # one run of each play that keeps its AnsiballZ wrappers, for the host-side split
        check_noop(ansible.play(plays["storage_pool"][0], keep_remote_files=True)[1], opts.tasks)
        ansible.play(plays["stat"][0], keep_remote_files=True)

        print("timing the plays ...", flush=True)
        if opts.baseline:
            find_collection(opts.baseline)
        times = measure_plays(ansible, plays, opts.tasks, opts.repeat, opts.baseline)
        ratios = print_plays(times, opts.tasks, opts.repeat)
        split = split_play(times, opts.tasks) if opts.tasks > 1 else None
        if split:
            print_split(split, opts.tasks)
        payload = dict((module, payload_build(ansible, opts.collections, fqcn, opts.python))
                       for module, fqcn in (("storage_pool", COLLECTION + ".storage_pool"), ("stat", "ansible.builtin.stat")))
        print_payload(payload)

        host = {}
        for module in ("storage_pool", "stat"):
            host[module] = host_side(kept_wrapper(work, module), opts.python, opts.host_repeat)
        print_host_side(host)
        controller = dict((module, statistics.median(times[module]["tasks"]) / opts.tasks - host[module]["total"])
                          for module in host)
        print("%-52s %14s %14s" % ("controller and connection (a task minus its run)",
                                   fmt(controller["storage_pool"]), fmt(controller["stat"])))
        print("poolcraft module_utils a no-op dir pool task imports: %s"
              % ", ".join(loaded_collection_modules(kept_wrapper(work, "storage_pool"), opts.python)))
        if opts.instructions:
            for module in host:
                host[module]["instructions"] = instructions(kept_wrapper(work, module), opts.python, work)
            print("%-52s %14s %14s %7.2fx" % ("CPU instructions of one module run (callgrind)",
                                              "%.0f M" % (host["storage_pool"]["instructions"] / 1e6),
                                              "%.0f M" % (host["stat"]["instructions"] / 1e6),
                                              host["storage_pool"]["instructions"] / float(host["stat"]["instructions"])))

        print("")
        ratio = ratios["wall"]
        verdict = "PASS" if ratio <= opts.target else "FAIL"
        print("storage_pool / stat: %.2fx the whole play, %.2fx the tasks alone (target <= %.2fx, on the whole play): %s"
              % (ratio, ratios["tasks"], opts.target, verdict))
        if opts.json:
            with open(opts.json, "w") as handle:
                json.dump({"version": version, "tasks": opts.tasks, "plays": times, "ratios": ratios, "host": host,
                           "controller": controller, "split": split, "payload": payload}, handle, indent=2)
        return 0 if verdict == "PASS" else 1
    except SetupError as exc:
        print("noop_tasks: %s" % exc, file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated):
        print("noop_tasks: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
