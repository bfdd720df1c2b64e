"""End to end, as a user runs it: ``vpclink migrate example.yaml --to vpc_peer`` against an emulator
whose lists lag 3 s (the embedded default: never kinder than the cloud), on a link the router
interface backend built and verified. The first migration is killed (``SIGKILL``) right after the
initiator's route moved; the second converges: one peering, the same route entries repointed in
place, the router interfaces gone, and the record saying how long each side's traffic could not
cross. Bad input is refused, naming the field, before any mutating call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from adversarial_support import lagging_emulator
from phase_support import (
    EXAMPLE,
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)

VPCLINK = [sys.executable, "-m", "vpclink.cli"]


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(lagging_emulator(3.0), tmp_path)
    r.run_all()
    assert r.outputs["verified"] is True
    yield r
    r.emu.server.stop()


def migrate_argv(rig: Rig, records: Path, *extra: str) -> list[str]:
    return [*VPCLINK, "migrate", str(EXAMPLE), "--emulator", rig.emu.url, "--records", str(records), *extra]


def custom_routes(rig: Rig) -> list[tuple[str, str, str]]:
    return sorted(
        (r["RouteEntryId"], r["DestinationCidrBlock"], r.get("NextHopType", ""))
        for account in ("account-a", "account-b")
        for r in rig.resources(account, "route_entry")
        if r["Type"] == "Custom"
    )


def ok_mutations(rig: Rig, seq: int) -> list[str]:
    return [e["action"] for e in rig.mutations_since(seq, ok_only=True)]


def steps(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()]


def test_killed_between_the_route_moves_then_rerun_converges(rig: Rig, tmp_path: Path) -> None:
    before, seq = custom_routes(rig), rig.journal_seq()
    records = tmp_path / "records"
    plan = subprocess.run(
        migrate_argv(rig, tmp_path / "plans", "--to", "vpc_peer", "--dry-run"), capture_output=True, text=True
    )
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.count("modify   ") == 2 and "DeleteRouterInterface" in plan.stdout
    assert rig.mutations_since(seq) == []  # a plan changes nothing
    child = subprocess.Popen(migrate_argv(rig, records, "--to", "vpc_peer"), stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    for line in child.stdout:  # the record of each step is printed as it ends
        if "ModifyRouteEntry" in line and "initiator" in line:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL
    [killed] = sorted(records.iterdir())
    assert [s["action"] for s in steps(killed)][-1] == "ModifyRouteEntry"

    rerun = subprocess.run(migrate_argv(rig, records, "--to", "vpc_peer"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    peerings = [p for p in rig.resources("account-a", "vpc_peer") if p["Status"] == "Activated"]
    assert len(peerings) == 1
    assert [r for a in ("account-a", "account-b") for r in rig.resources(a, "router_interface")] == []
    after = custom_routes(rig)
    assert [(i, d) for i, d, _ in after] == [(i, d) for i, d, _ in before]  # the same entries: moved in place
    assert {t for _, _, t in after} == {"VpcPeer"}
    actions = ok_mutations(rig, seq)
    assert actions.count("CreateVpcPeerConnection") == 1 and actions.count("ModifyRouteEntry") == 2
    assert "CreateRouteEntry" not in actions and "DeleteRouteEntry" not in actions

    [_, resumed] = sorted(records.iterdir())
    moves = [(s["side"], s["outcome"]) for s in steps(resumed) if s["action"] == "ModifyRouteEntry"]
    assert moves == [("initiator", "already there"), ("acceptor", "changed")]
    result = json.loads((resumed / "migrate.json").read_text())
    assert result["status"] == "done" and set(result["lost_seconds"]) == {"initiator", "acceptor"}
    assert "lost while moving" in rerun.stdout


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (("--to", "peering"), "--to"),
        (("--to", "router_interface"), "--to"),
        (("--to", "vpc_peer", "--target", "alibabacloud"), "--yes"),
    ],
)
def test_bad_input_is_refused_naming_the_field_before_any_call(
    rig: Rig, tmp_path: Path, argv: tuple[str, ...], field: str
) -> None:
    seq = rig.journal_seq()
    cmd = migrate_argv(rig, tmp_path / "records", *argv)
    if "alibabacloud" in argv:  # the real cloud: no emulator option (never reached: refused first)
        cmd = [a for a in cmd if a not in ("--emulator", rig.emu.url)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith(f"vpclink: {field}: "), done.stderr
    assert rig.mutations_since(seq) == []
