"""Teardown is true (issue 8.2): it deletes what the run recorded, by ID; it confirms absence with the
API's own answers and with reads that are not older than its deletes; it says "torn down" only then,
and otherwise fails naming what may remain. A teardown from parameters alone waits out the read lag
before it concludes that nothing exists. It tells what it removed, step by step."""

from __future__ import annotations

from pathlib import Path

import pytest
from adversarial_support import Operator, assert_exactly_one_link, assert_nothing_left, lagging_emulator
from alibabacloud_vpc20160428 import models as vpc
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
    start_emulator,
)
from vpclink import params as P
from vpclink.phases.base import PhaseError
from vpclink.waits import DEFAULT_READ_LAG

PEERING = Path(__file__).resolve().parents[1] / "params" / "example-peering.yaml"


@pytest.fixture
def rig(tmp_path: Path):
    emu = lagging_emulator(3.0)
    yield Rig(emu, tmp_path)
    emu.server.stop()


def _built(rig: Rig, tmp_path: Path) -> Operator:
    op = Operator(rig, "run-1", tmp_path / "state")
    op.run()
    assert op.outputs["verified"] is True
    return op


@pytest.mark.parametrize("lag", [45.0, 120.0])
def test_teardown_of_a_recorded_run_under_stale_reads_removes_everything(rig: Rig, tmp_path: Path, lag: float) -> None:
    """Issue 8.1's failure: every describe 45 s stale, so none shows what the run just created. The
    recorded IDs are deleted anyway, and the API's answers, not the describes, decide "gone"."""
    rig.emu.advance(lag)  # the accounts' VPCs are older than any lag
    op = _built(rig, tmp_path)
    rig.emu.faults({"action": "Describe*", "effect": "stale_read", "lag_s": lag})
    teardown = Operator(rig, "run-1", tmp_path / "state")
    teardown.outputs = dict(op.outputs)  # what `vpclink teardown RUN_DIR` passes: the record
    assert teardown.apply("teardown") == {"teardown_complete": True}
    assert_nothing_left(rig)
    deleted = {o.action for o in teardown.outcomes if o.outcome == "deleted"}
    assert deleted == {"RevokeSecurityGroup", "DeleteRouteEntry", "DeleteRouterInterface"}
    ids = {o.resource_id for o in teardown.outcomes if o.outcome == "deleted"}
    assert {op.outputs["initiator_router_interface_id"], op.outputs["acceptor_router_interface_id"]} <= ids
    assert set(op.outputs["initiator_route_entry_ids"]) <= ids and set(op.outputs["acceptor_rule_ids"]) <= ids


def test_teardown_from_parameters_alone_waits_out_the_lag_before_concluding(rig: Rig, tmp_path: Path) -> None:
    """Right after a run on another machine (no record, no register here), the lists do not show the
    link yet: teardown waits the read-lag allowance, then finds and removes it."""
    _built(rig, tmp_path)
    elsewhere = Operator(rig, "teardown", tmp_path / "another-machine")
    waited = []
    ctx = elsewhere.ctx("teardown")
    ctx.progress.on_event = waited.append
    from vpclink.phases import get

    assert get("teardown").apply(ctx) == {"teardown_complete": True}
    assert_nothing_left(rig)
    lag_waits = [e for e in waited if e.kind == "done" and "read-lag allowance" in e.goal]
    assert lag_waits and lag_waits[0].elapsed >= DEFAULT_READ_LAG  # shown as progress, then concluded


def test_teardown_from_parameters_alone_of_a_link_just_created_elsewhere(rig: Rig, tmp_path: Path) -> None:
    """The link was created less than the lag ago: a single list shows nothing, and trusting it would
    say "torn down" with both interfaces left. The wait makes them visible."""
    op = Operator(rig, "run-1", tmp_path / "state")
    op.run(("preflight", "initiator", "acceptor"))  # created a moment ago (virtual time barely moved)
    teardown = Operator(rig, "teardown", tmp_path / "another-machine")
    assert teardown.apply("teardown") == {"teardown_complete": True}
    assert_nothing_left(rig)
    assert len([o for o in teardown.outcomes if o.action == "DeleteRouterInterface" and o.outcome == "deleted"]) == 2


@pytest.mark.parametrize("backend", ["router_interface", "vpc_peer"])
def test_teardown_deletes_a_route_no_list_showed_once_the_api_says_it_is_in_the_way(
    tmp_path: Path, backend: str
) -> None:
    """A teardown from parameters whose list of routes lags behind its list of interfaces (CI, lists
    lagging 1 s on a busy machine): it finds the interface (or peering) but not the route through it,
    so it deletes no route, and the API refuses to delete the interface while a route uses it. Nobody
    else will delete that route: teardown must, and finish, instead of waiting until it times out."""
    lag = 60.0
    emu = start_emulator()
    try:
        rig = Rig(emu, tmp_path, params=P.load(str(PEERING)) if backend == "vpc_peer" else None)
        emu.advance(lag)  # the world's VPCs and route tables are older than the stale lists
        _built(rig, tmp_path)
        emu.faults({"action": "DescribeRouteEntryList", "effect": "stale_read", "lag_s": lag})
        elsewhere = Operator(rig, "teardown", tmp_path / "another-machine")
        assert elsewhere.apply("teardown") == {"teardown_complete": True}
        assert_nothing_left(rig)
        assert [p for p in rig.resources("account-a", "vpc_peer") if p.get("Status") != "Deleted"] == []
        routes = [o for o in elsewhere.outcomes if o.action == "DeleteRouteEntry" and o.outcome == "deleted"]
        assert sorted(o.side for o in routes) == ["acceptor", "initiator"]  # and says so
    finally:
        emu.server.stop()


def test_teardown_that_cannot_remove_something_fails_naming_it(rig: Rig, tmp_path: Path) -> None:
    op = _built(rig, tmp_path)
    # somebody's own route through the link's interface: vpclink never deletes it, so it cannot finish
    a = rig.emu.side("account-a", "cn-qingdao")
    a.vpc.create_route_entry(
        vpc.CreateRouteEntryRequest(
            region_id="cn-qingdao",
            route_table_id=op.outputs["initiator_route_table_id"],
            destination_cidr_block="10.9.0.0/16",
            next_hop_type="RouterInterface",
            next_hop_id=op.outputs["initiator_router_interface_id"],
        )
    )
    teardown = Operator(rig, "run-1", tmp_path / "state")
    teardown.outputs = dict(op.outputs)
    with pytest.raises(PhaseError, match=r"10\.9\.0\.0/16"):
        teardown.apply("teardown")
    assert [r for r in rig.resources("account-a", "router_interface")]  # and it is not called torn down


def test_a_second_teardown_changes_nothing_and_says_already_gone(rig: Rig, tmp_path: Path) -> None:
    op = _built(rig, tmp_path)
    first = Operator(rig, "run-1", tmp_path / "state")
    first.outputs = dict(op.outputs)
    first.apply("teardown")
    seq = rig.journal_seq()
    second = Operator(rig, "run-1", tmp_path / "state")
    second.outputs = dict(op.outputs)
    assert second.apply("teardown") == {"teardown_complete": True}
    assert rig.mutations_since(seq, ok_only=True) == []
    assert {o.outcome for o in second.outcomes if o.action.startswith(("Delete", "Revoke"))} == {"already gone"}


def test_a_rerun_after_teardown_under_lag_builds_one_new_link(rig: Rig, tmp_path: Path) -> None:
    op = _built(rig, tmp_path)
    teardown = Operator(rig, "run-1", tmp_path / "state")
    teardown.outputs = dict(op.outputs)
    teardown.apply("teardown")
    again = Operator(rig, "run-2", tmp_path / "state")
    again.run()
    assert again.outputs["verified"] is True
    assert_exactly_one_link(rig)
    assert again.outputs["initiator_router_interface_id"] != op.outputs["initiator_router_interface_id"]
