"""Routes through a VPC peering connection (``NextHopType=VpcPeer``), ModifyRouteEntry (name,
description, and the next hop in place, router interface <-> peering), and a peering's delete while
routes point at it. VPC calls through ``alibabacloud-vpc20160428``, peering calls through
``alibabacloud-vpcpeer20220101``; every response through its SDK model."""

from __future__ import annotations

import pytest
from alibabacloud_vpc20160428 import models as m
from alibabacloud_vpcpeer20220101 import models as pm

from .conftest import Emu, Side, start_emulator
from .vpc_helpers import add_route, call, configured_pair, connect, expect_error, route_entries, route_status
from .vpcpeer_helpers import (
    BJ,
    CIDR1,
    CIDR2,
    CIDR3,
    QD,
    VPC3,
    VTB1,
    VTB2,
    VTB3,
    A,
    B,
    create,
    error,
    get,
    peer_client,
    peer_world,
    peered,
)
from .vpcpeer_helpers import call as peer_call


@pytest.fixture
def emu() -> Emu:
    e = start_emulator(peer_world())
    yield e
    e.server.stop()


@pytest.fixture
def slow() -> Emu:
    e = start_emulator(peer_world(scale=None))
    yield e
    e.server.stop()


def sides(emu: Emu) -> tuple[Side, Side]:
    return emu.side(A, QD), emu.side(B, BJ)


def modify(side: Side, **fields: object) -> dict:
    return call(side.vpc, "modify_route_entry", m.ModifyRouteEntryRequest(region_id=side.region, **fields))


def the_entry(side: Side, table: str, entry_id: str) -> dict:
    (entry,) = route_entries(side, table, route_entry_id=entry_id)["RouteEntrys"]["RouteEntry"]
    return entry


def test_each_side_routes_the_peer_cidr_through_the_peering(emu: Emu) -> None:
    a, b = sides(emu)
    pcc = peered(emu)
    to_b = add_route(a, VTB1, CIDR2, pcc, "VpcPeer", route_entry_name="to-b")
    to_a = add_route(b, VTB2, CIDR1, pcc, "VpcPeer")  # the accepter routes through it too
    entry = the_entry(a, VTB1, to_b)
    assert (entry["Status"], entry["DestinationCidrBlock"], entry["NextHops"]) == (
        "Available",
        CIDR2,
        {"NextHop": [{"NextHopType": "VpcPeer", "NextHopId": pcc}]},
    )
    assert [e["RouteEntryId"] for e in route_entries(b, VTB2, next_hop_id=pcc)["RouteEntrys"]["RouteEntry"]] == [to_a]
    tables = call(a.vpc, "describe_route_tables", m.DescribeRouteTablesRequest(region_id=QD, route_table_id=VTB1))
    (listed,) = [
        e for e in tables["RouteTables"]["RouteTable"][0]["RouteEntrys"]["RouteEntry"] if e["RouteEntryId"] == to_b
    ]
    assert (listed["NextHopType"], listed["InstanceId"]) == ("VpcPeer", pcc)
    assert listed["NextHops"]["NextHop"][0] == {"NextHopType": "VpcPeer", "NextHopId": pcc, "Weight": 100, "Enabled": 1}


def test_a_route_needs_an_activated_peering_of_its_own_vpc(emu: Emu) -> None:
    a = emu.side(A, QD)
    pending = create(peer_client(emu, A), accepting_uid=emu.account(B)["uid"])  # Accepting
    request = m.CreateRouteEntryRequest(
        region_id=QD, route_table_id=VTB1, destination_cidr_block=CIDR2, next_hop_type="VpcPeer", next_hop_id=pending
    )
    e = expect_error(a.vpc, "create_route_entry", request, "IncorrectStatus.VpcPeer")
    assert "[Accepting]" in e.data["Message"]
    request.next_hop_id = "pcc-" + "1" * 20
    expect_error(a.vpc, "create_route_entry", request, "ResourceNotFound.VpcPeer")
    peer_client(emu, B).accept_vpc_peer_connection(pm.AcceptVpcPeerConnectionRequest(instance_id=pending))
    request.next_hop_id, request.route_table_id = pending, VTB3  # VPC3 is not an end of it
    e = expect_error(a.vpc, "create_route_entry", request, "ResourceNotFound.VpcPeer")
    assert VPC3 in e.data["Message"]
    request.route_table_id = VTB1
    assert add_route(a, VTB1, CIDR2, pending, "VpcPeer")


def test_one_destination_per_table_so_the_more_specific_route_is_the_way_to_overlap(emu: Emu) -> None:
    a, b = sides(emu)
    ri_a, _ = configured_pair(a, b)
    connect(a, ri_a)
    pcc = peered(emu)
    add_route(a, VTB1, CIDR2, ri_a)
    request = m.CreateRouteEntryRequest(
        region_id=QD, route_table_id=VTB1, destination_cidr_block=CIDR2, next_hop_type="VpcPeer", next_hop_id=pcc
    )
    expect_error(a.vpc, "create_route_entry", request, "InvalidCIDRBlock.Duplicate")
    assert add_route(a, VTB1, "172.16.1.0/24", pcc, "VpcPeer")


def test_modify_route_entry_moves_the_next_hop_in_place(slow: Emu) -> None:
    a, b = sides(slow)
    ri_a, _ = configured_pair(a, b)
    connect(a, ri_a)
    slow.advance(4)
    pcc = create(peer_client(slow, A), accepting_uid=slow.account(B)["uid"])
    slow.advance(2)
    peer_client(slow, B).accept_vpc_peer_connection(pm.AcceptVpcPeerConnectionRequest(instance_id=pcc))
    slow.advance(2)
    rte = add_route(a, VTB1, CIDR2, ri_a)
    slow.advance(2)
    assert set(modify(a, route_entry_id=rte, route_entry_name="to-b", description="moving")) == {"RequestId"}
    entry = the_entry(a, VTB1, rte)
    assert (entry["Status"], entry["RouteEntryName"], entry["Description"]) == ("Available", "to-b", "moving")
    modify(a, route_entry_id=rte, new_next_hop_type="VpcPeer", new_next_hop_id=pcc)
    entry = the_entry(a, VTB1, rte)
    assert entry["Status"] == "Modifying" and entry["NextHops"]["NextHop"][0]["NextHopId"] == pcc
    e = expect_error(
        a.vpc,
        "modify_route_entry",
        m.ModifyRouteEntryRequest(
            region_id=QD, route_entry_id=rte, new_next_hop_type="RouterInterface", new_next_hop_id=ri_a
        ),
        "IncorrectRouteEntryStatus",
    )
    assert "Modifying" in e.data["Message"]
    slow.advance(1)
    assert route_status(a, VTB1, rte) == "Available"
    # and back, named by table and destination
    modify(
        a, route_table_id=VTB1, destination_cidr_block=CIDR2, new_next_hop_type="RouterInterface", new_next_hop_id=ri_a
    )
    slow.advance(1)
    entry = the_entry(a, VTB1, rte)
    assert entry["NextHops"]["NextHop"][0]["NextHopType"] == "RouterInterface" and entry["RouteEntryId"] == rte


def test_modify_route_entry_refusals(emu: Emu) -> None:
    a, b = sides(emu)
    ri_a, _ = configured_pair(a, b)
    connect(a, ri_a)
    pcc = peered(emu)
    rte = add_route(a, VTB1, CIDR2, ri_a)
    system = route_entries(a, VTB1, route_entry_type="System")["RouteEntrys"]["RouteEntry"][0]["RouteEntryId"]
    cases = [
        (dict(route_entry_id=rte, new_next_hop_type="VpcPeer"), "MissingParam.NewNextHopId"),
        (dict(route_entry_id=rte, new_next_hop_id=pcc), "MissingParam.NewNextHopType"),
        (dict(route_entry_id=rte, new_next_hop_type="Teleport", new_next_hop_id=pcc), "IllegealParam.NextHopType"),
        (
            dict(route_entry_id=rte, new_next_hop_type="RouterInterface", new_next_hop_id=ri_a),
            "OperationDenied.NextHopExist",
        ),
        (
            dict(route_entry_id=system, new_next_hop_type="VpcPeer", new_next_hop_id=pcc),
            "UnsupportedFeature.NextHopType",
        ),
        (dict(route_entry_id="rte-" + "0" * 20, route_entry_name="x"), "InvalidRouteEntryId.NotFound"),
        (dict(route_entry_name="x"), "MissingParam.RouteEntryId"),
        (dict(route_entry_id=rte, route_entry_name="http://x"), "InvalidRouteEntryName.Malformed"),
        (
            dict(route_entry_id=rte, new_next_hop_type="VpcPeer", new_next_hop_id="pcc-" + "2" * 20),
            "ResourceNotFound.VpcPeer",
        ),
        (
            dict(route_entry_id=rte, new_next_hop_type="NatGateway", new_next_hop_id="ngw-x"),
            "IllegealParam.NextHopType",
        ),
        (dict(route_entry_id=rte, new_next_hop_type="VpcPeer", new_next_hop_id=pcc, dry_run=True), "DryRunOperation"),
    ]
    for fields, code in cases:
        expect_error(a.vpc, "modify_route_entry", m.ModifyRouteEntryRequest(region_id=QD, **fields), code)
    expect_error(
        emu.side(B, BJ).vpc,
        "modify_route_entry",
        m.ModifyRouteEntryRequest(region_id=BJ, route_entry_id=rte, route_entry_name="x"),
        "InvalidRouteEntryId.NotFound",
    )
    assert the_entry(a, VTB1, rte)["NextHops"]["NextHop"][0]["NextHopId"] == ri_a, "nothing changed"
    emu.control("behaviour", {"route_next_hop_change": "eni_and_nat"})
    e = expect_error(
        a.vpc,
        "modify_route_entry",
        m.ModifyRouteEntryRequest(region_id=QD, route_entry_id=rte, new_next_hop_type="VpcPeer", new_next_hop_id=pcc),
        "UnsupportedFeature.NextHopType",
    )
    assert "RouterInterface" in e.data["Message"]
    modify(a, route_entry_id=rte, route_entry_name="names-still-change")
    emu.control("behaviour", {"route_next_hop_change": "all"})
    modify(a, route_entry_id=rte, new_next_hop_type="VpcPeer", new_next_hop_id=pcc)
    assert the_entry(a, VTB1, rte)["NextHops"]["NextHop"][0] == {"NextHopType": "VpcPeer", "NextHopId": pcc}


def test_a_peering_with_routes_is_deleted_only_with_force(emu: Emu) -> None:
    a, b = sides(emu)
    pcc = peered(emu)
    mine = add_route(a, VTB1, CIDR2, pcc, "VpcPeer")
    add_route(b, VTB2, CIDR1, pcc, "VpcPeer")
    peer_a = peer_client(emu, A)
    e = error(peer_a, "delete_vpc_peer_connection", pm.DeleteVpcPeerConnectionRequest(instance_id=pcc))
    assert e.code == "OperationDenied.RouteEntryExist"
    assert mine in e.message and "1 route(s) of the peer account" in e.message, "B's route IDs are not shown to A"
    assert get(peer_a, pcc)["Status"] == "Activated"
    peer_call(peer_a, "delete_vpc_peer_connection", pm.DeleteVpcPeerConnectionRequest(instance_id=pcc, force=True))
    assert route_entries(a, VTB1, next_hop_id=pcc)["TotalCount"] == 0
    assert route_entries(b, VTB2, next_hop_id=pcc)["TotalCount"] == 0


def test_a_same_account_peering_routes_from_both_of_its_vpcs(emu: Emu) -> None:
    a = emu.side(A, QD)
    pcc = create(
        peer_client(emu, A),
        "vpc-m5e1tutorialvpc1qd00001",
        VPC3,
        accepting_uid=emu.account(A)["uid"],
        accepting_region_id=QD,
    )
    add_route(a, VTB1, CIDR3, pcc, "VpcPeer")
    add_route(a, VTB3, CIDR1, pcc, "VpcPeer")
    assert route_entries(a, VTB3, next_hop_id=pcc)["TotalCount"] == 1
