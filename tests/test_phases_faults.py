"""Faults on every mutating action of the flow and of teardown: throttling, a lost answer after
the change was made (dropped connection, or a 503 after commit), stale reads. Every run must end
with one router interface per side, one route per destination, no duplicate rule, a verified
link, and a teardown that leaves both accounts as they were."""

from __future__ import annotations

from collections import Counter

import pytest
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
    start_emulator,
)

FLOW_ACTIONS = (
    "CreateRouterInterface",
    "ModifyRouterInterfaceAttribute",
    "ConnectRouterInterface",
    "CreateRouteEntry",
    "AuthorizeSecurityGroup",
    "RunCommand",
)
TEARDOWN_ACTIONS = ("RevokeSecurityGroup", "DeleteRouteEntry", "DeactivateRouterInterface", "DeleteRouterInterface")

EFFECTS = {
    "throttled": lambda action, account: {"action": action, "account": account, "effect": "throttle", "first": 2},
    "dropped before": lambda action, account: {"action": action, "account": account, "effect": "drop", "nth": 1},
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


@pytest.fixture
def rig(tmp_path):
    emu = start_emulator()
    yield Rig(emu, tmp_path)
    emu.server.stop()


def assert_one_link(rig: Rig) -> None:
    for account, dests in (("account-a", ["172.16.0.0/16"]), ("account-b", ["192.168.0.0/16"])):
        ris = [r for r in rig.resources(account, "router_interface") if r["Status"] != "Deleted"]
        assert len(ris) == 1 and ris[0]["Status"] == "Active", ris
        custom = [r["DestinationCidrBlock"] for r in rig.resources(account, "route_entry") if r["Type"] == "Custom"]
        assert custom == dests
        rules = Counter((r["IpProtocol"], r["PortRange"], r["SourceCidrIp"]) for r in rig.rules(account))
        assert len(rules) == 2 and set(rules.values()) == {1}, rules


@pytest.mark.parametrize("effect", sorted(EFFECTS))
@pytest.mark.parametrize("action", FLOW_ACTIONS + TEARDOWN_ACTIONS)
def test_faults_on_each_mutating_action_converge(rig, action, effect):
    pristine = rig.inventory()
    rig.emu.faults(*(EFFECTS[effect](action, account) for account in ("account-a", "account-b")))
    out = rig.run_all()
    assert out["verified"] is True
    assert_one_link(rig)
    assert rig.apply("teardown") == {"teardown_complete": True}
    assert rig.inventory() == pristine
    fired = sum(f["fired"] for f in rig.emu.control("faults")["faults"])
    assert fired >= 1, "the fault never hit: the test would prove nothing"
    if effect == "throttled":
        assert any(
            e["action"] == action and e["outcome"] == "retry" and e["error_code"] == "Throttling.User"
            for e in rig.ledger.entries
        )


def test_a_rerun_after_lost_answers_creates_nothing_more(rig):
    rig.emu.faults(*({"action": action, "effect": "fail_after_commit", "first": 2} for action in FLOW_ACTIONS))
    rig.run_all()
    before, seq = rig.inventory(), rig.journal_seq()
    rig.run_all()
    assert rig.inventory() == before
    assert {e["action"] for e in rig.mutations_since(seq, ok_only=True)} == {"RunCommand"}


def test_stale_reads_do_not_duplicate_anything(rig):
    # Reads lag 3 s behind writes (the rig's clock moves virtual time while waits poll); the
    # world itself is older than that.
    rig.emu.advance(60)
    rig.emu.faults({"action": "Describe*", "effect": "stale_read", "lag_s": 3})
    out = rig.run_all()
    assert out["verified"] is True
    assert_one_link(rig)
    rig.run_all()
    assert_one_link(rig)
    assert rig.emu.control("faults")["faults"][0]["fired"] > 0
    assert ("router interface", "gone") in [(e.what, e.state) for e in rig.events if e.kind == "state"]


def test_a_non_idempotent_call_is_not_repeated_blindly(rig):
    """Connect carries no ClientToken: after a lost answer the phase reads the state rather than
    connecting again, and the ledger shows one error and no retry for it."""
    rig.run_all(phases=("preflight", "initiator", "acceptor"))
    rig.emu.faults(EFFECTS["503 after commit"]("ConnectRouterInterface", "account-a"))
    assert rig.apply("connect") == {"connection_status": "Active"}
    assert len(rig.emu.journal(action="ConnectRouterInterface")) == 1
    assert [(e["outcome"], e["error_code"]) for e in rig.ledger.entries if e["action"] == "ConnectRouterInterface"] == [
        ("error", "ServiceUnavailable")
    ]


def test_a_resumed_create_that_reads_cannot_see_yet_is_answered_by_its_client_token(rig):
    """A run whose CreateRouterInterface was made but never answered, resumed while reads still lag:
    the name lookup finds nothing, and only the run's deterministic ClientToken prevents a second
    (billed) interface."""
    from vpclink.cloud import CloudError

    rig.emu.advance(60)
    rig.run_all(phases=("preflight",))
    rig.emu.faults({"action": "CreateRouterInterface", "effect": "fail_after_commit"})
    with pytest.raises(CloudError, match="TransportError"):
        rig.apply("initiator")
    [made] = rig.resources("account-a", "router_interface")
    rig.emu.control("faults", method="DELETE")
    rig.emu.faults({"action": "DescribeRouterInterfaces", "effect": "stale_read", "lag_s": 20})
    out = rig.apply("initiator")  # the same run ID, as a resume
    assert out["initiator_router_interface_id"] == made["RouterInterfaceId"]
    assert len(rig.resources("account-a", "router_interface")) == 1
