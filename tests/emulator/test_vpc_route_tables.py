"""DescribeRouteTables and DescribeVRouters: deprecated, still documented VPC 2016-04-28 actions.

terraform-provider-alicloud's ``alicloud_route_entry`` reads and waits on route entries only
through DescribeRouteTables (``service_alicloud_vpc.go``: ``QueryRouteTableById``,
``DescribeRouteEntry``), so a real client pointed at the emulator needs them. Filters, paging and
response fields follow the API metadata (``tests/data/api_metadata/vpc-2016-04-28.json``); the
official V2 SDK still models DescribeRouteTables, DescribeVRouters only the legacy SDK has.
"""

from __future__ import annotations

import json

from alibabacloud_vpc20160428 import models as m
from aliyunsdkvpc.request.v20160428.DescribeVRoutersRequest import DescribeVRoutersRequest

from .conftest import Side
from .support import legacy_client
from .vpc_helpers import (
    INSTANCE1,
    VPC1,
    VRT1,
    VRT2,
    VSW1,
    VTB1,
    VTB2,
    add_route,
    api_message,
    call,
    configured_pair,
    connect,
    expect_error,
)


def route_tables(side: Side, **query: object) -> dict:
    return call(side.vpc, "describe_route_tables", m.DescribeRouteTablesRequest(**query))


def test_a_table_by_id_or_router_lists_its_entries(emu, a, b):
    ri_a, _ = configured_pair(a, b)
    connect(a, ri_a)
    route = add_route(a, VTB1, "172.16.0.0/16", ri_a)
    by_id = route_tables(a, region_id=a.region, route_table_id=VTB1)
    by_router = route_tables(a, region_id=a.region, vrouter_id=VRT1)
    assert by_id == dict(by_router, RequestId=by_id["RequestId"])
    assert (by_id["TotalCount"], by_id["PageNumber"], by_id["PageSize"]) == (1, 1, 10)
    (table,) = by_id["RouteTables"]["RouteTable"]
    assert (table["RouteTableId"], table["VRouterId"], table["RouteTableType"], table["Status"]) == (
        VTB1,
        VRT1,
        "System",
        "Available",
    )
    assert table["VSwitchIds"] == {"VSwitchId": [VSW1]}
    entries = {e["RouteEntryId"]: e for e in table["RouteEntrys"]["RouteEntry"]}
    custom = entries[route]
    assert (custom["Type"], custom["Status"], custom["DestinationCidrBlock"]) == (
        "Custom",
        "Available",
        "172.16.0.0/16",
    )
    assert (custom["NextHopType"], custom["InstanceId"]) == ("RouterInterface", ri_a)
    assert custom["NextHops"] == {
        "NextHop": [{"NextHopType": "RouterInterface", "NextHopId": ri_a, "Weight": 100, "Enabled": 1}]
    }
    (system,) = [e for e in entries.values() if e["Type"] == "System"]
    assert system["NextHopType"] == "local" and system["NextHops"] == {"NextHop": []}
    only_custom = route_tables(a, region_id=a.region, route_table_id=VTB1, type="Custom")
    assert [e["RouteEntryId"] for e in only_custom["RouteTables"]["RouteTable"][0]["RouteEntrys"]["RouteEntry"]] == [
        route
    ]
    # RegionId is optional: without it the caller's tables of every region are searched
    assert route_tables(a, route_table_id=VTB1)["TotalCount"] == 1


def test_terraform_waits_on_a_pending_entry_through_describe_route_tables(slow_emu):
    a = slow_emu.side("account-a", "cn-qingdao")
    route = add_route(a, VTB1, "10.8.0.0/16", INSTANCE1, "Instance")

    def state() -> str:
        table = route_tables(a, region_id=a.region, route_table_id=VTB1)["RouteTables"]["RouteTable"][0]
        return next(e["Status"] for e in table["RouteEntrys"]["RouteEntry"] if e["RouteEntryId"] == route)

    assert state() == "Pending"
    slow_emu.advance(2.5)
    assert state() == "Available"


def test_describe_route_tables_needs_one_selector_and_only_own_routers(emu, a, b):
    e = expect_error(
        a.vpc, "describe_route_tables", m.DescribeRouteTablesRequest(region_id=a.region), "MissingParameter"
    )
    assert "VRouterId" in api_message(e) and "RouteTableName" in api_message(e)
    e = expect_error(
        a.vpc,
        "describe_route_tables",
        m.DescribeRouteTablesRequest(region_id=a.region, vrouter_id=VRT1, router_id=VRT1),
        "InvalidParameter",
    )
    assert "RouterId" in api_message(e)
    b_in_qingdao = emu.side("account-b", "cn-qingdao")
    e = expect_error(
        b_in_qingdao.vpc,
        "describe_route_tables",
        m.DescribeRouteTablesRequest(region_id="cn-qingdao", vrouter_id=VRT1),
        "InvalidVRouterId.NotFound",
    )
    assert VRT1 in api_message(e)
    # another account's table ID, or a name nobody uses, is simply not there
    assert route_tables(b, region_id=b.region, route_table_id=VTB1)["RouteTables"] == {"RouteTable": []}
    assert route_tables(a, region_id=a.region, route_table_name="nope")["TotalCount"] == 0
    assert route_tables(b, region_id=b.region, router_id=VRT2)["RouteTables"]["RouteTable"][0]["RouteTableId"] == VTB2
    expect_error(
        a.vpc,
        "describe_route_tables",
        m.DescribeRouteTablesRequest(region_id=a.region, route_table_id=VTB1, page_size=51),
        "InvalidParameter",
    )
    expect_error(
        a.vpc,
        "describe_route_tables",
        m.DescribeRouteTablesRequest(region_id=a.region, route_table_id=VTB1, type="Static"),
        "InvalidParameter",
    )


def test_describe_vrouters_with_the_legacy_sdk(emu, a, b):
    """No V2 SDK models DescribeVRouters any more; the legacy request class still sends it."""
    client = legacy_client(emu.account("account-a"), "cn-qingdao")

    def vrouters(**params: object) -> dict:
        req = DescribeVRoutersRequest()
        req.set_endpoint(emu.endpoint)
        req.set_protocol_type("http")
        for key, value in params.items():
            getattr(req, f"set_{key}")(value)
        return json.loads(client.do_action_with_exception(req))

    body = vrouters()
    assert (body["TotalCount"], body["PageNumber"], body["PageSize"]) == (1, 1, 10)
    (router,) = body["VRouters"]["VRouter"]
    assert (router["VRouterId"], router["VpcId"], router["RegionId"]) == (VRT1, VPC1, "cn-qingdao")
    assert router["RouteTableIds"] == {"RouteTableId": [VTB1]}
    assert vrouters(VRouterId=VRT1)["TotalCount"] == 1
    assert vrouters(VRouterId=VRT2)["TotalCount"] == 0  # B's router reads like none
