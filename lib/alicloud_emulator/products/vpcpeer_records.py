"""VPC peering connections (VpcPeer 2022-01-01): the vocabulary, the records, who sees which, and the
response shape. The rules that move a connection are in ``vpcpeer_connections.py``.

**Records.** One ``vpc_peer`` record per connection, ``pcc-`` plus 20 characters (the metadata's
example ``pcc-lnk0m24khwvtkm****``), owned by the requester's account in the requester's region,
with: InstanceId, Name, Description, OwnerId (requester UID), AcceptingOwnerUid, RegionId,
AcceptingRegionId, VpcId, VpcCidr, AcceptingVpcId, AcceptingVpcCidr, Bandwidth (int, -1 =
unlimited), LinkType ("" within a region), Status, BizStatus, GmtCreate, GmtModified, GmtExpired,
Established (True once the connection has been Activated: it carries traffic while it is then
Updating for a Modify), and Sides (per account UID: its own Tags and ResourceGroupId; tags and
resource groups belong to an account, as the Tag API's ``RegionId`` scoping says).

A cross-account connection also has a ``vpc_peer_grant`` record in the accepter's account and
region (ID ``<pcc-id>@accepter``: InstanceId, RequesterUid, AcceptingVpcId): the accepter reaches the
connection only through it, as a router interface reaches its peer only by mutual naming, so a
third account's request reads another's connection exactly like a missing one.

**States** (GetVpcPeerConnectionAttribute ``Status``, SDK model and metadata): ``Creating``,
``Accepting``, ``Updating``, ``Activated``, ``Rejected``, ``Expired``, ``Deleting``, ``Deleted``.
``Creating``, ``Updating`` and ``Deleting`` are an operation in progress: the error-code page's
``Conflict.Operation`` ("There are other peering operations on the requester VPC or accepter VPC")
refuses another operation on either VPC meanwhile.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, missing
from ..params import Params
from ..regions import REGIONS
from ..store import Tx
from . import vpcpeer_errors as err

CREATING, ACCEPTING, UPDATING, ACTIVATED = "Creating", "Accepting", "Updating", "Activated"
REJECTED, EXPIRED, DELETING, DELETED = "Rejected", "Expired", "Deleting", "Deleted"
IN_PROGRESS = (CREATING, UPDATING, DELETING)
# what still holds a place in a VPC's quota and against a second connection between two VPCs
LIVE = (CREATING, ACCEPTING, UPDATING, ACTIVATED, DELETING)
LINK_TYPES = ("Platinum", "Gold")  # SDK CreateVpcPeerConnectionRequest.link_type; Gold is the default
DEFAULT_CROSS_REGION_BANDWIDTH = 1024  # Mbit/s (GetVpcPeerConnectionAttribute ``Bandwidth``)
UNLIMITED = -1
RESOURCE_TYPE = "PeerConnection"

# Per VPC: 10 intra-region and 20 inter-region connections (https://help.aliyun.com/document_detail/418508.htm).
INTRA_REGION_PER_VPC = 10
CROSS_REGION_PER_VPC = 20
MAX_TAGS = 20  # "at most 20 tags" (Tag.N descriptions; the metadata's maxItems says 21)


def grant_id(instance_id: str) -> str:
    return f"{instance_id}@accepter"


# -- parameters -------------------------------------------------------------------------------------------
class Form:
    """A VpcPeer request's parameters: a malformed value is ``IllegalParam.<Name>`` (the product's
    code), a missing required one ``MissingParameter`` (the gateway's)."""

    def __init__(self, p: Params):
        self.p = p

    def has(self, name: str) -> bool:
        return self.p.has(name)

    def text(self, name: str, required: bool = False, max_len: int | None = None) -> str | None:
        value = self.p.raw(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        if not isinstance(value, str):
            raise err.illegal(name, "a single value is expected.")
        if max_len is not None and len(value) > max_len:
            raise err.illegal(name, f"at most {max_len} characters, got {len(value)}.")
        return value

    def required(self, name: str, max_len: int | None = None) -> str:
        value = self.text(name, required=True, max_len=max_len)
        assert value is not None
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in choices:
            raise err.illegal(name, f'"{value}" is not one of {", ".join(choices)}.')
        return value

    def integer(self, name: str, low: int | None = None, high: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            n = int(value)
        except ValueError:
            raise err.illegal(name, f'"{value}" is not an integer.') from None
        if (low is not None and n < low) or (high is not None and n > high):
            bounds = f"{'' if low is None else low}..{'' if high is None else high}"
            raise err.illegal(name, f"{n} is outside {bounds}.")
        return n

    def flag(self, name: str) -> bool:
        value = self.text(name)
        if value is None:
            return False
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise err.illegal(name, f'"{value}" is not true or false.')

    def items(self, name: str, required: bool = False) -> list[Any]:
        """A ``Name.N`` list (or one plain value)."""
        value = self.p.raw(name)
        if value is None or value == "" or value == []:
            if required:
                raise missing(name)
            return []
        if isinstance(value, dict):
            raise err.illegal(name, "a list Name.1, Name.2 ... is expected.")
        return value if isinstance(value, list) else [value]

    def region(self, name: str = "RegionId", required: bool = True) -> str | None:
        value = self.text(name, required=required)
        if value is not None and value not in REGIONS:
            raise err.illegal(name, f'"{value}" is not a region (DescribeRegions lists them).')
        return value

    def dry_run(self) -> None:
        """After every check, before any write (``DryRun`` descriptions of the metadata)."""
        if self.flag("DryRun"):
            raise err.dry_run_passed()


def tag_list(form: Form, name: str, limit: int = MAX_TAGS) -> list[dict[str, str]]:
    """``Tag.N.Key``/``Tag.N.Value`` as ``[{"Key", "Value"}]``: keys 1-128 characters, not ``aliyun``
    or ``acs:``, no ``http(s)://``; values up to 128 (Tag descriptions of the metadata)."""
    raw = form.items(name)
    if len(raw) > limit:
        raise err.illegal(name, f"at most {limit} tags, got {len(raw)}.")
    out, seen = [], set()
    for n, t in enumerate(raw, start=1):
        if not isinstance(t, dict) or not t.get("Key"):
            raise missing(f"{name}.{n}.Key")
        key, value = str(t["Key"]), str(t.get("Value") or "")
        if len(key) > 128 or "http://" in key or "https://" in key:
            raise ApiError("IllegalParam.TagKey", f"The param of Tag.Key is illegal: {name}.{n}.Key.")
        if key.startswith(("aliyun", "acs:")):
            raise err.reserved_tag_key(f"{name}.{n}.Key", key)
        if len(value) > 128 or "http://" in value or "https://" in value:
            raise ApiError("IllegalParam.TagValue", f"The param of Tag.Value is illegal: {name}.{n}.Value.")
        if key in seen:
            raise err.duplicate_tag_key(f"{name}.{n}.Key", key)
        seen.add(key)
        out.append({"Key": key, "Value": value})
    return out


# -- who sees which connection ------------------------------------------------------------------------------
def visible(tx: Tx, uid: str, instance_id: str | None) -> dict[str, Any] | None:
    """The connection ``instance_id`` when the caller ``uid`` is its requester or its accepter."""
    if not instance_id:
        return None
    rec = tx.get("vpc_peer", instance_id, account=uid)
    if rec is not None:
        return rec
    grant = tx.get("vpc_peer_grant", grant_id(instance_id), account=uid)
    if grant is None:
        return None
    return tx.get("vpc_peer", instance_id, account=grant["RequesterUid"])


def lookup(tx: Tx, uid: str, instance_id: str) -> dict[str, Any]:
    rec = visible(tx, uid, instance_id)
    if rec is None:
        raise err.connection_not_found(instance_id)
    return rec


def all_visible(tx: Tx, uid: str) -> list[dict[str, Any]]:
    """Every connection the caller requested or is asked to accept, in creation order."""
    found = {r["InstanceId"]: r for r in tx.find("vpc_peer", account=uid)}
    for g in tx.find("vpc_peer_grant", account=uid):
        rec = tx.get("vpc_peer", g["InstanceId"], account=g["RequesterUid"])
        if rec is not None:
            found.setdefault(rec["InstanceId"], rec)
    return sorted(found.values(), key=lambda r: r["_created"])


def of_vpc(tx: Tx, owner: str, vpc_id: str) -> list[dict[str, Any]]:
    """Every connection with ``vpc_id`` (of account ``owner``) at either end."""
    found = {
        r["InstanceId"]: r
        for r in tx.find("vpc_peer", account=owner)
        if r["VpcId"] == vpc_id or (r["AcceptingVpcId"] == vpc_id and r["AcceptingOwnerUid"] == owner)
    }
    for g in tx.find("vpc_peer_grant", account=owner, AcceptingVpcId=vpc_id):
        rec = tx.get("vpc_peer", g["InstanceId"], account=g["RequesterUid"])
        if rec is not None:
            found.setdefault(rec["InstanceId"], rec)
    return list(found.values())


def is_requester(rec: dict[str, Any], uid: str) -> bool:
    return rec["OwnerId"] == uid


def is_accepter(rec: dict[str, Any], uid: str) -> bool:
    return rec["AcceptingOwnerUid"] == uid


def cross_account(rec: dict[str, Any]) -> bool:
    return rec["OwnerId"] != rec["AcceptingOwnerUid"]


def cross_region(rec: dict[str, Any]) -> bool:
    return rec["RegionId"] != rec["AcceptingRegionId"]


def carries_traffic(rec: dict[str, Any]) -> bool:
    """``Activated``, or ``Updating`` for a Modify of a connection that was Activated (a Modify
    changes its name or bandwidth, not its existence)."""
    return rec.get("Status") == ACTIVATED or (rec.get("Status") == UPDATING and bool(rec.get("Established")))


def own_ends(rec: dict[str, Any], uid: str) -> list[tuple[str, str]]:
    """(region, VPC) of every end of the connection that belongs to ``uid`` (both ends of a
    same-account connection)."""
    out = []
    if is_requester(rec, uid):
        out.append((rec["RegionId"], rec["VpcId"]))
    if is_accepter(rec, uid):
        out.append((rec["AcceptingRegionId"], rec["AcceptingVpcId"]))
    return out


def seen_in(rec: dict[str, Any], uid: str, region: str) -> bool:
    """Whether one of the caller's ends of the connection is in ``region`` (tags are regional)."""
    return any(r == region for r, _ in own_ends(rec, uid))


def side(rec: dict[str, Any], uid: str) -> dict[str, Any]:
    """The caller's own tags and resource group on the connection (created on first use)."""
    sides = rec.setdefault("Sides", {})
    return sides.setdefault(uid, {"Tags": [], "ResourceGroupId": ""})


# -- the response shape ----------------------------------------------------------------------------------------
def item(rec: dict[str, Any], uid: str) -> dict[str, Any]:
    """A connection as GetVpcPeerConnectionAttribute answers it (and each ``VpcPeerConnects`` item
    of ListVpcPeerConnections): flat, lists as plain arrays, UIDs as integers. ``GmtExpired`` only
    while ``Accepting`` or ``Expired`` ("otherwise null": the key is left out, which the SDK model
    reads the same); ``LinkType`` only for an inter-region connection; no IPv6 in the emulator."""
    mine = (rec.get("Sides") or {}).get(uid) or {"Tags": [], "ResourceGroupId": ""}
    out: dict[str, Any] = {
        "InstanceId": rec["InstanceId"],
        "GmtCreate": rec["GmtCreate"],
        "GmtModified": rec["GmtModified"],
        "Name": rec["Name"],
        "Description": rec["Description"],
        "OwnerId": int(rec["OwnerId"]),
        "AcceptingOwnerUid": int(rec["AcceptingOwnerUid"]),
        "RegionId": rec["RegionId"],
        "AcceptingRegionId": rec["AcceptingRegionId"],
        "Bandwidth": int(rec["Bandwidth"]),
        "Status": rec["Status"],
        "BizStatus": rec.get("BizStatus", "Normal"),
        "ResourceGroupId": mine["ResourceGroupId"],
        "Vpc": {"VpcId": rec["VpcId"], "Ipv4Cidrs": [rec["VpcCidr"]], "Ipv6Cidrs": []},
        "AcceptingVpc": {"VpcId": rec["AcceptingVpcId"], "Ipv4Cidrs": [rec["AcceptingVpcCidr"]], "Ipv6Cidrs": []},
        "Tags": [{"Key": t["Key"], "Value": t["Value"]} for t in mine["Tags"]],
    }
    if rec["Status"] in (ACCEPTING, EXPIRED) and rec.get("GmtExpired"):
        out["GmtExpired"] = rec["GmtExpired"]
    if rec.get("LinkType"):
        out["LinkType"] = rec["LinkType"]
    return out
