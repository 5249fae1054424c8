# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the bad-input property suites share (issue 10, item 5): the hostile values, the sandbox
every generated call runs in, and the four properties, checked on every call.

A case is one valid call (a base) with one thing made bad (a mutation): a hostile name or path,
a malformed size, a wrong type, a contradiction, something that does not exist, a crafted image
or definition. One bad thing per case, so a finding names its cause and its case is the smallest
reproducer there is. Strings may hold W, which stands for the sandbox's work directory.

The properties, on every call:
  1. it succeeds, or fails in one line naming the option or the value (no traceback);
  2. it does not hang (each call runs under a deadline);
  3. a failure leaves the sandbox (storage and definitions) as it found it;
  4. after a success, a second identical call reports no change;
and, where a case says so, it is refused (must_refuse: input that issue 10 rules out) or works
(must_succeed: a broken definition must not stop other pools). Findings are collected instead of
raised, so one run reports every failure class; Findings.assert_none() fails the test with them.

No tests here; the test_bad_input_<module>.py files import it. POOLCRAFT_BAD_INPUT_REPORT=dir
writes each suite's findings there as JSON.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import fingerprints
import harness

W = "@W@"  # the sandbox's work directory, in generated strings
DEADLINE = float(os.environ.get("POOLCRAFT_BAD_INPUT_DEADLINE", "5"))  # seconds per call
HOST_FILES = ("/etc/fstab",)  # what a call may touch through a default (fstab: "" means /etc/fstab today)
HOST_DIRS = ("/etc/poolcraft", "/run/poolcraft")  # the default config_dir and runtime_dir

# max_examples of each suite; derandomized (the same cases every run), nothing written to the tree
SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=False,
                suppress_health_check=list(HealthCheck))


def suite_settings(examples):
    return settings(max_examples=examples, **SETTINGS)


# -- hostile values -----------------------------------------------------------------------------
# (label, value, must_refuse): must_refuse where issue 10's input hygiene rules the value out

HOSTILE_NAMES = [
    ("NUL", "a\x00b", True),
    ("newline", "a\nb", True),
    ("carriage return", "a\rb", True),
    ("tab", "a\tb", True),
    ("escape", "a\x1b[31mb", True),
    ("DEL", "a\x7fb", True),
    ("U+0085 next line", "a\x85b", True),
    ("U+2028 line separator", "a\u2028b", False),
    ("U+2029 paragraph separator", "a\u2029b", False),
    ("form feed", "a\x0cb", True),
    ("zero width space", "a\u200bb", False),
    ("slash", "a/b", True),
    ("dot dot", "..", True),
    ("dot", ".", True),
    ("leading dot", ".hidden", True),
    ("empty", "", True),
    ("space", " ", False),
    ("leading dash", "-rf", False),
    ("absolute", "/abs", True),
    ("traversal", "../../x", True),
    ("256 bytes", "n" * 256, True),
    ("5000 bytes", "n" * 5000, True),
    ("non-ASCII", "名前-é", False),
    ("shell", "$(id)`id`;|&", False),
    ("quotes", "a'b\"c", False),
    ("XML", "<x>&amp;]]>", False),
    ("percent", "%s%n%x", False),
    ("hash", "a#b", False),
    ("comma", "a,b", False),
    ("equals", "a=b", False),
    ("backslash", "a\\040b", False),
    ("tilde", "~root", False),
]


def lvm_names():
    """HOSTILE_NAMES by LVM's rule for VG and LV names: a leading dot is fine, a leading dash is not."""
    rule = {"leading dot": False, "leading dash": True}
    return [(label, value, rule.get(label, refuse)) for label, value, refuse in HOSTILE_NAMES]


WRONG_TYPES = [
    ("int", 12, False),
    ("float", 1.5, False),
    ("bool", True, False),
    ("list", ["a", "b"], False),
    ("dict", {"a": 1}, False),
    ("null", None, False),
    ("huge int", 10 ** 40, False),
    ("negative int", -1, False),
]

# sizes: (label, value, must_refuse)
HOSTILE_SIZES = [
    ("Arabic-Indic digits", "\u0661\u0660M", True),
    ("fullwidth digits", "\uff11\uff10M", True),
    ("Devanagari digits", "\u0967G", True),
    ("superscript digit", "\u00b9M", True),
    ("5000 digits", "9" * 5000, True),
    ("5000 zeros then 1", "0" * 5000 + "1", True),
    ("31 digits", "1" + "0" * 30, True),
    ("2^63", str(2 ** 63), True),
    ("2^64 bytes as int", 2 ** 64, True),
    ("4000-digit int", 10 ** 4000, True),
    ("100 EiB", "100EiB", True),
    ("negative", "-1", True),
    ("negative with unit", "-1G", True),
    ("negative int", -5, True),
    ("negative zero", "-0", True),
    ("zero", "0", False),
    ("exponent", "1e9", True),
    ("float exponent huge", 1e308, True),
    ("infinity", float("inf"), True),
    ("NaN", float("nan"), True),
    ("hex", "0x10", True),
    ("underscore", "1_000", True),
    ("plus", "+10M", True),
    ("two dots", "1.5.3G", True),
    ("double unit", "10GG", True),
    ("unknown unit", "10Q", True),
    ("unit only", "G", True),
    ("empty", "", True),
    ("spaces", "   ", True),
    ("NUL", "10M\x00", True),
    ("newline", "10M\n5", True),
    ("tab inside", "10\tM", True),
    ("fraction of a byte", "0.5", False),
    ("tiny fraction", "0.0000001K", False),
    ("many decimals", "1." + "3" * 400 + "M", True),
    ("bool", True, True),
    ("list", ["1M"], True),
    ("dict", {"size": "1M"}, True),
    ("float", 1048576.5, False),
    ("word", "lots", True),
    ("lowercase", "10m", False),
    ("decimal unit", "1MB", False),
    ("trailing space", "1M ", False),
]

HOSTILE_MODES = [
    ("integer 755", 755, True),
    ("integer 0o755", 0o755, True),
    ("Arabic-Indic digits", "\u0660\u0667\u0665\u0665", True),
    ("fullwidth digits", "\uff10\uff17\uff15\uff15", True),
    ("underscore", "0_755", True),
    ("plus", "+755", True),
    ("0o prefix", "0o755", True),
    ("spaces", " 0755 ", True),
    ("NUL", "0755\x00", True),
    ("too big", "017777", True),
    ("negative", "-1", True),
    ("not octal", "0789", True),
    ("symbolic", "rwxr-xr-x", True),
    ("empty", "", True),
    ("float", 7.5, True),
    ("bool", True, True),
    ("list", ["0755"], True),
    ("5000 digits", "7" * 5000, True),
    ("setuid", "04755", False),
    ("three digits", "755", False),
]

HOSTILE_IDS = [
    ("Arabic-Indic digits", "\u0661\u0660\u0660", True),
    ("fullwidth digits", "\uff11\uff10", True),
    ("superscript", "\u00b9", True),
    ("above uid max", "4294967296", True),
    ("30 digits", "9" * 30, True),
    ("5000 digits", "9" * 5000, True),
    ("libvirt unset", "4294967295", False),
    ("minus one", "-1", False),
    ("minus two", "-2", True),
    ("NUL", "ro\x00ot", True),
    ("newline", "root\n", True),
    ("empty", "", True),
    ("hex", "0x10", True),
    ("space", " 0", True),
    ("unknown name", "no-such-user-poolcraft", True),
    ("int", 0, False),
    ("huge int", 10 ** 30, True),
    ("list", ["root"], True),
]

HOSTILE_LABELS = [
    ("NUL", "system_u\x00:x", True),
    ("newline", "a\nb", True),
    ("empty", "", True),
    ("5000 bytes", "l" * 5000, False),
]


def paths_under(directory):
    """Hostile paths beside a directory of the sandbox: (label, path, must_refuse)."""
    return [
        ("NUL", directory + "/a\x00b", True),
        ("newline", directory + "/a\nb", True),
        ("U+2028", directory + "/a\u2028b", False),
        ("U+0085", directory + "/a\x85b", True),
        ("escape", directory + "/a\x1b[0mb", True),
        ("relative", "relative/dir", True),
        ("empty", "", True),
        ("dot", ".", True),
        ("dot dot inside", directory + "/../x/../y", False),
        ("component of 256 bytes", directory + "/" + "c" * 256, True),
        ("path of 5000 bytes", directory + ("/" + "d" * 200) * 25, True),
        ("trailing slash", directory + "/x/", False),
        ("double slash", directory + "//x", False),
        ("regular file", W + "/host/file.txt", True),
        ("FIFO", W + "/host/fifo", True),
        ("symlink loop", W + "/host/loop", True),
        ("under a file", W + "/host/file.txt/x", True),
        ("tilde", "~/x", False),  # type path expands it (HOME is the sandbox's during calls)
        ("variable", "$HOME/x", False),
    ]


# -- building cases -----------------------------------------------------------------------------

class Case(object):
    """One call: module args (with W), the options the bad thing is in, and what must happen."""

    def __init__(self, kind, args, options=(), must_refuse=False, must_succeed=False, check=False,
                 prepare=None, post_check=None):
        self.kind = kind
        self.args = args
        self.options = list(options)
        self.must_refuse = must_refuse
        self.must_succeed = must_succeed
        self.check = check
        self.prepare = prepare  # callable(sandbox): crafts state before the call
        self.post_check = post_check  # callable(sandbox, result) -> a problem or None, after a success

    def __repr__(self):
        return "Case(%r, check=%r, %s)" % (self.kind, self.check, shown(self.args))

    def in_check_mode(self, check):
        twin = copy.copy(self)
        twin.check = check
        return twin


def shown(value):
    """args as a reproducer: W as <scratch>, long runs shortened, one line."""
    text = json.dumps(value, ensure_ascii=True, sort_keys=True, default=repr).replace(W, "<scratch>")
    for char in "9078ncd7l":
        text = text.replace(char * 300, "%s*(%d+)" % (char, 300))
    return text if len(text) < 600 else text[:600] + "..."


def set_option(args, option, value):
    """A copy of args with the dotted option set (intermediate dicts made when missing)."""
    args = copy.deepcopy(args)
    node = args
    parts = option.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    return args


def mutations(option, bases, values, kind=None, force_refuse=None, **flags):
    """Cases: option set to each labeled value in turn, on the bases in turn. kind defaults to
    the option."""
    found = []
    for index, (label, value, refuse) in enumerate(values):
        base = bases[index % len(bases)]
        must_refuse = refuse if force_refuse is None else force_refuse
        found.append(Case("%s: %s" % (kind or option, label), set_option(base, option, value), [option],
                          must_refuse=must_refuse, **flags))
    return found


def fixed(kind, args, options=(), **flags):
    """A case with no choice in it."""
    return [Case(kind, args, options, **flags)]


def mix(enumerated, generated, generated_share=20):
    """One strategy: a case of the enumerated list, or (generated_share % of the time) one of
    the generated strategies; each also in check mode a quarter of the time."""
    listed = st.sampled_from(enumerated)

    def pick(number):
        if number < generated_share and generated:
            return generated[number % len(generated)]
        return listed
    cases = st.integers(0, 99).flatmap(pick)
    return st.tuples(cases, st.integers(0, 3)).map(lambda pair: pair[0].in_check_mode(pair[1] == 0))


def generated_text(option, bases, kind=None, **flags):
    """Random short text (any code point but surrogates) in option; refused if it holds a control
    character or a slash (the rule of names)."""
    def build(pair):
        base, text = pair
        refuse = (not text) or any(ord(char) < 32 or 0x7f <= ord(char) < 0xa0 for char in text) or "/" in text \
            or text.startswith(".")
        return Case("%s: generated text" % (kind or option), set_option(base, option, text), [option],
                    must_refuse=refuse, **flags)
    return st.tuples(st.sampled_from(bases), st.text(min_size=0, max_size=12)).map(build)


def generated_size(option, bases, **flags):
    """Sizes from a pattern that mixes ASCII and other digits, signs and units: refused unless
    plain ASCII digits and a known unit, at most 30 digits."""
    pattern = r"\A[-+ ]?[0-9\u0660-\u0669\uff10-\uff19]{1,40}(\.[0-9]{1,3})?[ ]?(|[KMGTPE]|[KMGTPE]iB|[kmgtpe]b|Q|bytes)\Z"

    def build(pair):
        base, text = pair
        digits = "".join(char for char in text.split(".")[0] if char.isdigit())
        ascii_only = all(char in "0123456789" for char in digits)
        refuse = (not ascii_only) or len(digits) > 30 or text.lstrip().startswith(("-", "+")) or "Q" in text
        return Case("%s: generated size" % option, set_option(base, option, text), [option],
                    must_refuse=refuse, **flags)
    return st.tuples(st.sampled_from(bases), st.from_regex(pattern)).map(build)


def listed(parts):
    """How many cases the lists among parts hold (to size max_examples)."""
    return sum(len(part) for part in parts if isinstance(part, list))


def strategy(parts, generated_share=20):
    """The suite's strategy from a list of parts: lists of cases (mutations, fixed) and
    strategies (generated_*)."""
    enumerated = [case for part in parts if isinstance(part, list) for case in part]
    generated = [part for part in parts if not isinstance(part, list)]
    return mix(enumerated, generated, generated_share)


# -- the sandbox --------------------------------------------------------------------------------

class Sandbox(object):
    """A scratch directory with a work tree that every case starts from, the same each time:
    made once by build(sandbox), kept as a template and copied back before each case (FIFOs,
    which a copy would block on, are made again). Relative paths land in it (the calls run in
    it), and LVM sees no device of the host (a private LVM_SYSTEM_DIR that accepts none)."""

    def __init__(self, build, fifos=()):
        self.root = tempfile.mkdtemp(prefix="poolcraft-bad-input-", dir=os.environ.get("POOLCRAFT_SCRATCH", "/var/tmp"))
        os.chmod(self.root, 0o755)
        self.work = os.path.join(self.root, "w")
        self.template = os.path.join(self.root, "template")
        self.fifos = list(fifos)
        self.store = {"config_dir": os.path.join(self.work, "etc"), "runtime_dir": os.path.join(self.work, "run")}
        self._saved_env = dict((key, os.environ.get(key)) for key in ("LVM_SYSTEM_DIR", "LVM_SUPPRESS_FD_WARNINGS"))
        lvm_dir = os.path.join(self.root, "lvm")
        os.makedirs(lvm_dir)
        with open(os.path.join(lvm_dir, "lvm.conf"), "w") as handle:
            handle.write('devices {\n    use_devicesfile = 0\n    obtain_device_list_from_udev = 0\n'
                         '    filter = [ "r|.*|" ]\n}\nbackup {\n    backup = 0\n    archive = 0\n}\n')
        os.environ.update(LVM_SYSTEM_DIR=lvm_dir, LVM_SUPPRESS_FD_WARNINGS="1")
        try:
            os.makedirs(os.path.join(self.work, "host"))
            build(self)
            shutil.copytree(self.work, self.template, symlinks=True, ignore=self._leave_fifos)
            self._make_fifos()
        except BaseException:
            self.close()
            raise

    def path(self, text):
        return text.replace(W, self.work)

    def _leave_fifos(self, directory, names):
        return [name for name in names if os.path.join(directory, name) in self.fifos_in(directory)]

    def fifos_in(self, directory):
        return set(self.path(fifo) for fifo in self.fifos) if directory.startswith(self.work) else set()

    def _make_fifos(self):
        for fifo in self.fifos:
            os.mkfifo(self.path(fifo))

    def reset(self):
        unmount_under(self.work)
        shutil.rmtree(self.work)
        shutil.copytree(self.template, self.work, symlinks=True)
        self._make_fifos()

    def fingerprint(self):
        """The work tree, without the mtimes of directories: a temporary file made and removed
        again changes them, and leaves nothing behind."""
        entries = []
        for entry in fingerprints.tree(self.work):
            fields = entry.split("|")
            if fields[1].startswith("40"):
                fields[6] = "0"
            entries.append("|".join(fields))
        return entries

    def close(self):
        unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def unmount_under(path):
    prefix = path.rstrip("/") + "/"
    points = sorted((m[0] for m in fingerprints.mountinfo() if m[0].startswith(prefix)), key=len, reverse=True)
    for point in points:
        subprocess.run(["umount", "--lazy", point], stderr=subprocess.DEVNULL, check=False)


def materialize(value, sandbox):
    if isinstance(value, str):
        return sandbox.path(value)
    if isinstance(value, list):
        return [materialize(item, sandbox) for item in value]
    if isinstance(value, dict):
        return dict((key, materialize(item, sandbox)) for key, item in value.items())
    return value


# -- running one call -------------------------------------------------------------------------

class Hang(BaseException):
    """A call ran past its deadline (a BaseException, so no `except Exception` swallows it)."""


def _on_alarm(signum, frame):
    raise Hang("no result after %s s" % DEADLINE)


def _children():
    """PIDs of this process's children (what a call started and left running)."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (IOError, OSError, IndexError):
            continue
        if fields[1] == me:
            found.append(int(entry))
    return found


def _reap(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass


def call(module, args, check):
    """run_module under the deadline; (result, problem): problem is None, or (property, detail)."""
    children_before = set(_children())
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, DEADLINE)
    try:
        return harness.run_module(module, args, check=check), None
    except Hang as exc:
        return None, ("hang", "after %ss, in %s" % (DEADLINE, _site(exc)))
    except AssertionError as exc:
        if _innermost(exc, "/tests/scenarios/harness.py"):
            return None, ("unclean failure", str(exc).split(":", maxsplit=1)[0] + ": " + _short(str(exc)))
        return None, ("traceback", "%s at %s: %s" % (type(exc).__name__, _site(exc), _short(str(exc))))
    except Exception as exc:  # pylint: disable=broad-except
        return None, ("traceback", "%s at %s: %s (innermost: %s)" % (
            type(exc).__name__, _site(exc), _short(str(exc)), _site(exc, ours_only=False)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _reap(sorted(set(_children()) - children_before))


def _short(text, limit=160):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _innermost(exc, marker):
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and marker in frames[-1].filename


def _site(exc, ours_only=True):
    """The innermost frame in the collection's plugins (else, or without ours_only, the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if "/plugins/" in frame.filename] if ours_only else []
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    name = frame.filename
    for marker in ("/plugins/", "/site-packages/"):
        name = name.split(marker, 1)[-1]
    return "%s:%d %s()" % (name, frame.lineno, frame.name)


# ansible-core's own refusals that name no option (its argument spec's words, not ours)
CORE_MESSAGES = ("dictionary requested, could not parse JSON or key=value",)


def names_option_or_value(msg, case, args):
    """Property 1's second half: the refusal of a bad value names one of the options or their values."""
    if not case.options or not case.must_refuse or msg.startswith(CORE_MESSAGES):
        return True
    lowered = msg.lower()
    for option in case.options:
        for part in option.split("."):
            if part.lower() in lowered:
                return True
        value = _get(args, option)
        text = value if isinstance(value, str) else json.dumps(value, default=repr)
        if text and (text[:40] in msg or repr(value)[:40] in msg):
            return True
    return False


def _get(args, option):
    node = args
    for part in option.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def host_snapshot():
    """What a call might change on the host through a default: /etc/fstab, the default dirs."""
    state = {}
    for path in HOST_FILES:
        state[path] = fingerprints.digest(path)
    for path in HOST_DIRS:
        state[path] = fingerprints.tree(path) if os.path.isdir(path) else None
    return state


def restore_host(before, saved_files):
    for path, data in saved_files.items():
        if data is not None and fingerprints.digest(path) != before[path]:
            with open(path, "wb") as handle:
                handle.write(data)
    for path in HOST_DIRS:
        if before[path] is None and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


class Findings(object):
    """Property violations by class: (property, where or what) -> count, kinds, smallest case."""

    def __init__(self, suite):
        self.suite = suite
        self.classes = {}
        self.runs = 0
        self.skipped = 0
        self.hung_kinds = set()
        self.kinds = set()
        self.started = time.time()

    def add(self, prop, key, case, detail):
        entry = self.classes.setdefault((prop, key), {"count": 0, "kinds": set(), "case": None, "detail": None})
        entry["count"] += 1
        entry["kinds"].add(case.kind)
        if entry["case"] is None or len(repr(case)) < len(repr(entry["case"])):
            entry["case"], entry["detail"] = case, detail

    def report(self):
        lines = ["%s: %d calls of %d kinds (%d skipped after a hang of their kind) in %.1f s, %d failure classes" % (
            self.suite, self.runs, len(self.kinds), self.skipped, time.time() - self.started, len(self.classes))]
        for (prop, key), entry in sorted(self.classes.items()):
            lines.append("- [%s] %s (%d calls; kinds: %s)\n    reproducer: %r\n    got: %s" % (
                prop, key, entry["count"], ", ".join(sorted(entry["kinds"])[:6]), entry["case"], entry["detail"]))
        return "\n".join(lines)

    def dump(self):
        directory = os.environ.get("POOLCRAFT_BAD_INPUT_REPORT")
        if not directory:
            return
        os.makedirs(directory, exist_ok=True)
        data = {"suite": self.suite, "runs": self.runs, "skipped": self.skipped, "kinds": len(self.kinds),
                "seconds": round(time.time() - self.started, 1), "classes": [
                    {"property": prop, "class": key, "count": entry["count"], "kinds": sorted(entry["kinds"]),
                     "module": self.suite, "check_mode": entry["case"].check, "args": shown(entry["case"].args),
                     "kind": entry["case"].kind, "got": entry["detail"]}
                    for (prop, key), entry in sorted(self.classes.items())]}
        with open(os.path.join(directory, self.suite + ".json"), "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)

    def assert_none(self):
        self.dump()
        sys.stdout.write("\n" + self.report() + "\n")
        assert not self.classes, self.report()


def check_case(module, case, sandbox, findings):
    """Run one case in a fresh copy of the sandbox and record every property it breaks."""
    findings.runs += 1
    findings.kinds.add(case.kind)
    if case.kind in findings.hung_kinds:
        findings.skipped += 1  # each hang costs the whole deadline; one per kind is proof enough
        return
    sandbox.reset()
    if case.prepare is not None:
        case.prepare(sandbox)
    args = materialize(case.args, sandbox)
    before = sandbox.fingerprint()
    host_before = host_snapshot()
    saved_files = dict((path, _read_bytes(path)) for path in HOST_FILES)
    cwd, home = os.getcwd(), os.environ.get("HOME")
    os.chdir(sandbox.work)
    os.environ["HOME"] = sandbox.work  # type path expands ~ and $HOME
    try:
        result, problem = call(module, args, case.check)
        second = None
        if problem is None and not result.failed and not case.check:
            second = call(module, args, False)
    finally:
        os.chdir(cwd)
        if home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = home
    if host_snapshot() != host_before:
        findings.add("host touched", case.kind, case, "changed %s" % [
            path for path, value in host_snapshot().items() if value != host_before[path]])
        restore_host(host_before, saved_files)
    _judge(case, sandbox, findings, args, before, result, problem, second)


def _read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _judge(case, sandbox, findings, args, before, result, problem, second):
    if problem is not None:
        prop, detail = problem
        if prop == "hang":
            findings.hung_kinds.add(case.kind)
            findings.add(prop, "%s: %s" % (case.kind, detail.split(", in ")[-1]), case, detail)
        elif prop == "traceback":
            findings.add(prop, detail.split(":")[0] + ":" + detail.split(":")[1], case, detail)
        else:
            findings.add(prop, detail.split(":")[0], case, detail)
    failed = problem is not None or result.failed
    if failed:
        after = sandbox.fingerprint()
        if after != before:
            findings.add("leftover after a failure", case.kind, case, "%s; left: %s" % (
                result.msg if result is not None else problem[1], harness.difference(_by_path(before), _by_path(after))))
    if result is None:
        return
    if result.failed:
        if case.must_succeed:
            findings.add("refused what must work", case.kind, case, result.msg)
        elif not names_option_or_value(result.msg, case, args):
            findings.add("message names neither option nor value", case.kind, case, result.msg)
        return
    if case.must_refuse:
        findings.add("accepted bad input", case.kind, case, "changed=%s actions=%s" % (result.changed, result.actions))
    if case.check:
        after = sandbox.fingerprint()
        if after != before:
            findings.add("check mode changed the storage", case.kind, case,
                         harness.difference(_by_path(before), _by_path(after)))
        return
    _judge_second(case, sandbox, findings, result, second)


def _judge_second(case, sandbox, findings, result, second):
    result_second, problem = second
    if problem is not None:
        findings.add("second run: " + problem[0], case.kind, case, problem[1])
    elif result_second.failed:
        findings.add("second run failed", case.kind, case, result_second.msg)
    elif result_second.changed or result_second.actions:
        findings.add("second run changed", case.kind, case, "first %s, then %s" % (
            result.actions, result_second.actions))
    if case.post_check is not None:
        trouble = case.post_check(sandbox, result)
        if trouble:
            findings.add("wrong result", case.kind, case, trouble)


def _by_path(entries):
    """A tree fingerprint as {path: rest}, so a difference names the paths."""
    return dict((entry.split("|", 1)[0], entry.split("|", 1)[1]) for entry in entries)


def run_suite(module, cases, sandbox_build, examples, fifos=()):
    """Run `examples` generated cases of module in one sandbox; fail with every finding."""
    from hypothesis import given

    findings = Findings(module)
    sandbox = Sandbox(sandbox_build, fifos)
    try:
        @suite_settings(examples)
        @given(case=cases)
        def one(case):
            check_case(module, case, sandbox, findings)
        one()  # pylint: disable=no-value-for-parameter
    finally:
        sandbox.close()
    assert findings.runs >= examples * 0.9, "hypothesis ran %d of %d cases" % (findings.runs, examples)
    findings.assert_none()


# -- crafted files --------------------------------------------------------------------------------

def qemu_img(*argv):
    subprocess.run(("qemu-img",) + argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def write(path, data, mode="wb"):
    with open(path, mode) as handle:
        handle.write(data)


def craft_images(host):
    """The image files a clone_from or backing_store is pointed at, in host (a directory)."""
    qemu_img("create", "-q", "-f", "qcow2", os.path.join(host, "good.qcow2"), "1M")
    qemu_img("create", "-q", "-f", "raw", os.path.join(host, "good.raw"), "1M")
    # a qcow2 that names itself as its backing file, and two that name each other
    qemu_img("create", "-q", "-f", "qcow2", os.path.join(host, "self.qcow2"), "1M")
    qemu_img("rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", os.path.join(host, "self.qcow2"), os.path.join(host, "self.qcow2"))
    for name, other in (("loop-a.qcow2", "loop-b.qcow2"), ("loop-b.qcow2", "loop-a.qcow2")):
        qemu_img("create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b", os.path.join(host, other), os.path.join(host, name), "1M")
    # a chain of 40 overlays
    below = os.path.join(host, "good.qcow2")
    for level in range(40):
        image = os.path.join(host, "chain%02d.qcow2" % level)
        qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", below, image, "1M")
        below = image
    with open(os.path.join(host, "good.qcow2"), "rb") as handle:
        header = handle.read(512)
    write(os.path.join(host, "truncated.qcow2"), header[:48])
    write(os.path.join(host, "magic-only.qcow2"), b"QFI\xfb")
    write(os.path.join(host, "garbage.qcow2"), b"QFI\xfb" + hashlib.sha256(b"x").digest() * 16)
    write(os.path.join(host, "huge-size.qcow2"), header[:24] + (2 ** 63 - 512).to_bytes(8, "big") + header[32:])
    write(os.path.join(host, "empty.img"), b"")
    write(os.path.join(host, "secret.bin"), b"host secret\n" * 87382)  # 1 MiB of a host file to be kept out
    # references out of the image: a relative backing file, an external data file, a VMDK extent
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-F", "raw", "-b", "../../../../../../../../etc/hostname",
             os.path.join(host, "hostref.qcow2"), "1M")
    qemu_img("create", "-q", "-f", "qcow2", "-o", "data_file=%s,data_file_raw=on" % os.path.join(host, "data.bin"),
             os.path.join(host, "datafile.qcow2"), "1M")
    write(os.path.join(host, "extent.vmdk"), (
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
        "RW 2048 FLAT \"%s\" 0\n" % os.path.join(host, "secret.bin")), mode="w")
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b", os.path.join(host, "missing.qcow2"),
             os.path.join(host, "dangling.qcow2"), "1M")
    os.mkdir(os.path.join(host, "subdir"))
    os.symlink("loop", os.path.join(host, "loop"))
    os.symlink("/dev/null", os.path.join(host, "devnull-link"))
    write(os.path.join(host, "file.txt"), "a file\n", mode="w")
    write(os.path.join(host, "blank.img"), b"\0" * (1 << 20))


# (label, path, must_refuse) of an image given as clone_from.path or backing_store.path
CRAFTED_IMAGES = [
    ("self-backed qcow2", W + "/host/self.qcow2", True),
    ("qcow2 backing loop", W + "/host/loop-a.qcow2", True),
    ("chain of 40 overlays", W + "/host/chain39.qcow2", False),
    ("truncated qcow2 header", W + "/host/truncated.qcow2", False),
    ("qcow2 magic only", W + "/host/magic-only.qcow2", False),
    ("garbage after qcow2 magic", W + "/host/garbage.qcow2", False),
    ("qcow2 of 8 EiB", W + "/host/huge-size.qcow2", False),
    ("empty file", W + "/host/empty.img", False),
    ("relative backing file to a host file", W + "/host/hostref.qcow2", True),
    ("qcow2 external data file", W + "/host/datafile.qcow2", True),
    ("VMDK extent outside", W + "/host/extent.vmdk", True),
    ("dangling backing file", W + "/host/dangling.qcow2", True),
    ("FIFO", W + "/host/fifo", True),
    ("/dev/null", "/dev/null", True),
    ("/dev/zero", "/dev/zero", True),
    ("link to /dev/null", W + "/host/devnull-link", True),
    ("directory", W + "/host/subdir", True),
    ("symlink loop", W + "/host/loop", True),
    ("missing", W + "/host/missing.qcow2", True),
    ("relative", "host/good.qcow2", True),
    ("NUL", W + "/host/good\x00.qcow2", True),
    ("newline", W + "/host/good\n.qcow2", True),
    ("/proc file", "/proc/self/status", True),
]


def broken_definition(text):
    """A prepare step: a damaged definition beside the sandbox's pools (text may name the sandbox's
    paths; bytes are written as they are)."""
    def prepare(sandbox):
        data = text if isinstance(text, bytes) else sandbox.path(text).encode("utf-8")
        write(os.path.join(sandbox.work, "etc", "broken.xml"), data)
    return prepare


def remove_vols_target(sandbox):
    """A prepare step: the pool vols' directory moved away by hand."""
    os.rename(os.path.join(sandbox.work, "pools", "vols"), os.path.join(sandbox.work, "pools", "vols-moved"))
