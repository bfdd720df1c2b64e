"""VPC 2016-04-28: the action table, and the describes of the seeded network (regions, VPCs,
vSwitches, route tables).

Router interfaces live in ``router_interfaces.py`` and ``router_interface_links.py``, route entries
in ``route_entries.py``.
Every describe lists only the caller's resources in the requested region; a ``VpcId`` of another
account reads like one that does not exist. Lists are never omitted: an empty result is an empty
list inside its container, so SDK models never hand ``None`` to a client.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..context import Action, Context
from ..errors import ApiError, invalid
from ..params import Params
from ..regions import REGIONS, vpc_endpoint
from . import route_entries, router_interface_links, router_interfaces
from .dry_run import stop_if_dry_run
from .paging import by_page_number

# The first address and the last three of a vSwitch CIDR are reserved by the platform.
_RESERVED_PER_VSWITCH = 4


def describe_regions(ctx: Context, p: Params) -> dict[str, Any]:
    return {
        "Regions": {
            "Region": [
                {"RegionId": r, "LocalName": name, "RegionEndpoint": vpc_endpoint(r)} for r, name in REGIONS.items()
            ]
        }
    }


# -- VPCs ------------------------------------------------------------------------------------------
def describe_vpcs(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    wanted_ids = _comma_list(p, "VpcId", limit=20)
    name = p.text("VpcName")
    is_default = p.flag("IsDefault") if p.has("IsDefault") else None
    owner = p.integer("VpcOwnerId")
    group = p.text("ResourceGroupId")
    stop_if_dry_run(p)
    vpcs = [
        v
        for v in ctx.tx.find("vpc", account=ctx.uid, region=region)
        if (not wanted_ids or v["VpcId"] in wanted_ids)
        and (name is None or v.get("VpcName") == name)
        and (is_default is None or bool(v.get("IsDefault")) == is_default)
        and (owner is None or str(owner) == ctx.uid)
        and (group is None or v.get("ResourceGroupId", "") == group)
    ]
    page, counts = by_page_number(vpcs, p)
    return dict(counts, Vpcs={"Vpc": [_vpc_item(ctx, v) for v in page]})


def _vpc_item(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    return {
        "VpcId": v["VpcId"],
        "VpcName": v.get("VpcName", ""),
        "RegionId": v["RegionId"],
        "Status": v["Status"],
        "CidrBlock": v["CidrBlock"],
        "VRouterId": v["VRouterId"],
        "IsDefault": bool(v.get("IsDefault")),
        "CreationTime": v["CreationTime"],
        "Description": v.get("Description", ""),
        "OwnerId": int(ctx.uid),
        "ResourceGroupId": v.get("ResourceGroupId", ""),
        "EnabledIpv6": False,
        "Ipv6CidrBlock": "",
        "CenStatus": "",
        "DhcpOptionsSetId": "",
        "DhcpOptionsSetStatus": "",
        "DnsHostnameStatus": "DISABLED",
        "VSwitchIds": {"VSwitchId": _vswitch_ids(ctx, v)},
        "RouterTableIds": {"RouterTableIds": [v["RouteTableId"]]},
        "UserCidrs": {"UserCidr": []},
        "SecondaryCidrBlocks": {"SecondaryCidrBlock": []},
        "NatGatewayIds": {"NatGatewayIds": []},
        "Ipv6CidrBlocks": {"Ipv6CidrBlock": []},
        "Tags": {"Tag": []},
    }


def describe_vpc_attribute(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    vpc_id = p.text("VpcId", required=True)
    stop_if_dry_run(p)
    v = ctx.tx.get("vpc", vpc_id, account=ctx.uid)
    if v is None or v["_region"] != region:
        raise ApiError(
            "InvalidVpcId.NotFound",
            f'Specified value of VpcId "{vpc_id}" is not found in our record (region {region}).',
            404,
        )
    vswitches = _vswitch_ids(ctx, v)
    instances = ctx.tx.find("instance", account=ctx.uid, region=region, VpcId=vpc_id)
    return {
        "VpcId": v["VpcId"],
        "VpcName": v.get("VpcName", ""),
        "RegionId": v["RegionId"],
        "Status": v["Status"],
        "CidrBlock": v["CidrBlock"],
        "VRouterId": v["VRouterId"],
        "CreationTime": v["CreationTime"],
        "Description": v.get("Description", ""),
        "IsDefault": bool(v.get("IsDefault")),
        "ClassicLinkEnabled": False,
        "OwnerId": int(ctx.uid),
        "ResourceGroupId": v.get("ResourceGroupId", ""),
        "VSwitchIds": {"VSwitchId": vswitches},
        "UserCidrs": {"UserCidr": []},
        "SecondaryCidrBlocks": {"SecondaryCidrBlock": []},
        "Ipv6CidrBlocks": {"Ipv6CidrBlock": []},
        "CloudResources": {
            "CloudResourceSetType": [
                {"ResourceType": "VSwitch", "ResourceCount": len(vswitches)},
                {"ResourceType": "VRouter", "ResourceCount": 1},
                {"ResourceType": "RouteTable", "ResourceCount": 1},
                {"ResourceType": "ECS", "ResourceCount": len(instances)},
            ]
        },
        "AssociatedCens": {"AssociatedCen": []},
        "AssociatedPropagationSources": {"AssociatedPropagationSources": []},
        "DhcpOptionsSetId": "",
        "DhcpOptionsSetStatus": "",
        "DnsHostnameStatus": "DISABLED",
        "EnabledIpv6": False,
        "Ipv6CidrBlock": "",
        "Ipv4GatewayId": "",
        "SupportIpv4Gateway": True,
        "Tags": {"Tag": []},
    }


def _vswitch_ids(ctx: Context, v: dict[str, Any]) -> list[str]:
    return [s["VSwitchId"] for s in ctx.tx.find("vswitch", account=ctx.uid, region=v["_region"], VpcId=v["VpcId"])]


# -- vSwitches --------------------------------------------------------------------------------------
def describe_vswitches(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region(required=False)
    vpc_id = p.text("VpcId")
    if region is None and vpc_id is None:
        raise ApiError(
            "MissingParameter",
            'The input parameter "RegionId" or "VpcId" that is mandatory for processing this request is not supplied.',
        )
    vsw_id = p.text("VSwitchId")
    name = p.text("VSwitchName")
    zone = p.text("ZoneId")
    table = p.text("RouteTableId")
    is_default = p.flag("IsDefault") if p.has("IsDefault") else None
    owner = p.integer("VSwitchOwnerId")
    group = p.text("ResourceGroupId")
    stop_if_dry_run(p)
    found = [
        s
        for s in ctx.tx.find("vswitch", account=ctx.uid, region=region)
        if (vpc_id is None or s["VpcId"] == vpc_id)
        and (vsw_id is None or s["VSwitchId"] == vsw_id)
        and (name is None or s.get("VSwitchName") == name)
        and (zone is None or s["ZoneId"] == zone)
        and (table is None or s.get("RouteTableId") == table)
        and (is_default is None or bool(s.get("IsDefault")) == is_default)
        and (owner is None or str(owner) == ctx.uid)
        and (group is None or s.get("ResourceGroupId", "") == group)
    ]
    page, counts = by_page_number(found, p)
    return dict(counts, VSwitches={"VSwitch": [_vswitch_item(ctx, s) for s in page]})


def _vswitch_item(ctx: Context, s: dict[str, Any]) -> dict[str, Any]:
    table = ctx.tx.get("route_table", s.get("RouteTableId"), account=ctx.uid)
    used = len(ctx.tx.find("instance", account=ctx.uid, region=s["_region"], VSwitchId=s["VSwitchId"]))
    size = ipaddress.ip_network(s["CidrBlock"]).num_addresses
    return {
        "VSwitchId": s["VSwitchId"],
        "VSwitchName": s.get("VSwitchName", ""),
        "VpcId": s["VpcId"],
        "ZoneId": s["ZoneId"],
        "CidrBlock": s["CidrBlock"],
        "Status": s["Status"],
        "AvailableIpAddressCount": max(0, size - _RESERVED_PER_VSWITCH - used),
        "IsDefault": bool(s.get("IsDefault")),
        "CreationTime": s["CreationTime"],
        "Description": s.get("Description", ""),
        "OwnerId": int(ctx.uid),
        "ResourceGroupId": s.get("ResourceGroupId", ""),
        "NetworkAclId": "",
        "ShareType": "Sharing",
        "EnabledIpv6": False,
        "Ipv6CidrBlock": "",
        "RouteTable": {
            "RouteTableId": s.get("RouteTableId", ""),
            "RouteTableType": table["RouteTableType"] if table else "",
        },
        "Tags": {"Tag": []},
    }


# -- route tables ---------------------------------------------------------------------------------
def describe_route_table_list(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    vpc_id = p.text("VpcId")
    router_id = p.text("RouterId")
    requested_type = p.text("RouterType", default="VRouter", choices=("VRouter", "VBR"))
    router_type = "VRouter" if vpc_id else requested_type  # naming a VPC forces VRouter, as documented
    table_id = p.text("RouteTableId")
    name = p.text("RouteTableName")
    table_type = p.text("RouteTableType", choices=("System", "Custom"))
    group = p.text("ResourceGroupId")
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
    ]
    page, counts = by_page_number(tables, p)
    return dict(counts, RouterTableList={"RouterTableListType": [_table_item(ctx, t) for t in page]})


def _table_item(ctx: Context, t: dict[str, Any]) -> dict[str, Any]:
    vswitches = [
        s["VSwitchId"]
        for s in ctx.tx.find("vswitch", account=ctx.uid, region=t["_region"], RouteTableId=t["RouteTableId"])
    ]
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
        "VSwitchIds": {"VSwitchId": vswitches},
        "GatewayIds": {"GatewayIds": []},
        "Tags": {"Tag": []},
    }


def _comma_list(p: Params, name: str, limit: int) -> list[str]:
    raw = p.text(name)
    if raw is None:
        return []
    items = [x.strip() for x in raw.split(",") if x.strip()]
    if len(items) > limit:
        raise invalid(name, f"at most {limit} comma-separated IDs, got {len(items)}")
    return items


ACTIONS: dict[str, Action] = {
    "DescribeRegions": Action(describe_regions),
    "DescribeVpcs": Action(describe_vpcs),
    "DescribeVpcAttribute": Action(describe_vpc_attribute),
    "DescribeVSwitches": Action(describe_vswitches),
    "DescribeRouteTableList": Action(describe_route_table_list),
    "DescribeRouteEntryList": Action(route_entries.describe_route_entry_list),
    "CreateRouteEntry": Action(route_entries.create_route_entry, mutating=True),
    "DeleteRouteEntry": Action(route_entries.delete_route_entry, mutating=True),
    "CreateRouterInterface": Action(router_interfaces.create_router_interface, mutating=True),
    "DescribeRouterInterfaces": Action(router_interfaces.describe_router_interfaces),
    "DescribeRouterInterfaceAttribute": Action(router_interfaces.describe_router_interface_attribute),
    "ModifyRouterInterfaceAttribute": Action(router_interfaces.modify_router_interface_attribute, mutating=True),
    "ModifyRouterInterfaceSpec": Action(router_interfaces.modify_router_interface_spec, mutating=True),
    "ConnectRouterInterface": Action(router_interface_links.connect_router_interface, mutating=True),
    "ActivateRouterInterface": Action(router_interface_links.activate_router_interface, mutating=True),
    "DeactivateRouterInterface": Action(router_interface_links.deactivate_router_interface, mutating=True),
    "DeleteRouterInterface": Action(router_interfaces.delete_router_interface, mutating=True),
}
