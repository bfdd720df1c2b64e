"""Two runs of one link at once (issue 8.1): from one machine (one vpclink state directory: the side
locks and the register are shared) or from two (each its own), with slow creates (every create
answered after 1.5 s: the window in which both runs have looked and neither has created) and lists
that lag behind writes. Counted afterwards: one router interface per side, one route per
destination, one rule per rule, and both runs verified, each telling what it did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from adversarial_support import (
    Operator,
    assert_exactly_one_link,
    assert_nothing_left,
    at_once,
    lagging_emulator,
    lagging_world,
)
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)
from runbook_support import EXAMPLE, Emulator, assert_one_link
from vpclink.phases import RUN

SLOW_CREATES = [
    {"action": action, "effect": "latency", "latency_ms": 1500}
    for action in ("CreateRouterInterface", "CreateRouteEntry", "AuthorizeSecurityGroup")
]


@pytest.fixture(params=[3.0, 0.0], ids=["lists-lag-3s", "no-lag"])
def rig(request: pytest.FixtureRequest, tmp_path: Path):
    emu = lagging_emulator(request.param)
    emu.faults(*SLOW_CREATES)
    yield Rig(emu, tmp_path)
    emu.server.stop()


@pytest.mark.parametrize("machines", ["one machine", "two machines"])
def test_two_runs_at_once_make_one_link_and_both_verify(rig: Rig, tmp_path: Path, machines: str) -> None:
    shared = tmp_path / "state"
    first = Operator(rig, "run-1", shared)
    second = Operator(rig, "run-2", shared if machines == "one machine" else tmp_path / "other-machine")
    at_once((first, RUN), (second, RUN))
    assert first.error is None and second.error is None, (first.error, second.error)
    assert first.outputs["verified"] is True and second.outputs["verified"] is True
    assert_exactly_one_link(rig)
    for key in ("initiator_router_interface_id", "acceptor_router_interface_id"):
        assert first.outputs[key] == second.outputs[key]  # both name the one interface
    if machines == "one machine":
        # the loser waited for the winner's lock and found what it made: it says so, it does not claim it
        made = first.created("CreateRouterInterface") + second.created("CreateRouterInterface")
        joined = first.found("CreateRouterInterface") + second.found("CreateRouterInterface")
        assert sorted(made) == sorted(joined) and len(made) == 2, (made, joined)
    # one teardown removes everything, whichever run's record it starts from
    first.apply("teardown")
    assert_nothing_left(rig)


def test_a_run_and_a_teardown_of_the_same_link_at_once_leave_no_orphan(rig: Rig, tmp_path: Path) -> None:
    """Whatever the interleaving, what remains is either the whole link or nothing, and a teardown
    afterwards always leaves nothing."""
    shared = tmp_path / "state"
    builder = Operator(rig, "run-1", shared)
    builder.run(("preflight", "initiator", "acceptor"))
    breaker = Operator(rig, "teardown", shared)
    breaker.outputs = dict(builder.outputs)
    at_once((builder, ("connect", "routes", "security_groups")), (breaker, ("teardown",)))
    Operator(rig, "cleanup", shared).apply("teardown")
    assert_nothing_left(rig)


def test_the_same_run_resumed_twice_at_once_creates_once(rig: Rig, tmp_path: Path) -> None:
    """Two terminals resuming one run directory: the same run ID, the same state."""
    shared = tmp_path / "state"
    a = Operator(rig, "run-1", shared)
    b = Operator(rig, "run-1", shared)
    at_once((a, RUN), (b, RUN))
    assert a.error is None and b.error is None, (a.error, b.error)
    assert_exactly_one_link(rig)


def test_two_vpclink_commands_at_once_with_two_records_directories(tmp_path: Path) -> None:
    """The installed command, twice at once, each with its own records directory, on one emulator
    whose creates are slow and whose lists lag: one link, and both runs say it verifies."""
    emu = Emulator(world=lagging_world(3.0))
    emu.control("clock", {"advance": 3.0})
    emu.faults(SLOW_CREATES)
    vpclink = str(Path(sys.executable).with_name("vpclink"))
    try:
        runs = [
            subprocess.Popen(
                [vpclink, "run", str(EXAMPLE), "--records", str(tmp_path / f"records-{n}"), "--emulator", emu.url],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for n in (1, 2)
        ]
        outs = [r.communicate(timeout=900)[0] for r in runs]
        assert [r.returncode for r in runs] == [0, 0], outs
        assert all("result: verified" in out for out in outs), outs
        assert_one_link(emu.state())
    finally:
        emu.stop()
