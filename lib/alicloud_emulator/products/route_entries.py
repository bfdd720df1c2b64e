"""Route entries of a VPC's route table: create, delete, list.

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
  must be ``Active``: ``IncorrectStatus.RouterInterface`` otherwise) and ``Instance`` (an ECS
  instance of the caller in this VPC). Any other documented type, and ECMP ``NextHopList``, is
  refused with a message saying so. ``NextHopType`` defaults to ``Instance`` as documented.
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
  ``NextHopRegionId``/``NextHopRelatedInfo``; these values are inferred, not recorded.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..context import Context
from ..errors import invalid, missing_one_of
from ..params import CIDR_MALFORMED, Params
from ..timefmt import iso
from . import vpc_errors as err
from .dry_run import stop_if_dry_run
from .paging import by_token

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
MODELLED_NEXT_HOPS = ("RouterInterface", "Instance")
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
