"""Helpers for the adversarial tests of issue 8's scenario families: runs of one link driven the way a
runner drives them (one PhaseContext per phase, each with its own Cloud), several at once, on "one
machine" (one vpclink state directory) or "two" (one each), against an emulator whose lists lag.

The counts of tried and survived scenarios per family come from these tests' own results:
``benchmarks/adversarial_runbook.py`` runs them and prints a table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alicloud_emulator.world import default_world, with_timing
from phase_support import EXAMPLE, Emu, EmulatorClock, Rig, start_emulator
from runbook_support import wait_until
from vpclink import params as P
from vpclink.cloud import Cloud
from vpclink.phases import RUN, get
from vpclink.phases.base import PhaseContext, StepOutcome
from vpclink.record.ledger import Ledger
from vpclink.retries import RetryPolicy
from vpclink.waits import Progress


def lagging_world(lag: float, *, applies_to: str = "lists", scale: float = 0.0) -> dict[str, Any]:
    """The tutorial world with its steps ``scale`` x the demo delays and lists lagging ``lag`` s."""
    world = with_timing(default_world(), scale=scale)
    world["behaviour"] = {"read_lag": {"seconds": lag, "applies_to": applies_to}}
    return world


def lagging_emulator(lag: float, **kw: Any) -> Emu:
    return start_emulator(lagging_world(lag, **kw))


@dataclass
class Operator:
    """One run of the link: its run ID, the machine it runs on (its state directory), what it knows."""

    rig: Rig
    run_id: str
    state_dir: Path
    read_lag: float | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    outcomes: list[StepOutcome] = field(default_factory=list)
    error: BaseException | None = None
    ledger: Ledger = field(default_factory=Ledger)

    def ctx(self, phase: str, clock: Any = None) -> PhaseContext:
        declared = get(phase)
        cloud = Cloud(
            self.rig.params,
            endpoint=self.rig.emu.endpoint,
            profiles_file=str(self.rig.profiles_file),
            ledger=self.ledger,
            phase=phase,
            sides=declared.sides,
            clock=clock or EmulatorClock(self.rig.emu),
            retry=RetryPolicy(max_attempts=8),
        )
        return PhaseContext(
            self.rig.params,
            cloud,
            dict(self.outputs),
            self.run_id,
            phase,
            Progress("silent"),
            read_lag=self.read_lag,
            state_dir=self.state_dir,
        )

    def apply(self, phase: str, clock: Any = None) -> dict[str, Any]:
        ctx = self.ctx(phase, clock)
        try:
            out = get(phase).apply(ctx)
        finally:
            self.outcomes += ctx.outcomes
        self.outputs.update(out)
        return out

    def run(self, phases: tuple[str, ...] = RUN, clock: Any = None) -> dict[str, Any]:
        for phase in phases:
            self.apply(phase, clock)
        return self.outputs

    def created(self, action: str) -> list[str]:
        return [o.resource_id for o in self.outcomes if o.action == action and o.outcome == "created"]

    def found(self, action: str) -> list[str]:
        return [o.resource_id for o in self.outcomes if o.action == action and o.outcome == "already there"]


def at_once(*runs: tuple[Operator, tuple[str, ...]]) -> None:
    """Run each operator's phases in its own thread, all starting together; errors are kept."""
    start = threading.Barrier(len(runs))

    def go(op: Operator, phases: tuple[str, ...]) -> None:
        try:
            start.wait()
            op.run(phases)
        except BaseException as e:
            op.error = e

    threads = [threading.Thread(target=go, args=run) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a run did not finish within 10 minutes"


def link_counts(rig: Rig) -> dict[str, Counter]:
    """Per account: live router interfaces, custom routes by destination, rules by content."""
    out: dict[str, Counter] = {}
    for account in ("account-a", "account-b"):
        c: Counter = Counter()
        for r in rig.resources(account, "router_interface"):
            if r.get("Status") not in ("Deleted",):
                c["router_interface"] += 1
        for r in rig.resources(account, "route_entry"):
            if r.get("Type") == "Custom":
                c[("route", r["DestinationCidrBlock"])] += 1
        for r in rig.rules(account):
            c[("rule", r["IpProtocol"], r["PortRange"], r.get("SourceCidrIp") or r.get("SourceGroupId"))] += 1
        out[account] = c
    return out


def assert_exactly_one_link(rig: Rig) -> None:
    """One router interface per side, one route per destination, one rule per rule: nothing twice."""
    counts = link_counts(rig)
    for account in ("account-a", "account-b"):
        c = counts[account]
        assert c["router_interface"] == 1, f"{account}: {c}"
        routes = {k: v for k, v in c.items() if isinstance(k, tuple) and k[0] == "route"}
        assert len(routes) == 1 and set(routes.values()) == {1}, f"{account}: {routes}"
        rules = {k: v for k, v in c.items() if isinstance(k, tuple) and k[0] == "rule"}
        assert len(rules) == 2 and set(rules.values()) == {1}, f"{account}: {rules}"


def assert_nothing_left(rig: Rig) -> None:
    counts = link_counts(rig)
    for account in ("account-a", "account-b"):
        assert not +counts[account], f"{account} still holds {dict(counts[account])}"


def example() -> P.LinkParams:
    return P.load(str(EXAMPLE))


__all__ = [
    "Operator",
    "assert_exactly_one_link",
    "assert_nothing_left",
    "at_once",
    "example",
    "lagging_emulator",
    "lagging_world",
    "link_counts",
]


# -- scenarios (each raises AssertionError when the runbook does not converge) -----------------------
def run_then_rerun_elsewhere(rig: Rig, tmp: Path, allowance: float | None) -> None:
    """A run, then a fresh run of the same link from another machine while lists still lag."""
    first = Operator(rig, "run-1", tmp / "machine-1", read_lag=allowance)
    first.run()
    assert first.outputs["verified"] is True
    second = Operator(rig, "run-2", tmp / "machine-2", read_lag=allowance)
    second.run()
    assert second.outputs["verified"] is True
    # Nothing new: whatever the rerun reports as made is what the first run made (another machine
    # cannot tell its own create from the first run's when the shared ClientToken answers it).
    made = {o.resource_id for o in first.outcomes if o.outcome in ("created", "already there")}
    assert {o.resource_id for o in second.outcomes if o.outcome == "created"} <= made
    assert_exactly_one_link(rig)


def resume_after_a_lost_create(rig: Rig, tmp: Path, allowance: float | None) -> None:
    """The initiator's create is made but its answer lost (the process died with it): the resume, from
    another machine's state (nothing noted) and while lists lag, must find it, not buy a second."""
    first = Operator(rig, "run-1", tmp / "machine-1", read_lag=allowance)
    first.apply("preflight")
    rig.emu.faults({"action": "CreateRouterInterface", "effect": "fail_after_commit", "nth": 1})
    try:
        first.apply("initiator")
    except Exception:  # the lost answer surfaces as an error: the point of the scenario
        pass
    rig.emu.control("faults", method="DELETE")
    resumed = Operator(rig, "run-1", tmp / "machine-2", read_lag=allowance)
    resumed.outputs = dict(first.outputs)
    resumed.run(RUN[1:])
    assert resumed.outputs["verified"] is True
    assert_exactly_one_link(rig)


def teardown_of_the_record(rig: Rig, tmp: Path, allowance: float | None) -> None:
    built = Operator(rig, "run-1", tmp / "machine-1", read_lag=allowance)
    built.run()
    down = Operator(rig, "run-1", tmp / "machine-1", read_lag=allowance)
    down.outputs = dict(built.outputs)
    assert down.apply("teardown") == {"teardown_complete": True}
    assert_nothing_left(rig)


def teardown_from_parameters_elsewhere(rig: Rig, tmp: Path, allowance: float | None) -> None:
    """Right after a run, a teardown from parameters alone on another machine (no record, no register)."""
    built = Operator(rig, "run-1", tmp / "machine-1", read_lag=allowance)
    built.run()
    down = Operator(rig, "teardown", tmp / "machine-2", read_lag=allowance)
    assert down.apply("teardown") == {"teardown_complete": True}
    assert_nothing_left(rig)


SCENARIOS = {
    "run, rerun": run_then_rerun_elsewhere,
    "resume": resume_after_a_lost_create,
    "teardown (record)": teardown_of_the_record,
    "teardown (parameters)": teardown_from_parameters_elsewhere,
}


def kill_when_held(child: subprocess.Popen, emu: Emu, action: str, account: str, said: Callable[[], str]) -> None:
    """SIGKILL ``child`` once the emulator holds its ``action`` call of ``account`` in flight (the
    ``latency`` fault named ``held`` has fired): the change is made and nothing after it has started.
    ``said`` is the child's output, for the failure when it ends before the call."""
    try:

        def held() -> bool:
            assert child.poll() is None, f"ended before {action} ({child.returncode}):\n{said()}"
            return any(f["fired"] for f in emu.control("faults")["faults"] if f["rule"].get("name") == "held")

        wait_until(held, 120, f"{action} of {account} held in flight")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL
