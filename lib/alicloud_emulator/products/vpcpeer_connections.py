"""VPC peering connections (VpcPeer 2022-01-01): create, accept, reject, modify, delete, get, list.

Records, states and who sees what are in ``vpcpeer_records.py``; every error is a named constructor
of ``vpcpeer_errors.py``. Rules, with their sources (the SDK's docstrings are the reference pages of
``alibabacloud-vpcpeer20220101`` 2.0.5; the metadata is vendored under ``tests/data/api_metadata``):

* **Create** (``CreateVpcPeerConnection``): ``Creating`` for ``timing.vpc_peer_create`` seconds, then
  ``Activated`` when ``AcceptingAliUid`` is the caller's own UID ("the system accepts the request
  automatically", user guide https://help.aliyun.com/zh/vpc/user-guide/create-and-manage-vpc-peering-connection)
  or ``Accepting`` for another account ("needs to be accepted on the accepter side", Create
  reference). An ``Accepting`` request becomes ``Expired`` at ``GmtExpired``, ``timing.vpc_peer_accept_expiry``
  seconds later (7 days: the metadata's example has ``GmtExpired`` exactly 7 days after
  ``GmtCreate``; the delay is not scaled with the others, ``world.with_timing``).
  The requester's VPC must be the caller's in ``RegionId``; the accepter's VPC must exist in
  ``AcceptingRegionId`` under ``AcceptingAliUid`` (``IllegalParam.VpcId`` / ``IllegalParam.AcceptingVpcId``,
  the product's code for a bad value; the metadata documents no not-found code for them).
  Within a region ``Bandwidth`` is ``-1`` (unlimited) and neither ``Bandwidth`` nor ``LinkType`` may
  be given (the SDK: "make sure that you create an inter-region VPC peering connection" before
  setting it; the emulator refuses rather than ignores, ``IllegalParam``); between regions it
  defaults to 1024 Mbit/s and ``LinkType`` to ``Gold``.
* **No concurrent operations** ("CreateVpcPeerConnection 接口不支持在同一个 VPC 下并发创建", Create
  reference; ``Conflict.Operation``, error-code page): while a connection of either VPC is
  ``Creating``, ``Updating`` or ``Deleting``, Create, Accept, Modify and Delete on that VPC are refused.
* **One connection per pair of VPCs**: a live one (not Rejected, Expired or Deleted) between the
  same two VPCs, in either direction, is ``ResourceAlreadyExist.VpcPeer``.
* **Router interfaces between the same two VPCs**: allowed by default; ``behaviour.vpc_peer_beside_router_interface:
  refuse`` answers ``ResourceAlreadyExist.RouterInterface`` (a Create code of the metadata whose
  trigger is not documented; ``docs/parity.md``).
* **Quotas** per VPC, at either end: 10 intra-region and 20 inter-region live connections
  (https://help.aliyun.com/document_detail/418508.htm), ``QuotaExceeded.IntraRegionVpcPeerCountPerVpc`` /
  ``QuotaExceeded.CrossRegionVpcPeerCountPerVpc``.
* **Accept / Reject**: only the accepter, and only while ``Accepting`` (``IncorrectStatus.VpcPeer``
  otherwise); the requester of a cross-account request gets ``Forbidden.NoPermission``. Accept:
  ``Updating`` for ``timing.vpc_peer_accept`` seconds, then ``Activated`` (Accept reference). Reject:
  ``Rejected`` at once (Reject reference).
* **Modify**: the requester or the accepter (terraform's ``alicloud_vpc_peer_connection_accepter``
  modifies with the accepter's credentials), ``Activated`` only; ``Updating`` for
  ``timing.vpc_peer_modify`` seconds, then ``Activated`` (Modify reference). ``Bandwidth`` of an
  intra-region connection is ``OperationFailed.BandwidthCannotBeChangedInSameRegion``.
* **Delete**: the requester or the accepter (terraform's accepter resource deletes with the
  accepter's credentials), from ``Activated``, ``Accepting``, ``Rejected`` or ``Expired``. While a
  route of either VPC points at the connection it is ``OperationDenied.RouteEntryExist``, unless
  ``Force=true``, which deletes those routes ("the system deletes the routes that point to the VPC
  peering connection", Delete reference). ``Deleting`` for ``timing.vpc_peer_delete`` seconds, then
  ``Deleted`` for ``timing.vpc_peer_deleted_linger`` seconds, then not found (terraform waits for
  not found).
* **Get / List**: the caller's connections as requester or accepter. ``RegionId`` of List is the
  caller's end (the requester's region for its requests, ``AcceptingRegionId`` for those it is asked
  to accept); without it, every region. ``VpcId`` takes at most two IDs, comma-joined: one matches
  either end, two the connection between them (metadata). ``MaxResults`` 1-100, default 20.
* ``DryRun=true`` answers ``DryRunOperation`` once every check has passed; ``ClientToken``
  idempotency is the dispatcher's (the same token and parameters return the first answer).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from ..context import Context
from ..params import Params
from ..timefmt import iso
from ..world_schema import TIMING_KEYS
from . import vpcpeer_errors as err
from .router_interface_records import peer_of
from .vpcpeer_records import (
    ACCEPTING,
    ACTIVATED,
    CREATING,
    CROSS_REGION_PER_VPC,
    DEFAULT_CROSS_REGION_BANDWIDTH,
    DELETED,
    DELETING,
    EXPIRED,
    IN_PROGRESS,
    INTRA_REGION_PER_VPC,
    LINK_TYPES,
    LIVE,
    REJECTED,
    UNLIMITED,
    UPDATING,
    Form,
    all_visible,
    cross_account,
    cross_region,
    grant_id,
    is_accepter,
    is_requester,
    item,
    lookup,
    of_vpc,
    side,
    tag_list,
)

_LONG_MAX = 2**63 - 1
_UID = re.compile(r"[1-9]\d{0,18}")
_STARTS_WITH_LETTER = re.compile(r"[A-Za-z\u4e00-\u9fa5]")
_CREATE_NAME = re.compile(r"[A-Za-z\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5_-]{1,127}")
_RESOURCE_GROUP = re.compile(r"rg-[a-z0-9]{6,32}")
MAX_LIST_RESULTS = 100
DEFAULT_LIST_RESULTS = 20
MAX_LIST_TAGS = 10


def delay(ctx: Context, key: str) -> float:
    """Seconds of virtual time of a step: the world's, else the default (a world stored by an older
    emulator lacks the VpcPeer keys, and a missing expiry must not mean "at once")."""
    timing = ctx.world.get("timing") or {}
    return float(timing.get(key, TIMING_KEYS.get(key, 0.0)))


# -- create ---------------------------------------------------------------------------------------------------
def create_vpc_peer_connection(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    region = f.region()
    assert region is not None
    vpc_id = f.required("VpcId")
    accepting_uid = _account_uid(f)
    accepting_region = f.region("AcceptingRegionId")
    assert accepting_region is not None
    accepting_vpc_id = f.required("AcceptingVpcId")
    name = _name(f, create=True)
    description = _description(f, create=True)
    bandwidth = f.integer("Bandwidth", low=1, high=2**31 - 1)
    link_type = f.choice("LinkType", LINK_TYPES)
    group = resource_group(f, "ResourceGroupId")
    tags = tag_list(f, "Tag")
    f.text("ClientToken", max_len=64)
    inter = region != accepting_region
    if not inter and bandwidth is not None:
        raise err.illegal("Bandwidth", "only an inter-region connection has a bandwidth; within a region it is -1.")
    if not inter and link_type is not None:
        raise err.illegal("LinkType", "only an inter-region connection has a link type.")
    vpc = ctx.tx.get("vpc", vpc_id, account=ctx.uid)
    if vpc is None or vpc["_region"] != region:
        raise err.illegal("VpcId", f"{vpc_id} is not a VPC of this account in {region}.")
    peer_vpc = ctx.tx.get("vpc", accepting_vpc_id, account=accepting_uid)
    if peer_vpc is None or peer_vpc["_region"] != accepting_region:
        raise err.illegal(
            "AcceptingVpcId",
            f"{accepting_vpc_id} is not a VPC of account {accepting_uid} in {accepting_region}.",
        )
    if vpc_id == accepting_vpc_id and accepting_uid == ctx.uid:
        raise err.illegal("AcceptingVpcId", "a VPC cannot be peered with itself.")
    ends = ((ctx.uid, vpc_id), (accepting_uid, accepting_vpc_id))
    refuse_concurrent(ctx, ends)
    _refuse_second_link(ctx, vpc, peer_vpc, accepting_uid)
    _check_quota(ctx, ends, inter)
    f.dry_run()
    now, wait = ctx.now, delay(ctx, "vpc_peer_create")
    instance_id = ctx.tx.new_id("pcc-")
    rec = ctx.tx.insert(
        "vpc_peer",
        instance_id,
        ctx.uid,
        region,
        {
            "InstanceId": instance_id,
            "Name": name or "",
            "Description": description or "",
            "OwnerId": ctx.uid,
            "AcceptingOwnerUid": accepting_uid,
            "RegionId": region,
            "AcceptingRegionId": accepting_region,
            "VpcId": vpc_id,
            "VpcCidr": vpc["CidrBlock"],
            "AcceptingVpcId": accepting_vpc_id,
            "AcceptingVpcCidr": peer_vpc["CidrBlock"],
            "Bandwidth": (bandwidth or DEFAULT_CROSS_REGION_BANDWIDTH) if inter else UNLIMITED,
            "LinkType": (link_type or "Gold") if inter else "",
            "Status": CREATING,
            "BizStatus": "Normal",
            "GmtCreate": iso(now),
            "GmtModified": iso(now),
            "GmtExpired": "",
            "Established": False,
            "Sides": {ctx.uid: {"Tags": tags, "ResourceGroupId": group or ""}},
        },
    )
    done = iso(now + wait)
    if cross_account(rec):
        expiry = wait + delay(ctx, "vpc_peer_accept_expiry")
        rec["GmtExpired"] = iso(now + expiry)
        ctx.tx.schedule(rec, wait, Status=ACCEPTING, GmtModified=done)
        ctx.tx.schedule(rec, expiry, Status=EXPIRED, GmtModified=iso(now + expiry))
        ctx.tx.insert(
            "vpc_peer_grant",
            grant_id(instance_id),
            accepting_uid,
            accepting_region,
            {"InstanceId": instance_id, "RequesterUid": ctx.uid, "AcceptingVpcId": accepting_vpc_id},
        )
    else:
        ctx.tx.schedule(rec, wait, Status=ACTIVATED, Established=True, GmtModified=done)
    ctx.tx.put(rec)
    return {"InstanceId": instance_id}


def _account_uid(f: Form) -> str:
    """``AcceptingAliUid``: a main account UID (``long`` in the metadata)."""
    raw = f.required("AcceptingAliUid")
    if not _UID.fullmatch(raw) or int(raw) > _LONG_MAX:
        raise err.illegal("AcceptingAliUid", f'"{raw}" is not an Alibaba Cloud account UID.')
    return raw


def refuse_concurrent(ctx: Context, ends: tuple[tuple[str, str], ...], this: str | None = None) -> None:
    """``Conflict.Operation`` while another connection of either VPC is being created, updated or deleted."""
    for owner, vpc_id in ends:
        for c in of_vpc(ctx.tx, owner, vpc_id):
            if c["InstanceId"] != this and c["Status"] in IN_PROGRESS:
                shown = c["InstanceId"] if ctx.uid in (c["OwnerId"], c["AcceptingOwnerUid"]) else "a peering operation"
                raise err.operation_conflict(vpc_id, shown, c["Status"])


def _refuse_second_link(ctx: Context, vpc: dict[str, Any], peer_vpc: dict[str, Any], peer_uid: str) -> None:
    for c in of_vpc(ctx.tx, ctx.uid, vpc["VpcId"]):
        ends = {(c["OwnerId"], c["VpcId"]), (c["AcceptingOwnerUid"], c["AcceptingVpcId"])}
        if c["Status"] in LIVE and ends == {(ctx.uid, vpc["VpcId"]), (peer_uid, peer_vpc["VpcId"])}:
            raise err.already_peered(vpc["VpcId"], peer_vpc["VpcId"], c["InstanceId"])
    if ctx.behaviour.vpc_peer_beside_router_interface != "refuse":
        return
    for ri in ctx.tx.find("router_interface", account=ctx.uid, region=vpc["_region"], RouterId=vpc["VRouterId"]):
        peer = peer_of(ctx.tx, ri)
        if (
            peer is not None
            and peer["_account"] == peer_uid
            and peer.get("RouterId") == peer_vpc["VRouterId"]
            and peer["_region"] == peer_vpc["_region"]
        ):
            raise err.router_interface_link_exists(vpc["VpcId"], peer_vpc["VpcId"], ri["RouterInterfaceId"])


def _check_quota(ctx: Context, ends: tuple[tuple[str, str], ...], inter: bool) -> None:
    limit = CROSS_REGION_PER_VPC if inter else INTRA_REGION_PER_VPC
    refuse = err.cross_region_quota if inter else err.intra_region_quota
    for owner, vpc_id in ends:
        used = sum(1 for c in of_vpc(ctx.tx, owner, vpc_id) if c["Status"] in LIVE and cross_region(c) == inter)
        if used >= limit:
            raise refuse(vpc_id, used, limit)


# -- accept, reject -------------------------------------------------------------------------------------------
def _request_to_answer(ctx: Context, f: Form, action: str) -> dict[str, Any]:
    instance_id = f.required("InstanceId")
    rec = lookup(ctx.tx, ctx.uid, instance_id)
    if not is_accepter(rec, ctx.uid):  # the requester of a cross-account request
        raise err.not_the_accepter(instance_id, action)
    if rec["Status"] != ACCEPTING:
        raise err.connection_status(instance_id, rec["Status"], ACCEPTING)
    return rec


def _without_expiry(rec: dict[str, Any]) -> None:
    """An answered request no longer expires: drop its pending ``Expired`` transition."""
    rec["_transitions"] = [t for t in rec.get("_transitions") or [] if t[1].get("Status") != EXPIRED]


def accept_vpc_peer_connection(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    group = resource_group(f, "ResourceGroupId")
    tags = tag_list(f, "Tag")
    f.text("ClientToken", max_len=64)
    rec = _request_to_answer(ctx, f, "AcceptVpcPeerConnection")
    refuse_concurrent(ctx, _ends(rec), this=rec["InstanceId"])
    f.dry_run()
    mine = side(rec, ctx.uid)
    if group:
        mine["ResourceGroupId"] = group
    if tags:
        mine["Tags"] = tags
    _without_expiry(rec)
    wait = delay(ctx, "vpc_peer_accept")
    rec.update(Status=UPDATING, GmtModified=iso(ctx.now))
    ctx.tx.schedule(rec, wait, Status=ACTIVATED, Established=True, GmtModified=iso(ctx.now + wait))
    ctx.tx.put(rec)
    return {}


def reject_vpc_peer_connection(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    f.text("ClientToken", max_len=64)
    rec = _request_to_answer(ctx, f, "RejectVpcPeerConnection")
    f.dry_run()
    _without_expiry(rec)
    rec.update(Status=REJECTED, GmtModified=iso(ctx.now))
    ctx.tx.put(rec)
    return {}


# -- modify -----------------------------------------------------------------------------------------------------
def modify_vpc_peer_connection(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    instance_id = f.required("InstanceId")
    name = _name(f, create=False)
    description = _description(f, create=False)
    bandwidth = f.integer("Bandwidth", low=1, high=2**31 - 1)
    link_type = f.choice("LinkType", LINK_TYPES)
    f.text("ClientToken", max_len=64)
    rec = lookup(ctx.tx, ctx.uid, instance_id)
    if rec["Status"] != ACTIVATED:
        raise err.connection_status(instance_id, rec["Status"], ACTIVATED)
    if bandwidth is not None and not cross_region(rec):
        raise err.bandwidth_in_same_region(instance_id)
    if link_type is not None and not cross_region(rec):
        raise err.illegal("LinkType", "only an inter-region connection has a link type.")
    refuse_concurrent(ctx, _ends(rec), this=instance_id)
    f.dry_run()
    changes = {"Name": name, "Description": description, "Bandwidth": bandwidth, "LinkType": link_type}
    rec.update({k: v for k, v in changes.items() if v is not None})
    wait = delay(ctx, "vpc_peer_modify")
    rec.update(Status=UPDATING, GmtModified=iso(ctx.now))
    ctx.tx.schedule(rec, wait, Status=ACTIVATED, GmtModified=iso(ctx.now + wait))
    ctx.tx.put(rec)
    return {}


# -- delete -----------------------------------------------------------------------------------------------------
def delete_vpc_peer_connection(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    instance_id = f.required("InstanceId")
    force = f.flag("Force")
    f.text("ClientToken", max_len=64)
    rec = lookup(ctx.tx, ctx.uid, instance_id)
    if rec["Status"] not in (ACTIVATED, ACCEPTING, REJECTED, EXPIRED):
        raise err.connection_status(instance_id, rec["Status"], "Activated, Accepting, Rejected or Expired")
    refuse_concurrent(ctx, _ends(rec), this=instance_id)
    routes = routes_through(ctx, rec)
    if routes and not force:
        raise err.routes_point_at_it(instance_id, _described(ctx, routes))
    f.dry_run()
    for r in routes:  # Force: the routes go with the connection
        r.update(Status="Deleting", GmtModified=iso(ctx.now))
        ctx.tx.remove(r, delay(ctx, "route_entry_delete"))
    wait, linger = delay(ctx, "vpc_peer_delete"), delay(ctx, "vpc_peer_deleted_linger")
    _without_expiry(rec)
    rec.update(Status=DELETING, GmtModified=iso(ctx.now))
    ctx.tx.schedule(rec, wait, Status=DELETED, GmtModified=iso(ctx.now + wait))
    ctx.tx.remove(rec, wait + linger)
    grant = ctx.tx.get("vpc_peer_grant", grant_id(instance_id), account=rec["AcceptingOwnerUid"])
    if grant is not None:
        ctx.tx.remove(grant, wait + linger)
    return {}


def routes_through(ctx: Context, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The route entries of either end that have the connection as next hop (read by the
    connection's own ends, as a router interface reads its connected peer)."""
    owners = dict.fromkeys((rec["OwnerId"], rec["AcceptingOwnerUid"]))
    return [r for owner in owners for r in ctx.tx.find("route_entry", account=owner, NextHopId=rec["InstanceId"])]


def _described(ctx: Context, routes: list[dict[str, Any]]) -> str:
    """The caller's routes by ID, the other account's only counted."""
    mine = [r["RouteEntryId"] for r in routes if r["_account"] == ctx.uid]
    others = len(routes) - len(mine)
    parts = ([", ".join(mine)] if mine else []) + ([f"{others} route(s) of the peer account"] if others else [])
    return " and ".join(parts)


def _ends(rec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return ((rec["OwnerId"], rec["VpcId"]), (rec["AcceptingOwnerUid"], rec["AcceptingVpcId"]))


# -- get, list --------------------------------------------------------------------------------------------------
def get_vpc_peer_connection_attribute(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    rec = lookup(ctx.tx, ctx.uid, f.required("InstanceId"))
    return item(rec, ctx.uid)


def list_vpc_peer_connections(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    region = f.region(required=False)
    instance_id, name = f.text("InstanceId"), f.text("Name")
    vpc_ids = _vpc_ids(f)
    wanted_tags = _tag_filter(f)
    group = f.text("ResourceGroupId")
    size = f.integer("MaxResults", low=1, high=MAX_LIST_RESULTS) or DEFAULT_LIST_RESULTS
    query = {
        "RegionId": region,
        "InstanceId": instance_id,
        "Name": name,
        "VpcId": vpc_ids,
        "Tags": wanted_tags,
        "ResourceGroupId": group,
    }
    rows = [
        r
        for r in all_visible(ctx.tx, ctx.uid)
        if (region is None or region in _caller_regions(r, ctx.uid))
        and (instance_id is None or r["InstanceId"] == instance_id)
        and (name is None or r["Name"] == name)
        and _joins(r, vpc_ids)
        and _tagged(r, ctx.uid, wanted_tags)
        and (group is None or ((r.get("Sides") or {}).get(ctx.uid) or {}).get("ResourceGroupId") == group)
    ]
    start = token_offset(f, query)
    page = rows[start : start + size]
    following = next_token(start + size, query) if start + size < len(rows) else ""
    return {
        "TotalCount": len(rows),
        "MaxResults": size,
        "NextToken": following,
        "VpcPeerConnects": [item(r, ctx.uid) for r in page],
    }


def _caller_regions(rec: dict[str, Any], uid: str) -> set[str]:
    out = set()
    if is_requester(rec, uid):
        out.add(rec["RegionId"])
    if is_accepter(rec, uid):
        out.add(rec["AcceptingRegionId"])
    return out


def _vpc_ids(f: Form) -> list[str]:
    """``VpcId``: at most two IDs, sent comma-joined by the SDK ("simple" style) or as ``VpcId.N``."""
    ids: list[str] = []
    for raw in f.items("VpcId"):
        ids += [x.strip() for x in str(raw).split(",") if x.strip()]
    if len(ids) > 2:
        raise err.illegal("VpcId", f"at most 2 VPC IDs (the two ends), got {len(ids)}.")
    return ids


def _joins(rec: dict[str, Any], vpc_ids: list[str]) -> bool:
    ends = {rec["VpcId"], rec["AcceptingVpcId"]}
    return all(v in ends for v in vpc_ids)


def _tag_filter(f: Form) -> list[tuple[str, str | None]]:
    raw = f.items("Tags")
    if len(raw) > MAX_LIST_TAGS:
        raise err.illegal("Tags", f"at most {MAX_LIST_TAGS} tags, got {len(raw)}.")
    out = []
    for n, t in enumerate(raw, start=1):
        if not isinstance(t, dict) or not t.get("Key"):
            raise err.illegal("Tags", f"Tags.{n}.Key is required.")
        out.append((str(t["Key"]), str(t["Value"]) if t.get("Value") not in (None, "") else None))
    return out


def _tagged(rec: dict[str, Any], uid: str, wanted: list[tuple[str, str | None]]) -> bool:
    have = {t["Key"]: t["Value"] for t in (((rec.get("Sides") or {}).get(uid) or {}).get("Tags") or [])}
    return all(k in have and (v is None or have[k] == v) for k, v in wanted)


# -- shared checks ------------------------------------------------------------------------------------------------
def _name(f: Form, create: bool) -> str | None:
    """Create: 2-128 characters, a letter or Chinese character first, then letters, digits, ``_``
    and ``-``; Modify: 1-128, not ``http(s)://`` (the two actions' metadata descriptions)."""
    name = f.text("Name")
    if name is None:
        return None
    if create and not _CREATE_NAME.fullmatch(name):
        raise err.illegal("Name", "2 to 128 characters, a letter first, then letters, digits, _ and -.")
    if not create and (len(name) > 128 or name.lower().startswith(("http://", "https://"))):
        raise err.illegal("Name", "1 to 128 characters, not starting with http:// or https://.")
    return name


def _description(f: Form, create: bool) -> str | None:
    """Create: 2-256 characters, a letter first; Modify: 1-256; never ``http(s)://`` first."""
    text = f.text("Description")
    if text is None:
        return None
    bad = len(text) > 256 or text.lower().startswith(("http://", "https://"))
    if create:
        bad = bad or len(text) < 2 or not _STARTS_WITH_LETTER.match(text)
    if bad:
        low = 2 if create else 1
        raise err.illegal("Description", f"{low} to 256 characters" + (", a letter first" if create else "") + ".")
    return text


def resource_group(f: Form, name: str) -> str | None:
    """Resource groups are not modelled: any well-formed ID (``rg-`` and 6-32 lower-case letters or
    digits) is taken to exist, anything else is ``OperationFailed.NotExist.ResourceGroup``."""
    value = f.text(name)
    if value is not None and not _RESOURCE_GROUP.fullmatch(value):
        raise err.resource_group_not_found(name, value)
    return value


def token_offset(f: Form, query: dict[str, Any]) -> int:
    token = f.text("NextToken")
    if token is None:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        start, bound = int(decoded["o"]), decoded["q"]
    except (ValueError, KeyError, TypeError):
        raise err.illegal("NextToken", "it is not a token this API returned.") from None
    if bound != _digest(query) or start < 0:
        raise err.illegal("NextToken", "it belongs to a query with other parameters; start again without it.")
    return start


def next_token(offset: int, query: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": _digest(query)}).encode()).decode()


def _digest(query: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]
