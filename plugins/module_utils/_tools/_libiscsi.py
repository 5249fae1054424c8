# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libiscsi's tools (libiscsi-bin), a user-space iSCSI initiator: iscsi-ls -s (a portal's targets
and their LUNs), iscsi-inq (INQUIRY, and VPD page 0x83, the LUN's identifiers) and
iscsi-readcapacity16 (READ CAPACITY 16), with their parsers.

Each call logs in on its own and logs out; each has a deadline (TIMEOUT). The CHAP secrets go
in the environment, never in argv: libiscsi's URL parser (lib/init.c, iscsi_parse_url) takes the
initiator's user and secret from LIBISCSI_CHAP_USERNAME / LIBISCSI_CHAP_PASSWORD when the URL
names no user, and the target's (mutual CHAP) from LIBISCSI_CHAP_TARGET_USERNAME /
LIBISCSI_CHAP_TARGET_PASSWORD. Every call sets all four, empty when unused, so that values in the
module's own environment never leak into a login. The initiator's name is the tools' -i option.

What the tools cannot do, and how this copes:
- iscsi-ls logs in to every target the portal offers, in the portal's order, and stops at the
  first it cannot log in to (another target's CHAP account): REPORT LUNS of the pool's target is
  then out of reach. Its LUNs are then found by asking each LUN number below PROBE_LUNS (VPD page
  0x83, which answers for a LUN that exists, and is needed for its key anyway).
- iscsi-ls's discovery session fails with mutual CHAP when discovery itself is not authenticated
  (tgtd, LIO by default), and its LUN listing logs in with one-way CHAP only; so the LUN list is
  asked with the initiator's CHAP only, and every LUN is then read (inq, readcapacity16) with
  mutual CHAP.
- iscsi-inq prints a binary designator (NAA, EUI-64) as a C string, cut at its first zero byte:
  only the text designators of page 0x83 (SCSI name string, T10 vendor ID) can serve as a key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, NotFoundError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout

DEFAULT_PORT = 3260
# seconds for a login and one SCSI command; more means the portal does not answer
TIMEOUT = 30
# calls run side by side when every LUN of a target is read (each is a login of its own)
WORKERS = 8
# the LUN numbers asked when iscsi-ls cannot list a target's LUNs
PROBE_LUNS = 256

ENV_USER, ENV_SECRET = "LIBISCSI_CHAP_USERNAME", "LIBISCSI_CHAP_PASSWORD"
ENV_TARGET_USER, ENV_TARGET_SECRET = "LIBISCSI_CHAP_TARGET_USERNAME", "LIBISCSI_CHAP_TARGET_PASSWORD"

DIRECT_ACCESS = "DIRECT_ACCESS"   # a disk (SCSI peripheral device type 0)
LU_ASSOCIATION = 0                # a designator of the logical unit itself (not of a port or target)
TEXT_CODE_SETS = (2, 3)           # ASCII, UTF-8
# the text designator types a key is taken from, best first: SCSI name string, T10 vendor ID
KEY_DESIGNATOR_TYPES = (8, 1)

Lun = collections.namedtuple("Lun", "number type")
Designator = collections.namedtuple("Designator", "code_set association type value")
Identification = collections.namedtuple("Identification", "device_type designators")
Capacity = collections.namedtuple("Capacity", "blocks block_size")


class NoSuchLun(NotFoundError):
    """The target has no LUN of that number."""


# -- addresses --------------------------------------------------------------------------------

def portal(host, port=None):
    """host:port as iSCSI writes a portal: an IPv6 address in brackets; port None is 3260."""
    host = host.strip("[]")
    return "%s:%d" % ("[%s]" % host if ":" in host else host, port or DEFAULT_PORT)


def url(host, port, target=None, lun=None):
    """iscsi://HOST:PORT[/TARGET/LUN]: libiscsi's and qemu's URL, with no user or secret in it."""
    text = "iscsi://%s" % portal(host, port)
    if target is not None:
        text += "/%s/%d" % (target, lun)
    return text


def parse_url(text):
    """(host, port, target, lun) of iscsi://HOST:PORT/TARGET/LUN, or None for anything else."""
    found = re.match(r"iscsi://(\[[0-9A-Fa-f:.]+\]|[^/:@\[\]]+):([0-9]{1,5})/([^/]+)/([0-9]{1,5})\Z", text or "")
    if found is None:
        return None
    return found.group(1).strip("[]"), int(found.group(2)), found.group(3), int(found.group(4))


# -- parsers ----------------------------------------------------------------------------------

_TARGET_RE = re.compile(r"Target:(\S+) Portal:(\S+)\Z")
_LUN_RE = re.compile(r"Lun:(\d+)\s+Type:([A-Z_]+)")
_LIST_FAILED = "list_luns: "


class Listing(object):
    """iscsi-ls -s: the blocks it printed, in order: (target, portal, [Lun], error or None).
    An error is the target's failed login ("list_luns: iscsi_connect failed. ...")."""

    def __init__(self, blocks, complete):
        self.blocks = blocks
        self.complete = complete   # rc 0: iscsi-ls got to the end

    def luns_of(self, target):
        """The LUNs of target; None when iscsi-ls did not get to it (see stopped_at)."""
        for index, (iqn, _portal, luns, error) in enumerate(self.blocks):
            if iqn != target:
                continue
            if error is not None:
                raise StorageError(error)
            # the last block of a run that failed may have lost LUNs after the failure
            if not self.complete and index == len(self.blocks) - 1:
                return None
            return luns
        return None

    def stopped_at(self):
        """(target, error) of the target at which iscsi-ls stopped; None if it did not stop."""
        for iqn, _portal, _luns, error in self.blocks:
            if error is not None:
                return iqn, error
        return None

    def targets(self):
        return [iqn for iqn, _portal, _luns, _error in self.blocks]


def parse_ls(text, complete=True):
    """iscsi-ls -s's stdout as a Listing."""
    blocks = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        target = _TARGET_RE.match(line)
        if target:
            blocks.append((target.group(1), target.group(2), [], None))
            continue
        lun = _LUN_RE.match(line)
        if lun and blocks:
            blocks[-1][2].append(Lun(int(lun.group(1)), lun.group(2)))
        elif line.startswith(_LIST_FAILED) and blocks:
            iqn, where, luns, _error = blocks[-1]
            blocks[-1] = (iqn, where, luns, line[len(_LIST_FAILED):])
        else:
            raise StorageError("iscsi-ls printed a line it is not known to print: %r" % line[:200])
    return Listing(blocks, complete)


_FIELD_RE = re.compile(r"(Code Set|Association|Designator Type):\((\d+)\)")
_DEVICE_TYPE = "Peripheral Device Type:"


def parse_identification(text):
    """iscsi-inq -e 1 -c 131 (VPD page 0x83): the device type and its designators. Binary ones
    keep value None: iscsi-inq prints them cut at their first zero byte."""
    device_type, designators, current = None, [], None
    for line in text.splitlines():
        if line.startswith(_DEVICE_TYPE) and current is None:
            device_type = line[len(_DEVICE_TYPE):].strip()
        elif line.startswith("DEVICE DESIGNATOR #"):
            current = {}
            designators.append(current)
        elif current is not None:
            field = _FIELD_RE.match(line)
            if field:
                current[field.group(1)] = int(field.group(2))
            elif line.startswith("Designator:[") and line.endswith("]") and "value" not in current:
                current["value"] = line[len("Designator:["):-1]
    found = []
    for fields in designators:
        code_set = fields.get("Code Set")
        value = fields.get("value") if code_set in TEXT_CODE_SETS else None
        found.append(Designator(code_set, fields.get("Association"), fields.get("Designator Type"), value))
    if device_type is None:
        raise StorageError("iscsi-inq printed no device type: %r" % text[:200])
    return Identification(device_type, found)


def key_of(identification):
    """The LUN's key from its text designators, in the form udev's scsi_id gives (the designator
    type, then the value with each run of blanks as one _): "1IET_00010001"; None if it has none."""
    for wanted in KEY_DESIGNATOR_TYPES:
        for designator in identification.designators:
            if designator.association == LU_ASSOCIATION and designator.type == wanted and designator.value \
                    and designator.value.strip():
                return "%d%s" % (wanted, re.sub(r"\s+", "_", designator.value.strip()))
    return None


def parse_capacity(text):
    """iscsi-readcapacity16: Capacity(blocks, block_size); blocks is the last LBA plus one."""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        last, size = int(fields["RETURNED LOGICAL BLOCK ADDRESS"]), int(fields["LOGICAL BLOCK LENGTH IN BYTES"])
    except (KeyError, ValueError):
        raise StorageError("iscsi-readcapacity16 printed no capacity: %r" % text[:200])
    return Capacity(last + 1, size)


# -- the tools' failures, in words ------------------------------------------------------------

_FAILURES = (
    # (what the tool says, what it means); {where} is host:port, {target} the IQN
    ("Authentication failure", "the target refused the login of initiator {initiator} to {target} at {where}: "
                               "CHAP authentication failed (check source.auth)"),
    ("Invalid CHAP_R response", "target {target} at {where} failed mutual CHAP: it did not prove itself with "
                                "source.auth.mutual_secret"),
    ("did not return CHAP_N", "target {target} at {where} did not answer mutual CHAP"),
    ("Target not found", "target {target} is not at {where}, or does not let initiator {initiator} in"),
    ("Authorization failure", "target {target} at {where} does not let initiator {initiator} in"),
    ("Can not resolv", "cannot resolve the host of {where}"),
    ("Connection refused", "cannot connect to {where}: connection refused"),
    # libiscsi's words when the connection is refused, or closed before a login (tgtd with no target)
    ("Can not reconnect right now", "cannot connect to {where}: the connection was refused or closed before a login "
                                    "(no iSCSI target serves that port)"),
    ("No route to host", "cannot connect to {where}: no route to host"),
    ("LOGICAL_UNIT_NOT_SUPPORTED", "target {target} at {where} has no LUN {lun}"),
)


def failure(text, where, target, initiator, lun=None):
    """The tool's failure in words naming the portal and the target; None if it is not known."""
    for words, meaning in _FAILURES:
        if words in text:
            return meaning.format(where=where, target=target, initiator=initiator, lun=lun)
    return None


# -- the facade -------------------------------------------------------------------------------

class Session(object):
    """The way to one target: portal, IQN, the initiator's name and CHAP (an Auth or None).
    Each method is one tool run, or several side by side."""

    def __init__(self, runner, host, port, target, initiator, auth=None):
        self.runner = runner
        self.host = host
        self.port = port or DEFAULT_PORT
        self.target = target
        self.initiator = initiator
        self.auth = auth
        self.where = portal(host, self.port)
        # LUN -> Identification, of the LUNs found by probing (read once)
        self.identified = {}

    def env(self, mutual=True):
        """The CHAP settings for libiscsi: the secrets live only here (and in the tools' memory)."""
        auth = self.auth
        env = {ENV_USER: "", ENV_SECRET: "", ENV_TARGET_USER: "", ENV_TARGET_SECRET: ""}
        if auth is not None:
            env.update({ENV_USER: auth.username, ENV_SECRET: auth.secret or ""})
            if mutual and auth.mutual_username:
                env.update({ENV_TARGET_USER: auth.mutual_username, ENV_TARGET_SECRET: auth.mutual_secret or ""})
        return env

    def _run(self, argv, lun=None, mutual=True):
        try:
            return self.runner.run(argv, env=self.env(mutual), timeout=TIMEOUT)[1]
        except CommandTimeout:
            raise StorageError("no answer from iSCSI portal %s (target %s) within %d s" % (self.where, self.target, TIMEOUT))
        except CommandError as exc:
            text = "%s %s" % (exc.stderr, exc.stdout)
            meaning = failure(text, self.where, self.target, self.initiator, lun)
            if meaning is None:
                raise
            if "LOGICAL_UNIT_NOT_SUPPORTED" in text:
                raise NoSuchLun(meaning)
            raise StorageError(meaning)

    def _lun_url(self, lun):
        return url(self.host, self.port, self.target, lun)

    def check_login(self):
        """Log in to the target (as the initiator, with CHAP), INQUIRY its LUN 0, log out: raises
        the reason in one line when it cannot."""
        self._run(["iscsi-inq", "-i", self.initiator, self._lun_url(0)], lun=0)

    def luns(self):
        """The target's LUNs, [Lun] by number (iscsi-ls -s); raises when they cannot be listed."""
        argv = ["iscsi-ls", "-s", "-i", self.initiator, url(self.host, self.port)]
        try:
            rc, out, err = self.runner.run(argv, env=self.env(mutual=False), timeout=TIMEOUT, check=False)
        except CommandTimeout:
            raise StorageError("no answer from iSCSI portal %s (target %s) within %d s" % (self.where, self.target, TIMEOUT))
        listing = parse_ls(out, complete=rc == 0)
        try:
            found = listing.luns_of(self.target)
        except StorageError as exc:
            raise StorageError(failure(str(exc), self.where, self.target, self.initiator) or
                               "cannot list the LUNs of target %s at %s: %s" % (self.target, self.where, exc))
        if found is not None:
            return sorted(found)
        if rc != 0 and not listing.blocks:
            raise StorageError(failure("%s %s" % (err, out), self.where, self.target, self.initiator) or
                               "iscsi-ls failed for portal %s: %s" % (self.where, (err or out).strip().replace("\n", "; ")))
        if listing.stopped_at() is not None:
            # another target refused the login before iscsi-ls got to this one
            return self.probe()
        if rc != 0:
            raise StorageError("iscsi-ls stopped before listing the LUNs of target %s at %s: %s"
                               % (self.target, self.where, (err or "no reason given").strip().replace("\n", "; ")))
        raise StorageError("target %s is not among the targets portal %s offers to initiator %s (%s)"
                           % (self.target, self.where, self.initiator, ", ".join(listing.targets()) or "none"))

    def probe(self):
        """The target's LUNs found by asking each number below PROBE_LUNS; their identifications kept."""
        self.check_login()   # a refusal of this target's own login is said as such, once
        found = []
        for lun, identification in zip(range(PROBE_LUNS), self.each(self._identification_if_any, range(PROBE_LUNS))):
            if identification is not None:
                self.identified[lun] = identification
                found.append(Lun(lun, identification.device_type))
        return found

    def _identification_if_any(self, lun):
        try:
            return self.identification(lun)
        except NoSuchLun:
            return None

    def identification(self, lun):
        """INQUIRY VPD page 0x83 of a LUN: Identification; NoSuchLun if the target has none of that number."""
        if lun in self.identified:
            return self.identified[lun]
        return parse_identification(self._run(["iscsi-inq", "-i", self.initiator, "-e", "1", "-c", "131",
                                               self._lun_url(lun)], lun=lun))

    def capacity(self, lun):
        """READ CAPACITY 16 of a (disk) LUN: Capacity; its bytes are blocks * block_size."""
        return parse_capacity(self._run(["iscsi-readcapacity16", "-i", self.initiator, self._lun_url(lun)], lun=lun))

    @staticmethod
    def each(function, items):
        """[function(item) for item in items], WORKERS at a time (each call is its own login);
        the first failure is raised."""
        items = list(items)
        if len(items) <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
            return list(pool.map(function, items))
