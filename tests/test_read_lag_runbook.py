"""Lagging reads are the normal case (issue 8.3): run, rerun, resume and teardown converge under read
lag, from seconds to the emulator's longest (600 s of virtual time), for lists only (the cloud's usual
case: a describe naming a resource by its ID is current) and for every describe (the ``stale_read``
case), when the runbook's read-lag allowance covers the lag (the embedded and attached emulators tell
it theirs; ``PhaseContext.read_lag``). ``benchmarks/adversarial_runbook.py`` measures how far the
default allowance reaches when nobody tells it."""

from __future__ import annotations

from pathlib import Path

import pytest
from adversarial_support import SCENARIOS, lagging_emulator
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)

# Lists lag up to the emulator's longest; when describes by ID lag too, a wait cannot see a state
# before the lag has passed, so the lag must stay under the waits' timeouts (timeouts.route_entry,
# 120 s by default): beyond, a wait times out (the run fails and resumes; it never duplicates).
CASES = [(lag, "lists") for lag in (0.0, 1.0, 3.0, 10.0, 30.0, 120.0, 600.0)]
CASES += [(lag, "all") for lag in (1.0, 3.0, 10.0, 30.0, 110.0)]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("lag, applies_to", CASES, ids=[f"{a}-lag-{int(lag)}s" for lag, a in CASES])
def test_the_runbook_converges_under_read_lag(tmp_path: Path, lag: float, applies_to: str, scenario: str) -> None:
    emu = lagging_emulator(lag, applies_to=applies_to)
    try:
        rig = Rig(emu, tmp_path)
        SCENARIOS[scenario](rig, tmp_path, lag + 1.0)
    finally:
        emu.server.stop()
