"""Route entries of a VPC's route table: create, modify, delete, list.

Rules and the choices made where the API is silent:

* Writes to a table are serialised by state, as in the cloud: while the table holds an entry that is
  ``Pending``, ``Modifying`` or ``Deleting``, CreateRouteEntry and DeleteRouteEntry get
  ``IncorrectRouteEntryStatus`` (DeleteRouteEntry reference 2025-05: "You can delete only routes
  that are in the Available state", and its error table gives that code for a table whose entries
  are Pending or Modifying; its ``TaskConflict`` is for calls too frequent, which is not
  modelled). A new entry is ``Pending`` for
  ``route_entry_create`` seconds, then ``Available``; a deleted one is ``Deleting`` for
  ``route_entry_delete`` seconds, then gone.
* The destination may not equal or lie inside a vSwitch CIDR of the VPC, nor inside
  100.64.0.0/10 (``InvalidCidrBlock``); it is unique in the table (``InvalidCIDRBlock.Duplicate``).
  A bare address means ``/32``.
* Next hops modelled: ``RouterInterface`` (an interface of the caller on this VPC's router, which
  must be ``Active``: ``IncorrectStatus.RouterInterface`` otherwise), ``VpcPeer`` (a VPC peering
  connection, ``pcc-...``, of which the caller is the requester or the accepter and whose end on the
  caller's side is this table's VPC: ``ResourceNotFound.VpcPeer`` otherwise; it must be
  ``Activated``: ``IncorrectStatus.VpcPeer``; both codes are CreateRouteEntry's in the metadata) and
  ``Instance`` (an ECS instance of the caller in this VPC). Any other documented type, and ECMP
  ``NextHopList``, is refused with a message saying so. ``NextHopType`` defaults to ``Instance`` as
  documented.
* CreateRouteEntry: ``RegionId`` is optional (reference 2025-12 and metadata); without it the
  region is the route table's.
* DeleteRouteEntry names the entry by ``RouteEntryId`` alone, or by ``RouteTableId`` plus
  ``DestinationCidrBlock`` (and optionally ``NextHopId``); ``RouteEntryId`` with either of the others
  is ``ParamExclusive.RouteEntryIdAndRouteTableIdOrDestCidrBlock`` (reference 2025-05).
* System routes cannot be deleted (``OperationDenied``); an unknown entry is
  ``InvalidRouteEntry.NotFound`` (400, as documented).
* DescribeRouteEntryList pages with ``NextToken``/``MaxResult`` (default 100, at most 500, metadata);
  a token it did not issue is ``IllegalParam.NextToken``; a bad ``IpVersion`` or ``RouteEntryType`` is
  ``IllegalParam.<name>`` and an unknown table ``InvalidRouteTable.NotFound`` (400), the codes the
  metadata documents for this action. ``GmtModified`` has seconds, as in the
  metadata's response example (the SDK model's comment says minutes; ``docs/parity.md``).
* In DescribeRouteEntryList a RouterInterface next hop carries ``Enabled`` (1 while the interface
  is Active), ``Weight`` 100, and the peer's region and VPC (once connected) as
  ``NextHopRegionId``/``NextHopRelatedInfo``; these values are inferred, not recorded. A ``VpcPeer``
  next hop is ``NextHopType``/``NextHopId`` only: the metadata documents the extra fields "when the
  next hop type is RouterInterface" and says nothing of a peering's.
* ModifyRouteEntry (reference https://help.aliyun.com/en/vpc/developer-reference/api-vpc-2016-04-28-modifyrouteentry:
  "modify the name, description, and next hop of a custom route entry") names the entry by
  ``RouteEntryId``, or by ``RouteTableId`` and ``DestinationCidrBlock`` (``MissingParam.RouteEntryId``
  without either; ``RouteEntryId`` wins when both are given). Name (1-128) and description (1-256,
  neither starting with ``http(s)://``) change at once. ``NewNextHopType`` and ``NewNextHopId`` go
  together (``MissingParam.NewNextHopId`` / ``MissingParam.NewNextHopType``). Which types may change:
  today's SDK model (``alibabacloud-vpc20160428`` 7.2.2, generated from the current metadata) lists
  every next-hop type, RouterInterface and VpcPeer included, and terraform's generated
  ``alicloud_vpc_route_entry`` (provider of 2026-08) changes ``nexthop_type`` between them in place
  with this action; the 2024-06 metadata listed only NetworkInterface and NatGateway. The emulator
  follows today's (``behaviour.route_next_hop_change: all``); ``eni_and_nat`` restores the 2024 rule,
  where changing a route through a router interface or a peering is ``UnsupportedFeature.NextHopType``
  ("The route type does not support modifying the next hop of the route."), so a client's fallback
  (delete, then create) can be tested. The new next hop is checked as CreateRouteEntry checks it
  (with CreateRouteEntry's codes: the 2024 metadata of this action has none for these types); the
  same next hop again is ``OperationDenied.NextHopExist``; a system route's next hop is
  ``UnsupportedFeature.NextHopType``. The entry is then ``Modifying`` for ``route_entry_modify``
  seconds (a status of DescribeRouteEntryList; the duration is not documented) and ``Available`` with
  its new next hop. Like a ``Pending`` entry, a ``Modifying`` one forwards nothing (the reachability
  model reads only ``Available`` entries): the loss of a next-hop change is that window.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..context import Context
from ..errors import error, invalid, missing_one_of
from ..params import CIDR_MALFORMED, Params
from ..timefmt import iso
from . import vpc_errors as err
from . import vpcpeer_errors as peer_err
from .dry_run import stop_if_dry_run
from .paging import by_token
from .vpcpeer_records import ACTIVATED, own_ends, visible

PENDING, AVAILABLE, MODIFYING, DELETING = "Pending", "Available", "Modifying", "Deleting"
_UNSETTLED = (PENDING, MODIFYING, DELETING)
MAX_CUSTOM_PER_TABLE = 200
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
NEXT_HOP_TYPES = (
    "Instance",
    "HaVip",
    "RouterInterface",
    "NetworkInterface",
    "VpnGateway",
    "IPv6Gateway",
    "NatGateway",
    "Attachment",
    "VpcPeer",
    "Ipv4Gateway",
    "GatewayEndpoint",
    "Ecr",
    "GatewayLoadBalancerEndpoint",
    "RouteTargetGroup",
)
MODELLED_NEXT_HOPS = ("RouterInterface", "VpcPeer", "Instance")
ENI_AND_NAT = ("NetworkInterface", "NatGateway")  # the 2024 metadata's NewNextHopType values
ENTRY_TYPES = ("Custom", "System", "BGP", "CEN", "ECR")
MAX_DEST_CIDRS = 200  # DescribeRouteEntryList DestCidrBlockList maxItems (metadata 2025-12)


# -- create ---------------------------------------------------------------------------------------------
def create_route_entry(ctx: Context, p: Params) -> dict[str, Any]:
    requested_region = ctx.region(required=False)
    table_id = p.text("RouteTableId", required=True)
    dest = p.cidr("DestinationCidrBlock", required=True)
    if p.has("NextHopList"):
        if p.has("NextHopType") or p.has("NextHopId"):
            raise err.next_hop_and_list()
        raise invalid("NextHopList", "ECMP routes are not modelled by this emulator; give NextHopType and NextHopId")
    hop_type = p.text("NextHopType", default="Instance", choices=NEXT_HOP_TYPES, code=err.NEXT_HOP_TYPE)
    if hop_type not in MODELLED_NEXT_HOPS:
        raise err.next_hop_type_not_modelled(hop_type, ", ".join(MODELLED_NEXT_HOPS))
    hop_id = p.text("NextHopId", required=True)
    name = p.text("RouteEntryName", max_len=128)
    description = p.text("Description", max_len=256)
    table = _own_table(ctx, table_id, requested_region)
    region = table["_region"]
    _check_destination(ctx, table, dest)
    entries = ctx.tx.find("route_entry", account=ctx.uid, region=region, RouteTableId=table_id)
    busy = next((e for e in entries if e["Status"] in _UNSETTLED), None)
    if busy is not None:
        raise err.route_entry_busy(busy["RouteEntryId"], busy["Status"], table_id)
    if any(e["DestinationCidrBlock"] == dest for e in entries):
        raise err.duplicate_destination(dest, table_id)
    if sum(e["Type"] == "Custom" for e in entries) >= MAX_CUSTOM_PER_TABLE:
        raise err.route_quota(MAX_CUSTOM_PER_TABLE)
    _check_next_hop(ctx, table, hop_type, hop_id, region)
    stop_if_dry_run(p)
    rte_id = ctx.tx.new_id("rte-")
    rec = ctx.tx.insert(
        "route_entry",
        rte_id,
        ctx.uid,
        region,
        {
            "RouteEntryId": rte_id,
            "RouteTableId": table_id,
            "DestinationCidrBlock": dest,
            "Type": "Custom",
            "Status": PENDING,
            "NextHopType": hop_type,
            "NextHopId": hop_id,
            "RouteEntryName": name or "",
            "Description": description or "",
            "Origin": "CustomCreate",
            "GmtModified": iso(ctx.now),
        },
    )
    ctx.tx.schedule(rec, ctx.timing("route_entry_create"), Status=AVAILABLE)
    ctx.tx.put(rec)
    return {"RouteEntryId": rte_id}


def _own_table(ctx: Context, table_id: str, region: str | None) -> dict[str, Any]:
    table = ctx.tx.get("route_table", table_id, account=ctx.uid)
    if table is None or (region is not None and table["_region"] != region):
        raise err.route_table_not_found(table_id, region)
    return table


def _inside(
    net: ipaddress.IPv4Network | ipaddress.IPv6Network, local: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    if isinstance(net, ipaddress.IPv4Network) and isinstance(local, ipaddress.IPv4Network):
        return net.subnet_of(local)
    if isinstance(net, ipaddress.IPv6Network) and isinstance(local, ipaddress.IPv6Network):
        return net.subnet_of(local)
    return False


def _check_destination(ctx: Context, table: dict[str, Any], dest: str) -> None:
    net = ipaddress.ip_network(dest)
    if isinstance(net, ipaddress.IPv4Network) and net.subnet_of(_SHARED_ADDRESS_SPACE):
        raise err.cidr_not_allowed(dest, "100.64.0.0/10 is reserved for cloud services")
    for s in ctx.tx.find("vswitch", account=ctx.uid, region=table["_region"], VpcId=table["VpcId"]):
        local = ipaddress.ip_network(s["CidrBlock"])
        if _inside(net, local):
            raise err.cidr_not_allowed(
                dest, f"it equals or lies inside the CIDR {local} of vSwitch {s['VSwitchId']} of this VPC"
            )


def _check_next_hop(ctx: Context, table: dict[str, Any], hop_type: str, hop_id: str, region: str) -> None:
    if hop_type == "VpcPeer":
        peer = visible(ctx.tx, ctx.uid, hop_id)
        if peer is None or (region, table["VpcId"]) not in own_ends(peer, ctx.uid):
            raise peer_err.peer_not_found(f"{hop_id} is not a VPC peering connection of {table['VpcId']}")
        if peer["Status"] != ACTIVATED:
            raise peer_err.peer_not_activated(hop_id, peer["Status"])
        return
    if hop_type == "RouterInterface":
        ri = ctx.tx.get("router_interface", hop_id, account=ctx.uid)
        if ri is None or ri["_region"] != region or ri["RouterId"] != table["RouterId"]:
            raise err.next_hop_not_found(
                hop_id, f"it is not a router interface on {table['RouterId']}, the router of {table['RouteTableId']}"
            )
        if ri["Status"] != "Active":
            raise err.next_hop_not_active(hop_id, ri["Status"])
        return
    instance = ctx.tx.get("instance", hop_id, account=ctx.uid)
    if instance is None or instance["_region"] != region or instance["VpcId"] != table["VpcId"]:
        raise err.next_hop_not_found(hop_id, f"it is not an instance in {table['VpcId']}")


# -- modify ---------------------------------------------------------------------------------------------
# ModifyRouteEntry's own codes (its 2024 metadata; ``IllegealParam`` is the documented spelling).


@error("InvalidRouteEntryId.NotFound")
def modify_entry_not_found(what: str) -> str:
    return f"Specified RouteEntryId does not exist: {what}."


@error("MissingParam.RouteEntryId")
def modify_entry_unnamed() -> str:
    return (
        "The param of RouteEntryId is missing: name the entry by RouteEntryId, "
        "or by RouteTableId and DestinationCidrBlock."
    )


@error("MissingParam.NewNextHopId")
def new_next_hop_id_missing() -> str:
    return "The parameter NewNextHopId is mandatory with NewNextHopType."


@error("MissingParam.NewNextHopType")
def new_next_hop_type_missing() -> str:
    return "The parameter NewNextHopType is mandatory with NewNextHopId."


@error("IllegealParam.NextHopType")
def new_next_hop_type_illegal(value: str, why: str) -> str:
    return f'The parameter NewNextHopType is illegal: "{value}" {why}.'


@error("UnsupportedFeature.NextHopType")
def next_hop_change_unsupported(entry_id: str, why: str) -> str:
    return f"The route type does not support modifying the next hop of the route: {entry_id} {why}."


@error("OperationDenied.NextHopExist")
def same_next_hop(entry_id: str, hop: str) -> str:
    return f"The operation is not allowed because the nexthop already exists: {entry_id} already goes to {hop}."


@error("InvalidRouteEntryName.Malformed")
def entry_name_malformed() -> str:
    return (
        "Specified RouteEntry name is not valid: RouteEntryName is 1 to 128 characters, not starting with http(s)://."
    )


def modify_route_entry(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    entry_id, table_id = p.text("RouteEntryId"), p.text("RouteTableId")
    dest = p.cidr("DestinationCidrBlock")
    name, description = p.text("RouteEntryName"), p.text("Description")
    if name is not None and (len(name) > 128 or name.lower().startswith(("http://", "https://"))):
        raise entry_name_malformed()
    if description is not None and (len(description) > 256 or description.lower().startswith(("http://", "https://"))):
        raise invalid("Description", "1 to 256 characters, not starting with http:// or https://")
    new_type, new_id = p.text("NewNextHopType"), p.text("NewNextHopId")
    if new_type is not None and new_id is None:
        raise new_next_hop_id_missing()
    if new_id is not None and new_type is None:
        raise new_next_hop_type_missing()
    if new_type is not None and new_type not in NEXT_HOP_TYPES:
        raise new_next_hop_type_illegal(new_type, "is not a next-hop type; valid: " + ", ".join(NEXT_HOP_TYPES))
    if not entry_id and not (table_id and dest):
        raise modify_entry_unnamed()
    entry = _entry_to_modify(ctx, region, entry_id, table_id, dest)
    entries = ctx.tx.find("route_entry", account=ctx.uid, region=region, RouteTableId=entry["RouteTableId"])
    if new_type is not None:
        assert new_id is not None
        _check_next_hop_change(ctx, entry, new_type, new_id)
        busy = next((e for e in entries if e["Status"] in _UNSETTLED), None)
    else:
        busy = entry if entry["Status"] in _UNSETTLED else None
    if busy is not None:
        raise err.route_entry_busy(busy["RouteEntryId"], busy["Status"], entry["RouteTableId"])
    if new_type is not None:
        assert new_id is not None
        table = ctx.tx.get("route_table", entry["RouteTableId"], account=ctx.uid)
        assert table is not None
        _check_next_hop(ctx, table, new_type, new_id, region)
    stop_if_dry_run(p)
    changes = {"RouteEntryName": name, "Description": description}
    entry.update({k: v for k, v in changes.items() if v is not None}, GmtModified=iso(ctx.now))
    if new_type is not None:
        entry.update(Status=MODIFYING, NextHopType=new_type, NextHopId=new_id)
        ctx.tx.schedule(entry, ctx.timing("route_entry_modify"), Status=AVAILABLE)
    ctx.tx.put(entry)
    return {}


def _entry_to_modify(
    ctx: Context, region: str, entry_id: str | None, table_id: str | None, dest: str | None
) -> dict[str, Any]:
    if entry_id:
        entry = ctx.tx.get("route_entry", entry_id, account=ctx.uid)
        if entry is None or entry["_region"] != region:
            raise modify_entry_not_found(entry_id)
        return entry
    assert table_id is not None and dest is not None
    table = ctx.tx.get("route_table", table_id, account=ctx.uid)
    if table is None or table["_region"] != region:
        raise err.route_table_not_found_in_list(table_id, region)
    for e in ctx.tx.find("route_entry", account=ctx.uid, region=region, RouteTableId=table_id):
        if e["DestinationCidrBlock"] == dest:
            return e
    raise modify_entry_not_found(f"no entry to {dest} in {table_id}")


def _check_next_hop_change(ctx: Context, entry: dict[str, Any], new_type: str, new_id: str) -> None:
    rid = entry["RouteEntryId"]
    if entry["Type"] == "System":
        raise next_hop_change_unsupported(rid, "is the system route of a vSwitch")
    if ctx.behaviour.route_next_hop_change == "eni_and_nat" and (
        entry["NextHopType"] not in ENI_AND_NAT or new_type not in ENI_AND_NAT
    ):
        raise next_hop_change_unsupported(
            rid, f"goes to a {entry['NextHopType']}; only NetworkInterface and NatGateway next hops change in place"
        )
    if new_type not in MODELLED_NEXT_HOPS:
        modelled = ", ".join(MODELLED_NEXT_HOPS)
        raise new_next_hop_type_illegal(new_type, f"is not modelled by this emulator; modelled: {modelled}")
    if (entry["NextHopType"], entry["NextHopId"]) == (new_type, new_id):
        raise same_next_hop(rid, f"{new_type} {new_id}")


# -- delete ---------------------------------------------------------------------------------------------
def delete_route_entry(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region(required=False)
    entry_id = p.text("RouteEntryId")
    table_id = p.text("RouteTableId")
    dest = p.cidr("DestinationCidrBlock")
    hop_id = p.text("NextHopId")
    if p.has("NextHopList"):
        raise invalid("NextHopList", "ECMP routes are not modelled by this emulator; name the entry by RouteEntryId")
    if entry_id and (table_id or dest):
        given = " and ".join(n for n, v in (("RouteTableId", table_id), ("DestinationCidrBlock", dest)) if v)
        raise err.route_entry_id_exclusive(f"RouteEntryId and {given}")
    if not entry_id:
        for needed, value in (("RouteTableId", table_id), ("DestinationCidrBlock", dest)):
            if not value:
                raise missing_one_of(
                    f'"{needed}"',
                    "name the entry by RouteEntryId, or by RouteTableId and DestinationCidrBlock",
                )
    entry = _find_entry(ctx, region, entry_id, table_id, dest, hop_id)
    if entry["Type"] == "System":
        raise err.system_route(entry["RouteEntryId"])
    entries = ctx.tx.find("route_entry", account=ctx.uid, region=entry["_region"], RouteTableId=entry["RouteTableId"])
    busy = next((e for e in entries if e["Status"] in _UNSETTLED), None)
    if busy is not None:
        raise err.route_entry_busy(busy["RouteEntryId"], busy["Status"], entry["RouteTableId"])
    stop_if_dry_run(p)
    entry.update(Status=DELETING, GmtModified=iso(ctx.now))
    ctx.tx.remove(entry, ctx.timing("route_entry_delete"))
    return {}


def _find_entry(
    ctx: Context, region: str | None, entry_id: str | None, table_id: str | None, dest: str | None, hop_id: str | None
) -> dict[str, Any]:
    if entry_id:
        entry = ctx.tx.get("route_entry", entry_id, account=ctx.uid)
        if entry is not None and (region is None or entry["_region"] == region):
            return entry
        raise err.route_entry_not_found(entry_id)
    assert table_id is not None and dest is not None  # checked by the caller
    table = _own_table(ctx, table_id, region)
    for e in ctx.tx.find("route_entry", account=ctx.uid, region=table["_region"], RouteTableId=table_id):
        if e["DestinationCidrBlock"] == dest and (hop_id is None or e["NextHopId"] == hop_id):
            return e
    raise err.route_entry_not_found(f"no entry to {dest}" + (f" via {hop_id}" if hop_id else "") + f" in {table_id}")


# -- list ---------------------------------------------------------------------------------------------------
def describe_route_entry_list(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    table_id = p.text("RouteTableId", required=True)
    query = {
        "RouteTableId": table_id,
        "RouteEntryId": p.text("RouteEntryId"),
        "RouteEntryName": p.text("RouteEntryName"),
        "RouteEntryType": p.text("RouteEntryType", choices=ENTRY_TYPES, code=err.ROUTE_ENTRY_TYPE),
        "DestinationCidrBlock": p.cidr("DestinationCidrBlock"),
        "DestCidrBlockList": [
            _normalised(v, f"DestCidrBlockList.{n}")
            for n, v in enumerate(p.sequence("DestCidrBlockList", max_items=MAX_DEST_CIDRS), start=1)
        ],
        "IpVersion": p.text("IpVersion", choices=("ipv4", "ipv6"), code=err.IP_VERSION),
        "NextHopId": p.text("NextHopId"),
        "NextHopType": p.text("NextHopType"),
        "ServiceType": p.text("ServiceType"),
    }
    table = ctx.tx.get("route_table", table_id, account=ctx.uid)
    if table is None or table["_region"] != region:
        raise err.route_table_not_found_in_list(table_id, region)
    matched = [
        e
        for e in ctx.tx.find("route_entry", account=ctx.uid, region=region, RouteTableId=table_id)
        if _matches(e, query)
    ]
    page, token = by_token(matched, p, query, max_size=500, default_size=100)
    return {
        "NextToken": token,
        "TotalCount": len(matched),
        "RouteEntrys": {"RouteEntry": [_item(ctx, e) for e in page]},
    }


def _normalised(value: Any, name: str) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise CIDR_MALFORMED(f'Specified {name} "{value}" is not a valid CIDR block.') from None


def _ip_version(e: dict[str, Any]) -> str:
    return f"ipv{ipaddress.ip_network(e['DestinationCidrBlock']).version}"


def _matches(e: dict[str, Any], q: dict[str, Any]) -> bool:
    plain = {
        "RouteEntryId": "RouteEntryId",
        "RouteEntryName": "RouteEntryName",
        "RouteEntryType": "Type",
        "DestinationCidrBlock": "DestinationCidrBlock",
        "NextHopId": "NextHopId",
        "NextHopType": "NextHopType",
    }
    return (
        all(q[k] is None or e[field] == q[k] for k, field in plain.items())
        and (not q["DestCidrBlockList"] or e["DestinationCidrBlock"] in q["DestCidrBlockList"])
        and (q["IpVersion"] is None or _ip_version(e) == q["IpVersion"])
        and q["ServiceType"] is None
    )  # no modelled entry has a service type


def _item(ctx: Context, e: dict[str, Any]) -> dict[str, Any]:
    return {
        "RouteEntryId": e["RouteEntryId"],
        "RouteEntryName": e["RouteEntryName"],
        "RouteTableId": e["RouteTableId"],
        "DestinationCidrBlock": e["DestinationCidrBlock"],
        "Type": e["Type"],
        "Status": e["Status"],
        "IpVersion": _ip_version(e),
        "Origin": e["Origin"],
        "Description": e["Description"],
        "GmtModified": e["GmtModified"],
        "ServiceType": "",
        "NextHops": {"NextHop": [_next_hop(ctx, e)]},
    }


def _next_hop(ctx: Context, e: dict[str, Any]) -> dict[str, Any]:
    hop: dict[str, Any] = {"NextHopType": e["NextHopType"], "NextHopId": e["NextHopId"]}
    if e["NextHopType"] != "RouterInterface":
        return hop
    ri = ctx.tx.get("router_interface", e["NextHopId"], account=ctx.uid) or {}
    linked = bool(ri.get("OppositeVpcInstanceId"))  # filled in by ConnectRouterInterface
    hop.update(
        Enabled=1 if ri.get("Status") == "Active" else 0,
        Weight=100,
        NextHopRegionId=ri.get("OppositeRegionId", ""),
        NextHopRelatedInfo={
            "InstanceId": ri["OppositeVpcInstanceId"] if linked else "",
            "InstanceType": "VPC" if linked else "",
            "RegionId": ri["OppositeRegionId"] if linked else "",
        },
    )
    return hop
