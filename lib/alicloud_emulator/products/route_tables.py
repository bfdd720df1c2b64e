"""Route tables and VRouters of the caller's VPCs: DescribeRouteTableList, and the deprecated but
still documented DescribeRouteTables and DescribeVRouters.

Each VPC has one VRouter and one system route table (``products/__init__.py``), so a VRouter is
read from its VPC record. Sources: the API metadata of VPC 2016-04-28 (api.aliyun.com, vendored
under ``tests/data/api_metadata``) for parameters, paging and response fields, and
terraform-provider-alicloud (``service_alicloud_vpc.go``: ``QueryRouteTableById``,
``DescribeRouteEntry``), which reads and waits on route entries only through DescribeRouteTables,
so its pending entries are listed with their state.

* DescribeRouteTableList: ``RegionId`` required; naming a ``VpcId`` forces ``RouterType=VRouter``.
* DescribeRouteTables: at least one of ``VRouterId``, ``RouterId``, ``RouteTableId`` and
  ``RouteTableName``, and not both ``VRouterId`` and ``RouterId`` (metadata); ``RegionId`` is
  optional (without it, every region of the caller). A ``VRouterId``/``RouterId`` that is not a
  VRouter of the caller is ``InvalidVRouterId.NotFound``; other filters that match nothing give an
  empty page. ``Type`` filters the listed entries by route type. Each entry carries its next hop as
  ``InstanceId``/``NextHopType`` and in ``NextHops`` (weight 100, enabled while its router
  interface is Active, or its VPC peering connection carries traffic).
* DescribeVRouters: ``RegionId`` required, optional ``VRouterId``.
* A value outside a documented choice (``RouterType``, ``RouteTableType``, ``Type``) is
  ``InvalidParameter``: the metadata documents no code of its own for these.
* All three page by ``PageNumber`` (default 1) and ``PageSize`` (default 10, at most 50).
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..errors import INVALID_PARAMETER, invalid, missing_one_of
from ..params import Params
from . import vpc_errors as err
from .paging import by_page_number
from .route_entries import ENTRY_TYPES
from .tags import tag_filter, tagged
from .vpcpeer_records import carries_traffic, visible

ROUTER_TYPES = ("VRouter", "VBR")


# -- DescribeRouteTableList -------------------------------------------------------------------------------
def describe_route_table_list(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    vpc_id = p.text("VpcId")
    router_id = p.text("RouterId")
    requested_type = p.text("RouterType", default="VRouter", choices=ROUTER_TYPES, code=INVALID_PARAMETER)
    router_type = "VRouter" if vpc_id else requested_type  # naming a VPC forces VRouter, as documented
    table_id = p.text("RouteTableId")
    name = p.text("RouteTableName")
    table_type = p.text("RouteTableType", choices=("System", "Custom"), code=INVALID_PARAMETER)
    group = p.text("ResourceGroupId")
    tags = tag_filter(p, max_items=20)
    tables = [
        t
        for t in ctx.tx.find("route_table", account=ctx.uid, region=region)
        if t["RouterType"] == router_type
        and (vpc_id is None or t["VpcId"] == vpc_id)
        and (router_id is None or t["RouterId"] == router_id)
        and (table_id is None or t["RouteTableId"] == table_id)
        and (name is None or t.get("RouteTableName") == name)
        and (table_type is None or t["RouteTableType"] == table_type)
        and (group is None or t.get("ResourceGroupId", "") == group)
        and tagged(t, tags)
    ]
    page, counts = by_page_number(tables, p)
    return dict(counts, RouterTableList={"RouterTableListType": [_table_list_item(ctx, t) for t in page]})


def _table_list_item(ctx: Context, t: dict[str, Any]) -> dict[str, Any]:
    return {
        "RouteTableId": t["RouteTableId"],
        "RouteTableName": t.get("RouteTableName", ""),
        "RouteTableType": t["RouteTableType"],
        "RouterId": t["RouterId"],
        "RouterType": t["RouterType"],
        "VpcId": t["VpcId"],
        "Status": t["Status"],
        "CreationTime": t["CreationTime"],
        "Description": t.get("Description", ""),
        "ResourceGroupId": t.get("ResourceGroupId", ""),
        "AssociateType": "VSwitch",
        "RoutePropagationEnable": True,
        "OwnerId": int(ctx.uid),
        "VSwitchIds": {"VSwitchId": _vswitches_of(ctx, t)},
        "GatewayIds": {"GatewayIds": []},
        "Tags": {"Tag": [{"Key": k, "Value": v} for k, v in (t.get("Tags") or {}).items()]},
    }


def _vswitches_of(ctx: Context, t: dict[str, Any]) -> list[str]:
    return [
        s["VSwitchId"]
        for s in ctx.tx.find("vswitch", account=ctx.uid, region=t["_region"], RouteTableId=t["RouteTableId"])
    ]


# -- DescribeRouteTables ----------------------------------------------------------------------------------
def describe_route_tables(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region(required=False)
    vrouter_id, router_id = p.text("VRouterId"), p.text("RouterId")
    table_id, name = p.text("RouteTableId"), p.text("RouteTableName")
    router_type = p.text("RouterType", default="VRouter", choices=ROUTER_TYPES, code=INVALID_PARAMETER)
    entry_type = p.text("Type", choices=ENTRY_TYPES, code=INVALID_PARAMETER)
    group = p.text("ResourceGroupId")
    if not (vrouter_id or router_id or table_id or name):
        raise missing_one_of('"VRouterId", "RouterId", "RouteTableId" or "RouteTableName"', "give at least one")
    if vrouter_id and router_id:
        raise invalid("RouterId", "give either VRouterId or RouterId, not both")
    router = vrouter_id or router_id
    if router is not None and router_type == "VRouter":
        vpcs = ctx.tx.find("vpc", account=ctx.uid, region=region, VRouterId=router)
        if not vpcs:
            raise err.vrouter_not_found(router, region or "any region")
    tables = [
        t
        for t in ctx.tx.find("route_table", account=ctx.uid, region=region)
        if t["RouterType"] == router_type
        and (router is None or t["RouterId"] == router)
        and (table_id is None or t["RouteTableId"] == table_id)
        and (name is None or t.get("RouteTableName") == name)
        and (group is None or t.get("ResourceGroupId", "") == group)
    ]
    page, counts = by_page_number(tables, p)
    return dict(counts, RouteTables={"RouteTable": [_table(ctx, t, entry_type) for t in page]})


def _table(ctx: Context, t: dict[str, Any], entry_type: str | None) -> dict[str, Any]:
    entries = [
        e
        for e in ctx.tx.find("route_entry", account=ctx.uid, region=t["_region"], RouteTableId=t["RouteTableId"])
        if entry_type is None or e["Type"] == entry_type
    ]
    return {
        "RouteTableId": t["RouteTableId"],
        "RouteTableType": t["RouteTableType"],
        "VRouterId": t["RouterId"],
        "Status": t["Status"],
        "CreationTime": t["CreationTime"],
        "ResourceGroupId": t.get("ResourceGroupId", ""),
        "VSwitchIds": {"VSwitchId": _vswitches_of(ctx, t)},
        "RouteEntrys": {"RouteEntry": [_entry(ctx, e) for e in entries]},
    }


def _entry(ctx: Context, e: dict[str, Any]) -> dict[str, Any]:
    hop: dict[str, Any] = {"NextHopType": e["NextHopType"], "NextHopId": e["NextHopId"], "Weight": 100, "Enabled": 1}
    if e["NextHopType"] == "RouterInterface":
        ri = ctx.tx.get("router_interface", e["NextHopId"], account=ctx.uid)
        hop["Enabled"] = 1 if ri and ri["Status"] == "Active" else 0
    elif e["NextHopType"] == "VpcPeer":
        peer = visible(ctx.tx, ctx.uid, e["NextHopId"])
        hop["Enabled"] = 1 if peer and carries_traffic(peer) else 0
    return {
        "RouteEntryId": e["RouteEntryId"],
        "RouteEntryName": e["RouteEntryName"],
        "RouteTableId": e["RouteTableId"],
        "DestinationCidrBlock": e["DestinationCidrBlock"],
        "Type": e["Type"],
        "Status": e["Status"],
        "NextHopType": e["NextHopType"],
        "InstanceId": "" if e["NextHopType"] == "local" else e["NextHopId"],
        "Description": e["Description"],
        "NextHops": {"NextHop": [] if e["NextHopType"] == "local" else [hop]},
    }


# -- DescribeVRouters -------------------------------------------------------------------------------------
def describe_vrouters(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    wanted = p.text("VRouterId")
    vpcs = [v for v in ctx.tx.find("vpc", account=ctx.uid, region=region) if wanted is None or v["VRouterId"] == wanted]
    page, counts = by_page_number(vpcs, p)
    return dict(
        counts,
        VRouters={
            "VRouter": [
                {
                    "VRouterId": v["VRouterId"],
                    "VRouterName": "",
                    "VpcId": v["VpcId"],
                    "RegionId": v["RegionId"],
                    "CreationTime": v["CreationTime"],
                    "Description": "",
                    "RouteTableIds": {"RouteTableId": [v["RouteTableId"]]},
                }
                for v in page
            ]
        },
    )
