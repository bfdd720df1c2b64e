"""Fleet-level mistakes and topology limits: each refused before any API call, naming the VPC or link
and what would be valid; with what already exists in the cloud added at plan time."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from vpclink import fleet, params
from vpclink.fleet import topology
from vpclink.params import ParamsError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "fleet-example.yaml"
BAD = sorted((ROOT / "tests" / "data" / "bad_fleets").glob("*.yaml"))


def header(path: Path, name: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"^# {name}: (.*)$", path.read_text(), re.M)]


def example_data() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text())
    assert isinstance(data, dict)
    return data


def refused(data: object) -> list[params.FieldError]:
    with pytest.raises(ParamsError) as info:
        fleet.parse_fleet(data, "test")
    return info.value.errors


# -- the bad files -------------------------------------------------------------------------------


def test_every_mistake_of_the_issue_has_its_file() -> None:
    stems = {p.stem for p in BAD}
    assert {
        "unknown-vpc-in-link",
        "duplicate-vpc-name",
        "duplicate-link",
        "same-vpc-twice",
        "secret-in-file",
        "hub-over-five-interfaces",
        "overlapping-cidrs",
        "overlapping-destinations",
        "routes-over-quota",
        "bad-link-override",
        "link-file",
        "unknown-top-level-key",
    } <= stems
    assert all(len(header(p, "expect")) == 1 for p in BAD), "every bad file says what it expects"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_fleet_is_refused_naming_exactly_its_fields(path: Path) -> None:
    expected = [f.strip() for f in header(path, "expect")[0].split(",")]
    with pytest.raises(ParamsError) as info:
        fleet.load_fleet(path)
    err = info.value
    shown = params.format_errors(err)
    assert sorted(e.field for e in err.errors) == sorted(expected), shown
    first = next(e.message for e in err.errors if e.field == expected[0])
    for want in header(path, "message"):
        assert want in first, shown
    for name in header(path, "names"):
        assert name in expected[0] or name in first, shown
    for secret in header(path, "secret"):
        for text in (str(err), shown, repr(err.errors)):
            assert secret not in text and secret[-12:] not in text


def test_a_fleet_with_one_bad_link_is_refused_for_that_link_and_yields_no_link() -> None:
    path = next(p for p in BAD if p.stem == "bad-link-override")
    with pytest.raises(ParamsError) as info:
        fleet.load_fleet(path)
    assert [e.field for e in info.value.errors] == ["links[1].bandwidth_mbps"]
    # Without that one override the same file is a valid fleet of three links: the refusal was for the
    # bad link alone, and the loader gave back none of the valid ones.
    data = yaml.safe_load(path.read_text())
    del data["links"][1]["bandwidth_mbps"]
    assert len(fleet.parse_fleet(data).links) == 3


# -- one link per pair of VPCs, and why, by backend ------------------------------------------------


def duplicate_link() -> dict[str, Any]:
    """links[3] (payments to shared) over the pair that links[0] (shared to payments) already links."""
    data = yaml.safe_load(next(p for p in BAD if p.stem == "duplicate-link").read_text())
    assert isinstance(data, dict)
    return data


PEERING_REASON = "a pair of VPCs can have only one VPC peering connection"
INTERFACE_REASON = "CreateRouterInterface allows one connected pair between two routers"
ROUTE_REASON = "a route table holds one route per destination"


@pytest.mark.parametrize(
    ("default", "first", "second", "reason"),
    [
        (None, None, None, INTERFACE_REASON),
        ("vpc_peer", None, None, PEERING_REASON),  # defaults.backend
        (None, "vpc_peer", "vpc_peer", PEERING_REASON),  # each link's own
        ("vpc_peer", "router_interface", "router_interface", INTERFACE_REASON),  # the links' own win
        (None, None, "vpc_peer", ROUTE_REASON),  # one of each: both would route the same destinations
        ("vpc_peer", "router_interface", None, ROUTE_REASON),
    ],
    ids=[
        "router-interfaces",
        "peerings-by-default",
        "peerings-per-link",
        "interfaces-over-default",
        "mixed",
        "mixed-2",
    ],
)
def test_a_second_link_over_one_pair_is_refused_for_the_reason_of_its_backends(
    default: str | None, first: str | None, second: str | None, reason: str
) -> None:
    data = duplicate_link()
    if default is not None:
        data["defaults"]["backend"] = default
    for index, backend in ((0, first), (3, second)):
        if backend is not None:
            data["links"][index]["backend"] = backend
    (error,) = refused(data)
    assert error.field == "links[3]", error
    assert "one link per pair of VPCs" in error.message and "as links[0] (shared-payments)" in error.message
    assert reason in error.message, error.message
    for other in {PEERING_REASON, INTERFACE_REASON, ROUTE_REASON} - {reason}:
        assert other not in error.message, error.message
    if reason == PEERING_REASON:
        assert "ResourceAlreadyExist.VpcPeer" in error.message and "router" not in error.message


def test_a_loaded_fleet_with_two_peerings_over_one_pair_is_refused_for_the_peering() -> None:
    data = duplicate_link()
    del data["links"][3]
    data["defaults"]["backend"] = "vpc_peer"
    f = fleet.parse_fleet(data)
    twice = fleet.Fleet(f.name, f.source, f.vpcs, (*f.links, f.links[0]), f.documents)
    (error,) = [e for e in fleet.check_topology(twice) if e.field == "links[0]"]
    assert PEERING_REASON in error.message and INTERFACE_REASON not in error.message


# -- router interfaces per VRouter ---------------------------------------------------------------


def hub_of_six() -> dict[str, Any]:
    data = yaml.safe_load(next(p for p in BAD if p.stem == "hub-over-five-interfaces").read_text())
    assert isinstance(data, dict)
    return data


def test_five_spokes_fit_a_vrouter() -> None:
    data = hub_of_six()
    data["links"].pop()
    assert len(fleet.parse_fleet(data).links_of("shared")) == 5


def test_the_advice_for_a_hub_over_the_limit_works() -> None:
    data = hub_of_six()
    data["links"][5]["backend"] = "vpc_peer"  # as the refusal advises
    f = fleet.parse_fleet(data)
    assert [link.backend for link in f.links_of("shared")].count("router_interface") == 5


def with_spoke(data: dict[str, Any], n: int, **link: str) -> dict[str, Any]:
    """``data`` with one more spoke appN of the hub, linked with ``link``'s settings."""
    data["vpcs"][f"app{n}"] = dict(
        data["vpcs"]["app1"],
        profile=f"org-app{n}",
        account_uid=f"16{n}0298847710256",
        vpc_id=f"vpc-bp1orgapp{n}00000000001",
        vpc_cidr=f"10.{30 + n}.0.0/16",
        security_group_id=f"sg-bp1orgapp{n}sg0000000001",
    )
    data["links"].append({"initiator": "shared", "acceptor": f"app{n}", **link})
    return data


def test_a_hub_of_six_spokes_on_vpc_peer_is_valid() -> None:
    data = hub_of_six()
    data["defaults"]["backend"] = "vpc_peer"
    f = fleet.parse_fleet(data)
    assert [link.backend for link in f.links_of("shared")] == ["vpc_peer"] * 6
    assert fleet.check_topology(f) == []
    # peering connections take no router interface: those already on the VRouter leave them room
    assert fleet.check_against_cloud(f, existing_interfaces={"shared": 5}) == []


def test_a_hub_of_five_router_interface_links_and_two_peerings_is_valid() -> None:
    data = with_spoke(hub_of_six(), 7, backend="vpc_peer")
    data["links"][5]["backend"] = "vpc_peer"
    f = fleet.parse_fleet(data)
    backends = [link.backend for link in f.links_of("shared")]
    assert backends.count("router_interface") == 5 and backends.count("vpc_peer") == 2
    assert fleet.check_topology(f) == []


def test_six_router_interface_links_are_refused_whatever_peerings_the_hub_also_has() -> None:
    data = with_spoke(hub_of_six(), 7, backend="vpc_peer")
    errors = refused(data)
    assert [e.field for e in errors] == ["vpcs.shared"]
    message = errors[0].message
    assert message.startswith("6 router interfaces on this VPC's VRouter"), message
    assert "6 link(s) with backend router_interface" in message and "at most 5" in message
    assert "shared-app6" in message and "shared-app7" not in message  # the peering takes no interface
    assert "set backend: vpc_peer on at least 1 of them" in message


def test_existing_router_interfaces_count_at_plan_time() -> None:
    f = fleet.load_fleet(EXAMPLE)
    assert fleet.check_against_cloud(f, existing_interfaces={"shared": 1}) == []  # 4 + 1
    for key in ("shared", "vpc-bp1orgsharedhub000001"):  # by VPC name or by VPC ID
        errors = fleet.check_against_cloud(f, existing_interfaces={key: 2})
        assert [e.field for e in errors] == ["vpcs.shared"]
        message = errors[0].message
        assert message.startswith("6 router interfaces on this VPC's VRouter")
        assert "plus 2 router interface(s) that already exist" in message and "at most 5" in message
        assert "set backend: vpc_peer on at least 1 of them" in message
    errors = fleet.check_against_cloud(f, existing_interfaces={"edge-beijing": 5})
    assert [e.field for e in errors] == ["vpcs.edge-beijing"]
    assert "delete router interfaces this fleet does not use" in errors[0].message


# -- route tables --------------------------------------------------------------------------------


def test_listed_destinations_that_overlap_across_links_are_named_where_written() -> None:
    data = example_data()
    # Both in edge-beijing's table: it is the initiator of links[4] and the acceptor of links[6].
    data["links"][4]["routes"] = {"initiator": ["10.22.0.0/16", "10.99.0.0/16"]}
    data["links"][6]["routes"] = {"acceptor": ["10.23.0.0/16", "10.99.128.0/17"]}
    errors = refused(data)
    assert [e.field for e in errors] == ["links[6].routes.acceptor[1]"]
    message = errors[0].message
    assert "the route table of VPC edge-beijing" in message
    assert "10.99.128.0/17 to edge-shenzhen through edge-sz-bj (links[6])" in message
    assert "10.99.0.0/16 to edge-shanghai through edge-bj-sh (links[4])" in message


def test_overlapping_peers_on_the_acceptor_side_are_refused_in_its_table() -> None:
    data = example_data()
    # shared is the initiator towards payments (10.11.0.0/16) and the acceptor from tools, whose block overlaps
    data["vpcs"]["tools"] = dict(
        data["vpcs"]["web"],
        vpc_id="vpc-bp1orgtools00000000001",
        vpc_cidr="10.11.128.0/17",
        security_group_id="sg-bp1orgtoolssg000000001",
        instance_id="i-bp1orgtoolsecs00000001",
    )
    data["links"].append({"initiator": "tools", "acceptor": "shared"})
    errors = refused(data)
    assert [e.field for e in errors] == ["links[7]"]
    assert "the route table of VPC shared would send 10.11.128.0/17 to tools (its vpc_cidr) through tools-shared" in (
        errors[0].message
    )


def test_existing_route_entries_overlap_and_count() -> None:
    f = fleet.load_fleet(EXAMPLE)
    # a default route to a NAT gateway is the catch-all, never ambiguous; disjoint entries are fine
    assert fleet.check_against_cloud(f, existing_routes={"shared": ["0.0.0.0/0", "192.168.0.0/16"]}) == []
    errors = fleet.check_against_cloud(f, existing_routes={"vpc-bp1orgsharedhub000001": ["10.13.0.0/16"]})
    assert [e.field for e in errors] == ["links[3]"]
    assert "already has a custom route entry for 10.13.0.0/16, and a route table takes each destination once" in (
        errors[0].message
    )
    errors = fleet.check_against_cloud(f, existing_routes={"ledger": ["10.0.64.0/18"]})
    assert [e.field for e in errors] == ["links[2]"] and "ambiguous" in errors[0].message
    many = [f"172.16.{i}.0/24" for i in range(197)]
    errors = fleet.check_against_cloud(f, existing_routes={"shared": many})
    assert [e.field for e in errors] == ["vpcs.shared"]
    assert errors[0].message.startswith("201 custom route entries") and "plus 197 custom entries" in errors[0].message
    assert "the table has room for 3 more" in errors[0].message
    # the table is named when plan read it; a full one leaves no room for any link's route
    full = [f"172.16.{i}.0/24" for i in range(200)]
    errors = fleet.check_against_cloud(f, existing_routes={"shared": full}, route_tables={"shared": "vtb-bp1hub"})
    assert [e.field for e in errors] == ["vpcs.shared"]
    message = errors[0].message
    assert message.startswith("204 custom route entries in this VPC's route table vtb-bp1hub:"), message
    assert "at most 200" in message and "the table is full already" in message


# -- security groups -----------------------------------------------------------------------------


def test_existing_rules_count_against_the_groups_quota() -> None:
    f = fleet.load_fleet(EXAMPLE)
    assert fleet.check_against_cloud(f, existing_rules={"sg-bp1orgsharedhubsg0001": 192}) == []  # 8 + 192
    errors = fleet.check_against_cloud(f, existing_rules={"sg-bp1orgsharedhubsg0001": 193})
    assert [e.field for e in errors] == ["vpcs.shared.security_group_id"]
    assert errors[0].message.startswith("201 rules in security group sg-bp1orgsharedhubsg0001")


def test_a_group_may_reference_at_most_twenty_peer_groups() -> None:
    data = example_data()
    spoke = data["vpcs"]["payments"]
    data["vpcs"] = {"hub": data["vpcs"]["shared"]}
    data["links"] = []
    for i in range(21):
        data["vpcs"][f"app{i}"] = dict(
            spoke,
            profile=f"org-app{i}",
            account_uid=str(1700000000000000 + i),
            vpc_id=f"vpc-bp1app{i:02d}00000000001",
            vpc_cidr=f"10.{100 + i}.0.0/16",
            security_group_id=f"sg-bp1app{i:02d}sg000000001",
            instance_id=f"i-bp1app{i:02d}ecs0000001",
        )
        data["links"].append({"initiator": "hub", "acceptor": f"app{i}", "backend": "vpc_peer"})
    data["defaults"]["security_groups"]["mode"] = "group"
    errors = refused(data)
    assert [e.field for e in errors] == ["vpcs.hub.security_group_id"]
    assert errors[0].message.startswith("21 links authorize their peer's security group in sg-bp1orgsharedhubsg0001")
    assert "mode: cidr} on at least 1" in errors[0].message
    data["links"][0]["security_groups"] = {"mode": "cidr"}
    assert len(fleet.parse_fleet(data).links) == 21


# -- the checks on a fleet already loaded ---------------------------------------------------------


def test_check_topology_of_a_loaded_fleet_is_clean_and_sees_what_a_fleet_built_otherwise_breaks() -> None:
    f = fleet.load_fleet(EXAMPLE)
    assert fleet.check_topology(f) == []
    vpcs = dict(f.vpcs)
    vpcs["web"] = dataclasses.replace(vpcs["web"], security_group_id=vpcs["payments"].security_group_id)
    twice = fleet.Fleet(f.name, f.source, vpcs, (*f.links, f.links[0]), f.documents)
    fields = [e.field for e in fleet.check_topology(twice)]
    assert fields[:2] == ["vpcs.web.security_group_id", "links[0]"]


def test_every_topology_limit_has_a_source() -> None:
    for limit in topology.TOPOLOGY_LIMITS:
        assert limit.source.startswith("https://") and limit.maximum
