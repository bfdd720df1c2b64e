"""VPC describes of the seeded network, through the official VPC SDK: shapes, types, filters, paging,
and that each account sees only its own resources in the requested region."""

from __future__ import annotations

from alibabacloud_vpc20160428 import models as m

from .vpc_helpers import VPC1, VPC2, VRT1, VSW1, VTB1, call, expect_error, world_with_more_vpcs


def test_describe_regions_needs_no_region_and_lists_both_tutorial_regions(emu, a):
    body = call(a.vpc, "describe_regions", m.DescribeRegionsRequest())
    regions = {r["RegionId"]: r for r in body["Regions"]["Region"]}
    assert {"cn-qingdao", "cn-beijing"} <= set(regions)
    assert regions["cn-qingdao"]["RegionEndpoint"] == "vpc.cn-qingdao.aliyuncs.com"


def test_describe_vpcs_shows_the_callers_vpc_with_its_router_and_table(emu, a, b):
    body = call(a.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="cn-qingdao"))
    assert (body["TotalCount"], body["PageNumber"], body["PageSize"]) == (1, 1, 10)
    (vpc,) = body["Vpcs"]["Vpc"]
    assert (vpc["VpcId"], vpc["VRouterId"], vpc["CidrBlock"], vpc["OwnerId"]) == (
        VPC1,
        VRT1,
        "192.168.0.0/16",
        int(a.uid),
    )
    assert vpc["RouterTableIds"] == {"RouterTableIds": [VTB1]}
    assert vpc["VSwitchIds"] == {"VSwitchId": [VSW1]}
    assert vpc["NatGatewayIds"] == {"NatGatewayIds": []} and vpc["Tags"] == {"Tag": []}

    assert [
        v["VpcId"] for v in call(b.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="cn-beijing"))["Vpcs"]["Vpc"]
    ] == [VPC2]


def test_describe_vpcs_is_scoped_to_account_and_region(emu, a, b):
    # B naming A's VPC, in A's region or its own, finds nothing; A finds nothing in B's region.
    b_in_qingdao = emu.side("account-b", "cn-qingdao")
    for side, region in ((b_in_qingdao, "cn-qingdao"), (b, "cn-beijing")):
        body = call(side.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id=region, vpc_id=VPC1))
        assert (body["TotalCount"], body["Vpcs"]) == (0, {"Vpc": []})
    assert call(a.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="cn-beijing"))["TotalCount"] == 0


def test_describe_vpcs_comma_list_and_paging(emu, a):
    emu.control("world", world_with_more_vpcs(4))
    wanted = call(
        a.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="cn-qingdao", vpc_id=f"{VPC1}, vpc-m5eextra03")
    )
    assert [v["VpcId"] for v in wanted["Vpcs"]["Vpc"]] == [VPC1, "vpc-m5eextra03"]

    pages = [
        call(a.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="cn-qingdao", page_number=n, page_size=2))
        for n in (1, 2, 3, 4)
    ]
    assert [p["TotalCount"] for p in pages] == [5, 5, 5, 5]
    assert [len(p["Vpcs"]["Vpc"]) for p in pages] == [2, 2, 1, 0]
    seen = [v["VpcId"] for p in pages for v in p["Vpcs"]["Vpc"]]
    assert len(set(seen)) == 5 and VPC1 in seen

    e = expect_error(
        a.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="cn-qingdao", page_size=51), "InvalidParameter"
    )
    assert "PageSize" in e.message
    e = expect_error(
        a.vpc,
        "describe_vpcs",
        m.DescribeVpcsRequest(region_id="cn-qingdao", vpc_id=",".join(f"vpc-x{n}" for n in range(21))),
        "InvalidVpcIdNumber.NotSupported",  # the code the metadata documents for more than 20 IDs
    )
    assert "VpcId" in e.message


def test_describe_vpcs_requires_a_known_region(emu, a):
    e = expect_error(a.vpc, "describe_vpcs", m.DescribeVpcsRequest(), "MissingParameter")
    assert "RegionId" in e.message
    expect_error(a.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="mars-1"), "InvalidRegionId.NotFound", 404)


def test_describe_vpc_attribute_is_flat_and_scoped(emu, a, b):
    body = call(a.vpc, "describe_vpc_attribute", m.DescribeVpcAttributeRequest(region_id="cn-qingdao", vpc_id=VPC1))
    assert (body["VpcId"], body["VRouterId"], body["CidrBlock"], body["VpcName"]) == (
        VPC1,
        VRT1,
        "192.168.0.0/16",
        "VPC1",
    )
    assert body["VSwitchIds"] == {"VSwitchId": [VSW1]}
    assert {"ResourceType": "ECS", "ResourceCount": 1} in body["CloudResources"]["CloudResourceSetType"]

    missing_vpc = expect_error(
        b.vpc,
        "describe_vpc_attribute",
        m.DescribeVpcAttributeRequest(region_id="cn-beijing", vpc_id="vpc-doesnotexist00000000"),
        "InvalidVpcId.NotFound",
        404,
    )
    foreign = expect_error(
        emu.side("account-b", "cn-qingdao").vpc,
        "describe_vpc_attribute",
        m.DescribeVpcAttributeRequest(region_id="cn-qingdao", vpc_id=VPC1),
        "InvalidVpcId.NotFound",
        404,
    )
    assert VPC1 in foreign.message and "vpc-doesnotexist" in missing_vpc.message
    expect_error(
        a.vpc, "describe_vpc_attribute", m.DescribeVpcAttributeRequest(region_id="cn-qingdao"), "MissingParameter"
    )


def test_describe_vswitches_counts_free_addresses_and_filters(emu, a, b):
    body = call(a.vpc, "describe_vswitches", m.DescribeVSwitchesRequest(region_id="cn-qingdao"))
    (vsw,) = body["VSwitches"]["VSwitch"]
    assert (vsw["VSwitchId"], vsw["VpcId"], vsw["ZoneId"], vsw["CidrBlock"]) == (
        VSW1,
        VPC1,
        "cn-qingdao-b",
        "192.168.1.0/24",
    )
    # 256 addresses, 4 reserved by the platform, 1 used by the tutorial's ECS instance
    assert vsw["AvailableIpAddressCount"] == 251
    assert vsw["RouteTable"] == {"RouteTableId": VTB1, "RouteTableType": "System"}

    # VpcId alone is enough; the other account's VPC and a wrong zone give nothing
    assert call(a.vpc, "describe_vswitches", m.DescribeVSwitchesRequest(vpc_id=VPC1))["TotalCount"] == 1
    assert call(b.vpc, "describe_vswitches", m.DescribeVSwitchesRequest(vpc_id=VPC1))["VSwitches"] == {"VSwitch": []}
    assert (
        call(a.vpc, "describe_vswitches", m.DescribeVSwitchesRequest(region_id="cn-qingdao", zone_id="cn-qingdao-c"))[
            "TotalCount"
        ]
        == 0
    )
    expect_error(a.vpc, "describe_vswitches", m.DescribeVSwitchesRequest(), "MissingParameter")


def test_describe_route_table_list_uses_the_routertablelist_nesting(emu, a, b):
    body = call(
        a.vpc, "describe_route_table_list", m.DescribeRouteTableListRequest(region_id="cn-qingdao", vpc_id=VPC1)
    )
    (table,) = body["RouterTableList"]["RouterTableListType"]
    assert (table["RouteTableId"], table["RouterId"], table["RouterType"], table["RouteTableType"]) == (
        VTB1,
        VRT1,
        "VRouter",
        "System",
    )
    assert table["VSwitchIds"] == {"VSwitchId": [VSW1]} and table["OwnerId"] == int(a.uid)

    assert call(
        a.vpc, "describe_route_table_list", m.DescribeRouteTableListRequest(region_id="cn-qingdao", router_type="VBR")
    )["RouterTableList"] == {"RouterTableListType": []}
    assert (
        call(
            b.vpc,
            "describe_route_table_list",
            m.DescribeRouteTableListRequest(region_id="cn-beijing", route_table_id=VTB1),
        )["TotalCount"]
        == 0
    )
    expect_error(
        a.vpc,
        "describe_route_table_list",
        m.DescribeRouteTableListRequest(region_id="cn-qingdao", route_table_type="Shared"),
        "InvalidParameter",  # the metadata documents no code of its own for RouteTableType
    )


def test_describe_vpcs_filters_that_the_metadata_documents_do_filter(emu, a):
    """Tag.N, DhcpOptionsSetId and EnableIpv6 are documented DescribeVpcs filters (API metadata);
    a filter nothing matches returns nothing, never the unfiltered list. The world has no VPC tags,
    DHCP options sets or IPv6, so the tag is written to the store."""
    store = emu.server.app.store
    with store.transaction() as tx:
        vpc = tx.get("vpc", VPC1, account=a.uid)
        tx.put(dict(vpc, Tags={"env": "prod", "team": "net"}))

    def ids(**query):
        body = call(a.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="cn-qingdao", **query))
        return [v["VpcId"] for v in body["Vpcs"]["Vpc"]]

    tag = m.DescribeVpcsRequestTag
    assert ids(tag=[tag(key="env", value="prod")]) == [VPC1]
    assert ids(tag=[tag(key="env")]) == [VPC1]  # a key alone matches any value
    assert ids(tag=[tag(key="env", value="prod"), tag(key="team", value="net")]) == [VPC1]
    assert ids(tag=[tag(key="env", value="dev")]) == []
    assert ids(tag=[tag(key="owner", value="nobody")]) == []
    assert ids(dhcp_options_set_id="dopt-doesnotexist0000") == []
    assert ids(enable_ipv_6=True) == [] and ids(enable_ipv_6=False) == [VPC1]
    body = call(a.vpc, "describe_vpcs", m.DescribeVpcsRequest(region_id="cn-qingdao"))
    assert body["Vpcs"]["Vpc"][0]["Tags"] == {"Tag": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "net"}]}
    e = expect_error(
        a.vpc,
        "describe_vpcs",
        m.DescribeVpcsRequest(region_id="cn-qingdao", tag=[tag(key=f"k{n}", value="v") for n in range(21)]),
        "InvalidParameter",
    )
    assert "Tag" in e.data["Message"] and "20" in e.data["Message"]
