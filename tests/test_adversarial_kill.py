"""kill -9 of a process in the middle of a phase, then a resume from what it recorded, under read lag
(issue 8's "kill -9 plus resume under lag" family). The killed process's create or delete is in
flight (the emulator holds it 2 s) and still lands; the resume reads lists that do not show it yet,
and still converges: one link, or nothing left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from adversarial_support import (
    Operator,
    assert_exactly_one_link,
    assert_nothing_left,
    kill_when_held,
    lagging_emulator,
)
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)
from runbook_support import wait_until
from vpclink.phases import RUN, get

CHILD = Path(__file__).with_name("adversarial_child.py")
# where the kill lands: the action held in flight, its account, the phases the killed process runs
KILL_POINTS = {
    "acceptor create": ("CreateRouterInterface", "account-b", RUN),
    "route create": ("CreateRouteEntry", "account-b", RUN),
    "teardown delete": ("DeleteRouterInterface", "account-a", ("teardown",)),
}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
@pytest.mark.parametrize("lag", [0.0, 3.0, 30.0], ids=["no-lag", "lists-lag-3s", "lists-lag-30s"])
def test_kill_9_mid_phase_then_resume_converges(tmp_path: Path, lag: float, point: str) -> None:
    action, account, phases = KILL_POINTS[point]
    emu = lagging_emulator(lag)
    try:
        rig = Rig(emu, tmp_path)
        state = tmp_path / "machine"
        outputs_file = tmp_path / "outputs.json"
        if phases == ("teardown",):  # a link to tear down, recorded
            built = Operator(rig, "run-1", state, read_lag=lag + 1)
            built.run()
            outputs_file.write_text(json.dumps(built.outputs))
        emu.faults({"name": "held", "action": action, "account": account, "effect": "latency", "latency_ms": 2000})
        child = subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                emu.endpoint,
                str(rig.profiles_file),
                str(state),
                "run-1",
                str(outputs_file),
                str(lag + 1),
                *phases,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        kill_when_held(child, emu, action, account, lambda: child.communicate()[0])
        # the request in flight lands although its caller is dead
        wait_until(lambda: any(e["action"] == action for e in emu.journal(account=account)), 10, f"{action} to land")
        emu.control("faults", method="DELETE")
        resumed = Operator(rig, "run-1", state, read_lag=lag + 1)
        resumed.outputs = json.loads(outputs_file.read_text()) if outputs_file.exists() else {}
        if phases == ("teardown",):
            assert resumed.apply("teardown") == {"teardown_complete": True}
            assert_nothing_left(rig)
            return
        # as `vpclink run --resume` does: discovery again, then every phase whose outputs are not recorded
        done = {p for p in RUN if set(get(p).output_keys) <= set(resumed.outputs)}
        resumed.run(tuple(p for p in RUN if p == "preflight" or p not in done))
        assert resumed.outputs["verified"] is True
        assert_exactly_one_link(rig)
    finally:
        emu.server.stop()
