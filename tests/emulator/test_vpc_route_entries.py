"""Route entries through the official VPC SDK: routes to the peer VPC through a router interface,
validation, Pending -> Available on the virtual clock, per-table conflicts, deletion, listing."""

from __future__ import annotations

from alibabacloud_vpc20160428 import models as m

from .vpc_helpers import (
    INSTANCE1,
    VPC2,
    VSW1,
    VTB1,
    VTB2,
    add_route,
    api_message,
    call,
    configured_pair,
    connect,
    create_ri,
    expect_error,
    route_entries,
    route_status,
)


def _connected(a, b):
    ri_a, ri_b = configured_pair(a, b)
    connect(a, ri_a)
    return ri_a, ri_b


def _create(side, **fields):
    return m.CreateRouteEntryRequest(region_id=side.region, **fields)


def test_routes_to_the_peer_through_the_interface(emu, a, b):
    ri_a, ri_b = _connected(a, b)
    to_b = add_route(a, VTB1, "172.16.0.0/16", ri_a, route_entry_name="to-vpc2", description="peer VPC2")
    to_a = add_route(b, VTB2, "192.168.1.10", ri_b)  # a bare address is a /32

    body = route_entries(a, VTB1)
    assert (body["TotalCount"], body["NextToken"]) == (2, "")
    system, custom = body["RouteEntrys"]["RouteEntry"]
    assert (system["Type"], system["Origin"], system["DestinationCidrBlock"]) == (
        "System",
        "SystemCreate",
        "192.168.1.0/24",
    )
    assert system["NextHops"] == {"NextHop": [{"NextHopType": "local", "NextHopId": ""}]}
    assert (custom["RouteEntryId"], custom["Type"], custom["Status"], custom["Origin"]) == (
        to_b,
        "Custom",
        "Available",
        "CustomCreate",
    )
    assert (custom["RouteEntryName"], custom["Description"], custom["IpVersion"]) == ("to-vpc2", "peer VPC2", "ipv4")
    (hop,) = custom["NextHops"]["NextHop"]
    assert (hop["NextHopType"], hop["NextHopId"], hop["Enabled"], hop["NextHopRegionId"]) == (
        "RouterInterface",
        ri_a,
        1,
        "cn-beijing",
    )
    assert hop["NextHopRelatedInfo"] == {"InstanceId": VPC2, "InstanceType": "VPC", "RegionId": "cn-beijing"}

    (entry,) = route_entries(b, VTB2, route_entry_type="Custom")["RouteEntrys"]["RouteEntry"]
    assert (entry["RouteEntryId"], entry["DestinationCidrBlock"]) == (to_a, "192.168.1.10/32")


def test_create_route_entry_refuses_bad_input(emu, a, b):
    ri_a, ri_b = _connected(a, b)
    idle = create_ri(a)
    ok = dict(
        route_table_id=VTB1, destination_cidr_block="172.16.0.0/16", next_hop_type="RouterInterface", next_hop_id=ri_a
    )
    cases = [
        ({"route_table_id": None}, "MissingParameter", 400, "RouteTableId"),
        ({"route_table_id": "vtb-doesnotexist00000000"}, "InvalidRouteTableId.NotFound", 404, "vtb-doesnotexist"),
        ({"route_table_id": VTB2}, "InvalidRouteTableId.NotFound", 404, VTB2),  # B's table
        ({"destination_cidr_block": None}, "MissingParameter", 400, "DestinationCidrBlock"),
        ({"destination_cidr_block": "300.1.0.0/16"}, "InvalidCidrBlock.Malformed", 400, "300.1.0.0/16"),
        ({"destination_cidr_block": "192.168.1.0/24"}, "InvalidCidrBlock", 400, VSW1),  # equals the vSwitch
        ({"destination_cidr_block": "192.168.1.128/25"}, "InvalidCidrBlock", 400, VSW1),  # inside it
        ({"destination_cidr_block": "100.64.8.0/24"}, "InvalidCidrBlock", 400, "100.64.0.0/10"),
        ({"next_hop_type": "Tunnel"}, "InvalidNextHopType", 400, "RouterInterface"),
        ({"next_hop_type": "VpnGateway"}, "InvalidNextHopType", 400, "not modelled"),
        ({"next_hop_id": None}, "MissingParameter", 400, "NextHopId"),
        ({"next_hop_id": ri_b}, "InvalidNextHop.NotFound", 400, ri_b),  # B's interface
        ({"next_hop_id": "ri-doesnotexist00000000000"}, "InvalidNextHop.NotFound", 400, "ri-doesnotexist"),
        ({"next_hop_id": idle}, "IncorrectStatus.RouterInterface", 400, "Idle"),
        (
            {"next_hop_type": "Instance", "next_hop_id": "i-2ze2tutorialecs2bj00001"},
            "InvalidNextHop.NotFound",
            400,
            "i-2ze",
        ),
        (
            {
                "next_hop_list": [
                    m.CreateRouteEntryRequestNextHopList(next_hop_id=ri_a, next_hop_type="RouterInterface")
                ]
            },
            "InvalidNexthopTypeAndList.BothNotNull",
            400,
            "NextHopList",
        ),
        ({"dry_run": True}, "DryRunOperation", 400, "DryRun"),
    ]
    for overrides, code, status, mentioned in cases:
        e = expect_error(a.vpc, "create_route_entry", _create(a, **dict(ok, **overrides)), code, status)
        assert mentioned in api_message(e), (overrides, api_message(e))
    assert route_entries(a, VTB1)["TotalCount"] == 1  # only the system route

    add_route(a, VTB1, "172.16.0.0/16", ri_a)
    e = expect_error(
        a.vpc,
        "create_route_entry",
        _create(a, **dict(ok, destination_cidr_block="172.16.0.0/16")),
        "InvalidCIDRBlock.Duplicate",
    )
    assert "172.16.0.0/16" in api_message(e)
    add_route(a, VTB1, "10.8.0.0/16", INSTANCE1, "Instance")  # an instance of this VPC is a valid next hop


def test_pending_then_available_and_per_table_conflicts(slow_emu):
    """While an entry of the table is Pending or Deleting, creates and deletes get
    IncorrectRouteEntryStatus: "You can delete only routes that are in the Available state", and the
    DeleteRouteEntry reference (2025-05) gives that code for such a table (its TaskConflict is for
    calls that come too fast, which is not modelled)."""
    a, b = slow_emu.side("account-a", "cn-qingdao"), slow_emu.side("account-b", "cn-beijing")
    ri_a, _ = _connected(a, b)
    slow_emu.advance(4.5)
    route = add_route(a, VTB1, "172.16.0.0/16", ri_a)
    assert route_status(a, VTB1, route) == "Pending"
    e = expect_error(
        a.vpc,
        "create_route_entry",
        _create(
            a,
            route_table_id=VTB1,
            destination_cidr_block="172.17.0.0/16",
            next_hop_type="RouterInterface",
            next_hop_id=ri_a,
        ),
        "IncorrectRouteEntryStatus",
    )
    assert route in api_message(e)
    expect_error(
        a.vpc,
        "delete_route_entry",
        m.DeleteRouteEntryRequest(region_id=a.region, route_entry_id=route),
        "IncorrectRouteEntryStatus",
    )
    slow_emu.advance(1)
    assert route_status(a, VTB1, route) == "Pending"
    slow_emu.advance(1.5)
    assert route_status(a, VTB1, route) == "Available"

    call(a.vpc, "delete_route_entry", m.DeleteRouteEntryRequest(region_id=a.region, route_entry_id=route))
    assert route_status(a, VTB1, route) == "Deleting"
    expect_error(
        a.vpc,
        "create_route_entry",
        _create(
            a,
            route_table_id=VTB1,
            destination_cidr_block="172.17.0.0/16",
            next_hop_type="RouterInterface",
            next_hop_id=ri_a,
        ),
        "IncorrectRouteEntryStatus",
    )
    expect_error(
        a.vpc,
        "delete_route_entry",
        m.DeleteRouteEntryRequest(region_id=a.region, route_entry_id=route),
        "IncorrectRouteEntryStatus",
    )
    slow_emu.advance(1.5)
    assert route_status(a, VTB1, route) is None
    expect_error(
        a.vpc,
        "delete_route_entry",
        m.DeleteRouteEntryRequest(region_id=a.region, route_entry_id=route),
        "InvalidRouteEntry.NotFound",
    )
    add_route(a, VTB1, "172.17.0.0/16", ri_a)  # the table is free again


def test_delete_route_entry_by_id_or_by_destination(emu, a, b):
    ri_a, _ = _connected(a, b)
    first = add_route(a, VTB1, "172.16.0.0/16", ri_a)
    second = add_route(a, VTB1, "172.17.0.0/16", ri_a)
    system = route_entries(a, VTB1, route_entry_type="System")["RouteEntrys"]["RouteEntry"][0]["RouteEntryId"]

    def delete(**fields):
        return m.DeleteRouteEntryRequest(**fields)

    e = expect_error(a.vpc, "delete_route_entry", delete(region_id=a.region, route_entry_id=system), "OperationDenied")
    assert "system" in api_message(e)
    # RouteEntryId excludes both RouteTableId and DestinationCidrBlock (DeleteRouteEntry reference 2025-05)
    for other in ({"destination_cidr_block": "172.16.0.0/16"}, {"route_table_id": VTB1}):
        expect_error(
            a.vpc,
            "delete_route_entry",
            delete(region_id=a.region, route_entry_id=first, **other),
            "ParamExclusive.RouteEntryIdAndRouteTableIdOrDestCidrBlock",
        )
    e = expect_error(a.vpc, "delete_route_entry", delete(region_id=a.region, route_table_id=VTB1), "MissingParameter")
    assert "DestinationCidrBlock" in api_message(e)
    expect_error(a.vpc, "delete_route_entry", delete(region_id=a.region), "MissingParameter")
    expect_error(
        a.vpc,
        "delete_route_entry",
        delete(
            region_id=a.region,
            route_table_id=VTB1,
            destination_cidr_block="172.16.0.0/16",
            next_hop_id="ri-other00000000000000001",
        ),
        "InvalidRouteEntry.NotFound",
    )  # right CIDR, other next hop
    b_in_qingdao = emu.side("account-b", "cn-qingdao")
    expect_error(
        b_in_qingdao.vpc,
        "delete_route_entry",
        delete(region_id="cn-qingdao", route_entry_id=first),
        "InvalidRouteEntry.NotFound",
    )
    expect_error(
        b_in_qingdao.vpc,
        "delete_route_entry",
        delete(region_id="cn-qingdao", route_table_id=VTB1, destination_cidr_block="172.16.0.0/16"),
        "InvalidRouteTableId.NotFound",
        404,
    )
    expect_error(
        a.vpc, "delete_route_entry", delete(region_id=a.region, route_entry_id=first, dry_run=True), "DryRunOperation"
    )
    assert route_status(a, VTB1, first) == "Available"

    call(
        a.vpc,
        "delete_route_entry",
        delete(region_id=a.region, route_table_id=VTB1, destination_cidr_block="172.16.0.0/16", next_hop_id=ri_a),
    )
    call(a.vpc, "delete_route_entry", delete(route_entry_id=second))  # RegionId is optional for this action
    assert [e["RouteEntryId"] for e in route_entries(a, VTB1)["RouteEntrys"]["RouteEntry"]] == [system]


def test_describe_route_entry_list_paging_and_filters(emu, a, b):
    """NextToken/MaxResult paging (MaxResult at most 500, metadata); a token it did not issue, or one
    replayed with other filters, is IllegalParam.NextToken (documented for this action)."""
    ri_a, _ = _connected(a, b)
    made = [add_route(a, VTB1, f"10.{n}.0.0/16", ri_a) for n in range(1, 6)]
    pages, token = [], None
    while True:
        body = route_entries(a, VTB1, max_result=2, next_token=token)
        assert body["TotalCount"] == 6
        pages.append([e["RouteEntryId"] for e in body["RouteEntrys"]["RouteEntry"]])
        token = body["NextToken"]
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [i for p in pages for i in p][1:] == made

    token = route_entries(a, VTB1, max_result=2)["NextToken"]
    e = expect_error(
        a.vpc,
        "describe_route_entry_list",
        m.DescribeRouteEntryListRequest(
            region_id=a.region, route_table_id=VTB1, max_result=2, next_token=token, route_entry_type="Custom"
        ),
        "IllegalParam.NextToken",
    )
    assert "NextToken" in api_message(e)
    expect_error(
        a.vpc,
        "describe_route_entry_list",
        m.DescribeRouteEntryListRequest(region_id=a.region, route_table_id=VTB1, next_token="garbage"),
        "IllegalParam.NextToken",
    )
    assert len(route_entries(a, VTB1, max_result=500)["RouteEntrys"]["RouteEntry"]) == 6
    e = expect_error(
        a.vpc,
        "describe_route_entry_list",
        m.DescribeRouteEntryListRequest(region_id=a.region, route_table_id=VTB1, max_result=501),
        "InvalidParameter",
    )
    assert "MaxResult" in api_message(e) and "500" in api_message(e)

    def ids(**filters):
        return [e["RouteEntryId"] for e in route_entries(a, VTB1, **filters)["RouteEntrys"]["RouteEntry"]]

    assert ids(destination_cidr_block="10.2.0.0/16") == [made[1]]
    assert ids(dest_cidr_block_list=["10.3.0.0/16", "10.5.0.0/16"]) == [made[2], made[4]]
    assert ids(route_entry_type="Custom", next_hop_id=ri_a) == made
    assert ids(next_hop_type="RouterInterface", route_entry_id=made[0]) == [made[0]]
    assert ids(ip_version="ipv6") == []
    assert len(ids(route_entry_type="System")) == 1

    expect_error(
        a.vpc, "describe_route_entry_list", m.DescribeRouteEntryListRequest(region_id=a.region), "MissingParameter"
    )
    expect_error(
        a.vpc,
        "describe_route_entry_list",
        m.DescribeRouteEntryListRequest(region_id="cn-beijing", route_table_id=VTB2),
        "InvalidRouteTable.NotFound",  # DescribeRouteEntryList's own documented code (metadata), a 400
    )
    expect_error(
        b.vpc,
        "describe_route_entry_list",
        m.DescribeRouteEntryListRequest(region_id="cn-beijing", route_table_id=VTB1),
        "InvalidRouteTable.NotFound",
    )


def test_create_route_entry_takes_its_region_from_the_table(emu, a, b):
    """RegionId is optional for CreateRouteEntry (reference 2025-12, metadata): the route table says
    where the entry goes. A RegionId that does not match the table still finds no table."""
    ri_a, _ = _connected(a, b)
    body = call(
        a.vpc,
        "create_route_entry",
        m.CreateRouteEntryRequest(
            route_table_id=VTB1,
            destination_cidr_block="172.16.0.0/16",
            next_hop_type="RouterInterface",
            next_hop_id=ri_a,
        ),
    )
    assert route_status(a, VTB1, body["RouteEntryId"]) == "Available"
    expect_error(
        a.vpc,
        "create_route_entry",
        m.CreateRouteEntryRequest(
            region_id="cn-beijing",
            route_table_id=VTB1,
            destination_cidr_block="172.17.0.0/16",
            next_hop_type="RouterInterface",
            next_hop_id=ri_a,
        ),
        "InvalidRouteTableId.NotFound",
        404,
    )
