# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ceph command line (ceph-common) for one rbd pool's cluster: rbd, rados and ceph with
`--format json`, and qemu-img on `rbd:` images; their output parsed, their failures as one line.

How the tools find the cluster: for every call a private directory (0700) is made holding a
keyring (0600, written atomically) with the pool's cephx key and a minimal ceph.conf (mon_host
from source.hosts, the keyring's path, the deadlines, source.config), named to the tool by
CEPH_CONF in its environment, and removed when the call returns. The key is never in an argv, a
`rbd:` string, a message or a result; a tool's words that hold it anyway are scrubbed.

Deadlines: the conf bounds connecting (client_mount_timeout) and each monitor and OSD operation
(rados_mon_op_timeout, rados_osd_op_timeout), so a dead monitor or a cluster without OSDs makes
the tool fail by itself; Runner's timeout is the backstop above both."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host._atomic import atomic_write
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import DeadlineExceeded

# seconds: connecting to a monitor (and authenticating), and one monitor or OSD operation
CONNECT_TIMEOUT = 10
OP_TIMEOUT = 30
# seconds a command that only reads or changes metadata may take in all (above the conf's own
# deadlines), and one that moves data (a copy, a flatten, removing a large image)
META_MARGIN = 30
DATA_TIMEOUT = 24 * 3600
# the image features of a new image: what current Ceph gives one by default
DEFAULT_FEATURES = ("layering", "exclusive-lock", "object-map", "fast-diff", "deep-flatten")
# the features a task may ask for, in the order they depend on each other (striping, data-pool and the
# rest follow from other options of rbd create, and are never changed here)
FEATURES = ("layering", "exclusive-lock", "object-map", "fast-diff", "deep-flatten", "journaling")
# what each feature needs (librbd refuses it without)
FEATURE_NEEDS = {"object-map": "exclusive-lock", "fast-diff": "object-map", "journaling": "exclusive-lock"}
# what rbd feature enable and disable take on an existing image: layering is fixed at creation, and
# deep-flatten can only be dropped (rbd says "cannot update immutable features")
ENABLED_LATER = ("exclusive-lock", "object-map", "fast-diff", "journaling")
DISABLED_LATER = ("exclusive-lock", "object-map", "fast-diff", "deep-flatten", "journaling")
# the monitors' ports when a host has none: msgr2's, then the legacy one
MON_PORTS = (3300, 6789)
# client options that the pool's own source sets: source.config may not set them
OWN_OPTIONS = ("mon_host", "mon_addr", "keyring", "key", "keyfile", "auth_client_required", "auth_supported")
# what the tools print for a connection that failed on the key, not on the network
_AUTH_WORDS = ("handle_auth_bad_method", "auth: error", "failed to decode key", "keyring not found",
               "RADOS permission denied", "(13) Permission denied")
# a log line of librados: "2026-01-01T00:00:00.000+0000 7f00000000 -1 librbd: ..."
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT\S+\s+[0-9a-f]+\s+-?\d+\s+")
# and its source in the library: "librbd::image::PreRemoveRequest: 0x55c1776e0b60 "
_LIBRARY_PREFIX = re.compile(r"^lib\w+(::\w+)*: (0x[0-9a-f]+ )?")
_ERRNO = re.compile(r"\((\d+)\) ")
EPERM, ENOENT, EACCES, EBUSY, ETIMEDOUT = 1, 2, 13, 16, 110


class CephUnreachable(StorageError):
    """No monitor answered, or the cluster refused the key: nothing of this pool can be asked."""


class NoSuchPool(StorageError):
    """The Ceph pool (or the RBD namespace in it) does not exist."""


class NoSuchImage(StorageError):
    """The image does not exist."""


class ImageBusy(StorageError):
    """The image cannot be removed now: it has watchers, snapshots or clones."""


def image_spec(pool, namespace, image, snapshot=None):
    """The rbd tools' POOL[/NAMESPACE]/IMAGE[@SNAP]."""
    spec = "/".join(part for part in (pool, namespace, image) if part)
    return spec + ("@" + snapshot if snapshot else "")


def monitor_address(host):
    """host:port as Ceph's mon_host takes it; an IPv6 address in brackets; no port: both of the
    monitor's defaults are tried."""
    name = "[%s]" % host.name if ":" in host.name and not host.name.startswith("[") else host.name
    return name if host.port is None else "%s:%d" % (name, host.port)


def monitors(source):
    return ",".join(monitor_address(host) for host in source.hosts)


def config_value(source, option, default):
    """An integer client option as source.config sets it (the user may lengthen a deadline)."""
    for name, value in source.config:
        if name == option:
            try:
                return max(1, int(float(value)))
            except ValueError:
                return default
    return default


def conf_text(source, keyring, connect_timeout=CONNECT_TIMEOUT):
    """The ceph.conf of one call: the monitors, the keyring, the deadlines, then source.config
    (which may change a deadline but not the rest: validate() refuses OWN_OPTIONS)."""
    lines = ["[global]", "mon_host = %s" % monitors(source)]
    if keyring:
        lines.append("keyring = %s" % keyring)
    given = set(option for option, _value in source.config)
    deadlines = (("client_mount_timeout", connect_timeout), ("rados_mon_op_timeout", OP_TIMEOUT),
                 ("rados_osd_op_timeout", OP_TIMEOUT))
    lines += ["%s = %d" % (option, value) for option, value in deadlines if option not in given]
    # errors on stderr; no log file or admin socket of ours anywhere
    lines += ["log_to_stderr = false", "err_to_stderr = true", "log_to_file = false", "log_file = /dev/null",
              "admin_socket = "]
    lines += ["%s = %s" % (option, value) for option, value in source.config]
    return "\n".join(lines) + "\n"


def keyring_text(auth):
    return "[client.%s]\n\tkey = %s\n" % (auth.username, auth.secret)


def _tool_lines(text, secret):
    """The tool's own words, one per line: librados' log prefixes dropped, empty lines and the
    advice rbd adds after an error left out, and the secret (should a tool print it) hidden."""
    lines = []
    for line in (text or "").splitlines():
        line = _LIBRARY_PREFIX.sub("", _LOG_PREFIX.sub("", line)).strip()
        if not line or line.startswith("This means the image is still open") or line.endswith("% complete...done."):
            continue
        if secret and secret in line:
            line = line.replace(secret, "********")
        lines.append(line)
    return lines


def _errno_of(lines):
    found = [int(match.group(1)) for match in (_ERRNO.search(line) for line in lines) if match]
    return found[-1] if found else None


def reachability(source, timeout=2.0):
    """Why no monitor answered, in words: each monitor's TCP port refused, silent, or accepting
    (then it is a monitor that does not answer, or not a monitor). Asked only after a failure."""
    words = []
    for host in source.hosts:
        ports = [host.port] if host.port is not None else list(MON_PORTS)
        for port in ports:
            name = host.name.strip("[]")
            try:
                probe = socket.create_connection((name, port), timeout=timeout)
                probe.close()
                state = "accepts connections but does not answer as a monitor"
            except socket.timeout:
                state = "does not answer (no connection within %s s)" % timeout
            except (OSError, socket.error) as exc:
                state = os.strerror(exc.errno).lower() if getattr(exc, "errno", None) else str(exc)
            words.append("%s: %s" % (monitor_address(type(host)(host.name, port)), state))
    return "; ".join(words)


class Ceph(object):
    """The tools, bound to one pool's source (its monitors, user and key); label names the pool
    in every message ("rbd pool 'guests'")."""

    def __init__(self, runner, source, label, connect_timeout=None, call_timeout=None):
        self.runner = runner
        self.source = source
        self.label = label
        self.auth = source.auth
        # the task may shorten the wait for a monitor (storage_device_facts' usage_timeout)
        self.connect_timeout = config_value(source, "client_mount_timeout", connect_timeout or CONNECT_TIMEOUT)
        self.osd_timeout = config_value(source, "rados_osd_op_timeout", OP_TIMEOUT)
        self.mon_timeout = config_value(source, "rados_mon_op_timeout", OP_TIMEOUT)
        # the deadline of a metadata command: connecting, an operation of each kind, and a margin
        self.meta_timeout = call_timeout or self.connect_timeout + self.osd_timeout + self.mon_timeout + META_MARGIN

    # -- the files and the environment of one call ---------------------------------------------

    @contextlib.contextmanager
    def _environment(self):
        """CEPH_CONF of a private conf (and keyring), removed after the call."""
        home = tempfile.mkdtemp(prefix="poolcraft-ceph-")  # 0700
        try:
            keyring = None
            if self.auth is not None and self.auth.secret:
                keyring = os.path.join(home, "keyring")
                atomic_write(keyring, keyring_text(self.auth), 0o600)
            conf = os.path.join(home, "ceph.conf")
            atomic_write(conf, conf_text(self.source, keyring, self.connect_timeout), 0o600)
            yield {"CEPH_CONF": conf, "CEPH_ARGS": ""}
        finally:
            shutil.rmtree(home, ignore_errors=True)

    def _who(self):
        return "client.%s" % self.auth.username if self.auth is not None else "the default user"

    def _user(self):
        return ["--id", self.auth.username] if self.auth is not None else []

    def run(self, tool, args, timeout=None, data=None):
        """tool (rbd, rados, ceph, qemu-img) with args; its stdout. A failure is a StorageError of
        one line (CephUnreachable, NoSuchPool, NoSuchImage, ImageBusy or plain) without the key."""
        if not self.runner.has(tool):
            raise StorageError("%s: the %r command is missing on the managed host (install %s)"
                               % (self.label, tool, "qemu-utils and qemu-block-extra" if tool == "qemu-img" else "ceph-common"))
        argv = [tool] + (self._user() if tool != "qemu-img" else []) + list(args)
        with self._environment() as env:
            try:
                _rc, out, _err = self.runner.run(argv, data=data, env=env, timeout=timeout or self.meta_timeout)
            except CommandError as exc:
                raise self._failure(argv, exc, _words_of(tool, args))
            except DeadlineExceeded as exc:
                raise CephUnreachable("%s: %s did not finish within %s s and was stopped (the Ceph cluster at %s "
                                      "is too slow, or parts of it are down)"
                                      % (self.label, _words_of(tool, args), exc.timeout, monitors(self.source)))
        return out

    def json(self, tool, args, timeout=None):
        out = self.run(tool, args + ["--format", "json"], timeout=timeout)
        try:
            return json.loads(out) if out.strip() else None
        except ValueError:
            raise StorageError("%s: %s %s printed no JSON: %r" % (self.label, tool, args[0], out[:200]))

    def _failure(self, argv, exc, what):
        secret = self.auth.secret if self.auth is not None else None
        lines = _tool_lines(exc.stderr, secret) or _tool_lines(exc.stdout, secret)
        text = " ".join(lines)
        errno = _errno_of(lines) or (exc.rc if argv[0] == "rbd" else None)
        connecting = "couldn't connect to the cluster" in text or "error connecting to the cluster" in text \
            or "error connecting" in text or "authenticate timed out" in text
        if connecting and any(word in text for word in _AUTH_WORDS):
            return CephUnreachable("%s: the Ceph cluster at %s refused the key of %s (a wrong key, or no such user)"
                                   % (self.label, monitors(self.source), self._who()))
        if connecting:
            return CephUnreachable("%s: no Ceph monitor answered within %d s (%s)"
                                   % (self.label, self.connect_timeout, reachability(self.source)))
        if errno == ETIMEDOUT:
            return CephUnreachable("%s: %s: the Ceph cluster at %s did not answer within %d s (its OSDs are down, or "
                                   "the pool's placement groups are not active)"
                                   % (self.label, what, monitors(self.source), self.osd_timeout))
        words = "; ".join(line[len("rbd: "):] if line.startswith("rbd: ") else line for line in lines) or \
            "%s exited with rc %s and no message" % (argv[0], exc.rc)
        if errno in (EPERM, EACCES):
            return StorageError("%s: %s: %s may not do this (see its caps): %s" % (self.label, what, self._who(), words))
        if "error opening pool" in text or "does not exist" in text and "namespace" in text \
                or "unrecognized pool" in text:
            return NoSuchPool("%s: %s" % (self.label, words))
        if errno == ENOENT and "error opening image" in text:
            return NoSuchImage("%s: %s" % (self.label, words))
        if "watchers" in text or "has snapshots" in text or errno == EBUSY:
            return ImageBusy("%s: %s failed: %s" % (self.label, what, words))
        return StorageError("%s: %s failed: %s" % (self.label, what, words))

    # -- rbd: the pool --------------------------------------------------------------------------

    def names(self, pool, namespace=None):
        """The image names of the pool (rbd ls: the directory only, no image is opened)."""
        return self.json("rbd", ["ls"] + _namespace(namespace) + [pool]) or []

    def images_long(self, pool, namespace=None):
        """rbd ls -l: every image opened, with its size and parent (its snapshots as entries of
        their own, with a "snapshot" key)."""
        return self.json("rbd", ["ls", "--long", _pool_spec(pool, namespace)], timeout=DATA_TIMEOUT) or []

    def disk_usage(self, pool, namespace=None, image=None):
        """rbd du: provisioned and used bytes of each image and each snapshot (fast-diff where the
        image has it; else every object is asked)."""
        args = ["du"] + (["-p", pool] + _namespace(namespace) if image is None else [image_spec(pool, namespace, image)])
        answer = self.json("rbd", args, timeout=DATA_TIMEOUT) or {}
        return answer.get("images", [])

    def trash(self, pool, namespace=None):
        return self.json("rbd", ["trash", "ls", "--all"] + _namespace(namespace) + [pool]) or []

    def trash_remove(self, pool, namespace, image_id):
        """An image of the trash deleted, whether or not its deferment has expired."""
        self.run("rbd", ["trash", "rm", "--no-progress", "--force", image_spec(pool, namespace, image_id)], timeout=DATA_TIMEOUT)

    def pool_init(self, pool):
        self.run("rbd", ["pool", "init", pool])

    def namespaces(self, pool):
        return [entry["name"] for entry in self.json("rbd", ["namespace", "ls", pool]) or []]

    def namespace_create(self, pool, namespace):
        self.run("rbd", ["namespace", "create", "--pool", pool, "--namespace", namespace])

    def namespace_remove(self, pool, namespace):
        self.run("rbd", ["namespace", "remove", "--pool", pool, "--namespace", namespace])

    # -- rbd: images ----------------------------------------------------------------------------

    def info(self, spec):
        """rbd info of the image, or None when there is none."""
        try:
            return self.json("rbd", ["info", spec])
        except NoSuchImage:
            return None

    def create(self, spec, size, features=DEFAULT_FEATURES):
        self.run("rbd", ["create", "--size", "%dB" % size, "--image-feature", ",".join(features), spec])

    def resize(self, spec, size, shrink=False):
        self.run("rbd", ["resize", "--no-progress", "--size", "%dB" % size] + (["--allow-shrink"] if shrink else []) + [spec],
                 timeout=DATA_TIMEOUT)

    def remove(self, spec):
        self.run("rbd", ["rm", "--no-progress", spec], timeout=DATA_TIMEOUT)

    def rename(self, spec, new_spec):
        self.run("rbd", ["rename", spec, new_spec])

    def watchers(self, spec):
        """The clients that have the image open: [{"address", "client", "cookie"}]."""
        return (self.json("rbd", ["status", spec]) or {}).get("watchers", [])

    def snapshots(self, spec):
        """[{"id", "name", "size", "protected": "true"/"false", "timestamp"}]."""
        return self.json("rbd", ["snap", "ls", spec]) or []

    def children(self, spec):
        """The clones of the image's snapshots (of one snapshot when spec has @SNAP), in the trash
        too: [{"pool", "pool_namespace", "image", "id", "trash"}]."""
        return self.json("rbd", ["children", "--all", spec]) or []

    def snap_create(self, spec):
        self.run("rbd", ["snap", "create", "--no-progress", spec])

    def snap_protect(self, spec):
        self.run("rbd", ["snap", "protect", spec])

    def snap_unprotect(self, spec):
        self.run("rbd", ["snap", "unprotect", spec])

    def snap_remove(self, spec):
        self.run("rbd", ["snap", "rm", "--no-progress", spec])

    def feature_enable(self, spec, features):
        self.run("rbd", ["feature", "enable", spec] + list(features))

    def feature_disable(self, spec, features):
        self.run("rbd", ["feature", "disable", spec] + list(features))

    def object_map_rebuild(self, spec):
        """A new object map reads as invalid (every object counted as used) until rebuilt from the
        image's objects, which reads them all: a data-sized operation."""
        self.run("rbd", ["object-map", "rebuild", "--no-progress", spec], timeout=DATA_TIMEOUT)

    def snap_purge(self, spec):
        """Every unprotected snapshot of the image removed."""
        self.run("rbd", ["snap", "purge", "--no-progress", spec], timeout=DATA_TIMEOUT)

    def clone(self, parent_snap, spec, features=DEFAULT_FEATURES):
        self.run("rbd", ["clone", "--image-feature", ",".join(features), parent_snap, spec])

    def flatten(self, spec):
        self.run("rbd", ["flatten", "--no-progress", spec], timeout=DATA_TIMEOUT)

    # -- qemu-img into an image -----------------------------------------------------------------

    def qemu_name(self, spec):
        """qemu's name of the image: rbd:SPEC with the user; the conf and the key come from CEPH_CONF."""
        user = ":id=%s" % self.auth.username if self.auth is not None else ""
        return "rbd:%s%s" % (spec.replace(":", "\\:"), user)

    def convert_into(self, source, source_format, spec):
        """Copy source (a host file) as raw data into the existing, new image spec: zeros are
        not written (a new image reads as zeros), so the image stays thin."""
        self.run("qemu-img", ["convert", "-q", "-n", "--target-is-zero", "-f", source_format, "-O", "raw", source,
                              self.qemu_name(spec)], timeout=DATA_TIMEOUT)

    # -- the cluster: rados and ceph ------------------------------------------------------------

    def pool_usage(self, pool):
        """rados df of the pool: ({"size_bytes", "num_objects", ...} of the pool, the cluster's
        {"total_space", "total_avail", "total_used"} in KiB). The statistics come from the mgr: without
        one running, the cluster has none, and this reads {} and zeros (as librados does)."""
        answer = self.json("rados", ["df", "-p", pool]) or {}
        found = [entry for entry in answer.get("pools", []) if entry.get("name") == pool]
        return (found[0] if found else {}), answer

    def df(self):
        """ceph df: the cluster's and each pool's sizes ("stored", "max_avail" ... in bytes)."""
        return self.json("ceph", ["df"]) or {}

    def pools_detail(self):
        """ceph osd pool ls detail: each pool with its application_metadata, size, pg_num."""
        return self.json("ceph", ["osd", "pool", "ls", "detail"]) or []

    def pool_create(self, pool):
        self.run("ceph", ["osd", "pool", "create", pool])

    def pool_delete(self, pool):
        self.run("ceph", ["osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it"])


def _words_of(tool, args):
    """What a message calls the command: the tool and its subcommand ("rbd snap rm", "ceph osd pool create")."""
    if tool == "ceph":
        count = 3 if args[:1] == ["osd"] else 1
    elif tool == "rbd" and args[0] in ("snap", "namespace", "trash", "pool", "feature", "object-map"):
        count = 2
    else:
        count = 1
    return " ".join([tool] + list(args[:count]))


def _namespace(namespace):
    return ["--namespace", namespace] if namespace else []


def _pool_spec(pool, namespace):
    return pool + ("/" + namespace if namespace else "")
