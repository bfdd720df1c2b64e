"""Issue 8's scenario families, tried and survived, and the longest read lag the runbook converges under.

Part 1 runs the adversarial tests of each family (pytest, ``--junitxml``) and counts, per family, the
scenarios tried and those that survived (the test passed: exactly one link, or nothing left, and a
true report). Part 2 sweeps the read lag with the runbook's *default* read-lag allowance (nobody told
it the target's lag; ``waits.DEFAULT_READ_LAG``) and with an allowance that covers the lag (what the
embedded and attached emulators tell it), for lists-only lag (the cloud's usual case) and for every
describe (``stale_read``), and prints, per scenario, the longest lag that still converges.

Usage: ``python benchmarks/adversarial_runbook.py [--skip-tests] [--skip-sweep] [-n WORKERS]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

FAMILIES: dict[str, list[str]] = {
    "concurrent runs (one machine, two machines, run + teardown, same run twice)": [
        "tests/test_concurrent_runs.py",
    ],
    "read lag: run, rerun, resume, teardown (lists and every describe)": ["tests/test_read_lag_runbook.py"],
    "kill -9 mid-phase, then resume under lag": [
        "tests/test_adversarial_kill.py",
        "tests/test_e2e_resume.py::test_a_run_killed_mid_phase_resumes_from_its_records_and_converges",
        "tests/test_e2e_resume.py::test_a_kernel_killed_mid_phase_fails_the_phase_and_the_run_resumes",
    ],
    "teardown under lag (stale reads, parameters alone, leftovers)": ["tests/test_teardown_truth.py"],
    "limits (check refuses, the run splits)": ["tests/test_limits_runtime.py", "tests/test_params_limits.py"],
    "faults on every mutating action, with and without lag": [
        "tests/test_phases_faults.py",
        "tests/test_e2e_faults.py",
    ],
}


def run_families(workers: int) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for family, targets in FAMILIES.items():
            report = Path(tmp) / "report.xml"
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
            if workers > 1:
                command += ["-n", str(workers)]
            subprocess.run([*command, *targets], cwd=ROOT, capture_output=True, text=True)
            tried = survived = 0
            for case in ET.parse(report).getroot().iter("testcase"):
                if case.find("skipped") is not None:
                    continue
                tried += 1
                survived += case.find("failure") is None and case.find("error") is None
            counts[family] = (tried, survived)
            print(f"  {family}: {survived}/{tried}", flush=True)
    return counts


def sweep() -> dict[tuple[str, str, str], float]:
    """Longest converging lag per (allowance policy, lag kind, scenario)."""
    sys.path.insert(0, str(TESTS))
    os.environ.setdefault("VPCLINK_STATE_DIR", tempfile.mkdtemp(prefix="vpclink-state-"))
    from adversarial_support import SCENARIOS, lagging_emulator
    from phase_support import Rig

    lags = (1.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
    longest: dict[tuple[str, str, str], float] = defaultdict(float)
    for policy in ("default allowance", "allowance = lag + 1 s"):
        for kind in ("lists", "all"):
            for name, scenario in SCENARIOS.items():
                for lag in lags:
                    emu = lagging_emulator(lag, applies_to=kind)
                    try:
                        with tempfile.TemporaryDirectory() as tmp:
                            rig = Rig(emu, Path(tmp))
                            scenario(rig, Path(tmp), None if policy == "default allowance" else lag + 1.0)
                        ok = True
                    except Exception:  # a scenario that does not converge raises: that is the measurement
                        ok = False
                    finally:
                        emu.server.stop()
                    if not ok:
                        break
                    longest[(policy, kind, name)] = lag
                print(f"  {policy}, {kind}: {name}: converges up to {longest[(policy, kind, name)]:g} s", flush=True)
    return longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("-n", type=int, default=2, help="pytest-xdist workers (default 2)")
    args = parser.parse_args()
    if not args.skip_tests:
        print("Scenario families (survived/tried):")
        counts = run_families(args.n)
        tried = sum(t for t, _ in counts.values())
        survived = sum(s for _, s in counts.values())
        print(f"  all families: {survived}/{tried}")
    if not args.skip_sweep:
        print("Longest read lag under which the scenario converges (lags tried: 1 to 600 s):")
        longest = sweep()
        for policy in ("default allowance", "allowance = lag + 1 s"):
            for kind in ("lists", "all"):
                worst = min(v for (p, k, _), v in longest.items() if p == policy and k == kind)
                print(f"  {policy}, lag on {kind}: every scenario converges up to {worst:g} s")


if __name__ == "__main__":
    main()
