#!/usr/bin/env python
"""What the tools see of the test's disk, as JSON: the sha256 of its first 2 MiB
and last MiB (both GPT headers and the tables), wipefs's signatures, and each
kernel partition with udev's PARTUUID, PARTLABEL, type and size, and where its
by-partuuid link leads. With --blank: fail unless the disk carries nothing."""

import hashlib
import json
import os
import subprocess
import sys

DISK = os.path.realpath("/dev/disk/by-id/virtio-vmdisk4")


def run(*argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout


def main():
    run("udevadm", "settle")
    with open(DISK, "rb") as handle:
        head = hashlib.sha256(handle.read(2 << 20)).hexdigest()
        handle.seek(-(1 << 20), os.SEEK_END)
        tail = hashlib.sha256(handle.read()).hexdigest()
    # the primary and the backup GPT header are one signature
    signatures = sorted(set(entry["type"] for entry in json.loads(run("wipefs", "--no-act", "--json", DISK) or "{}").get("signatures", [])))
    blockdevices = json.loads(run("lsblk", "--json", "--bytes", "--output", "NAME,PATH,TYPE,SIZE,PARTUUID,PARTLABEL,PARTTYPE", DISK))
    parts = []
    for child in blockdevices["blockdevices"][0].get("children", []):
        link = "/dev/disk/by-partuuid/%s" % child["partuuid"]
        child["link_to"] = os.path.realpath(link) if os.path.islink(link) else None
        parts.append(child)
    state = {"disk": DISK, "head": head, "tail": tail, "signatures": signatures, "partitions": parts}
    print(json.dumps(state))
    if "--blank" in sys.argv and (signatures or parts):
        print("the disk is not blank: %s" % state, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
