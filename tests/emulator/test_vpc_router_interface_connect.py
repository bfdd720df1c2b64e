"""Connecting two accounts' router interfaces through the official VPC SDK: the Opposite* claims,
ConnectRouterInterface's preconditions, cross-account isolation, and the pair's lifecycle on the
virtual clock (Connecting/AcceptingConnecting, Active, Deactivating, Inactive, Activating, Deleting)."""

from __future__ import annotations

from alibabacloud_vpc20160428 import models as m

from .ecs_helpers import store_of, write_link
from .vpc_helpers import (
    VPC1,
    VPC2,
    VRT1,
    VRT2,
    VTB1,
    add_route,
    api_message,
    attribute,
    call,
    configured_pair,
    connect,
    create_ri,
    expect_error,
    interfaces,
    point_at,
    ri_action,
    ri_action_fails,
    status,
)


def _modify(side, ri_id, **fields):
    return m.ModifyRouterInterfaceAttributeRequest(region_id=side.region, router_interface_id=ri_id, **fields)


def test_connect_after_acceptor_then_initiator_configured(emu, a, b):
    ri_a, ri_b = configured_pair(a, b)  # B points at A first, then A at B
    for side, ri in ((a, ri_a), (b, ri_b)):  # claims alone reveal nothing of the peer
        got = attribute(side, ri)
        assert (got["OppositeInterfaceStatus"], got["OppositeInterfaceSpec"], got["OppositeVpcInstanceId"]) == (
            "",
            "",
            "",
        )
    connect(a, ri_a)
    got_a, got_b = attribute(a, ri_a), attribute(b, ri_b)
    assert (got_a["Status"], got_b["Status"]) == ("Active", "Active")
    assert got_a["ConnectedTime"] == got_b["ConnectedTime"] != ""
    # each side now sees the peer's live state, its VPC and its spec
    assert (got_a["OppositeInterfaceStatus"], got_a["OppositeVpcInstanceId"], got_a["OppositeInterfaceSpec"]) == (
        "Active",
        VPC2,
        "Negative",
    )
    assert (got_b["OppositeInterfaceStatus"], got_b["OppositeVpcInstanceId"], got_b["OppositeInterfaceSpec"]) == (
        "Active",
        VPC1,
        "Large.1",
    )
    assert (got_b["OppositeBandwidth"], got_b["OppositeInterfaceOwnerId"]) == (1000, a.uid)
    assert got_a["OppositeInterfaceOwnerId"] == b.uid
    (listed,) = interfaces(b)["RouterInterfaceSet"]["RouterInterfaceType"]
    assert (listed["Status"], listed["OppositeInterfaceStatus"], listed["OppositeVpcInstanceId"]) == (
        "Active",
        "Active",
        VPC1,
    )


def test_connect_before_the_acceptor_points_back_then_after(emu, a, b):
    ri_a = create_ri(a)
    ri_b = create_ri(b, "AcceptingSide")
    point_at(a, ri_a, b, ri_b, VRT2)  # the initiator is configured first
    e = ri_action_fails(a, "connect_router_interface", ri_a, "IncorrectOppositeInterfaceInfo.NotSet")
    assert ri_b in api_message(e) and ri_a in api_message(e)
    assert (status(a, ri_a), status(b, ri_b)) == ("Idle", "Idle")
    point_at(b, ri_b, a, ri_a, VRT1)
    connect(a, ri_a)
    assert (status(a, ri_a), status(b, ri_b)) == ("Active", "Active")


def test_connect_with_claims_given_at_create(emu, a, b):
    ri_a = create_ri(a)
    ri_b = create_ri(
        b,
        "AcceptingSide",
        opposite_interface_id=ri_a,
        opposite_router_id=VRT1,
        opposite_router_type="VRouter",
        opposite_interface_owner_id=a.uid,
    )
    point_at(a, ri_a, b, ri_b, VRT2)
    connect(a, ri_a)
    assert (status(a, ri_a), status(b, ri_b)) == ("Active", "Active")


def test_connect_needs_the_acceptor_to_name_the_initiators_region(emu, a, b):
    ri_a = create_ri(a)
    ri_b = create_ri(b, "AcceptingSide", opposite_region="cn-shanghai")  # A's interface is in cn-qingdao
    point_at(b, ri_b, a, ri_a, VRT1)
    point_at(a, ri_a, b, ri_b, VRT2)
    ri_action_fails(a, "connect_router_interface", ri_a, "IncorrectOppositeInterfaceInfo.NotSet")
    assert (status(a, ri_a), status(b, ri_b)) == ("Idle", "Idle")


def test_connect_preconditions(emu, a, b):
    ri_a, ri_b = configured_pair(a, b)
    ri_action_fails(b, "connect_router_interface", ri_b, "IncorrectRole.NotInitiatingSide")

    bare = create_ri(a)
    e = ri_action_fails(a, "connect_router_interface", bare, "IncorrectOppositeInterfaceInfo.NotSet")
    assert "OppositeInterfaceId" in api_message(e) and "OppositeInterfaceOwnerId" in api_message(e)

    same_router = create_ri(a)
    point_at(a, same_router, a, ri_a, VRT1)
    e = ri_action_fails(a, "connect_router_interface", same_router, "IncorrectOppositeInterfaceInfo")
    assert "same router" in api_message(e)

    # claims that do not match the acceptor: wrong router, wrong owner, wrong region
    wrong = create_ri(a)
    call(
        a.vpc,
        "modify_router_interface_attribute",
        _modify(
            a,
            wrong,
            opposite_interface_id=ri_b,
            opposite_router_id="vrt-2zenotthepeersrouter001",
            opposite_router_type="VRouter",
            opposite_interface_owner_id=int(b.uid),
        ),
    )
    ri_action_fails(a, "connect_router_interface", wrong, "IncorrectOppositeInterfaceInfo.NotSet")
    call(
        a.vpc,
        "modify_router_interface_attribute",
        _modify(a, wrong, opposite_router_id=VRT2, opposite_interface_owner_id=1000000000000001),
    )
    ri_action_fails(a, "connect_router_interface", wrong, "IncorrectOppositeInterfaceInfo.NotSet")
    elsewhere = create_ri(a, opposite_region="cn-shanghai")
    point_at(a, elsewhere, b, ri_b, VRT2)
    ri_action_fails(a, "connect_router_interface", elsewhere, "IncorrectOppositeInterfaceInfo.NotSet")

    connect(a, ri_a)
    # today's ConnectRouterInterface page: IncorrectRIStatus (https://help.aliyun.com/document_detail/109020.htm)
    e = ri_action_fails(a, "connect_router_interface", ri_a, "IncorrectRIStatus")
    assert "Idle" in api_message(e) and "Active" in api_message(e)
    assert (status(a, ri_a), status(b, ri_b)) == ("Active", "Active")


def test_connect_refuses_a_peer_that_is_not_an_acceptor(emu, a, b):
    ri_a = create_ri(a)
    other_initiator = create_ri(b, "InitiatingSide")
    point_at(b, other_initiator, a, ri_a, VRT1)
    point_at(a, ri_a, b, other_initiator, VRT2)
    e = ri_action_fails(a, "connect_router_interface", ri_a, "IncorrectOppositeInterfaceInfo")
    assert "AcceptingSide" in api_message(e)


def test_only_one_connection_between_two_routers(emu, a, b):
    first_a, first_b = configured_pair(a, b)
    connect(a, first_a)
    second_a, second_b = configured_pair(a, b)
    e = ri_action_fails(a, "connect_router_interface", second_a, "Forbidden.OnlyOneConnection")
    assert first_a in api_message(e)
    ri_action(a, "deactivate_router_interface", first_a)  # an Inactive pair is still a connection
    ri_action_fails(a, "connect_router_interface", second_a, "Forbidden.OnlyOneConnection")
    ri_action(a, "delete_router_interface", first_a)
    connect(a, second_a)
    assert (status(a, second_a), status(b, second_b)) == ("Active", "Active")
    assert attribute(b, first_b)["OppositeInterfaceStatus"] == "Deleted"


def test_opposite_fields_change_only_while_idle(emu, a, b):
    ri_a, ri_b = configured_pair(a, b)
    connect(a, ri_a)
    e = expect_error(
        a.vpc, "modify_router_interface_attribute", _modify(a, ri_a, opposite_interface_id=ri_b), "IncorrectStatus"
    )
    assert "Idle" in api_message(e)
    call(a.vpc, "modify_router_interface_attribute", _modify(a, ri_a, name="qd-to-bj", description="Link to VPC2"))
    ri_action(a, "deactivate_router_interface", ri_a)
    expect_error(
        b.vpc, "modify_router_interface_attribute", _modify(b, ri_b, opposite_router_id=VRT1), "IncorrectStatus"
    )
    call(b.vpc, "modify_router_interface_attribute", _modify(b, ri_b, name="bj-from-qd"))
    assert (attribute(a, ri_a)["Name"], attribute(b, ri_b)["Name"]) == ("qd-to-bj", "bj-from-qd")
    assert attribute(a, ri_a)["OppositeInterfaceId"] == ri_b


def test_modify_without_a_type_takes_the_documented_default_and_fails_at_connect(emu, a, b):
    """ModifyRouterInterfaceAttribute's OppositeRouterType defaults to VBR (its reference); a VBR type
    with a VRouter ID is not refused by the modify: as in the cloud, the pair fails only at
    ConnectRouterInterface (the refusal names the caller's own claims)."""
    ri_a = create_ri(a)
    ri_b = create_ri(b, "AcceptingSide")
    point_at(b, ri_b, a, ri_a, VRT1)
    call(
        a.vpc,
        "modify_router_interface_attribute",
        _modify(a, ri_a, opposite_interface_id=ri_b, opposite_router_id=VRT2, opposite_interface_owner_id=int(b.uid)),
    )
    assert attribute(a, ri_a)["OppositeRouterType"] == "VBR"
    e = ri_action_fails(a, "connect_router_interface", ri_a, "IncorrectOppositeInterfaceInfo.NotSet")
    assert "VBR" in api_message(e)


def test_modify_validates_the_claims(emu, a, b):
    ri = create_ri(a)
    expect_error(
        a.vpc, "modify_router_interface_attribute", _modify(a, ri, opposite_interface_owner_id=-42), "InvalidAliuid"
    )
    expect_error(
        a.vpc,
        "modify_router_interface_attribute",
        _modify(a, ri, opposite_router_type="Router"),
        "InvalidOppositeRouterType.ValueNotSupported",
    )
    expect_error(a.vpc, "modify_router_interface_attribute", _modify(a, ri, name="x"), "InvalidName.Malformed")
    expect_error(
        a.vpc,
        "modify_router_interface_attribute",
        _modify(a, "ri-doesnotexist00000000000", name="ok-name"),
        "InvalidRouterInterfaceId.NotFound",
        404,
    )
    expect_error(
        a.vpc,
        "modify_router_interface_attribute",
        m.ModifyRouterInterfaceAttributeRequest(region_id=a.region, name="ok-name"),
        "MissingParameter",
    )
    attr = attribute(a, ri)
    assert (
        attr["OppositeInterfaceId"],
        attr["OppositeRouterType"],
        attr["OppositeInterfaceOwnerId"],
        attr["Name"],
    ) == ("", "VRouter", "", "")  # nothing changed: VRouter is CreateRouterInterface's default


def test_another_account_cannot_touch_an_interface(emu, a, b):
    ri_a, _ri_b = configured_pair(a, b)
    b_in_qingdao = emu.side("account-b", "cn-qingdao")
    unknown = "ri-doesnotexist00000000000"
    messages = {}
    for target in (ri_a, unknown):
        for action in (
            "connect_router_interface",
            "deactivate_router_interface",
            "activate_router_interface",
        ):
            e = ri_action_fails(b_in_qingdao, action, target, "InvalidRouterInterfaceId.NotFound", 404)
            messages.setdefault(action, set()).add(api_message(e).replace(target, "ID"))
        # DeleteRouterInterface's own code (ECS-hosted DeleteRouterInterface page; terraform's "already gone")
        e = ri_action_fails(b_in_qingdao, "delete_router_interface", target, "InvalidInstanceId.NotFound", 404)
        messages.setdefault("delete", set()).add(api_message(e).replace(target, "ID"))
        e = expect_error(
            b_in_qingdao.vpc,
            "modify_router_interface_attribute",
            _modify(b_in_qingdao, target, name="hijacked"),
            "InvalidRouterInterfaceId.NotFound",
            404,
        )
        messages.setdefault("modify", set()).add(api_message(e).replace(target, "ID"))
        e = expect_error(
            b_in_qingdao.vpc,
            "modify_router_interface_spec",
            m.ModifyRouterInterfaceSpecRequest(region_id="cn-qingdao", router_interface_id=target, spec="Mini.2"),
            "InvalidRouterInterfaceId.NotFound",
            404,
        )
        messages.setdefault("spec", set()).add(api_message(e).replace(target, "ID"))
    assert all(len(texts) == 1 for texts in messages.values()), messages  # a foreign ID reads like a missing one
    attr = attribute(a, ri_a)
    assert (attr["Status"], attr["Name"], attr["Spec"]) == ("Idle", "", "Large.1")


def test_deactivate_activate_delete_rules(emu, a, b):
    """State errors as today's pages give them: IncorrectRIStatus for Activate and Deactivate
    (2025 pages; the SDK docstring of ActivateRouterInterface says the same), InvalidInstance.StatusError
    for Delete and RouterInterfaceReferredByRouteEntry while a route uses the interface
    (https://help.aliyun.com/document_detail/36034.html), OppositeRouterInterfaceIsDeleted to activate
    a pair whose peer is gone (metadata), InvalidInstanceId.NotFound to delete an unknown one
    (ECS-hosted DeleteRouterInterface page)."""
    ri_a, ri_b = configured_pair(a, b)
    ri_action_fails(a, "deactivate_router_interface", ri_a, "IncorrectRIStatus")  # Idle
    ri_action_fails(a, "activate_router_interface", ri_a, "IncorrectRIStatus")
    connect(a, ri_a)
    ri_action_fails(a, "activate_router_interface", ri_a, "IncorrectRIStatus")  # Active
    e = ri_action_fails(a, "delete_router_interface", ri_a, "InvalidInstance.StatusError")
    assert "Deactivate" in api_message(e)

    route = add_route(a, VTB1, "172.16.0.0/16", ri_a)
    ri_action(b, "deactivate_router_interface", ri_b)  # either end deactivates the pair
    assert (status(a, ri_a), status(b, ri_b)) == ("Inactive", "Inactive")
    e = ri_action_fails(a, "delete_router_interface", ri_a, "RouterInterfaceReferredByRouteEntry")
    assert route in api_message(e)
    call(a.vpc, "delete_route_entry", m.DeleteRouteEntryRequest(region_id=a.region, route_entry_id=route))

    ri_action(a, "activate_router_interface", ri_a)
    assert (status(a, ri_a), status(b, ri_b)) == ("Active", "Active")
    ri_action(a, "deactivate_router_interface", ri_a)
    ri_action(a, "delete_router_interface", ri_a)
    ri_action_fails(a, "delete_router_interface", ri_a, "InvalidInstanceId.NotFound", 404)
    e = ri_action_fails(b, "activate_router_interface", ri_b, "OppositeRouterInterfaceIsDeleted")
    assert ri_a in api_message(e)
    ri_action(b, "delete_router_interface", ri_b)
    assert interfaces(a)["TotalCount"] == interfaces(b)["TotalCount"] == 0
    for action in ("connect_router_interface", "activate_router_interface", "deactivate_router_interface"):
        e = ri_action_fails(a, action, "ri-doesnotexist00000000000", "InvalidRouterInterfaceId.NotFound", 404)
        assert "ri-doesnotexist00000000000" in api_message(e)
        ri_action_fails(a, action, "", "MissingParameter")


def test_modify_spec_of_a_live_link(emu, a, b):
    ri_a, ri_b = configured_pair(a, b)
    connect(a, ri_a)
    body = call(
        a.vpc,
        "modify_router_interface_spec",
        m.ModifyRouterInterfaceSpecRequest(region_id=a.region, router_interface_id=ri_a, spec="Middle.2"),
    )
    assert body["Spec"] == "Middle.2"
    assert (attribute(a, ri_a)["Bandwidth"], attribute(b, ri_b)["OppositeBandwidth"]) == (200, 200)
    assert attribute(b, ri_b)["OppositeInterfaceSpec"] == "Middle.2"
    expect_error(
        b.vpc,
        "modify_router_interface_spec",
        m.ModifyRouterInterfaceSpecRequest(region_id=b.region, router_interface_id=ri_b, spec="Large.1"),
        "InvalidSpec.ValueNotSupported",  # the spelling ModifyRouterInterfaceSpec documents (metadata)
    )
    expect_error(
        a.vpc,
        "modify_router_interface_spec",
        m.ModifyRouterInterfaceSpecRequest(region_id=a.region, router_interface_id=ri_a, spec="Negative"),
        "InvalidSpec.ValueNotSupported",
    )
    expect_error(
        a.vpc,
        "modify_router_interface_spec",
        m.ModifyRouterInterfaceSpecRequest(region_id=a.region, router_interface_id=ri_a),
        "MissingParameter",
    )


def test_pair_lifecycle_on_the_virtual_clock(slow_emu):
    a, b = slow_emu.side("account-a", "cn-qingdao"), slow_emu.side("account-b", "cn-beijing")
    ri_a, ri_b = configured_pair(a, b)  # the tutorial world: connect 4 s, (de)activate 2 s, delete 2 s
    connect(a, ri_a)
    got_a, got_b = attribute(a, ri_a), attribute(b, ri_b)
    assert (got_a["Status"], got_b["Status"]) == ("Connecting", "AcceptingConnecting")
    assert (got_a["ConnectedTime"], got_b["ConnectedTime"]) == ("", "")
    assert (got_a["OppositeInterfaceStatus"], got_b["OppositeInterfaceStatus"]) == ("AcceptingConnecting", "Connecting")
    ri_action_fails(a, "deactivate_router_interface", ri_a, "IncorrectRIStatus")
    expect_error(
        a.vpc,
        "modify_router_interface_attribute",
        m.ModifyRouterInterfaceAttributeRequest(region_id=a.region, router_interface_id=ri_a, name="renamed"),
        "IncorrectStatus",
    )
    slow_emu.advance(3)
    assert (status(a, ri_a), status(b, ri_b)) == ("Connecting", "AcceptingConnecting")
    slow_emu.advance(1.5)
    got_a, got_b = attribute(a, ri_a), attribute(b, ri_b)
    assert (got_a["Status"], got_b["Status"]) == ("Active", "Active")  # both ends flip at the same due time
    assert got_a["ConnectedTime"] == got_b["ConnectedTime"] != ""

    ri_action(a, "deactivate_router_interface", ri_a)
    assert (status(a, ri_a), status(b, ri_b)) == ("Deactivating", "Deactivating")
    ri_action_fails(a, "delete_router_interface", ri_a, "InvalidInstance.StatusError")
    expect_error(
        a.vpc,
        "modify_router_interface_spec",
        m.ModifyRouterInterfaceSpecRequest(region_id=a.region, router_interface_id=ri_a, spec="Mini.2"),
        "InvalidInstance.StatusError",
    )
    slow_emu.advance(2.5)
    assert (status(a, ri_a), status(b, ri_b)) == ("Inactive", "Inactive")

    ri_action(a, "activate_router_interface", ri_a)
    assert (status(a, ri_a), status(b, ri_b)) == ("Activating", "Activating")
    slow_emu.advance(2.5)
    assert (status(a, ri_a), status(b, ri_b)) == ("Active", "Active")

    # ModifyRouterInterfaceSpec re-provisions a live link: Activating for router_interface_modify (2 s)
    call(
        a.vpc,
        "modify_router_interface_spec",
        m.ModifyRouterInterfaceSpecRequest(region_id=a.region, router_interface_id=ri_a, spec="Middle.1"),
    )
    assert (status(a, ri_a), status(b, ri_b)) == ("Activating", "Active")
    ri_action_fails(a, "deactivate_router_interface", ri_a, "IncorrectRIStatus")
    slow_emu.advance(2.5)
    assert status(a, ri_a) == "Active" and attribute(a, ri_a)["Bandwidth"] == 100

    ri_action(a, "deactivate_router_interface", ri_a)
    slow_emu.advance(2.5)
    ri_action(a, "delete_router_interface", ri_a)
    assert status(a, ri_a) == "Deleting"
    assert attribute(b, ri_b)["OppositeInterfaceStatus"] == "Deleting"
    slow_emu.advance(2.5)
    ri_action_fails(a, "delete_router_interface", ri_a, "InvalidInstanceId.NotFound", 404)
    assert attribute(b, ri_b)["OppositeInterfaceStatus"] == "Deleted"
    assert interfaces(a)["TotalCount"] == 0


def test_a_refused_request_changes_nothing(emu, a, b):
    ri_a, _ri_b = configured_pair(a, b)
    connect(a, ri_a)
    route = add_route(a, VTB1, "172.16.0.0/16", ri_a)
    before = emu.state()
    ri_action_fails(a, "delete_router_interface", ri_a, "InvalidInstance.StatusError")
    ri_action_fails(a, "connect_router_interface", ri_a, "IncorrectRIStatus")
    expect_error(
        a.vpc,
        "modify_router_interface_attribute",
        m.ModifyRouterInterfaceAttributeRequest(
            region_id=a.region,
            router_interface_id=ri_a,
            name="renamed",
            opposite_interface_id="ri-2zeother0000000000000001",
        ),
        "IncorrectStatus",
    )
    expect_error(
        a.vpc,
        "create_router_interface",
        m.CreateRouterInterfaceRequest(
            region_id=a.region,
            role="AcceptingSide",
            router_type="VRouter",
            router_id=VRT1,
            spec="Large.1",
            opposite_region_id="cn-beijing",
        ),
        "InvalidSpec.ValudNotSupported",
    )
    expect_error(
        a.vpc,
        "create_route_entry",
        m.CreateRouteEntryRequest(
            region_id=a.region,
            route_table_id=VTB1,
            destination_cidr_block="172.16.0.0/16",
            next_hop_type="RouterInterface",
            next_hop_id=ri_a,
        ),
        "InvalidCIDRBlock.Duplicate",
    )
    expect_error(
        a.vpc,
        "create_route_entry",
        m.CreateRouteEntryRequest(
            region_id=a.region,
            route_table_id=VTB1,
            destination_cidr_block="10.0.0.0/8",
            next_hop_type="RouterInterface",
            next_hop_id=ri_a,
            dry_run=True,
        ),
        "DryRunOperation",
    )
    assert emu.state() == before
    assert route in [e["RouteEntryId"] for e in before["account-a"]["route_entry"]]


def test_a_pair_recorded_with_only_the_documented_fields_reads_as_connected(emu, a, b):
    # other products (and older state files) write the fields products/__init__.py lists, nothing more
    ri_a, ri_b = write_link(store_of(emu), a.uid, b.uid, route_a=False, route_b=False)
    got_a = attribute(a, ri_a)
    assert (got_a["Status"], got_a["OppositeInterfaceStatus"], got_a["OppositeVpcInstanceId"]) == (
        "Active",
        "Active",
        VPC2,
    )
    assert got_a["Tags"] == {"Tags": []} and got_a["OppositeInterfaceOwnerId"] == b.uid
    ri_action(b, "deactivate_router_interface", ri_b)
    assert (status(a, ri_a), status(b, ri_b)) == ("Inactive", "Inactive")
