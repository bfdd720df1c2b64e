"""The phases against the emulator: the tutorial's link built phase by phase, convergence, plans
that only read, teardown. Faults are in test_phases_faults.py, parameter mismatches and ownership
in test_phases_safety.py."""

from __future__ import annotations

import pytest
from alicloud_emulator.world import default_world
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
    replaced,
    start_emulator,
)
from vpclink.phases import RUN, get
from vpclink.phases.base import rows_frame, steps_frame
from vpclink.waits import WaitTimeout

A_UID, B_UID = "1637243907412983", "1589430122237715"


@pytest.fixture
def slow_rig(tmp_path):
    """The tutorial world with its demo delays (2-4 s per step); the rig's clock moves virtual time."""
    e = start_emulator(default_world())
    yield Rig(e, tmp_path)
    e.server.stop()


def test_phase_by_phase_to_a_verified_link(rig):
    out = rig.apply("preflight")
    assert out == {
        "initiator_account_uid": A_UID,
        "acceptor_account_uid": B_UID,
        "initiator_vrouter_id": "vrt-m5e1tutorialvrt1qd00001",
        "acceptor_vrouter_id": "vrt-2ze2tutorialvrt2bj00001",
        "initiator_route_table_id": "vtb-m5e1tutorialvtb1qd00001",
        "acceptor_route_table_id": "vtb-2ze2tutorialvtb2bj00001",
        "initiator_instance_ip": "192.168.1.10",
        "acceptor_instance_ip": "172.16.1.10",
    }

    ri_a = rig.apply("initiator")["initiator_router_interface_id"]
    [a] = rig.resources("account-a", "router_interface")
    assert (a["RouterInterfaceId"], a["Role"], a["Spec"], a["Status"]) == (ri_a, "InitiatingSide", "Mini.2", "Idle")
    assert (a["Name"], a["RouterId"], a["OppositeRouterId"], a["OppositeRegionId"], a["OppositeInterfaceOwnerId"]) == (
        "vpclink-tutorial-qingdao-beijing-initiator",
        "vrt-m5e1tutorialvrt1qd00001",
        "vrt-2ze2tutorialvrt2bj00001",
        "cn-beijing",
        B_UID,
    )

    ri_b = rig.apply("acceptor")["acceptor_router_interface_id"]
    [b] = rig.resources("account-b", "router_interface")
    assert (b["Role"], b["Spec"], b["OppositeInterfaceId"], b["OppositeInterfaceOwnerId"]) == (
        "AcceptingSide",
        "Negative",
        ri_a,
        A_UID,
    )

    assert rig.apply("connect") == {"connection_status": "Active"}
    a, b = rig.resources("account-a", "router_interface")[0], rig.resources("account-b", "router_interface")[0]
    assert (a["Status"], b["Status"], a["OppositeInterfaceId"], a["OppositeRouterType"]) == (
        "Active",
        "Active",
        ri_b,
        "VRouter",
    )

    routes = rig.apply("routes")
    [ra] = [r for r in rig.resources("account-a", "route_entry") if r["Type"] == "Custom"]
    [rb] = [r for r in rig.resources("account-b", "route_entry") if r["Type"] == "Custom"]
    assert routes == {
        "initiator_route_entry_ids": [ra["RouteEntryId"]],
        "acceptor_route_entry_ids": [rb["RouteEntryId"]],
    }
    assert (ra["DestinationCidrBlock"], ra["NextHopType"], ra["NextHopId"], ra["Status"]) == (
        "172.16.0.0/16",
        "RouterInterface",
        ri_a,
        "Available",
    )
    assert (rb["DestinationCidrBlock"], rb["NextHopId"]) == ("192.168.0.0/16", ri_b)

    rules = rig.apply("security_groups")
    assert sorted(rules["initiator_rule_ids"]) == sorted(r["SecurityGroupRuleId"] for r in rig.rules("account-a"))
    assert sorted((r["IpProtocol"], r["PortRange"], r["SourceCidrIp"]) for r in rig.rules("account-a")) == [
        ("ICMP", "-1/-1", "172.16.0.0/16"),
        ("TCP", "22/22", "172.16.0.0/16"),
    ]
    assert sorted((r["IpProtocol"], r["PortRange"], r["SourceCidrIp"]) for r in rig.rules("account-b")) == [
        ("ICMP", "-1/-1", "192.168.0.0/16"),
        ("TCP", "22/22", "192.168.0.0/16"),
    ]

    out = rig.apply("verify")
    assert (out["ping_initiator_to_acceptor"], out["ping_acceptor_to_initiator"], out["verified"]) == ("ok", "ok", True)
    assert "4 received" in out["ping_initiator_to_acceptor_output"]
    assert "from 192.168.1.10" in out["ping_acceptor_to_initiator_output"]
    assert set(rig.outputs) >= {k for p in RUN for k in get(p).output_keys}


def test_verify_fails_without_security_group_rules(rig):
    rig.run_all(phases=("preflight", "initiator", "acceptor", "connect", "routes"))
    out = rig.apply("verify")
    assert (out["ping_initiator_to_acceptor"], out["ping_acceptor_to_initiator"], out["verified"]) == (
        "failed",
        "failed",
        False,
    )
    assert "100% packet loss" in out["ping_initiator_to_acceptor_output"]


def test_every_phase_twice_creates_nothing(rig):
    first = dict(rig.run_all())
    before, seq = rig.inventory(), rig.journal_seq()
    second = rig.run_all()
    assert rig.inventory() == before
    assert {e["action"] for e in rig.mutations_since(seq)} == {"RunCommand"}  # verify pings afresh, nothing else
    assert {k: v for k, v in second.items() if not k.startswith("ping_")} == {
        k: v for k, v in first.items() if not k.startswith("ping_")
    }


def test_a_new_run_id_finds_the_link_by_name(rig):
    rig.run_all(run_id="run-1")
    before, seq = rig.inventory(), rig.journal_seq()
    rig.outputs = {}  # a new run knows nothing of the first
    rig.run_all(run_id="run-2")
    assert rig.inventory() == before
    assert {e["action"] for e in rig.mutations_since(seq)} == {"RunCommand"}


def test_plans_make_no_mutating_call_and_tell_create_from_exists(rig):
    plans = {}
    for phase in RUN:
        plans[phase] = get(phase).plan(rig.ctx(phase))
        rig.apply(phase)
    before, after_seq = rig.inventory(), rig.journal_seq()
    plans_again = {phase: get(phase).plan(rig.ctx(phase)) for phase in (*RUN, "teardown")}
    rows = {phase: get(phase).verify(rig.ctx(phase)) for phase in (*RUN, "teardown")}
    assert rig.mutations_since(after_seq) == []
    assert rig.inventory() == before
    ri_a = rig.outputs["initiator_router_interface_id"]
    assert [(s.action, s.intent) for s in plans["initiator"]] == [
        ("CreateRouterInterface", "create"),
        ("DescribeRouterInterfaces", "wait"),
    ]
    assert [(s.action, s.intent, s.detail) for s in plans_again["initiator"]] == [
        ("CreateRouterInterface", "exists", f"{ri_a} (Active)")
    ]
    assert [s.intent for s in plans["routes"]] == ["create", "wait", "create", "wait"]
    assert [s.intent for s in plans_again["routes"]] == ["exists", "exists"]
    assert [s.intent for s in plans_again["security_groups"]] == ["exists"] * 4
    assert plans_again["connect"][0].intent == "exists"
    assert [s.action for s in plans_again["teardown"]].count("DeleteRouterInterface") == 2
    assert [r["status"] for r in rows["connect"]] == ["Active", "Active"]
    assert [r["status"] for r in rows["routes"]] == ["Available", "Available"]
    assert {r["status"] for r in rows["security_groups"]} == {"present"}
    assert [r["routes_left"] for r in rows["teardown"]] == [1, 1]
    frame = steps_frame(plans["routes"])
    assert list(frame.columns) == ["side", "action", "target", "intent", "detail"] and len(frame) == 4
    assert list(rows_frame(rows["routes"])["route_entry_id"]) == (
        rig.outputs["initiator_route_entry_ids"] + rig.outputs["acceptor_route_entry_ids"]
    )


def test_plan_is_read_only_even_where_apply_would_create(rig):
    seq = rig.journal_seq()
    rig.run_all(phases=("preflight",))
    for phase in (*RUN, "teardown"):
        try:
            get(phase).plan(rig.ctx(phase))
        except Exception as e:  # a later phase may need an earlier phase's interface; it says so
            assert "phase first" in str(e) or "needs" in str(e), e
    assert rig.mutations_since(seq) == []
    assert rig.resources("account-a", "router_interface") == []


def test_waits_follow_the_demo_timings_and_report_each_state(slow_rig):
    out = slow_rig.run_all()
    assert out["verified"] is True
    states = [(e.what, e.state) for e in slow_rig.events if e.kind == "state"]
    assert ("router interface", "Connecting") in states
    assert ("route entry", "Pending") in states
    assert ("command", "Running") in states
    # Backoff: the first pause of each wait is 0.5 s, none is longer than 5 s.
    assert slow_rig.clock.sleeps and max(slow_rig.clock.sleeps) <= 5.0 and 0.5 in slow_rig.clock.sleeps


def test_a_wait_that_times_out_names_the_state_reached(slow_rig, tmp_path):
    slow_rig.run_all(phases=("preflight", "initiator", "acceptor"))
    slow_rig.params = replaced(slow_rig.params, timeouts=replaced(slow_rig.params.timeouts, router_interface=1.0))
    with pytest.raises(WaitTimeout) as e:
        slow_rig.apply("connect")
    ri_a = slow_rig.outputs["initiator_router_interface_id"]
    assert ri_a in str(e.value) and "Connecting" in str(e.value) and "Active" in str(e.value)
    assert "timed out after 1 s" in str(e.value)
    assert e.value.reached == "Connecting"
    assert [ev.kind for ev in slow_rig.events][-1] == "timeout"


def test_connect_activates_an_interface_someone_deactivated(rig):
    from alibabacloud_vpc20160428 import models as vpc

    rig.run_all()
    side = rig.emu.side("account-a", "cn-qingdao")
    side.vpc.deactivate_router_interface(
        vpc.DeactivateRouterInterfaceRequest(
            region_id="cn-qingdao", router_interface_id=rig.outputs["initiator_router_interface_id"]
        )
    )
    assert {r["Status"] for r in rig.resources("account-a", "router_interface")} == {"Inactive"}
    plan = get("connect").plan(rig.ctx("connect"))
    assert ("ActivateRouterInterface", "connect") in [(s.action, s.intent) for s in plan]
    seq = rig.journal_seq()
    assert rig.apply("connect") == {"connection_status": "Active"}
    assert [e["action"] for e in rig.mutations_since(seq)] == ["ActivateRouterInterface"]
    assert {r["Status"] for r in rig.resources("account-b", "router_interface")} == {"Active"}
    assert rig.apply("verify")["verified"] is True


def test_connect_retries_while_the_opposite_information_is_not_set(rig):
    rig.run_all(phases=("preflight", "initiator", "acceptor"))
    rig.emu.faults(
        {
            "action": "ConnectRouterInterface",
            "effect": "error",
            "code": "IncorrectOppositeInterfaceInfo.NotSet",
            "message": (
                "OppositeInterfaceId/OppositeRouterId/OppositeRouterType/OppositeInterfaceOwnerId must be all set."
            ),
            "first": 2,
        }
    )
    assert rig.apply("connect") == {"connection_status": "Active"}
    connects = [e for e in rig.ledger.entries if e["action"] == "ConnectRouterInterface"]
    assert [(e["outcome"], e["error_code"]) for e in connects] == [
        ("retry", "IncorrectOppositeInterfaceInfo.NotSet"),
        ("retry", "IncorrectOppositeInterfaceInfo.NotSet"),
        ("ok", ""),
    ]
    assert len(rig.emu.journal(action="ConnectRouterInterface")) == 3


def test_connect_gives_up_on_not_set_with_code_and_request_id(rig):
    from vpclink.cloud import CloudError

    rig.run_all(phases=("preflight", "initiator", "acceptor"))
    rig.emu.faults(
        {"action": "ConnectRouterInterface", "effect": "error", "code": "IncorrectOppositeInterfaceInfo.NotSet"}
    )
    with pytest.raises(CloudError) as e:
        rig.apply("connect")
    last = rig.emu.journal(action="ConnectRouterInterface")[-1]
    assert e.value.code == "IncorrectOppositeInterfaceInfo.NotSet" and e.value.request_id == last["request_id"]
    assert last["request_id"] in str(e.value)
    assert len(rig.emu.journal(action="ConnectRouterInterface")) == 6  # the rig's policy: 6 attempts


def test_teardown_restores_both_accounts_and_converges_twice(rig):
    pristine = rig.inventory()
    rig.run_all()
    assert rig.inventory() != pristine
    assert rig.apply("teardown") == {"teardown_complete": True}
    assert rig.inventory() == pristine
    seq = rig.journal_seq()
    ctx = rig.ctx("teardown")
    assert get("teardown").apply(ctx) == {"teardown_complete": True}
    # the second teardown asks the API about each recorded ID (its answer is authoritative) and
    # changes nothing
    assert rig.mutations_since(seq, ok_only=True) == []
    assert {o.outcome for o in ctx.outcomes if o.action.startswith(("Delete", "Revoke"))} == {"already gone"}
    assert [s.intent for s in get("teardown").plan(rig.ctx("teardown"))] == ["skip"]


def test_teardown_after_a_partial_teardown(rig):
    pristine = rig.inventory()
    rig.run_all()
    # Teardown stops at the deactivation (an error the runbook must not retry) ...
    rig.emu.faults(
        {
            "action": "DeactivateRouterInterface",
            "effect": "error",
            "code": "Forbidden.FinancileLocked",
            "message": "This RouterInterface is financiel locked because of bills outstanding.",
            "times": 1,
        }
    )
    with pytest.raises(Exception, match=r"Forbidden\.FinancileLocked"):
        rig.apply("teardown")
    assert rig.rules("account-a") == [] and len(rig.resources("account-a", "router_interface")) == 1
    assert [r for r in rig.resources("account-a", "route_entry") if r["Type"] == "Custom"] == []
    # ... and a second teardown finishes from there.
    assert rig.apply("teardown") == {"teardown_complete": True}
    assert rig.inventory() == pristine


def test_teardown_with_demo_timings(slow_rig):
    pristine = slow_rig.inventory()
    slow_rig.run_all()
    assert slow_rig.apply("teardown") == {"teardown_complete": True}
    assert slow_rig.inventory() == pristine
    assert ("router interface", "Deactivating") in [(e.what, e.state) for e in slow_rig.events if e.kind == "state"]


def test_teardown_after_a_partial_run(rig):
    pristine = rig.inventory()
    rig.run_all(phases=("preflight", "initiator", "acceptor"))  # interfaces Idle, never connected
    assert rig.apply("teardown") == {"teardown_complete": True}
    assert rig.inventory() == pristine


def test_resumed_phases_accept_papermill_empty_defaults(rig):
    rig.run_all(phases=("preflight", "initiator"))
    inputs = dict(rig.outputs, acceptor_router_interface_id="", initiator_route_entry_ids=[])
    out = get("acceptor").apply(rig.ctx("acceptor", inputs))
    assert out["acceptor_router_interface_id"].startswith("ri-")


def test_a_plan_of_every_phase_works_on_a_fresh_cloud_with_placeholders(rig):
    """`vpclink plan` before anything exists: later steps name what earlier steps will create."""
    rig.apply("preflight")  # a plan always starts with discovery (read-only)
    seq = rig.journal_seq()
    plans = {name: get(name).plan(rig.ctx(name)) for name in RUN if name != "preflight"}
    assert rig.mutations_since(seq) == []
    connect = plans["connect"]
    assert [s.intent for s in connect if s.action == "ModifyRouterInterfaceAttribute"] == ["modify", "modify"]
    modify_b = next(s for s in connect if s.side == "acceptor" and s.action == "ModifyRouterInterfaceAttribute")
    assert modify_b.target == "router interface <acceptor router interface, created in 02_acceptor>"
    assert "OppositeInterfaceId = <initiator router interface, created in 01_initiator>" in modify_b.detail
    assert any(s.action == "ConnectRouterInterface" and s.intent == "connect" for s in connect)
    routes = [s for s in plans["routes"] if s.action == "CreateRouteEntry"]
    assert [s.intent for s in routes] == ["create", "create"]
    assert "<initiator router interface, created in 01_initiator>" in routes[0].detail
    acceptor = next(s for s in plans["acceptor"] if s.action == "CreateRouterInterface")
    assert "opposite interface <initiator router interface, created in 01_initiator>" in acceptor.detail
    assert [s.intent for s in plans["security_groups"]] == ["create"] * 4


def test_a_one_sided_plan_on_a_fresh_cloud_names_the_peers_part_as_placeholders(rig):
    rig.apply("preflight")
    ctx = rig.ctx("connect", sides=("initiator",))
    ctx.side = "initiator"
    steps = get("connect").plan(ctx)
    assert [s.side for s in steps if s.action == "ModifyRouterInterfaceAttribute"] == ["initiator"]
    assert "<acceptor router interface, created in 02_acceptor>" in steps[0].detail


def test_apply_reports_each_step_it_took_and_a_rerun_reports_already_there(rig):
    """The records' "created 8 resources in 2 accounts" vs "changed nothing" come from these."""
    rig.apply("preflight")
    outcomes = []
    for name in RUN[1:]:
        ctx = rig.ctx(name)
        rig.outputs.update(get(name).apply(ctx))
        outcomes += ctx.outcomes
    created = [(o.side, o.action) for o in outcomes if o.outcome == "created"]
    assert sorted(created) == sorted(
        [
            ("initiator", "CreateRouterInterface"),
            ("acceptor", "CreateRouterInterface"),
            ("initiator", "CreateRouteEntry"),
            ("acceptor", "CreateRouteEntry"),
            *[(side, "AuthorizeSecurityGroup") for side in ("initiator", "acceptor") for _ in range(2)],
        ]
    )
    assert all(o.resource_id.startswith(("ri-", "rte-", "sgr-")) for o in outcomes if o.outcome == "created")
    # the acceptor's interface named the initiator at its creation; the initiator's learns its peer here
    assert sorted((o.side, o.outcome) for o in outcomes if o.action == "ModifyRouterInterfaceAttribute") == [
        ("acceptor", "already there"),
        ("initiator", "changed"),
    ]
    again = []
    for name in RUN[1:]:
        ctx = rig.ctx(name, run_id="run-2")
        get(name).apply(ctx)
        again += ctx.outcomes
    assert not [o for o in again if o.changed]
    assert {o.outcome for o in again if o.action.startswith(("Create", "Authorize"))} == {"already there"}
