"""VPC 2016-04-28: the action table, and the describes of the seeded network (regions, VPCs,
vSwitches, route tables).

Router interfaces live in ``router_interfaces.py`` and ``router_interface_links.py``, route tables
and VRouters in ``route_tables.py``, route entries in ``route_entries.py`` (the VPC peering
connections a route may go through are the VpcPeer product's, ``vpcpeer.py``); every error is a named
constructor of ``vpc_errors.py`` and each action below declares the ones it may raise.
Every describe lists only the caller's resources in the requested region; a ``VpcId`` of another
account reads like one that does not exist. Lists are never omitted: an empty result is an empty
list inside its container, so SDK models never hand ``None`` to a client.

Every filter the API metadata documents for DescribeVpcs and DescribeVSwitches filters
(``Tag.N``, ``DhcpOptionsSetId``, ``EnableIpv6`` included: no VPC of the emulator has a DHCP
options set or IPv6, so those match only their absence). DescribeVpcs takes at most 20 IDs in
``VpcId`` (``InvalidVpcIdNumber.NotSupported``, metadata).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..context import Action, Context
from ..errors import DRY_RUN, INVALID_PARAMETER, MISSING_PARAMETER, REGION_NOT_FOUND, missing_one_of
from ..params import CIDR_MALFORMED, Params
from ..regions import REGIONS, vpc_endpoint
from . import route_entries, route_tables, router_interface_links, router_interfaces
from . import vpc_errors as err
from . import vpcpeer_errors as peer_err
from .catalog import action
from .dry_run import stop_if_dry_run
from .paging import by_page_number
from .tags import tag_filter, tagged, tags_of

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
    wanted_ids = _vpc_ids(p, limit=20)
    name = p.text("VpcName")
    is_default = p.flag("IsDefault") if p.has("IsDefault") else None
    owner = p.integer("VpcOwnerId")
    group = p.text("ResourceGroupId")
    dhcp = p.text("DhcpOptionsSetId")
    ipv6 = p.flag("EnableIpv6") if p.has("EnableIpv6") else None
    tags = tag_filter(p, max_items=20)
    stop_if_dry_run(p)
    vpcs = [
        v
        for v in ctx.tx.find("vpc", account=ctx.uid, region=region)
        if (not wanted_ids or v["VpcId"] in wanted_ids)
        and (name is None or v.get("VpcName") == name)
        and (is_default is None or bool(v.get("IsDefault")) == is_default)
        and (owner is None or str(owner) == ctx.uid)
        and (group is None or v.get("ResourceGroupId", "") == group)
        and (dhcp is None or v.get("DhcpOptionsSetId", "") == dhcp)
        and (ipv6 is None or bool(v.get("EnabledIpv6")) == ipv6)
        and tagged(v, tags)
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
        "Tags": {"Tag": [{"Key": k, "Value": t} for k, t in tags_of(v).items()]},
    }


def describe_vpc_attribute(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    vpc_id = p.text("VpcId", required=True)
    stop_if_dry_run(p)
    v = ctx.tx.get("vpc", vpc_id, account=ctx.uid)
    if v is None or v["_region"] != region:
        raise err.vpc_not_found(vpc_id, region)
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
        raise missing_one_of('"RegionId" or "VpcId"')
    vsw_id = p.text("VSwitchId")
    name = p.text("VSwitchName")
    zone = p.text("ZoneId")
    table = p.text("RouteTableId")
    is_default = p.flag("IsDefault") if p.has("IsDefault") else None
    owner = p.integer("VSwitchOwnerId")
    group = p.text("ResourceGroupId")
    ipv6 = p.flag("EnableIpv6") if p.has("EnableIpv6") else None
    tags = tag_filter(p, max_items=20)
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
        and (ipv6 is None or bool(s.get("EnabledIpv6")) == ipv6)
        and tagged(s, tags)
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
        "Tags": {"Tag": [{"Key": k, "Value": t} for k, t in tags_of(s).items()]},
    }


def _vpc_ids(p: Params, limit: int) -> list[str]:
    raw = p.text("VpcId")
    if raw is None:
        return []
    items = [x.strip() for x in raw.split(",") if x.strip()]
    if len(items) > limit:
        raise err.too_many_vpc_ids(limit, len(items))
    return items


# The errors of each action: shared groups first, then the action's own.
REGION = (MISSING_PARAMETER, REGION_NOT_FOUND)  # ``Context.region``
PARAMS = (MISSING_PARAMETER, INVALID_PARAMETER)  # ``Params`` getters and list limits
RI_LOOKUP = (err.router_interface_not_found,)
NAMING = (err.name_malformed, err.description_malformed)
PEER_HOP = (peer_err.peer_not_found, peer_err.peer_not_activated)  # a VpcPeer next hop

ACTIONS: dict[str, Action] = {
    "DescribeRegions": action(describe_regions),
    "DescribeVpcs": action(describe_vpcs, REGION, PARAMS, DRY_RUN, err.too_many_vpc_ids),
    "DescribeVpcAttribute": action(describe_vpc_attribute, REGION, PARAMS, DRY_RUN, err.vpc_not_found),
    "DescribeVSwitches": action(describe_vswitches, REGION, PARAMS, DRY_RUN),
    "DescribeRouteTableList": action(route_tables.describe_route_table_list, REGION, PARAMS),
    "DescribeRouteTables": action(route_tables.describe_route_tables, REGION, PARAMS, err.vrouter_not_found),
    "DescribeVRouters": action(route_tables.describe_vrouters, REGION, PARAMS),
    "DescribeRouteEntryList": action(
        route_entries.describe_route_entry_list,
        REGION,
        PARAMS,
        CIDR_MALFORMED,
        err.ROUTE_ENTRY_TYPE,
        err.IP_VERSION,
        err.route_table_not_found_in_list,
        err.illegal_next_token,
    ),
    "CreateRouteEntry": action(
        route_entries.create_route_entry,
        REGION,
        PARAMS,
        DRY_RUN,
        CIDR_MALFORMED,
        err.next_hop_and_list,
        err.NEXT_HOP_TYPE,
        err.route_table_not_found,
        err.cidr_not_allowed,
        err.route_entry_busy,
        err.duplicate_destination,
        err.route_quota,
        err.next_hop_not_found,
        err.next_hop_not_active,
        PEER_HOP,
        mutating=True,
    ),
    "ModifyRouteEntry": action(
        route_entries.modify_route_entry,
        REGION,
        PARAMS,
        DRY_RUN,
        CIDR_MALFORMED,
        route_entries.entry_name_malformed,
        route_entries.new_next_hop_id_missing,
        route_entries.new_next_hop_type_missing,
        route_entries.new_next_hop_type_illegal,
        route_entries.modify_entry_unnamed,
        route_entries.modify_entry_not_found,
        err.route_table_not_found_in_list,
        route_entries.next_hop_change_unsupported,
        route_entries.same_next_hop,
        err.route_entry_busy,
        err.next_hop_not_found,
        err.next_hop_not_active,
        PEER_HOP,
        mutating=True,
    ),
    "DeleteRouteEntry": action(
        route_entries.delete_route_entry,
        REGION,
        PARAMS,
        DRY_RUN,
        CIDR_MALFORMED,
        err.route_entry_id_exclusive,
        err.route_table_not_found,
        err.route_entry_not_found,
        err.system_route,
        err.route_entry_busy,
        mutating=True,
    ),
    "CreateRouterInterface": action(
        router_interfaces.create_router_interface,
        REGION,
        PARAMS,
        NAMING,
        err.ROLE_UNSUPPORTED,
        err.ROUTER_TYPE_UNSUPPORTED,
        err.OPPOSITE_ROUTER_TYPE_UNSUPPORTED,
        err.SPEC_ON_CREATE,
        err.CHARGE_TYPE,
        err.opposite_region_not_found,
        err.invalid_aliuid,
        err.spec_not_for_role,
        err.accepting_side_prepaid,
        err.router_not_found,
        err.too_many_interfaces,
        mutating=True,
    ),
    "DescribeRouterInterfaces": action(
        router_interfaces.describe_router_interfaces, REGION, PARAMS, err.filter_key_unsupported
    ),
    "DescribeRouterInterfaceAttribute": action(
        router_interfaces.describe_router_interface_attribute, REGION, PARAMS, RI_LOOKUP
    ),
    "ModifyRouterInterfaceAttribute": action(
        router_interfaces.modify_router_interface_attribute,
        REGION,
        PARAMS,
        NAMING,
        RI_LOOKUP,
        err.OPPOSITE_ROUTER_TYPE_UNSUPPORTED,
        err.invalid_aliuid,
        err.health_check_conflict,
        err.ri_incorrect_status,
        mutating=True,
    ),
    "ModifyRouterInterfaceSpec": action(
        router_interfaces.modify_router_interface_spec,
        REGION,
        PARAMS,
        RI_LOOKUP,
        err.SPEC_ON_MODIFY,
        err.spec_not_for_role_on_modify,
        err.ri_status_error,
        mutating=True,
    ),
    "ConnectRouterInterface": action(
        router_interface_links.connect_router_interface,
        REGION,
        PARAMS,
        RI_LOOKUP,
        err.not_initiating_side,
        err.ri_status,
        err.opposite_not_set,
        err.opposite_info,
        err.only_one_connection,
        mutating=True,
    ),
    "ActivateRouterInterface": action(
        router_interface_links.activate_router_interface,
        REGION,
        PARAMS,
        RI_LOOKUP,
        err.ri_status,
        err.opposite_deleted,
        mutating=True,
    ),
    "DeactivateRouterInterface": action(
        router_interface_links.deactivate_router_interface, REGION, PARAMS, RI_LOOKUP, err.ri_status, mutating=True
    ),
    "DeleteRouterInterface": action(
        router_interfaces.delete_router_interface,
        REGION,
        PARAMS,
        err.instance_id_not_found,
        err.ri_status_error,
        err.referred_by_route_entry,
        mutating=True,
    ),
}
