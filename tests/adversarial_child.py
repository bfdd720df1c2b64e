"""A run of the example link's phases in a process of its own, for a test to kill with SIGKILL.

``python adversarial_child.py ENDPOINT PROFILES STATE_DIR RUN_ID OUTPUTS_FILE ALLOWANCE PHASE...``
applies the phases in order, as a runner's kernels would, and writes the outputs so far to
OUTPUTS_FILE after each phase (what a run's record keeps)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vpclink import params as P
from vpclink.cloud import Cloud
from vpclink.phases import get
from vpclink.phases.base import PhaseContext
from vpclink.waits import Progress, RealClock

EXAMPLE = Path(__file__).resolve().parent.parent / "params" / "example.yaml"


def main(
    endpoint: str, profiles: str, state_dir: str, run_id: str, outputs_file: str, allowance: str, *names: str
) -> None:
    params = P.load(str(EXAMPLE))
    out_path = Path(outputs_file)
    outputs = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name in names:
        phase = get(name)
        cloud = Cloud(
            params,
            endpoint=endpoint,
            profiles_file=profiles,
            ledger=None,
            phase=name,
            sides=phase.sides,
            clock=RealClock(scale=0.2),
        )
        ctx = PhaseContext(
            params,
            cloud,
            dict(outputs),
            run_id,
            name,
            Progress("silent"),
            read_lag=float(allowance),
            state_dir=Path(state_dir),
        )
        outputs.update(phase.apply(ctx))
        out_path.write_text(json.dumps(outputs))


if __name__ == "__main__":
    main(*sys.argv[1:])
