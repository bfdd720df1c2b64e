"""CreateRouterInterface, DescribeRouterInterfaces and DescribeRouterInterfaceAttribute through the
official VPC SDK: validation, response shapes and types, filters, paging, quota, idempotency."""

from __future__ import annotations

from alibabacloud_vpc20160428 import models as m

from .vpc_helpers import VPC1, VRT1, VRT2, api_message, attribute, call, create_ri, expect_error, interfaces, ri_action


def test_new_interface_is_idle_and_described_with_sdk_types(emu, a, b):
    ri = create_ri(
        a,
        "InitiatingSide",
        "Large.1",
        name="to-vpc2",
        description="Link to VPC2",
        tags=[m.CreateRouterInterfaceRequestTags(key="link", value="qd-bj")],
    )
    attr = attribute(a, ri)
    assert (attr["RouterInterfaceId"], attr["Status"], attr["Role"], attr["RouterId"], attr["RouterType"]) == (
        ri,
        "Idle",
        "InitiatingSide",
        VRT1,
        "VRouter",
    )
    assert (attr["VpcInstanceId"], attr["Spec"], attr["Bandwidth"], attr["ChargeType"]) == (
        VPC1,
        "Large.1",
        1000,
        "AfterPay",
    )
    assert (attr["Name"], attr["Description"], attr["OppositeRegionId"]) == ("to-vpc2", "Link to VPC2", "cn-beijing")
    assert attr["Tags"] == {"Tags": [{"Key": "link", "Value": "qd-bj"}]}
    # not connected: no peer information, and the owner id is a string even when empty
    assert (attr["OppositeInterfaceOwnerId"], attr["OppositeInterfaceStatus"], attr["OppositeBandwidth"]) == ("", "", 0)
    assert attr["ConnectedTime"] == "" and attr["Success"] is True

    (item,) = interfaces(a)["RouterInterfaceSet"]["RouterInterfaceType"]
    assert item["FastLinkMode"] is False and attr["FastLinkMode"] == "false"  # the two SDK models differ
    shared = set(item) & set(attr)
    assert {k: item[k] for k in shared if k != "FastLinkMode"} == {k: attr[k] for k in shared if k != "FastLinkMode"}


def test_opposite_claims_given_at_create_are_stored_as_strings(emu, a, b):
    ri = create_ri(
        b,
        "AcceptingSide",
        opposite_interface_id="ri-m5eclaimedinitiator0001",
        opposite_router_id=VRT1,
        opposite_router_type="VRouter",
        opposite_interface_owner_id=a.uid,
    )
    attr = attribute(b, ri)
    assert (attr["Spec"], attr["Bandwidth"], attr["OppositeRegionId"]) == ("Negative", 0, "cn-qingdao")
    assert (attr["OppositeInterfaceId"], attr["OppositeRouterId"], attr["OppositeRouterType"]) == (
        "ri-m5eclaimedinitiator0001",
        VRT1,
        "VRouter",
    )
    assert attr["OppositeInterfaceOwnerId"] == a.uid
    # a claim reveals nothing of the peer until the pair is connected
    assert (attr["OppositeVpcInstanceId"], attr["OppositeInterfaceStatus"]) == ("", "")


def test_create_refuses_bad_input_naming_the_field(emu, a, b):
    base = dict(
        region_id="cn-qingdao",
        role="InitiatingSide",
        router_type="VRouter",
        router_id=VRT1,
        spec="Mini.2",
        opposite_region_id="cn-beijing",
    )
    cases = [
        ({"region_id": None}, "MissingParameter", 400, "RegionId"),
        ({"role": None}, "MissingParameter", 400, "Role"),
        ({"router_type": None}, "MissingParameter", 400, "RouterType"),
        ({"router_id": None}, "MissingParameter", 400, "RouterId"),
        ({"spec": None}, "MissingParameter", 400, "Spec"),
        ({"opposite_region_id": None}, "MissingParameter", 400, "OppositeRegionId"),
        ({"role": "Both"}, "InvalidRole.ValueNotSupported", 400, "AcceptingSide"),
        ({"router_type": "Router"}, "InvalidRouterType.ValueNotSupported", 400, "VRouter"),
        ({"spec": "Huge.9"}, "InvalidSpec.ValudNotSupported", 400, "Xlarge.1"),
        ({"spec": "Negative"}, "InvalidSpec.ValudNotSupported", 400, "AcceptingSide"),
        ({"role": "AcceptingSide", "spec": "Large.1"}, "InvalidSpec.ValudNotSupported", 400, "Negative"),
        ({"opposite_region_id": "mars-1"}, "InvalidOppositeRegionId.NotFound", 400, "mars-1"),
        ({"opposite_interface_owner_id": "12a45"}, "InvalidAliuid", 400, "OppositeInterfaceOwnerId"),
        ({"opposite_interface_owner_id": "0123456789"}, "InvalidAliuid", 400, "OppositeInterfaceOwnerId"),
        ({"opposite_interface_owner_id": "9" * 20}, "InvalidAliuid", 400, "OppositeInterfaceOwnerId"),
        ({"opposite_router_type": "Router"}, "InvalidOppositeRouterType.ValueNotSupported", 400, "VBR"),
        ({"opposite_interface_id": "vrt-notaninterface"}, "InvalidParameter", 400, "OppositeInterfaceId"),
        ({"router_id": VRT2}, "InvalidRouterId.NotFound", 404, VRT2),  # B's router
        ({"router_id": "vrt-doesnotexist00000000"}, "InvalidRouterId.NotFound", 404, "vrt-doesnotexist"),
        ({"router_type": "VBR", "router_id": "vbr-someborderrouter0000"}, "InvalidRouterId.NotFound", 404, "VBR"),
        # the code the metadata documents for a bad charge type
        ({"instance_charge_type": "Monthly"}, "InvalidRouterInterfaceChargeType.Malformed", 400, "PostPaid"),
        ({"instance_charge_type": "PrePaid"}, "MissingParameter", 400, "Period"),
        ({"instance_charge_type": "PrePaid", "period": 10}, "InvalidParameter", 400, "Period"),
        ({"instance_charge_type": "PrePaid", "period": 4, "pricing_cycle": "Year"}, "InvalidParameter", 400, "1 to 3"),
        (
            {"role": "AcceptingSide", "spec": "Negative", "instance_charge_type": "PrePaid", "period": 1},
            "Forbidden.AcceptRoleNotSupportPrePay",
            400,
            "AcceptingSide",
        ),
        ({"name": "1-starts-with-a-digit"}, "InvalidName.Malformed", 400, "Name"),
        ({"description": "https://example.com"}, "InvalidDescription.Malformed", 400, "Description"),
    ]
    for overrides, code, status, mentioned in cases:
        e = expect_error(
            a.vpc, "create_router_interface", m.CreateRouterInterfaceRequest(**dict(base, **overrides)), code, status
        )
        assert mentioned in e.message, (overrides, e.message)
    # A's own router, asked for in another region, is not found there either
    a_in_beijing = emu.side("account-a", "cn-beijing")
    expect_error(
        a_in_beijing.vpc,
        "create_router_interface",
        m.CreateRouterInterfaceRequest(**dict(base, region_id="cn-beijing")),
        "InvalidRouterId.NotFound",
        404,
    )
    assert interfaces(a)["TotalCount"] == 0


def test_opposite_fields_are_optional_at_create_and_take_long_uids(emu, a, b):
    """Every Opposite* parameter is optional at create and OppositeRouterType defaults to VRouter
    (CreateRouterInterface reference https://help.aliyun.com/document_detail/36032.html and the API
    metadata); OppositeInterfaceOwnerId is a long, and the reference's own examples have 18 digits
    (253460731706911258), so such a UID is accepted; a type that does not fit the router ID is only
    found out at ConnectRouterInterface."""
    only_owner = create_ri(a, opposite_interface_owner_id="253460731706911258")
    attr = attribute(a, only_owner)
    assert (attr["OppositeInterfaceOwnerId"], attr["OppositeRouterId"], attr["OppositeRouterType"]) == (
        "253460731706911258",
        "",
        "VRouter",
    )
    mismatched = create_ri(a, opposite_router_id=VRT2, opposite_router_type="VBR")
    assert attribute(a, mismatched)["OppositeRouterType"] == "VBR"


def test_subscription_interfaces_answer_with_an_order(emu, a):
    """PrePaid is accepted: "You can call this operation to create subscription and pay-as-you-go
    router interfaces" (CreateRouterInterface reference); the response carries OrderId "when the
    subscription billing method is selected" (metadata), a pay-as-you-go one has none."""
    base = dict(
        region_id=a.region,
        role="InitiatingSide",
        router_type="VRouter",
        router_id=VRT1,
        spec="Mini.2",
        opposite_region_id="cn-beijing",
    )
    body = call(
        a.vpc,
        "create_router_interface",
        m.CreateRouterInterfaceRequest(**base, instance_charge_type="PrePaid", period=2, pricing_cycle="Month"),
    )
    assert isinstance(body["OrderId"], int) and body["OrderId"] > 0
    attr = attribute(a, body["RouterInterfaceId"])
    assert attr["ChargeType"] == "PrePaid" and attr["EndTime"] > attr["CreationTime"]
    body = call(a.vpc, "create_router_interface", m.CreateRouterInterfaceRequest(**base))
    assert "OrderId" not in body
    assert attribute(a, body["RouterInterfaceId"])["ChargeType"] == "AfterPay"


def test_spec_names_map_to_bandwidth(emu, a):
    ri = create_ri(a, "InitiatingSide", "Mini.2")
    expected = {
        "Mini.2": 2,
        "Mini.5": 5,
        "Small.1": 10,
        "Small.2": 20,
        "Small.5": 50,
        "Middle.1": 100,
        "Middle.2": 200,
        "Middle.5": 500,
        "Large.1": 1000,
        "Large.2": 2000,
        "Large.5": 5000,
        "Xlarge.1": 10000,
    }
    for spec, mbps in expected.items():
        body = call(
            a.vpc,
            "modify_router_interface_spec",
            m.ModifyRouterInterfaceSpecRequest(region_id=a.region, router_interface_id=ri, spec=spec),
        )
        assert body["Spec"] == spec
        attr = attribute(a, ri)
        assert (attr["Spec"], attr["Bandwidth"], attr["Status"]) == (spec, mbps, "Idle")


def test_at_most_five_interfaces_per_router(emu, a):
    made = [create_ri(a) for _ in range(5)]
    e = expect_error(
        a.vpc,
        "create_router_interface",
        m.CreateRouterInterfaceRequest(
            region_id=a.region,
            role="InitiatingSide",
            router_type="VRouter",
            router_id=VRT1,
            spec="Mini.2",
            opposite_region_id="cn-beijing",
        ),
        "LimitationExceed.InterfaceNumberOnRouter",
    )
    assert VRT1 in e.message and "5" in e.message
    ri_action(a, "delete_router_interface", made[0])
    create_ri(a)
    assert interfaces(a)["TotalCount"] == 5


def test_client_token_replay_creates_one_interface(emu, a):
    first = create_ri(a, client_token="run-42-initiator")
    again = create_ri(a, client_token="run-42-initiator")
    assert first == again
    assert interfaces(a)["TotalCount"] == 1
    e = expect_error(
        a.vpc,
        "create_router_interface",
        m.CreateRouterInterfaceRequest(
            region_id=a.region,
            role="InitiatingSide",
            router_type="VRouter",
            router_id=VRT1,
            spec="Mini.5",
            opposite_region_id="cn-beijing",
            client_token="run-42-initiator",
        ),
        "IdempotentParameterMismatch",
    )
    assert e.status_code == 400


def test_describe_router_interfaces_filters(emu, a, b):
    alpha = create_ri(a, name="alpha", tags=[m.CreateRouterInterfaceRequestTags(key="link", value="qd-bj")])
    beta = create_ri(
        a,
        name="beta",
        opposite_interface_id="ri-2zeclaimedacceptor00001",
        opposite_router_id=VRT2,
        opposite_router_type="VRouter",
        opposite_interface_owner_id=b.uid,
    )
    gamma = create_ri(a, "AcceptingSide", name="gamma")

    def ids(*filters, **extra):
        return [
            r["RouterInterfaceId"]
            for r in interfaces(a, *filters, **extra)["RouterInterfaceSet"]["RouterInterfaceType"]
        ]

    assert ids() == [alpha, beta, gamma]
    assert ids(("Name", ["alpha", "beta"])) == [alpha, beta]  # values OR-ed
    assert ids(("Name", ["alpha", "beta"]), ("RouterInterfaceId", [beta, gamma])) == [beta]  # keys AND-ed
    assert ids(("Status", ["Idle"])) == [alpha, beta, gamma]
    assert ids(("Status", ["Active", "Inactive"])) == []
    assert ids(("OppositeInterfaceOwnerId", [b.uid])) == [beta]
    assert ids(("OppositeRouterId", [VRT2]), ("OppositeRouterType", ["VRouter"])) == [beta]
    assert ids(("RouterInterfaceOwnerId", [a.uid])) == [alpha, beta, gamma]
    assert ids(("RouterInterfaceOwnerId", [b.uid])) == []
    assert ids(("RouterId", [VRT1]), ("RouterType", ["VRouter"])) == [alpha, beta, gamma]
    assert ids(("RouterInterfaceId", ["ri-doesnotexist00000000000"])) == []
    assert ids(tags=[m.DescribeRouterInterfacesRequestTags(key="link", value="qd-bj")]) == [alpha]

    e = expect_error(
        a.vpc,
        "describe_router_interfaces",
        m.DescribeRouterInterfacesRequest(
            region_id=a.region, filter=[m.DescribeRouterInterfacesRequestFilter(key="Colour", value=["red"])]
        ),
        "InvalidFilterKey.ValueNotSupported",
        404,
    )
    assert "Filter.1.Key" in e.message and "Colour" in e.message
    e = expect_error(
        a.vpc,
        "describe_router_interfaces",
        m.DescribeRouterInterfacesRequest(
            region_id=a.region, filter=[m.DescribeRouterInterfacesRequestFilter(key="Name")]
        ),
        "MissingParameter",
    )
    assert "Filter.1.Value" in e.message


def test_describe_router_interfaces_paging(emu, a):
    made = [create_ri(a) for _ in range(3)]
    first = interfaces(a, page_size=2)
    second = interfaces(a, page_size=2, page_number=2)
    assert (first["TotalCount"], first["PageNumber"], first["PageSize"]) == (3, 1, 2)
    assert (second["TotalCount"], second["PageNumber"], second["PageSize"]) == (3, 2, 2)
    listed = [
        r["RouterInterfaceId"] for page in (first, second) for r in page["RouterInterfaceSet"]["RouterInterfaceType"]
    ]
    assert listed == made
    assert interfaces(a, page_size=2, page_number=3)["RouterInterfaceSet"] == {"RouterInterfaceType": []}
    assert interfaces(a, page_size=50)["PageSize"] == 50
    for bad in ({"page_size": 51}, {"page_size": 0}, {"page_number": 0}):
        e = expect_error(
            a.vpc,
            "describe_router_interfaces",
            m.DescribeRouterInterfacesRequest(region_id=a.region, **bad),
            "InvalidParameter",
        )
        assert ("PageSize" if "page_size" in bad else "PageNumber") in e.message


def test_interface_lists_and_lookups_are_scoped_to_account_and_region(emu, a, b):
    ri = create_ri(a)
    b_in_qingdao = emu.side("account-b", "cn-qingdao")
    for side in (b, b_in_qingdao):
        assert interfaces(side)["RouterInterfaceSet"] == {"RouterInterfaceType": []}
        assert interfaces(side, ("RouterInterfaceId", [ri]))["TotalCount"] == 0
    assert interfaces(emu.side("account-a", "cn-beijing"))["TotalCount"] == 0

    foreign = expect_error(
        b_in_qingdao.vpc,
        "describe_router_interface_attribute",
        m.DescribeRouterInterfaceAttributeRequest(region_id="cn-qingdao", instance_id=ri),
        "InvalidRouterInterfaceId.NotFound",
        404,
    )
    unknown = expect_error(
        b_in_qingdao.vpc,
        "describe_router_interface_attribute",
        m.DescribeRouterInterfaceAttributeRequest(region_id="cn-qingdao", instance_id="ri-doesnotexist00000000000"),
        "InvalidRouterInterfaceId.NotFound",
        404,
    )
    assert api_message(foreign).replace(ri, "ID") == api_message(unknown).replace("ri-doesnotexist00000000000", "ID")
    expect_error(
        a.vpc,
        "describe_router_interface_attribute",
        m.DescribeRouterInterfaceAttributeRequest(region_id=a.region),
        "MissingParameter",
    )


def test_at_most_five_filters_of_five_values(emu, a):
    """DescribeRouterInterfaces: Filter and Filter.N.Value each take at most 5 items (metadata
    maxItems 5); more is refused naming the parameter and the limit."""
    five = [f"ri-none{n}" for n in range(5)]
    assert interfaces(a, ("RouterInterfaceId", five))["TotalCount"] == 0
    e = expect_error(
        a.vpc,
        "describe_router_interfaces",
        m.DescribeRouterInterfacesRequest(
            region_id=a.region, filter=[m.DescribeRouterInterfacesRequestFilter(key="Status", value=[*five, "Idle"])]
        ),
        "InvalidParameter",
    )
    assert "Filter.1.Value" in api_message(e) and "5" in api_message(e)
    e = expect_error(
        a.vpc,
        "describe_router_interfaces",
        m.DescribeRouterInterfacesRequest(
            region_id=a.region,
            filter=[m.DescribeRouterInterfacesRequestFilter(key="Status", value=["Idle"]) for _ in range(6)],
        ),
        "InvalidParameter",
    )
    assert "Filter" in api_message(e) and "5" in api_message(e)
