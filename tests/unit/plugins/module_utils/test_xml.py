# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _xml
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import (
    Adapter, Auth, BackingStore, Host, PciAddress, Permissions, PoolDef, PoolSource, PoolStatus, ThinPool, VolumeDef)
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import POOLCRAFT_NS, pool_from_xml, pool_to_xml, volume_to_xml

etree = pytest.importorskip("lxml.etree")

UUID = "0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41"

FULL_PERMS = Permissions(mode=0o711, owner=107, group=0, label="system_u:object_r:virt_image_t:s0")

POOLS = {
    "dir-minimal": PoolDef(name="images", type="dir", uuid=UUID, target_path="/srv/images"),
    "dir-permissions": PoolDef(name="images", type="dir", uuid=UUID, target_path="/srv/images", permissions=FULL_PERMS),
    "dir-mode-only": PoolDef(name="scratch", type="dir", uuid=UUID, target_path="/var/tmp/scratch",
                             permissions=Permissions(mode=0o2770)),
    "netfs": PoolDef(name="nfs", type="netfs", uuid=UUID, target_path="/mnt/nfs",
                     source=PoolSource(host="nfs.example.org", port=2049, dir="/exports/images", format="nfs")),
    "logical": PoolDef(name="vg", type="logical", uuid=UUID, target_path="/dev/vg0",
                       source=PoolSource(devices=("/dev/sdb", "/dev/sdc1"), name="vg0", format="lvm2")),
    "fs": PoolDef(name="fs", type="fs", uuid=UUID, target_path="/mnt/fs",
                  source=PoolSource(devices=("/dev/vdb",), format="ext4"),
                  permissions=Permissions(owner=0, group=36)),
    "netfs-v42": PoolDef(name="nfs42", type="netfs", uuid=UUID, target_path="/mnt/nfs42",
                         source=PoolSource(host="192.0.2.7", dir="/srv/images", format="auto", protocol_version="4.2")),
    "iscsi-chap": PoolDef(name="san", type="iscsi", uuid=UUID, target_path="/dev/disk/by-path",
                          source=PoolSource(host="192.0.2.10", port=3260, target="iqn.2004-04.com.example:images",
                                            initiator="iqn.2004-04.com.example:kvm01", auth=Auth(username="kvm01"))),
    "iscsi-direct": PoolDef(name="direct", type="iscsi-direct", uuid=UUID,
                            source=PoolSource(host="san.example.com", target="iqn.2004-04.com.example:images",
                                              initiator="iqn.2004-04.com.example:kvm01", auth=Auth(username="kvm01"))),
    "rbd": PoolDef(name="ceph", type="rbd", uuid=UUID,
                   source=PoolSource(name="vms", hosts=(Host("192.0.2.1", 6789), Host("mon2.example.com")),
                                     auth=Auth(username="libvirt", type="ceph"), config=(("rbd_cache", "true"),))),
    "scsi-host": PoolDef(name="hba0", type="scsi", uuid=UUID, target_path="/dev/disk/by-path",
                         source=PoolSource(adapter=Adapter(type="scsi_host", name="host3"))),
    "scsi-parentaddr": PoolDef(name="hba1", type="scsi", uuid=UUID, target_path="/dev/disk/by-id",
                               source=PoolSource(adapter=Adapter(type="scsi_host", parent_address=PciAddress(0, 0x3b, 0x1f, 2),
                                                                 unique_id=5))),
    "fc-host": PoolDef(name="vhba", type="scsi", uuid=UUID, target_path="/dev/disk/by-path",
                       source=PoolSource(adapter=Adapter(type="fc_host", wwnn="20000000c9831b4b", wwpn="10000000c9831b4b",
                                                         parent="host5", managed=True))),
    "mpath-all": PoolDef(name="maps", type="mpath", uuid=UUID, target_path="/dev/mapper"),
    "unicode-name": PoolDef(name=u"b\u00fccher", type="dir", uuid=UUID, target_path=u"/srv/b\u00fccher"),
}


@pytest.mark.parametrize("key", sorted(POOLS))
def test_pool_round_trip(key):
    pool = POOLS[key]
    assert pool_from_xml(pool_to_xml(pool)) == pool


@pytest.mark.parametrize("key", sorted(POOLS))
def test_pool_xml_validates(key, pool_schema):
    pool_schema(pool_to_xml(POOLS[key]))


def test_pool_with_status_validates_and_round_trips(pool_schema):
    pool = POOLS["dir-permissions"]
    text = pool_to_xml(pool, PoolStatus(capacity=10 ** 12, allocation=4 * 10 ** 11, available=6 * 10 ** 11,
                                        volume_count=3))
    pool_schema(text)
    root = etree.fromstring(text.encode("utf-8"))
    assert root.findtext("capacity") == str(10 ** 12)
    assert root.find("capacity").get("unit") == "bytes"
    assert root.findtext("allocation") == str(4 * 10 ** 11)
    assert root.findtext("available") == str(6 * 10 ** 11)
    assert pool_from_xml(text) == pool


def test_secrets_never_reach_the_definition():
    """The XML names the user and refers to the secret by usage; the secrets themselves stay out."""
    pool = POOLS["iscsi-direct"]
    with_secrets = pool.with_changes(source=PoolSource(
        host=pool.source.host, target=pool.source.target, initiator=pool.source.initiator,
        auth=Auth(username="kvm01", secret="chap-Secret-1", mutual_username="target1", mutual_secret="chap-Secret-2")))
    text = pool_to_xml(with_secrets)
    assert "chap-Secret" not in text and "target1" not in text  # mutual CHAP: libvirt has no place for it
    assert "chap-Secret" not in repr(with_secrets)
    root = etree.fromstring(text.encode("utf-8"))
    assert root.find("source/auth").get("username") == "kvm01"
    assert root.find("source/auth/secret").get("usage") == "poolcraft-pool/direct"
    assert root.find("source/device").get("path") == "iqn.2004-04.com.example:images"
    assert root.find("source/initiator/iqn").get("name") == "iqn.2004-04.com.example:kvm01"
    assert pool_from_xml(text) == pool  # read back without secrets: the store adds them


def test_an_rbd_namespace_is_ours_and_round_trips():
    pool = POOLS["rbd"].with_changes(source=PoolSource(name="vms", hosts=(Host("192.0.2.1"),), namespace="tenant1"))
    text = pool_to_xml(pool)
    assert etree.fromstring(text.encode("utf-8")).find("{%s}rbd_namespace" % POOLCRAFT_NS).get("name") == "tenant1"
    assert pool_from_xml(text) == pool


def test_an_adapter_is_written_as_libvirt_writes_it():
    root = etree.fromstring(pool_to_xml(POOLS["scsi-parentaddr"]).encode("utf-8"))
    adapter = root.find("source/adapter")
    assert adapter.get("type") == "scsi_host" and adapter.get("name") is None
    assert adapter.find("parentaddr").get("unique_id") == "5"
    assert dict(adapter.find("parentaddr/address").attrib) == {"domain": "0x0000", "bus": "0x3b", "slot": "0x1f", "function": "0x2"}
    fc = etree.fromstring(pool_to_xml(POOLS["fc-host"]).encode("utf-8")).find("source/adapter")
    assert dict(fc.attrib) == {"type": "fc_host", "parent": "host5", "wwnn": "20000000c9831b4b",
                               "wwpn": "10000000c9831b4b", "managed": "yes"}


def test_a_libvirt_adapter_without_a_type_reads_as_libvirt_reads_it():
    text = ('<pool type="scsi"><name>p</name><uuid>%s</uuid><source><adapter name="host0"/></source>'
            '<target><path>/dev/disk/by-path</path></target></pool>' % UUID)
    assert pool_from_xml(text).source.adapter == Adapter(type="scsi_host", name="host0")


@pytest.mark.parametrize("adapter, reason", [
    ('<adapter type="usb_host" name="host0"/>', "of type 'usb_host'"),
    ('<adapter type="fc_host" wwnn="1" wwpn="2" managed="maybe"/>', "managed='maybe'"),
    ('<adapter type="scsi_host"><parentaddr unique_id="x"><address domain="0" bus="0" slot="0" function="0"/></parentaddr></adapter>',
     "unique_id 'x'"),
    ('<adapter type="scsi_host"><parentaddr unique_id="1"/></adapter>', "parentaddr without an address"),
])
def test_a_damaged_adapter_is_an_error_naming_the_file(adapter, reason):
    text = ('<pool type="scsi"><name>p</name><uuid>%s</uuid><source>%s</source>'
            '<target><path>/dev</path></target></pool>' % (UUID, adapter))
    with pytest.raises(StorageError) as caught:
        pool_from_xml(text, origin="/etc/p.xml")
    assert str(caught.value).startswith("/etc/p.xml has") and reason in str(caught.value)


def test_a_map_selection_is_ours_and_round_trips():
    pool = POOLS["mpath-all"].with_changes(source=PoolSource(wwids=("3600140512345", "3600140567890"), aliases=("db",)))
    text = pool_to_xml(pool)
    maps = etree.fromstring(text.encode("utf-8")).findall("{%s}maps/{%s}map" % (POOLCRAFT_NS, POOLCRAFT_NS))
    assert [dict(node.attrib) for node in maps] == [{"wwid": "3600140512345"}, {"wwid": "3600140567890"}, {"alias": "db"}]
    assert pool_from_xml(text) == pool


def test_a_map_with_neither_wwid_nor_alias_is_an_error():
    text = ('<pool type="mpath" xmlns:poolcraft="%s"><name>p</name><uuid>%s</uuid><source/>'
            '<target><path>/dev/mapper</path></target><poolcraft:maps><poolcraft:map/></poolcraft:maps></pool>'
            % (POOLCRAFT_NS, UUID))
    with pytest.raises(StorageError) as caught:
        pool_from_xml(text, origin="/etc/p.xml")
    assert "neither or both of wwid and alias" in str(caught.value)


def test_only_rbd_pools_have_several_hosts():
    text = ('<pool type="netfs"><name>p</name><uuid>%s</uuid><source><host name="a"/><host name="b"/><dir path="/x"/>'
            '</source><target><path>/mnt/p</path></target></pool>' % UUID)
    with pytest.raises(StorageError) as caught:
        pool_from_xml(text, origin="/etc/p.xml")
    assert "more than one source/host" in str(caught.value)


def test_a_block_pool_keeps_its_devices_as_devices():
    text = pool_to_xml(POOLS["logical"])
    assert pool_from_xml(text).source.target is None


@pytest.mark.parametrize("source, reason", [
    ('<source><auth type="spice" username="u"><secret usage="x"/></auth></source>', "not CHAP or cephx"),
    ('<source><auth type="chap"><secret usage="x"/></auth></source>', "not CHAP or cephx with a username"),
    ('<source><device path="iqn.2004-04.a:b"/><device path="iqn.2004-04.a:c"/></source>', "more than one source/device"),
])
def test_damaged_network_source_is_an_error_naming_the_file(source, reason):
    text = '<pool type="iscsi"><name>p</name><uuid>%s</uuid>%s<target><path>/dev</path></target></pool>' % (UUID, source)
    with pytest.raises(StorageError) as caught:
        pool_from_xml(text, origin="/etc/p.xml")
    assert str(caught.value).startswith("/etc/p.xml has")
    assert reason in str(caught.value)


def test_pool_xml_content_read_independently():
    """The elements, checked with plain lxml rather than pool_from_xml."""
    text = pool_to_xml(POOLS["dir-permissions"])
    root = etree.fromstring(text.encode("utf-8"))
    assert root.tag == "pool" and root.get("type") == "dir"
    assert root.findtext("name") == "images"
    assert root.findtext("uuid") == UUID
    assert root.findtext("target/path") == "/srv/images"
    assert root.findtext("target/permissions/mode") == "0711"
    assert root.findtext("target/permissions/owner") == "107"
    assert root.findtext("target/permissions/group") == "0"
    assert root.findtext("target/permissions/label") == "system_u:object_r:virt_image_t:s0"
    assert root.find("capacity") is None  # no status given


def test_source_fields_in_xml():
    root = etree.fromstring(pool_to_xml(POOLS["netfs"]).encode("utf-8"))
    assert root.find("source/host").get("name") == "nfs.example.org"
    assert root.find("source/host").get("port") == "2049"
    assert root.find("source/dir").get("path") == "/exports/images"
    assert root.find("source/format").get("type") == "nfs"
    root = etree.fromstring(pool_to_xml(POOLS["logical"]).encode("utf-8"))
    assert [dev.get("path") for dev in root.findall("source/device")] == ["/dev/sdb", "/dev/sdc1"]
    assert root.findtext("source/name") == "vg0"


def test_autostart_is_not_in_the_xml():
    for pool in POOLS.values():
        assert "autostart" not in pool_to_xml(pool)
    assert not hasattr(POOLS["dir-minimal"], "autostart")


def test_no_permissions_element_when_none_are_set():
    root = etree.fromstring(pool_to_xml(POOLS["dir-minimal"]).encode("utf-8"))
    assert root.find("target/permissions") is None


def test_minus_one_owner_reads_as_unset():
    text = ("<pool type='dir'><name>p</name><uuid>%s</uuid><target><path>/p</path>"
            "<permissions><mode>0755</mode><owner>-1</owner><group>-1</group></permissions></target></pool>" % UUID)
    pool = pool_from_xml(text)
    assert pool.permissions == Permissions(mode=0o755)


def test_libvirt_written_definition_is_read():
    """A definition as libvirt itself writes it (with extra elements we do not use)."""
    text = """<!--
WARNING: THIS IS AN AUTO-GENERATED FILE.
-->
<pool type='dir'>
  <name>default</name>
  <uuid>%s</uuid>
  <capacity unit='bytes'>0</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>0</available>
  <source>
  </source>
  <target>
    <path>/var/lib/libvirt/images</path>
    <permissions>
      <mode>0711</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
  </target>
</pool>
""" % UUID
    assert pool_from_xml(text) == PoolDef(name="default", type="dir", uuid=UUID,
                                          target_path="/var/lib/libvirt/images",
                                          permissions=Permissions(mode=0o711, owner=0, group=0))


def test_bytes_input_is_accepted():
    text = pool_to_xml(POOLS["unicode-name"])
    assert pool_from_xml(text.encode("utf-8")) == POOLS["unicode-name"]


@pytest.mark.parametrize("text", ["<pool", "not xml at all", "<pool type='dir'><name>x</pool>", ""])
def test_malformed_xml_names_the_origin(text):
    with pytest.raises(StorageError) as caught:
        pool_from_xml(text, origin="/etc/poolcraft/storage/broken.xml")
    assert str(caught.value).startswith("/etc/poolcraft/storage/broken.xml is not valid XML")


@pytest.mark.parametrize("text", [
    "<volume type='file'><name>x</name></volume>",
    "<pool><name>x</name></pool>",
    "<pool type='dir'></pool>",
    "<pool type='dir'><name/></pool>",
])
def test_wrong_document_names_the_origin(text):
    with pytest.raises(StorageError) as caught:
        pool_from_xml(text, origin="/somewhere/p.xml")
    assert str(caught.value) == "/somewhere/p.xml is not a libvirt storage pool definition"


def test_external_entity_is_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    text = ('<?xml version="1.0"?>\n<!DOCTYPE pool [<!ENTITY leak SYSTEM "file://%s">]>\n'
            '<pool type="dir"><name>p&leak;</name><uuid>%s</uuid><target><path>/p&leak;</path></target></pool>'
            % (secret, UUID))
    try:
        pool = pool_from_xml(text)
    except StorageError:
        return  # refusing the document is fine too
    assert "TOP-SECRET" not in repr(pool)
    assert pool.name == "p"


def test_billion_laughs_is_not_expanded():
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append('<!ENTITY lol%d "%s">' % (level, ("&lol%d;" % (level - 1)) * 10))
    text = ('<?xml version="1.0"?>\n<!DOCTYPE pool [%s]>\n'
            '<pool type="dir"><name>x</name><uuid>%s</uuid><target><path>/p</path>'
            '<permissions><label>&lol9;</label></permissions></target></pool>' % ("".join(entities), UUID))
    try:
        pool = pool_from_xml(text)
    except StorageError:
        return  # refusing the document is fine too
    # 10**9 * 3 characters if expanded
    assert pool.permissions.label is None or len(pool.permissions.label) < 1000


def test_missing_lxml_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_xml, "etree", None)
    with pytest.raises(StorageError) as caught:
        pool_to_xml(POOLS["dir-minimal"])
    assert "lxml" in str(caught.value)
    with pytest.raises(StorageError):
        pool_from_xml("<pool/>")


VOLUMES = {
    "raw": VolumeDef(name="disk.img", path="/srv/images/disk.img", key="/srv/images/disk.img", format="raw",
                     capacity=10 * 1024 ** 3, allocation=4096),
    "qcow2-overlay": VolumeDef(name="vm.qcow2", path="/srv/images/vm.qcow2", key="/srv/images/vm.qcow2",
                               format="qcow2", capacity=20 * 1024 ** 3, allocation=200704,
                               backing=[BackingStore("/srv/images/base.qcow2", "qcow2"),
                                        BackingStore("/srv/images/root.raw", "raw")],
                               permissions=Permissions(mode=0o600, owner=107, group=107,
                                                       label="system_u:object_r:svirt_image_t:s0")),
    "backing-unknown-format": VolumeDef(name="o.qcow2", path="/p/o.qcow2", key="/p/o.qcow2", format="qcow2",
                                        capacity=512, allocation=0, backing=[BackingStore("/p/b")]),
    "vmdk": VolumeDef(name="d.vmdk", path="/p/d.vmdk", key="/p/d.vmdk", format="vmdk", capacity=1024 ** 2,
                      allocation=65536, permissions=Permissions(mode=0o644)),
}


@pytest.mark.parametrize("key", sorted(VOLUMES))
def test_volume_xml_validates(key, volume_schema):
    volume_schema(volume_to_xml(VOLUMES[key]))


def test_volume_xml_content():
    vol = VOLUMES["qcow2-overlay"]
    root = etree.fromstring(volume_to_xml(vol).encode("utf-8"))
    assert root.tag == "volume" and root.get("type") == "file"
    assert root.findtext("name") == "vm.qcow2"
    assert root.findtext("key") == "/srv/images/vm.qcow2"
    assert root.findtext("capacity") == str(20 * 1024 ** 3)
    assert root.find("capacity").get("unit") == "bytes"
    assert root.findtext("allocation") == "200704"
    assert root.findtext("target/path") == "/srv/images/vm.qcow2"
    assert root.find("target/format").get("type") == "qcow2"
    assert root.findtext("target/permissions/mode") == "0600"
    assert root.findtext("target/permissions/owner") == "107"
    # only the first link of the chain is described, as libvirt does
    assert root.findtext("backingStore/path") == "/srv/images/base.qcow2"
    assert root.find("backingStore/format").get("type") == "qcow2"
    assert len(root.findall("backingStore")) == 1


def test_volume_without_backing_has_no_backing_store():
    root = etree.fromstring(volume_to_xml(VOLUMES["raw"]).encode("utf-8"))
    assert root.find("backingStore") is None
    assert root.find("target/permissions") is None
    root = etree.fromstring(volume_to_xml(VOLUMES["backing-unknown-format"]).encode("utf-8"))
    assert root.find("backingStore/format") is None


def test_permissions_as_dict():
    assert FULL_PERMS.as_dict() == {"mode": "0711", "owner": 107, "group": 0,
                                    "label": "system_u:object_r:virt_image_t:s0"}
    assert Permissions().as_dict() == {"mode": None, "owner": None, "group": None, "label": None}
    assert Permissions(mode=0o7).as_dict()["mode"] == "0007"


def test_pool_source_is_empty():
    assert PoolSource().is_empty()
    assert not PoolSource(dir="/x").is_empty()
    assert not PoolSource(devices=("/dev/sda",)).is_empty()


def test_the_schema_check_can_fail(pool_schema, volume_schema):
    """Guard against a validator that accepts anything."""
    with pytest.raises(pytest.fail.Exception):
        pool_schema(pool_to_xml(PoolDef(name="x", type="dir", uuid=UUID)))  # dir pools need a target
    with pytest.raises(pytest.fail.Exception):
        pool_schema(pool_to_xml(PoolDef(name="x", type="dir", uuid="not-a-uuid", target_path="/x")))
    with pytest.raises(pytest.fail.Exception):
        volume_schema(volume_to_xml(VolumeDef(name="v", path="/p/v", key="k", format="raw",
                                              capacity=-1, allocation=1)))


# -- the thin pool of a logical pool, kept in poolcraft's own XML namespace --------------------

THIN_UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"


def logical(**changes):
    return PoolDef(name="vg0", type="logical", uuid=THIN_UUID, target_path="/dev/vg0",
                   source=PoolSource(devices=("/dev/sdb",), name="vg0", format="lvm2")).with_changes(**changes)


def test_thin_pool_round_trips():
    pool = logical(thin_pool=ThinPool("thin", 10 << 30))
    text = pool_to_xml(pool)
    assert 'xmlns:poolcraft="%s"' % POOLCRAFT_NS in text
    assert '<poolcraft:thin_pool name="thin" size="10737418240"/>' in text
    assert pool_from_xml(text) == pool


def test_thin_pool_without_size_round_trips():
    pool = logical(thin_pool=ThinPool("thin"))
    assert pool_from_xml(pool_to_xml(pool)) == pool


def test_no_thin_pool_no_namespace():
    text = pool_to_xml(logical())
    assert "poolcraft" not in text
    assert pool_from_xml(text).thin_pool is None


@pytest.mark.parametrize("element", ['<poolcraft:thin_pool/>', '<poolcraft:thin_pool name="t" size="ten"/>'])
def test_damaged_thin_pool_is_an_error_naming_the_file(element):
    text = ('<pool type="logical" xmlns:poolcraft="%s"><name>vg0</name><uuid>%s</uuid>%s</pool>'
            % (POOLCRAFT_NS, THIN_UUID, element))
    with pytest.raises(StorageError) as err:
        pool_from_xml(text, origin="/etc/x/vg0.xml")
    assert "/etc/x/vg0.xml has a damaged poolcraft:thin_pool element" in str(err.value)


# -- what a hand-edited definition may get wrong: one line naming the file and the element --------

def definition(target="<target><path>/p</path></target>", uuid="<uuid>%s</uuid>" % UUID, source="", extra=""):
    return "<pool type='dir'><name>p</name>%s%s%s%s</pool>" % (uuid, source, target, extra)


def perms(inner):
    return definition(target="<target><path>/p</path><permissions>%s</permissions></target>" % inner)


@pytest.mark.parametrize("text, reason", [
    (definition(uuid=""), "has no uuid"),
    (definition(uuid="<uuid> </uuid>"), "has no uuid"),
    (definition(uuid="<uuid>not-a-uuid</uuid>"), "has a malformed uuid 'not-a-uuid'"),
    (perms("<mode>rwx</mode>"), "has a malformed target/permissions/mode 'rwx'"),
    (perms("<mode>0999</mode>"), "has a malformed target/permissions/mode '0999'"),
    (perms("<mode>17777</mode>"), "has a malformed target/permissions/mode '17777'"),
    (perms(u"<mode>\u0667\u0665\u0665</mode>"), "has a malformed target/permissions/mode"),
    (perms("<owner>root</owner>"), "has a malformed target/permissions/owner 'root'"),
    (perms("<group>4294967296</group>"), "has a malformed target/permissions/group '4294967296'"),
    (perms("<owner>-2</owner>"), "has a malformed target/permissions/owner '-2'"),
    (perms(u"<owner>\u0661\u0660</owner>"), "has a malformed target/permissions/owner"),
    (definition(source="<source><host name='h' port='nfs'/></source>"), "has a malformed source/host port 'nfs'"),
    (definition(source="<source><host name='h' port='0'/></source>"), "has a malformed source/host port '0'"),
    (definition(source="<source><host name='h' port='65536'/></source>"), "has a malformed source/host port '65536'"),
    (definition(source=u"<source><host name='h' port='\u0662\u0660\u0664\u0669'/></source>"),
     "has a malformed source/host port"),
    (definition(source="<source><device/></source>"), "has a source/device without a path"),
    (definition(target="<target><path>relative/p</path></target>"), "has a target/path 'relative/p' that is not an absolute path"),
    (definition(extra="<fs:mount_opts xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'><fs:option/></fs:mount_opts>"),
     "has a fs:mount_opts option without a name"),
])
def test_unusable_definition_names_the_file_and_why(text, reason):
    with pytest.raises(_xml.DefinitionError) as caught:
        pool_from_xml(text, origin="/etc/x/p.xml")
    assert caught.value.origin == "/etc/x/p.xml"
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert str(caught.value) == "/etc/x/p.xml " + caught.value.reason
    assert isinstance(caught.value, StorageError)


@pytest.mark.parametrize("owner", ["-1", "4294967295"])
def test_both_spellings_of_an_unset_owner_read_as_unset(owner):
    pool = pool_from_xml(perms("<owner>%s</owner><group>%s</group>" % (owner, owner)))
    assert pool.permissions == Permissions()


def test_a_uuid_is_read_in_one_spelling():
    pool = pool_from_xml(definition(uuid="<uuid>{%s}</uuid>" % UUID.upper().replace("-", "")))
    assert pool.uuid == UUID


def test_a_port_and_a_mode_in_range_are_read():
    pool = pool_from_xml(definition(source="<source><host name='h' port=' 2049 '/></source>",
                                    target="<target><path>/p</path><permissions><mode>7777</mode></permissions></target>"))
    assert (pool.source.port, pool.permissions.mode) == (2049, 0o7777)


def test_a_thin_pool_size_in_other_digits_is_damaged():
    text = (u'<pool type="logical" xmlns:poolcraft="%s"><name>vg0</name><uuid>%s</uuid>'
            u'<poolcraft:thin_pool name="t" size="\u0661\u0660"/></pool>' % (POOLCRAFT_NS, THIN_UUID))
    with pytest.raises(StorageError) as err:
        pool_from_xml(text, origin="/etc/x/vg0.xml")
    assert "has a damaged poolcraft:thin_pool element" in str(err.value)
