"""End to end on both targets (issue 7.3): the installed ``vpclink`` against the emulator always, and
against two real accounts when ``VPCLINK_REAL_PROFILES`` and ``VPCLINK_REAL_PARAMS`` are set (see
``dual_target.py``; skipped with a reason that says so otherwise). And the security-group modes in
the emulator's two documented behaviours (issue 7.1): today's reference (``current``, the default:
``mode: cidr`` verifies, ``mode: group`` stops at the cloud's refusal with a message naming
``mode: cidr``) and the tutorial's (``mode: group`` verifies)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from adversarial_support import lagging_world
from dual_target import DualTarget, dual_target, emulator_target  # noqa: F401  (dual_target: a fixture)
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import EXAMPLE
from vpclink import embedded
from vpclink import params as P
from vpclink.record.run import RunState

pytestmark = pytest.mark.dual_target
SAME_REGION = EXAMPLE.parent / "same-region.yaml"


def _run_dir(records: Path) -> Path:
    return next(p for p in records.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_a_run_verifies_and_its_teardown_leaves_nothing(dual_target: DualTarget, tmp_path: Path) -> None:  # noqa: F811
    records = tmp_path / "runs"
    params = dual_target.params
    run = dual_target.vpclink("run", str(dual_target.params_file), "--records", str(records))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "result: verified" in run.stdout
    expected_rules = len(params.security_groups.rules)
    built = {
        role: {"router_interfaces": 1, "routes": len(params.routes.get(role, ())), "rules": expected_rules}
        for role in ("initiator", "acceptor")
    }
    assert dual_target.inventory_settles_to(built) == built
    run_dir = _run_dir(records)
    assert RunState.load(run_dir).result == "verified"
    down = dual_target.vpclink("teardown", str(run_dir), "--records", str(records))
    assert down.returncode == 0, down.stdout + down.stderr
    nothing = {role: {"router_interfaces": 0, "routes": 0, "rules": 0} for role in ("initiator", "acceptor")}
    assert dual_target.inventory_settles_to(nothing) == nothing


@pytest.mark.parametrize(
    "reference, verifies",
    [("current", False), ("tutorial", True)],
    ids=["current-reference-refuses-group-mode", "tutorial-behaviour-verifies-group-mode"],
)
def test_group_mode_in_each_documented_behaviour(tmp_path: Path, reference: str, verifies: bool) -> None:
    params_file = SAME_REGION  # mode: group, one region
    world = embedded.world_for(P.load(str(params_file)), timing_scale=0)
    world["behaviour"] = dict(lagging_world(3.0)["behaviour"], security_group_reference=reference)
    (tmp_path / "world.yaml").write_text(yaml.safe_dump(world))  # kept for a person reading a failure
    target = emulator_target(tmp_path, world, params_file)
    try:
        records = tmp_path / "runs"
        run = target.vpclink("run", str(params_file), "--records", str(records))
        rules = {role: side["rules"] for role, side in target.inventory().items()}
    finally:
        assert target.emulator is not None
        target.emulator.stop()
    state = RunState.load(_run_dir(records))
    if verifies:
        assert run.returncode == 0, run.stdout + run.stderr
        assert state.result == "verified"
        count = len(P.load(str(params_file)).security_groups.rules)
        assert rules == {"initiator": count, "acceptor": count}
        return
    assert run.returncode == 1, run.stdout + run.stderr
    assert "InvalidSourceGroupId.Mismatch" in run.stdout and "mode: cidr" in run.stdout
    assert state.phase("security_groups").status == "failed"
    assert "not run" in str(state.phase("verify").status) or state.phase("verify").status == "pending"
    assert rules == {"initiator": 0, "acceptor": 0}  # stopped before any change, never a wider rule
