"""The ping model (``reachability.py``) over records written straight into a store: the full path
works, and each missing piece alone breaks it, with a reason that names the piece."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from alicloud_emulator.reachability import Network, Verdict, linked, ping
from alicloud_emulator.store import Store
from alicloud_emulator.world import default_world, load_into, with_timing

from .ecs_helpers import A_CIDR, A_ECS, A_IP, A_SG, A_VPC, A_VTB, B_CIDR, B_ECS, B_IP, B_SG, B_VPC, B_VTB, write_link

UID_A, UID_B = "1637243907412983", "1589430122237715"


def _store(world: dict[str, Any] | None = None) -> Store:
    store = Store()
    load_into(store, world or with_timing(default_world(), scale=0))
    return store


def _get(tx: Any, type_: str, id_: str) -> dict[str, Any]:
    """A resource by ID whatever its account: these tests set up both accounts' sides directly."""
    return next(r for r in tx.find_in_every_account(type_) if r["_id"] == id_)


def _rule(store: Store, sg: str, **fields: Any) -> None:
    rule = {
        "SecurityGroupRuleId": f"sgr-test{len(fields)}",
        "Direction": "ingress",
        "IpProtocol": "ICMP",
        "PortRange": "-1/-1",
        "SourceCidrIp": "",
        "SourceGroupId": "",
        "SourceGroupOwnerAccount": "",
        "DestCidrIp": "",
        "Policy": "Accept",
        "Priority": 1,
        "NicType": "intranet",
    }
    rule.update(fields)
    with store.transaction() as tx:
        group = _get(tx, "security_group", sg)
        tx.put(dict(group, Rules=(group.get("Rules") or []) + [rule]))


def _set(store: Store, type_: str, id_: str, **fields: Any) -> None:
    with store.transaction() as tx:
        tx.put(dict(_get(tx, type_, id_), **fields))


def _ping(store: Store, source: str, ip: str) -> Verdict:
    with store.transaction() as tx:
        net = Network.read(tx)
        return ping(net, _get(tx, "instance", source), ip)


@pytest.fixture
def linked_store() -> Store:
    """Both VPCs connected, a route each way, and each group letting the other VPC's ICMP in."""
    store = _store()
    write_link(store, UID_A, UID_B)
    _rule(store, B_SG, SourceCidrIp=A_CIDR)
    _rule(store, A_SG, SourceCidrIp=B_CIDR)
    return store


def test_full_path_replies_both_ways(linked_store: Store) -> None:
    there = _ping(linked_store, A_ECS, B_IP)
    assert there.reachable, there.reason
    assert (there.path, there.destination["InstanceId"], there.cross_region) == ("peering", B_ECS, True)
    back = _ping(linked_store, B_ECS, A_IP)
    assert back.reachable and back.destination["InstanceId"] == A_ECS, back.reason


def test_no_route_on_the_source_side(linked_store: Store) -> None:
    with linked_store.transaction() as tx:
        (route,) = tx.find("route_entry", account=UID_A, NextHopType="RouterInterface")
        tx.remove(route)
    v = _ping(linked_store, A_ECS, B_IP)
    assert not v.reachable
    assert "no forward route" in v.reason and A_VTB in v.reason


def test_no_route_back_on_the_destination_side() -> None:
    store = _store()
    write_link(store, UID_A, UID_B, route_b=False)
    _rule(store, B_SG, SourceCidrIp=A_CIDR)
    v = _ping(store, A_ECS, B_IP)
    assert not v.reachable
    assert "no return route" in v.reason and B_VTB in v.reason


@pytest.mark.parametrize(
    "a_status, b_status, words",
    [
        ("Connecting", "AcceptingConnecting", "is Connecting, not Active"),
        ("Inactive", "Active", "is Inactive, not Active"),
        ("Active", "Inactive", "not connected to an Active peer"),
    ],
)
def test_interface_not_active(a_status: str, b_status: str, words: str) -> None:
    store = _store()
    write_link(store, UID_A, UID_B, a_status=a_status, b_status=b_status)
    _rule(store, B_SG, SourceCidrIp=A_CIDR)
    v = _ping(store, A_ECS, B_IP)
    assert not v.reachable and words in v.reason, v.reason


def test_interfaces_that_do_not_name_each_other_are_not_connected(linked_store: Store) -> None:
    with linked_store.transaction() as tx:
        (ri_b,) = tx.find("router_interface", account=UID_B)
    _set(linked_store, "router_interface", ri_b["RouterInterfaceId"], OppositeInterfaceId="ri-someotherinterface000")
    v = _ping(linked_store, A_ECS, B_IP)
    assert not v.reachable and "not connected" in v.reason


def test_pending_route_does_not_carry_packets() -> None:
    store = _store()
    write_link(store, UID_A, UID_B, route_status="Pending")
    _rule(store, B_SG, SourceCidrIp=A_CIDR)
    assert "no forward route" in _ping(store, A_ECS, B_IP).reason


def test_missing_icmp_ingress_on_the_destination() -> None:
    store = _store()
    write_link(store, UID_A, UID_B)
    _rule(store, A_SG, SourceCidrIp=B_CIDR)  # the source side's rule does not help
    _rule(store, B_SG, IpProtocol="TCP", PortRange="22/22", SourceCidrIp=A_CIDR)  # nor a TCP rule
    _rule(store, B_SG, SourceCidrIp="10.0.0.0/8")  # nor ICMP from elsewhere
    v = _ping(store, A_ECS, B_IP)
    assert not v.reachable
    assert f"no ingress rule of {B_SG}" in v.reason and A_IP in v.reason


def test_protocol_all_allows_icmp() -> None:
    store = _store()
    write_link(store, UID_A, UID_B)
    _rule(store, B_SG, IpProtocol="ALL", SourceCidrIp=A_IP)
    assert _ping(store, A_ECS, B_IP).reachable


@pytest.mark.parametrize("accept_priority, drop_priority, reachable", [(1, 2, True), (2, 1, False), (1, 1, False)])
def test_priority_decides_and_drop_wins_a_tie(accept_priority: int, drop_priority: int, reachable: bool) -> None:
    store = _store()
    write_link(store, UID_A, UID_B)
    _rule(store, B_SG, SourceCidrIp=A_CIDR, Priority=accept_priority)
    _rule(store, B_SG, SourceCidrIp="192.168.1.0/24", Policy="Drop", Priority=drop_priority)
    v = _ping(store, A_ECS, B_IP)
    assert v.reachable is reachable, v.reason
    if not reachable:
        assert "Drop" in v.reason


def test_dest_cidr_narrows_a_rule() -> None:
    store = _store()
    write_link(store, UID_A, UID_B)
    _rule(store, B_SG, SourceCidrIp=A_CIDR, DestCidrIp="172.16.9.0/24")
    assert not _ping(store, A_ECS, B_IP).reachable


def test_source_group_rule_needs_the_source_account() -> None:
    store = _store()
    write_link(store, UID_A, UID_B)
    _rule(store, B_SG, SourceGroupId=A_SG, SourceGroupOwnerAccount=UID_B)  # right group, wrong owner
    assert not _ping(store, A_ECS, B_IP).reachable
    _rule(store, B_SG, SourceGroupId=A_SG, SourceGroupOwnerAccount=UID_A)
    assert _ping(store, A_ECS, B_IP).reachable


def test_destination_not_running(linked_store: Store) -> None:
    _set(linked_store, "instance", B_ECS, Status="Stopped")
    v = _ping(linked_store, A_ECS, B_IP)
    assert not v.reachable and f"{B_ECS} at {B_IP} is Stopped" in v.reason


@pytest.mark.parametrize(
    "ip, words",
    [
        ("172.16.1.99", f"no instance has the address 172.16.1.99 in {B_VPC}"),
        ("10.1.2.3", "no forward route"),
        ("not-an-ip", "is not an IPv4 address"),
    ],
)
def test_wrong_ip(linked_store: Store, ip: str, words: str) -> None:
    v = _ping(linked_store, A_ECS, ip)
    assert not v.reachable and words in v.reason, v.reason


def test_more_specific_route_elsewhere_wins(linked_store: Store) -> None:
    with linked_store.transaction() as tx:
        tx.insert(
            "route_entry",
            "rte-blackhole00000000000",
            UID_A,
            "cn-qingdao",
            {
                "RouteEntryId": "rte-blackhole00000000000",
                "RouteTableId": A_VTB,
                "DestinationCidrBlock": "172.16.1.0/24",
                "Type": "Custom",
                "Status": "Available",
                "NextHopType": "Instance",
                "NextHopId": "i-other",
            },
        )
    v = _ping(linked_store, A_ECS, B_IP)
    assert not v.reachable and "172.16.1.0/24" in v.reason


def test_route_through_another_vpcs_interface_goes_nowhere(linked_store: Store) -> None:
    with linked_store.transaction() as tx:
        (route,) = tx.find("route_entry", account=UID_A, NextHopType="RouterInterface")
        (ri_b,) = tx.find("router_interface", account=UID_B)
        tx.put(dict(route, NextHopId=ri_b["RouterInterfaceId"]))
    v = _ping(linked_store, A_ECS, B_IP)
    assert not v.reachable and "is not an interface of router" in v.reason


def _two_in_vpc1(second_groups: list[str]) -> Store:
    world = with_timing(copy.deepcopy(default_world()), scale=0)
    vpc1 = world["vpcs"][0]
    vpc1["security_groups"].append({"id": "sg-m5e1tutorialsg3qd000001", "name": "SG3"})
    vpc1["instances"].append(
        {
            "id": "i-m5e1tutorialecs3qd00001",
            "name": "ECS3",
            "vswitch": vpc1["vswitches"][0]["id"],
            "private_ip": "192.168.1.11",
            "security_groups": second_groups,
        }
    )
    return _store(world)


def test_same_vpc_same_group_talks_by_inner_access_policy() -> None:
    store = _two_in_vpc1([A_SG])
    v = _ping(store, A_ECS, "192.168.1.11")
    assert v.reachable and v.path == "vpc", v.reason


def test_same_vpc_other_group_needs_a_rule() -> None:
    store = _two_in_vpc1(["sg-m5e1tutorialsg3qd000001"])
    assert not _ping(store, A_ECS, "192.168.1.11").reachable
    _rule(store, "sg-m5e1tutorialsg3qd000001", SourceGroupId=A_SG, SourceGroupOwnerAccount=UID_A)
    assert _ping(store, A_ECS, "192.168.1.11").reachable


def test_an_instance_answers_itself() -> None:
    v = _ping(_store(), A_ECS, A_IP)
    assert v.reachable and v.path == "self"


def test_linked_follows_connected_interfaces(linked_store: Store) -> None:
    with linked_store.transaction() as tx:
        net = Network.read(tx)
        vpc1, vpc2 = _get(tx, "vpc", A_VPC), _get(tx, "vpc", B_VPC)
        assert linked(net, vpc1, vpc2) and linked(net, vpc2, vpc1)
    with linked_store.transaction() as tx:
        (ri_a,) = tx.find("router_interface", account=UID_A)
        tx.put(dict(ri_a, Status="Inactive"))
    with linked_store.transaction() as tx:
        assert not linked(Network.read(tx), _get(tx, "vpc", A_VPC), _get(tx, "vpc", B_VPC))


# -- VPC peering connections ----------------------------------------------------------------------------------
PCC = "pcc-testpeering0000000001"


def _peering(store: Store, status: str = "Activated", established: bool = True) -> None:
    """A's VPC1 peered with B's VPC2, as the VpcPeer product records it, and a route each way."""
    with store.transaction() as tx:
        tx.insert(
            "vpc_peer",
            PCC,
            UID_A,
            "cn-qingdao",
            {
                "InstanceId": PCC,
                "OwnerId": UID_A,
                "AcceptingOwnerUid": UID_B,
                "RegionId": "cn-qingdao",
                "AcceptingRegionId": "cn-beijing",
                "VpcId": A_VPC,
                "AcceptingVpcId": B_VPC,
                "Status": status,
                "Established": established,
            },
        )
        for uid, region, table, cidr in ((UID_A, "cn-qingdao", A_VTB, B_CIDR), (UID_B, "cn-beijing", B_VTB, A_CIDR)):
            rte = tx.new_id("rte-")
            tx.insert(
                "route_entry",
                rte,
                uid,
                region,
                {
                    "RouteEntryId": rte,
                    "RouteTableId": table,
                    "DestinationCidrBlock": cidr,
                    "Type": "Custom",
                    "Status": "Available",
                    "NextHopType": "VpcPeer",
                    "NextHopId": PCC,
                },
            )


@pytest.fixture
def peered_store() -> Store:
    store = _store()
    _peering(store)
    _rule(store, B_SG, SourceCidrIp=A_CIDR)
    _rule(store, A_SG, SourceCidrIp=B_CIDR)
    return store


def test_a_peering_carries_a_ping_both_ways(peered_store: Store) -> None:
    there = _ping(peered_store, A_ECS, B_IP)
    assert (there.reachable, there.path, there.via, there.back_via) == (
        True,
        "peering",
        f"VpcPeer {PCC}",
        f"VpcPeer {PCC}",
    )
    assert there.cross_region and "VPC peering connection" in there.reason
    assert _ping(peered_store, B_ECS, A_IP).reachable


@pytest.mark.parametrize(
    "status, established, reachable",
    [
        ("Activated", True, True),
        ("Updating", True, True),  # a Modify of a live connection
        ("Updating", False, False),  # being accepted
        ("Accepting", False, False),
        ("Creating", False, False),
        ("Deleting", True, False),
        ("Rejected", False, False),
        ("Expired", False, False),
    ],
)
def test_a_peering_forwards_only_while_activated(
    peered_store: Store, status: str, established: bool, reachable: bool
) -> None:
    _set(peered_store, "vpc_peer", PCC, Status=status, Established=established)
    v = _ping(peered_store, A_ECS, B_IP)
    assert v.reachable is reachable, v.reason
    if not reachable:
        assert v.failed == "forward" and f"{PCC} on the forward path is {status}" in v.reason, v.reason


def test_a_route_through_a_peering_of_other_vpcs_goes_nowhere(peered_store: Store) -> None:
    _set(peered_store, "vpc_peer", PCC, VpcId="vpc-m5e1othervpc000000001")
    v = _ping(peered_store, A_ECS, B_IP)
    assert (v.reachable, v.failed) == (False, "forward") and f"not a VPC peering connection of {A_VPC}" in v.reason


def test_the_return_may_take_another_kind_of_link(peered_store: Store) -> None:
    _, ri_b = write_link(peered_store, UID_A, UID_B, route_a=False, route_b=False)
    with peered_store.transaction() as tx:
        (back,) = tx.find("route_entry", account=UID_B, NextHopType="VpcPeer")
        tx.put(dict(back, NextHopType="RouterInterface", NextHopId=ri_b))
    v = _ping(peered_store, A_ECS, B_IP)
    assert (v.reachable, v.via, v.back_via) == (True, f"VpcPeer {PCC}", f"RouterInterface {ri_b}"), v.reason
    assert "through a VPC peering connection and router interfaces" in v.reason
