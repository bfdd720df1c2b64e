"""What the phases refuse and what they leave alone: parameters the cloud contradicts, routes and
interfaces that are somebody else's, rules added by hand, missing inputs; and the same-region
variant with security-group references."""

from __future__ import annotations

import copy

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_vpc20160428 import models as vpc
from alicloud_emulator.world import default_world, with_timing
from emulator.ecs_helpers import one_region_world
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
    replace_side,
    replaced,
    start_emulator,
)
from vpclink.phases import get
from vpclink.phases.base import MissingInput, ParameterMismatch, PhaseError
from vpclink.profiles import ProfileError

A_VTB, A_VRT, A_ECS, A_SG = (
    "vtb-m5e1tutorialvtb1qd00001",
    "vrt-m5e1tutorialvrt1qd00001",
    "i-m5e1tutorialecs1qd00001",
    "sg-m5e1tutorialsg1qd000001",
)


def fields(err: ParameterMismatch) -> dict[str, str]:
    return {e.field: e.message for e in err.errors}


def test_preflight_names_every_parameter_the_cloud_contradicts(emu, tmp_path):
    rig = Rig(emu, tmp_path)
    p = replace_side(rig.params, "initiator", vpc_cidr="192.168.0.0/24", account_uid="1111222233334444")
    p = replace_side(p, "acceptor", security_group_id=A_SG, instance_id="i-2ze2doesnotexist0000001")
    p = replaced(p, routes={"initiator": ("172.16.0.0/16",), "acceptor": ("172.16.1.0/24",)})
    rig.params = p
    seq = rig.journal_seq()
    with pytest.raises(ParameterMismatch) as e:
        rig.apply("preflight")
    f = fields(e.value)
    assert set(f) == {
        "initiator.vpc_cidr",
        "initiator.account_uid",
        "acceptor.security_group_id",
        "acceptor.instance_id",
        "routes.acceptor[0]",
    }
    assert "192.168.0.0/16" in f["initiator.vpc_cidr"]
    assert "1637243907412983" in f["initiator.account_uid"]
    assert A_SG in f["acceptor.security_group_id"]
    assert "172.16.1.0/24" in f["routes.acceptor[0]"] and "vSwitch" in f["routes.acceptor[0]"]
    assert rig.mutations_since(seq) == []
    problems = [s for s in get("preflight").plan(rig.ctx("preflight")) if s.detail.startswith("mismatch")]
    assert {s.side for s in problems} == {"initiator", "acceptor"}


def test_preflight_refuses_one_account_on_both_sides(emu, tmp_path):
    rig = Rig(emu, tmp_path, profiles={"vpclink-a": "account-a", "vpclink-b": "account-a"})
    with pytest.raises(ParameterMismatch) as e:
        rig.apply("preflight")
    f = fields(e.value)
    assert "acceptor.profile" in f and "both sign in as account 1637243907412983" in f["acceptor.profile"]


def test_preflight_checks_the_instance_is_running_and_in_the_group(tmp_path):
    world = with_timing(copy.deepcopy(default_world()), scale=0)
    world["vpcs"][0]["instances"][0]["status"] = "Stopped"
    world["vpcs"][0]["security_groups"].append({"id": "sg-m5e1tutorialsg1qdother1", "name": "other"})
    emu = start_emulator(world)
    try:
        rig = Rig(emu, tmp_path)
        rig.params = replace_side(rig.params, "initiator", security_group_id="sg-m5e1tutorialsg1qdother1")
        with pytest.raises(ParameterMismatch) as e:
            rig.apply("preflight")
        msg = fields(e.value)["initiator.instance_id"]
        assert "Stopped" in str(e.value) and "not in security group sg-m5e1tutorialsg1qdother1" in str(e.value), msg
    finally:
        emu.server.stop()


def test_an_unknown_profile_is_named_with_its_field(rig):
    rig.params = replace_side(rig.params, "acceptor", profile="vpclink-typo")
    with pytest.raises(ProfileError) as e:
        rig.ctx("preflight")
    assert e.value.field == "acceptor.profile"
    assert "vpclink-typo" in str(e.value) and "vpclink-a, vpclink-b" in str(e.value)
    assert not any(s in str(e.value) for s in rig.secrets())


def test_a_route_somebody_else_made_is_never_replaced(rig):
    a = rig.emu.side("account-a", "cn-qingdao")
    theirs = a.vpc.create_route_entry(
        vpc.CreateRouteEntryRequest(
            region_id="cn-qingdao",
            route_table_id=A_VTB,
            destination_cidr_block="172.16.0.0/16",
            next_hop_type="Instance",
            next_hop_id=A_ECS,
        )
    ).body.route_entry_id
    rig.run_all(phases=("preflight", "initiator", "acceptor", "connect"))
    plan = get("routes").plan(rig.ctx("routes"))
    assert plan[0].intent == "check" and theirs in plan[0].detail
    with pytest.raises(PhaseError) as e:
        rig.apply("routes")
    assert "routes.initiator[0]" in str(e.value) and theirs in str(e.value) and A_ECS in str(e.value)
    # Teardown removes the link and leaves the route it did not make.
    assert rig.apply("teardown") == {"teardown_complete": True}
    assert [
        (r["RouteEntryId"], r["NextHopId"]) for r in rig.resources("account-a", "route_entry") if r["Type"] == "Custom"
    ] == [(theirs, A_ECS)]


def test_a_rule_added_by_hand_is_used_and_left_in_place(rig):
    a = rig.emu.side("account-a", "cn-qingdao")
    a.ecs.authorize_security_group(
        ecs.AuthorizeSecurityGroupRequest(
            region_id="cn-qingdao",
            security_group_id=A_SG,
            permissions=[
                ecs.AuthorizeSecurityGroupRequestPermissions(
                    ip_protocol="icmp",
                    port_range="-1/-1",
                    source_cidr_ip="172.16.0.0/16",
                    policy="Accept",
                    description="ops team",
                )
            ],
        )
    )
    [manual] = rig.rules("account-a")
    out = rig.run_all()
    assert out["verified"] is True
    icmp = [r for r in rig.rules("account-a") if r["IpProtocol"] == "ICMP"]
    assert [r["SecurityGroupRuleId"] for r in icmp] == [manual["SecurityGroupRuleId"]]  # no duplicate
    assert manual["SecurityGroupRuleId"] in out["initiator_rule_ids"]
    rig.apply("teardown")
    assert [(r["SecurityGroupRuleId"], r["Description"]) for r in rig.rules("account-a")] == [
        (manual["SecurityGroupRuleId"], "ops team")
    ]


def test_teardown_leaves_an_interface_it_did_not_create(rig):
    a = rig.emu.side("account-a", "cn-qingdao")
    foreign = a.vpc.create_router_interface(
        vpc.CreateRouterInterfaceRequest(
            region_id="cn-qingdao",
            role="InitiatingSide",
            router_type="VRouter",
            router_id=A_VRT,
            spec="Mini.5",
            opposite_region_id="cn-shanghai",
            name="someone-elses-link",
        )
    ).body.router_interface_id
    rig.run_all()
    assert rig.apply("teardown") == {"teardown_complete": True}
    assert [r["RouterInterfaceId"] for r in rig.resources("account-a", "router_interface")] == [foreign]


def test_two_interfaces_with_the_runbooks_name_are_refused(rig, monkeypatch, tmp_path):
    rig.run_all(phases=("preflight", "initiator"))
    a = rig.emu.side("account-a", "cn-qingdao")
    a.vpc.create_router_interface(
        vpc.CreateRouterInterfaceRequest(
            region_id="cn-qingdao",
            role="InitiatingSide",
            router_type="VRouter",
            router_id=A_VRT,
            spec="Mini.2",
            opposite_region_id="cn-beijing",
            name="vpclink-tutorial-qingdao-beijing-initiator",
        )
    )
    rig.outputs.pop("initiator_router_interface_id")
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(tmp_path / "elsewhere"))  # no note of which one is ours
    with pytest.raises(PhaseError, match="2 router interfaces are named vpclink-tutorial-qingdao-beijing-initiator"):
        rig.apply("initiator")


def test_an_interface_on_another_router_is_refused(rig):
    rig.run_all(phases=("preflight",))
    b = rig.emu.side("account-b", "cn-beijing")
    wrong = b.vpc.create_router_interface(
        vpc.CreateRouterInterfaceRequest(
            region_id="cn-beijing",
            role="InitiatingSide",
            router_type="VRouter",
            router_id="vrt-2ze2tutorialvrt2bj00001",
            spec="Mini.2",
            opposite_region_id="cn-qingdao",
            name="vpclink-tutorial-qingdao-beijing-acceptor",
        )
    ).body
    with pytest.raises(PhaseError) as e:
        rig.apply("acceptor")
    assert wrong.router_interface_id in str(e.value) and "InitiatingSide" in str(e.value)


def test_a_one_sided_phase_says_which_input_it_lacks(rig):
    ctx = rig.ctx("acceptor", inputs={}, sides=("acceptor",))
    with pytest.raises(MissingInput) as e:
        get("acceptor").apply(ctx)
    assert e.value.key == "initiator_vrouter_id" and "preflight" in str(e.value)
    assert rig.resources("account-b", "router_interface") == []


def _group_mode_rig(emu, tmp_path) -> Rig:
    rig = Rig(emu, tmp_path)
    p = replace_side(rig.params, "acceptor", region="cn-qingdao")
    rig.params = replaced(p, security_groups=replaced(p.security_groups, mode="group"))
    return rig


def test_group_mode_stops_before_any_rule_when_the_cloud_refuses_cross_vpc_references(tmp_path):
    """Today's ECS reference: a VPC security group names only groups of the same VPC. The phase
    stops at the refusal, names the restriction and ``mode: cidr``, and never adds a wider rule."""
    emu = start_emulator(one_region_world())
    try:
        rig = _group_mode_rig(emu, tmp_path)
        rig.run_all(phases=("preflight", "initiator", "acceptor", "connect", "routes"))
        with pytest.raises(PhaseError) as e:
            rig.apply("security_groups")
        message = str(e.value)
        assert "InvalidSourceGroupId.Mismatch" in message and "same VPC" in message, message
        assert "security_groups.mode: cidr" in message and "request ID" in message, message
        assert rig.rules("account-a") == [] and rig.rules("account-b") == []
    finally:
        emu.server.stop()


def test_same_region_link_with_security_group_references_in_the_tutorial_behaviour(tmp_path):
    """The tutorial's (older) page lets a same-region link name the peer's group and account; the
    emulator's ``behaviour.security_group_reference: tutorial`` world setting models that page."""
    world = one_region_world()
    world["behaviour"] = {"security_group_reference": "tutorial"}
    emu = start_emulator(world)
    try:
        rig = _group_mode_rig(emu, tmp_path)
        out = rig.run_all()
        assert out["verified"] is True
        assert sorted(
            (r["IpProtocol"], r["SourceGroupId"], r["SourceGroupOwnerAccount"]) for r in rig.rules("account-a")
        ) == [
            ("ICMP", "sg-2ze2tutorialsg2bj000001", "1589430122237715"),
            ("TCP", "sg-2ze2tutorialsg2bj000001", "1589430122237715"),
        ]
        before = rig.inventory()
        rig.run_all()
        assert rig.inventory() == before
        rig.apply("teardown")
        assert rig.rules("account-a") == [] and rig.rules("account-b") == []
    finally:
        emu.server.stop()


def test_a_run_after_its_teardown_creates_the_link_anew(rig, monkeypatch, tmp_path):
    """The ClientToken is the link's, not the run's: after a teardown the same token would replay the
    deleted interface, so the create moves to the next generation, on this machine (whose register
    knows the generation is spent) and on another (which reads that the replayed interface is gone)."""
    rig.run_all(phases=("preflight", "initiator"))
    first = rig.outputs["initiator_router_interface_id"]
    rig.apply("teardown")
    assert rig.resources("account-a", "router_interface") == []
    second = rig.apply("initiator")["initiator_router_interface_id"]  # the same run, resumed
    assert second != first and [r["RouterInterfaceId"] for r in rig.resources("account-a", "router_interface")] == [
        second
    ]
    rig.apply("teardown")
    # another machine: no register; its chain starts at generation 0 and walks past both deleted ones
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(tmp_path / "other-machine"))
    rig.outputs = {k: v for k, v in rig.outputs.items() if "router_interface" not in k}
    third = rig.apply("initiator", run_id="run-2")["initiator_router_interface_id"]
    assert third not in (first, second)
    assert [r["RouterInterfaceId"] for r in rig.resources("account-a", "router_interface")] == [third]
