"""The fleet file: loading, defaults and overrides, and each link equal to its own link file."""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from vpclink import fields as F
from vpclink import fleet, params
from vpclink.fleet import spec
from vpclink.params import ParamsError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "fleet-example.yaml"
LINK_EXAMPLE = ROOT / "params" / "example.yaml"


def example_data() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text())
    assert isinstance(data, dict)
    return data


def refusal(data: object) -> dict[str, str]:
    """The problems ``parse_fleet`` finds in ``data``, by field."""
    with pytest.raises(ParamsError) as info:
        fleet.parse_fleet(data, "test")
    return {e.field: e.message for e in info.value.errors}


def write_yaml(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- the example ---------------------------------------------------------------------------------


def test_the_example_fleet_loads_with_its_hub_and_mesh() -> None:
    f = fleet.load_fleet(EXAMPLE)
    assert f.name == "org-network"
    assert len(f.vpcs) == 8
    assert [link.name for link in f.links] == [
        "shared-payments",
        "shared-web-https",
        "shared-ledger",
        "shared-analytics",
        "edge-bj-sh",
        "edge-sh-sz",
        "edge-sz-bj",
    ]
    assert len(f.links_of("shared")) == 4
    regions = {f.vpcs[link.initiator].region for link in f.links[4:]} | {
        f.vpcs[link.acceptor].region for link in f.links[4:]
    }
    assert regions == {"cn-beijing", "cn-shanghai", "cn-shenzhen"}
    assert fleet.check_topology(f) == []
    accounts = {v.account_uid for v in f.vpcs.values()}
    assert len(accounts) == 7  # payments and ledger share one account


@pytest.mark.parametrize("name", [link.name for link in fleet.load_fleet(EXAMPLE).links])
def test_each_link_is_exactly_what_its_link_file_gives(tmp_path: Path, name: str) -> None:
    f = fleet.load_fleet(EXAMPLE)
    path = write_yaml(tmp_path / f"{name}.yaml", f.link_document(name))
    assert params.load(path) == f.link(name).params


# The same links written by hand as link files: the merge rule, stated independently of the code.
SHARED_PAYMENTS = """
link: shared-payments
initiator:
  profile: org-shared
  account_uid: "1288472530551120"
  region: cn-hangzhou
  vpc_id: vpc-bp1orgsharedhub000001
  vpc_cidr: 10.0.0.0/16
  security_group_id: sg-bp1orgsharedhubsg0001
  instance_id: i-bp1orgsharedhubecs001
acceptor:
  profile: org-payments
  account_uid: "1415620038877301"
  region: cn-hangzhou
  vpc_id: vpc-bp1orgpayments0000001
  vpc_cidr: 10.11.0.0/16
  security_group_id: sg-bp1orgpaymentssg00001
  instance_id: i-bp1orgpaymentsecs0001
bandwidth_mbps: 10
security_groups:
  mode: cidr
  rules:
    - {protocol: icmp, description: ping from the peer VPC}
    - {protocol: tcp, port_range: 443/443, description: HTTPS from the peer VPC}
timeouts: {router_interface: 300, route_entry: 120, command: 120}
verify: {ping_count: 4}
"""
SHARED_ANALYTICS = """
link: shared-analytics
initiator:
  profile: org-shared
  account_uid: "1288472530551120"
  region: cn-hangzhou
  vpc_id: vpc-bp1orgsharedhub000001
  vpc_cidr: 10.0.0.0/16
  security_group_id: sg-bp1orgsharedhubsg0001
  instance_id: i-bp1orgsharedhubecs001
acceptor:
  profile: org-data
  account_uid: "1530298847710256"
  region: cn-shanghai
  vpc_id: vpc-uf6organalytics000001
  vpc_cidr: 10.13.0.0/16
  security_group_id: sg-uf6organalyticssg0001
  instance_id: i-uf6organalyticsecs001
bandwidth_mbps: 50
routes: {initiator: [10.13.0.0/16], acceptor: [10.0.0.0/16]}
security_groups:
  mode: cidr
  rules:
    - {protocol: icmp, description: ping from the peer VPC}
    - {protocol: tcp, port_range: 443/443, description: HTTPS from the peer VPC}
timeouts: {router_interface: 900, route_entry: 120, command: 120}
"""


@pytest.mark.parametrize("text", [SHARED_PAYMENTS, SHARED_ANALYTICS], ids=["from-defaults", "timeouts-override"])
def test_a_fleet_link_equals_the_same_link_written_by_hand(tmp_path: Path, text: str) -> None:
    path = tmp_path / "link.yaml"
    path.write_text(text)
    by_hand = params.load(path)
    assert fleet.load_fleet(EXAMPLE).link(by_hand.link).params == by_hand


def test_overrides_win_mappings_merge_key_by_key_and_lists_replace() -> None:
    f = fleet.load_fleet(EXAMPLE)
    defaults = f.link("shared-ledger").params
    assert defaults.bandwidth_mbps == 10 and defaults.security_groups.mode == "cidr"
    assert [r.port_range for r in defaults.security_groups.rules] == ["-1/-1", "443/443"]

    # security_groups: {rules: [...]} keeps the default mode (a mapping merges key by key), and
    # rules: [...] replaces the default list
    web = f.link("shared-web-https").params.security_groups
    assert web.mode == "cidr"
    assert [(r.protocol, r.port_range) for r in web.rules] == [("icmp", "-1/-1"), ("tcp", "8443/8443")]

    # timeouts: {router_interface: 900} keeps the other two default timeouts
    analytics = f.link("shared-analytics").params
    assert analytics.timeouts == params.Timeouts(router_interface=900, route_entry=120, command=120)
    assert analytics.bandwidth_mbps == 50 and analytics.spec == "Small.5"


def test_an_empty_override_counts_as_not_written() -> None:
    data = example_data()
    data["links"][0]["timeouts"] = None
    data["links"][0]["security_groups"] = {"mode": "cidr", "rules": None}
    f = fleet.parse_fleet(data)
    assert f.link("shared-payments").params == fleet.load_fleet(EXAMPLE).link("shared-payments").params


def test_parse_does_not_change_its_input() -> None:
    data = example_data()
    before = copy.deepcopy(data)
    f = fleet.parse_fleet(data)
    document = f.link_document("shared-analytics")
    document["timeouts"]["command"] = 999  # a copy: the fleet is not changed through it
    assert data == before
    assert f.link_document("shared-analytics")["timeouts"]["command"] == 120


def test_default_routes_are_each_peers_cidr_and_listed_routes_are_kept() -> None:
    data = example_data()
    data["links"][4]["routes"] = {"initiator": ["10.22.0.0/16", "10.122.0.0/16"]}
    link = fleet.parse_fleet(data).link("edge-bj-sh")
    assert link.params.routes == {"initiator": ("10.22.0.0/16", "10.122.0.0/16"), "acceptor": ("10.21.0.0/16",)}
    assert link.routes_listed == frozenset({"initiator"})


# -- backend -------------------------------------------------------------------------------------


def test_backend_defaults_to_router_interface_and_is_set_per_link_or_by_default() -> None:
    data = example_data()
    del data["defaults"]["backend"]
    assert {link.backend for link in fleet.parse_fleet(data).links} == {"router_interface"}
    data["links"][2]["backend"] = "vpc_peer"
    f = fleet.parse_fleet(data)
    assert [link.backend for link in f.links].count("vpc_peer") == 1 and f.link("shared-ledger").backend == "vpc_peer"
    data["defaults"]["backend"] = "vpc_peer"
    data["links"][2]["backend"] = "router_interface"
    f = fleet.parse_fleet(data)
    assert [link.backend for link in f.links].count("router_interface") == 1


def mixed_backends() -> dict[str, Any]:
    """The example with vpc_peer as the default, one link back on router interfaces, and no bandwidth
    in defaults (a peering within one region has none): the router-interface link gives its own."""
    data = example_data()
    data["defaults"]["backend"] = "vpc_peer"
    del data["defaults"]["bandwidth_mbps"]
    data["links"][0].update(backend="router_interface", bandwidth_mbps=20)
    return data


def test_the_backend_reaches_each_links_parameters_as_its_link_file_gives_them(tmp_path: Path) -> None:
    f = fleet.parse_fleet(mixed_backends())
    assert [(link.name, link.params.backend) for link in f.links] == [
        ("shared-payments", "router_interface"),
        *[(link.name, "vpc_peer") for link in f.links[1:]],
    ]
    for link in f.links:
        document = f.link_document(link.name)
        assert document["backend"] == link.backend == link.params.backend
        assert params.load(write_yaml(tmp_path / f"{link.name}.yaml", document)) == link.params
    assert f.link("shared-payments").params.spec == "Small.2"
    # a peering within one region has no bandwidth; across regions the API's default applies
    assert f.link("shared-web-https").params.bandwidth_mbps is None
    assert "within one region" in f.link("shared-web-https").params.capacity
    assert f.link("edge-bj-sh").params.bandwidth_mbps == 100  # its own, the peering's across regions


def test_the_same_link_written_by_hand_with_backend_vpc_peer_equals_the_fleets(tmp_path: Path) -> None:
    path = tmp_path / "link.yaml"
    path.write_text(SHARED_PAYMENTS.replace("bandwidth_mbps: 10\n", "backend: vpc_peer\n"))
    by_hand = params.load(path)
    data = example_data()
    data["links"][0]["backend"] = "vpc_peer"
    del data["defaults"]["bandwidth_mbps"]
    for link in data["links"][1:]:
        link.setdefault("bandwidth_mbps", 10)
    assert fleet.parse_fleet(data).link("shared-payments").params == by_hand


def test_a_bad_backend_on_a_link_is_refused_naming_it() -> None:
    data = example_data()
    data["links"][3]["backend"] = "peering"
    errors = refusal(data)
    assert list(errors) == ["links[3].backend"]
    assert "router_interface" in errors["links[3].backend"] and "vpc_peer" in errors["links[3].backend"]


def test_a_bad_default_backend_is_refused_once_with_the_link_files_message() -> None:
    data = example_data()
    data["defaults"]["backend"] = "vpc-peer"
    data["links"][0]["backend"] = "router_interface"  # one link of its own: the default is still refused once
    errors = refusal(data)
    assert list(errors) == ["defaults.backend"]
    link = yaml.safe_load(LINK_EXAMPLE.read_text())
    link["backend"] = "vpc-peer"
    with pytest.raises(ParamsError) as info:
        params.parse(link)
    assert errors["defaults.backend"] == info.value.errors[0].message


def test_a_router_interface_setting_on_a_peering_link_is_refused_naming_the_link_and_field() -> None:
    data = example_data()
    data["links"][2].update(backend="vpc_peer", spec="Small.1")
    errors = refusal(data)
    assert list(errors) == ["links[2].spec"]
    assert "backend vpc_peer" in errors["links[2].spec"] and "no Spec" in errors["links[2].spec"]

    # in defaults, for links of both backends: refused there, naming the peering links it reaches
    data = mixed_backends()
    data["defaults"]["spec"] = "Small.2"
    errors = refusal(data)
    assert list(errors) == ["defaults.spec"]
    message = errors["defaults.spec"]
    assert message.startswith("in links shared-web-https (links[1]), shared-ledger (links[2]),"), message
    assert "shared-payments" not in message and "no Spec" in message


def test_a_router_interface_link_among_peering_links_still_needs_its_bandwidth() -> None:
    data = mixed_backends()
    del data["links"][0]["bandwidth_mbps"]
    errors = refusal(data)
    assert list(errors) == ["links[0].bandwidth_mbps"]
    assert "set it on this link or under defaults" in errors["links[0].bandwidth_mbps"]


# -- names ---------------------------------------------------------------------------------------


def test_a_vpc_entry_has_exactly_a_link_files_side_fields() -> None:
    side = {f.name for f in dataclasses.fields(params.Side)} - {"role"}
    assert set(spec.VPC_FIELDS) == side
    assert set(spec.VPC_REQUIRED) == {"profile", "region", "vpc_id", "vpc_cidr", "security_group_id"}


def test_a_bad_vpc_field_gets_the_link_files_message() -> None:
    data = example_data()
    data["vpcs"]["web"]["vpc_cidr"] = "10.14.1.0/16"
    errors = refusal(data)
    assert list(errors) == ["vpcs.web.vpc_cidr"]  # once, not again for the link that uses web
    link = yaml.safe_load(LINK_EXAMPLE.read_text())
    link["acceptor"]["vpc_cidr"] = "10.14.1.0/16"
    with pytest.raises(ParamsError) as info:
        params.parse(link)
    assert errors["vpcs.web.vpc_cidr"] == info.value.errors[0].message


def test_the_longest_vpc_names_still_give_a_valid_link_name() -> None:
    data = example_data()
    long_a, long_b = "a" * 31, "B" + "x" * 30
    data["vpcs"][long_a] = data["vpcs"].pop("edge-beijing")
    data["vpcs"][long_b] = data["vpcs"].pop("edge-shanghai")
    data["links"][4:] = [{"initiator": long_a, "acceptor": long_b}]
    f = fleet.parse_fleet(data)
    name = f.links[-1].name
    assert name == f"{long_a}-{long_b}" and F.problem(F.LinkName, name) is None


def test_a_vpc_name_of_32_characters_is_refused() -> None:
    data = example_data()
    data["vpcs"]["v" * 32] = data["vpcs"]["web"]
    errors = refusal(data)
    assert list(errors) == ["vpcs." + "v" * 32]
    assert "1 to 31 characters" in errors["vpcs." + "v" * 32]


def test_a_bad_link_name_is_refused_with_the_link_name_rule() -> None:
    data = example_data()
    data["links"][4]["name"] = "9-edge"
    errors = refusal(data)
    assert list(errors) == ["links[4].name"] and "a letter first" in errors["links[4].name"]


# -- where a problem is reported -----------------------------------------------------------------


def test_a_bad_default_is_reported_once_under_defaults() -> None:
    data = example_data()
    data["defaults"]["timeouts"]["command"] = 5
    errors = refusal(data)
    assert list(errors) == ["defaults.timeouts.command"]
    assert not errors["defaults.timeouts.command"].startswith("in link")


def test_a_bandwidth_nobody_gives_is_asked_for_under_defaults() -> None:
    data = example_data()
    del data["defaults"]["bandwidth_mbps"]
    for link in data["links"]:
        link.pop("bandwidth_mbps", None)
    errors = refusal(data)
    assert list(errors) == ["defaults.bandwidth_mbps"] and "10 (Small.1)" in errors["defaults.bandwidth_mbps"]


def test_a_bandwidth_missing_on_some_links_is_asked_for_on_those() -> None:
    data = example_data()
    del data["defaults"]["bandwidth_mbps"]
    errors = refusal(data)
    assert sorted(errors) == [f"links[{i}].bandwidth_mbps" for i in range(3)]


def test_a_spec_default_that_a_link_bandwidth_contradicts_names_that_link() -> None:
    data = example_data()
    data["defaults"]["spec"] = "Small.1"
    with pytest.raises(ParamsError) as info:
        fleet.parse_fleet(data)
    errors = info.value.errors
    assert [e.field for e in errors] == ["defaults.spec", "defaults.spec"]  # one per bandwidth it contradicts
    assert errors[0].message.startswith("in link shared-analytics (links[3]): Small.1 does not match bandwidth_mbps 50")
    assert errors[1].message.startswith(
        "in links edge-bj-sh (links[4]), edge-sh-sz (links[5]), edge-sz-bj (links[6]): Small.1 does not match "
        "bandwidth_mbps 100"
    )


def test_a_link_setting_at_the_top_level_says_where_it_belongs() -> None:
    data = example_data()
    data["bandwidth_mbps"] = 10
    data["defaults"]["region"] = "cn-hangzhou"
    data["links"][0]["link"] = "hub-payments"
    errors = refusal(data)
    assert "under defaults:" in errors["bandwidth_mbps"]
    assert "under vpcs.<name>" in errors["defaults.region"]
    assert "name: here" in errors["links[0].link"]


def test_a_setting_that_contains_itself_is_refused_not_followed() -> None:
    data = example_data()
    timeouts: dict[str, object] = {"router_interface": 300}
    timeouts["again"] = timeouts  # what YAML aliases (&t ... *t) can build
    data["defaults"]["timeouts"] = timeouts
    data["links"][0]["timeouts"] = timeouts
    errors = refusal(data)
    assert sorted(errors) == ["defaults.timeouts.again", "links[0].timeouts.again"]
    assert (
        "did you mean" not in errors["defaults.timeouts.again"] and "unknown key" in errors["defaults.timeouts.again"]
    )


# -- the kind of file ----------------------------------------------------------------------------


def test_is_fleet_tells_a_fleet_file_from_a_link_file(tmp_path: Path) -> None:
    assert fleet.is_fleet(EXAMPLE) and fleet.is_fleet(str(EXAMPLE))
    assert not fleet.is_fleet(LINK_EXAMPLE)
    assert fleet.is_fleet(example_data()) and not fleet.is_fleet(yaml.safe_load(LINK_EXAMPLE.read_text()))
    assert not fleet.is_fleet(tmp_path / "absent.yaml") and not fleet.is_fleet(tmp_path)
    assert not fleet.is_fleet(["fleet"]) and not fleet.is_fleet(None)


def test_load_any_takes_either_kind() -> None:
    assert isinstance(fleet.load_any(EXAMPLE), fleet.Fleet)
    assert fleet.load_any(LINK_EXAMPLE) == params.load(LINK_EXAMPLE)


def test_a_fleet_file_where_one_link_is_expected_is_refused_by_name() -> None:
    with pytest.raises(ParamsError) as info:
        fleet.load_link(EXAMPLE)
    assert [e.field for e in info.value.errors] == ["(file)"]
    assert "is a fleet file" in info.value.errors[0].message
    assert fleet.load_link(LINK_EXAMPLE) == params.load(LINK_EXAMPLE)
    with pytest.raises(ParamsError):  # and the link file loader does not take it either
        params.load(EXAMPLE)


@pytest.mark.parametrize("data", [None, [], "fleet: x", 3])
def test_a_document_that_is_not_a_mapping_is_refused_as_a_whole(data: object) -> None:
    errors = refusal(data)
    assert list(errors) == ["(file)"] and "fleet, vpcs, defaults, links" in errors["(file)"]


def test_an_unsafe_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fleet.yaml"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path, tmp_path / "absent.yaml"):
        with pytest.raises(ParamsError) as info:
            fleet.load_fleet(path)
        assert [e.field for e in info.value.errors] == ["(file)"] and str(path) in info.value.errors[0].message


def test_a_fleet_without_its_parts_asks_for_each() -> None:
    errors = refusal({"fleet": "org-network"})
    assert sorted(errors) == ["links", "vpcs"]
    assert "profile, region, vpc_id, vpc_cidr, security_group_id" in errors["vpcs"]


def test_a_secret_in_a_link_override_is_refused_once_and_never_shown() -> None:
    secret = "q8ZfW2rTpX7mK4vN9bJcL3sD6hGyAe"
    data = example_data()
    data["links"][1]["security_groups"]["rules"][0]["description"] = f"key {secret}"
    data["defaults"]["security_groups"]["rules"][1]["description"] = secret
    with pytest.raises(ParamsError) as info:
        fleet.parse_fleet(data)
    assert [e.field for e in info.value.errors] == [
        "defaults.security_groups.rules[1].description",
        "links[1].security_groups.rules[0].description",
    ]
    assert secret not in str(info.value) and secret[-12:] not in str(info.value)
