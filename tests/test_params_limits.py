"""The API's limits on what the parameters produce: refused by ``check`` before any call, each naming
the field and the limit; and the names vpclink derives from the link name (``naming``)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml
from vpclink import limits, naming, params
from vpclink.params import ParamsError, Rule

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "example.yaml"


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def errors_of(data: dict) -> dict[str, str]:
    with pytest.raises(ParamsError) as info:
        params.parse(data, "test.yaml")
    return {e.field: e.message for e in info.value.errors}


def with_rules(rules: list[dict]) -> dict:
    data = example()
    data["security_groups"] = {"mode": "cidr", "rules": rules}
    return data


# -- the table -----------------------------------------------------------------------------------


def test_every_row_names_its_source_and_the_field_it_bounds() -> None:
    names = [row.name for row in limits.LIMITS]
    assert len(names) == len(set(names))
    for row in limits.LIMITS:
        assert row.source and row.fields and row.enforced and row.rule, row
        assert row.minimum is not None or row.maximum is not None, row
    api_rows = [r for r in limits.LIMITS if r.source != "vpclink"]
    assert all("alibabacloud.com" in r.source or "vpclink.waits" in r.source for r in api_rows)


def test_the_documented_bounds() -> None:
    assert (limits.RULE_DESCRIPTION.minimum, limits.RULE_DESCRIPTION.maximum) == (1, 512)
    assert (limits.RI_NAME.minimum, limits.RI_NAME.maximum) == (2, 128)
    assert (limits.RI_DESCRIPTION.minimum, limits.RI_DESCRIPTION.maximum) == (2, 256)
    assert (limits.ROUTE_ENTRY_NAME.maximum, limits.ROUTE_ENTRY_DESCRIPTION.maximum) == (128, 256)
    assert limits.PERMISSIONS_PER_CALL.maximum == 100
    assert limits.RULES_PER_GROUP.maximum == 200 and limits.ROUTE_ENTRIES_PER_TABLE.maximum == 200


# -- names derived from the link -------------------------------------------------------------------


def test_naming_formats() -> None:
    link = "tutorial-qingdao-beijing"
    assert naming.router_interface_name(link, "initiator") == "vpclink-tutorial-qingdao-beijing-initiator"
    assert (
        naming.router_interface_description(link, "acceptor") == "vpclink link tutorial-qingdao-beijing acceptor side"
    )
    assert naming.link_marker(link) == "vpclink link tutorial-qingdao-beijing"
    assert naming.route_entry_name(link) == "vpclink-tutorial-qingdao-beijing"
    assert naming.route_entry_description(link, "initiator") == "vpclink link tutorial-qingdao-beijing initiator side"
    assert naming.rule_description(link, "initiator") == "vpclink link tutorial-qingdao-beijing initiator side"
    assert (
        naming.rule_description(link, "acceptor", "SSH") == "vpclink link tutorial-qingdao-beijing acceptor side: SSH"
    )
    assert naming.command_name(link) == "vpclink-tutorial-qingdao-beijing-ping"


@pytest.mark.parametrize(
    "description, ours",
    [
        ("vpclink link L1 initiator side", True),
        ("vpclink link L1 initiator side: SSH", True),
        ("vpclink link L1 acceptor side", False),
        ("vpclink link L1 initiator sidewalk", False),
        ("vpclink link L1.b initiator side", False),
        ("hand-made rule", False),
    ],
)
def test_is_ours(description: str, ours: bool) -> None:
    assert naming.is_ours(description, "L1", "initiator") is ours


def test_the_longest_link_name_fits_every_derived_name() -> None:
    longest = "L" + "x" * 63
    assert params.LINK_NAME.fullmatch(longest)
    assert limits.link_problems(longest) == []
    for limit, text in limits.derived_names(longest):
        assert len(text) <= (limit.maximum or 0), (limit.name, text)


def test_a_derived_name_over_its_limit_is_named() -> None:
    problems = limits.link_problems("L" + "x" * 200)
    assert problems and any("CreateRouterInterface Name" in p and "128" in p for p in problems)
    assert all("choose a shorter link name" in p for p in problems)


# -- rule descriptions after vpclink's prefix ---------------------------------------------------


def test_room_for_a_rule_description_depends_on_the_link_name() -> None:
    prefix = naming.rule_description_prefix("tutorial-qingdao-beijing", "initiator")
    assert limits.rule_description_room("tutorial-qingdao-beijing") == 512 - len(prefix) == 458
    assert limits.rule_description_room("ab") > limits.rule_description_room("L" + "x" * 63)


def test_a_description_that_fits_exactly_is_accepted_and_one_more_is_refused() -> None:
    room = limits.rule_description_room("tutorial-qingdao-beijing")
    fits = params.parse(with_rules([{"protocol": "icmp", "description": "d" * room}]))
    text = fits.security_groups.rules[0].description
    assert len(naming.rule_description(fits.link, "initiator", text)) == 512
    message = errors_of(with_rules([{"protocol": "icmp", "description": "d" * (room + 1)}]))[
        "security_groups.rules[0].description"
    ]
    assert f"at most {room} characters here" in message and "512" in message


def test_the_description_limit_is_checked_even_when_other_fields_are_bad() -> None:
    data = with_rules([{"protocol": "icmp", "description": "d" * 500}])
    data["initiator"]["region"] = "cn-qindao"
    assert set(errors_of(data)) == {"initiator.region", "security_groups.rules[0].description"}


# -- counts ------------------------------------------------------------------------------------


def ports(n: int) -> list[dict]:
    return [{"protocol": "tcp", "port_range": f"{p}/{p}"} for p in range(1000, 1000 + n)]


def test_more_rules_than_one_call_takes_are_accepted_for_splitting() -> None:
    p = params.parse(with_rules(ports(150)))
    assert len(p.security_groups.rules) == 150
    assert [len(b) for b in limits.batches(p.security_groups.rules)] == [100, 50]


def test_more_rules_than_a_group_holds_are_refused() -> None:
    assert params.parse(with_rules(ports(200)))
    message = errors_of(with_rules(ports(201)))["security_groups.rules"]
    assert message.startswith("201 rules: a security group holds at most 200 rules")


def test_more_destinations_than_a_route_table_holds_are_refused_on_that_side() -> None:
    data = example()
    data["routes"]["initiator"] = [f"10.{i // 256}.{i % 256}.0/24" for i in range(201)]
    errors = errors_of(data)
    assert list(errors) == ["routes.initiator"]
    assert "at most 200 custom route entries" in errors["routes.initiator"]
    data["routes"]["initiator"] = data["routes"]["initiator"][:200]
    assert len(params.parse(data).routes["initiator"]) == 200


# -- waits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [1e-9, 0.5, 9.99, 3600.5, float("nan"), float("inf")])
def test_a_wait_that_cannot_be_met_is_refused(seconds: float) -> None:
    data = example()
    data["timeouts"]["route_entry"] = seconds
    message = errors_of(data)["timeouts.route_entry"]
    assert f"at least {limits.WAIT_MIN:g} and at most 3600" in message


def test_the_wait_minimum_is_two_polls() -> None:
    from vpclink.waits import POLL_CAP

    assert limits.WAIT_MIN == 2 * POLL_CAP


@pytest.mark.parametrize("count, needed", [(1, 12), (4, 18), (20, 50)])
def test_the_command_wait_covers_the_ping_it_waits_for(count: int, needed: int) -> None:
    assert limits.run_command_timeout(count) == needed
    data = example()
    data["verify"] = {"ping_count": count}
    data["timeouts"]["command"] = needed
    params.parse(data)
    data["timeouts"]["command"] = needed - 1  # still above the wait minimum
    assert f"RunCommand Timeout {needed} s" in errors_of(data)["timeouts.command"]


# -- limits.check on a LinkParams built by code --------------------------------------------------


def test_check_passes_the_example_and_names_each_broken_limit() -> None:
    p = params.load(EXAMPLE)
    assert limits.check(p) == []
    broken = dataclasses.replace(
        p,
        security_groups=dataclasses.replace(p.security_groups, rules=(Rule("icmp", "-1/-1", "d" * 500),)),
        routes={"initiator": tuple(f"10.0.{i}.0/24" for i in range(201)), "acceptor": p.routes["acceptor"]},
        timeouts=dataclasses.replace(p.timeouts, route_entry=1.0, command=20.0),
        verify=dataclasses.replace(p.verify, ping_count=20),
    )
    fields = [e.field for e in limits.check(broken)]
    assert fields == [
        "security_groups.rules[0].description",
        "routes.initiator",
        "timeouts.route_entry",
        "timeouts.command",
    ]


def test_parse_never_changes_the_document_it_checks() -> None:
    data = with_rules(ports(201))
    before = copy.deepcopy(data)
    errors_of(data)
    assert data == before
