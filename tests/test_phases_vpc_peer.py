"""The VPC peering backend's phases on the emulator (virtual time): faults on every mutating action of
the flow and of teardown converge to exactly one peering, the waits show progress through the API's
states, a lost create is answered by its ClientToken, and a link torn down is built anew."""

from __future__ import annotations

from pathlib import Path

import pytest
from alicloud_emulator.world import default_world
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
    start_emulator,
)
from vpclink import params as P
from vpclink.phases import get

PEERING = Path(__file__).resolve().parents[1] / "params" / "example-peering.yaml"
FLOW_ACTIONS = ("CreateVpcPeerConnection", "AcceptVpcPeerConnection", "CreateRouteEntry")
TEARDOWN_ACTIONS = ("DeleteRouteEntry", "DeleteVpcPeerConnection")
EFFECTS = {
    "throttled": lambda action, account: {"action": action, "account": account, "effect": "throttle", "first": 2},
    "dropped after commit": lambda action, account: {
        "action": action,
        "account": account,
        "effect": "fail_after_commit",
        "nth": 1,
    },
    "503 after commit": lambda action, account: {
        "action": action,
        "account": account,
        "effect": "fail_after_commit",
        "code": "ServiceUnavailable",
        "status": 503,
        "nth": 1,
    },
}


def peering_rig(tmp_path: Path, world: dict | None = None) -> Rig:
    return Rig(start_emulator(world), tmp_path, params=P.load(PEERING))


@pytest.fixture
def rig(tmp_path: Path):
    r = peering_rig(tmp_path)
    yield r
    r.emu.server.stop()


def live_peerings(rig: Rig) -> list[dict]:
    return [p for p in rig.resources("account-a", "vpc_peer") if p.get("Status") not in ("Deleting", "Deleted")]


def peer_routes(rig: Rig) -> dict[str, list[tuple[str, str]]]:
    return {
        account: sorted(
            (r["DestinationCidrBlock"], r.get("NextHopType", ""))
            for r in rig.resources(account, "route_entry")
            if r["Type"] == "Custom"
        )
        for account in ("account-a", "account-b")
    }


def assert_one_peering(rig: Rig) -> None:
    [pcc] = live_peerings(rig)
    assert pcc["Status"] == "Activated"
    assert rig.resources("account-a", "router_interface") == []
    assert peer_routes(rig) == {
        "account-a": [("172.16.0.0/16", "VpcPeer")],
        "account-b": [("192.168.0.0/16", "VpcPeer")],
    }


@pytest.mark.parametrize("effect", sorted(EFFECTS))
@pytest.mark.parametrize("action", FLOW_ACTIONS + TEARDOWN_ACTIONS)
def test_faults_on_each_mutating_action_converge_to_one_peering(rig: Rig, action: str, effect: str) -> None:
    pristine = rig.inventory()
    rig.emu.faults(*(EFFECTS[effect](action, account) for account in ("account-a", "account-b")))
    out = rig.run_all()
    assert out["verified"] is True and out["connection_status"] == "Activated"
    assert_one_peering(rig)
    assert rig.apply("teardown") == {"teardown_complete": True}
    assert rig.inventory() == pristine and live_peerings(rig) == []
    assert sum(f["fired"] for f in rig.emu.control("faults")["faults"]) >= 1, "the fault never hit"


def test_the_waits_follow_the_api_states_with_the_demo_delays(tmp_path: Path) -> None:
    rig = peering_rig(tmp_path, default_world())
    try:
        out = rig.run_all()
        assert out["verified"] is True
        states = [(e.what, e.state) for e in rig.events if e.kind == "state" and e.what == "VPC peering connection"]
        assert ("VPC peering connection", "Creating") in states and ("VPC peering connection", "Updating") in states
        assert rig.apply("teardown") == {"teardown_complete": True}
        assert live_peerings(rig) == []
    finally:
        rig.emu.server.stop()


def test_a_lost_create_is_answered_by_its_client_token_while_lists_lag(rig: Rig) -> None:
    from vpclink.cloud import CloudError

    rig.emu.advance(60)
    rig.run_all(phases=("preflight",))
    rig.emu.faults({"action": "CreateVpcPeerConnection", "effect": "fail_after_commit"})
    with pytest.raises(CloudError, match="TransportError"):
        rig.apply("initiator")
    [made] = rig.resources("account-a", "vpc_peer")
    rig.emu.control("faults", method="DELETE")
    rig.emu.faults({"action": "ListVpcPeerConnections", "effect": "stale_read", "lag_s": 20})
    out = rig.apply("initiator")  # the same run ID, as a resume
    assert out["initiator_peer_connection_id"] == made["InstanceId"]
    assert len(rig.resources("account-a", "vpc_peer")) == 1


def test_a_link_torn_down_is_built_anew_with_one_new_peering(rig: Rig) -> None:
    first = rig.run_all()["initiator_peer_connection_id"]
    assert rig.apply("teardown") == {"teardown_complete": True}
    rig.outputs.clear()
    second = rig.run_all(run_id="run-2")["initiator_peer_connection_id"]
    assert second != first
    assert_one_peering(rig)


def test_plan_and_verify_make_no_mutating_call(rig: Rig) -> None:
    rig.run_all()
    seq = rig.journal_seq()
    for name in ("initiator", "acceptor", "connect", "routes", "teardown"):
        ctx = rig.ctx(name)
        steps = get(name).plan(ctx)
        assert steps, name
        get(name).verify(ctx)
    assert rig.mutations_since(seq) == []
    plan = get("initiator").plan(rig.ctx("initiator"))
    assert [s.intent for s in plan] == ["exists"]


def test_a_peering_the_acceptor_cannot_see_is_refused_before_any_accept(rig: Rig) -> None:
    from vpclink.phases.base import PhaseError

    rig.run_all(phases=("preflight",))
    seq = rig.journal_seq()
    rig.outputs["initiator_peer_connection_id"] = "pcc-doesnotexist00000001"
    with pytest.raises(PhaseError, match="does not see VPC peering connection"):
        rig.apply("acceptor")
    assert rig.mutations_since(seq) == []


def test_an_accepted_peering_is_not_accepted_again(rig: Rig) -> None:
    rig.run_all(phases=("preflight", "initiator", "acceptor"))
    seq = rig.journal_seq()
    ctx = rig.ctx("acceptor")
    get("acceptor").apply(ctx)
    assert rig.mutations_since(seq) == []
    assert [o.outcome for o in ctx.outcomes if o.action == "AcceptVpcPeerConnection"] == ["already there"]


def test_a_create_refused_while_another_peering_of_the_vpc_is_being_made_is_sent_again(rig: Rig) -> None:
    rig.run_all(phases=("preflight",))
    rig.emu.faults(
        {
            "action": "CreateVpcPeerConnection",
            "effect": "error",
            "code": "Conflict.Operation",
            "status": 400,
            "first": 1,
        }
    )
    out = rig.apply("initiator")
    assert out["initiator_peer_connection_id"].startswith("pcc-")
    assert len(rig.resources("account-a", "vpc_peer")) == 1
    creates = [(e["outcome"], e["error_code"]) for e in rig.ledger.entries if e["action"] == "CreateVpcPeerConnection"]
    assert creates[:1] == [("retry", "Conflict.Operation")], creates
