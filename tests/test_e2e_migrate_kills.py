"""``vpclink migrate`` killed (``SIGKILL``, a real process) at each step of a migration, both ways, then
run again: it converges to exactly the link an uninterrupted migration leaves.

Each kill point is a mutating call of the migration held in flight by the emulator (a ``latency``
fault on its first occurrence in one account): the process is killed while the call is held, and the
call then lands with nobody to hear its answer. That is a step boundary at its hardest (the change is
made, the process does not know it) and an exact one: nothing after it has begun. (Killing on a
printed step line instead, as ``test_e2e_migrate.py`` does, races the process's next call.)

Forward (router interfaces to a peering, a link the router-interface backend built): after the peering
is requested, after it is accepted (and so activated), after each side's route moved, and during the
old hop's removal (one interface deactivated; one deleted). Back (the peering to router interfaces,
right after the first migration, within the lists' lag): after each interface is requested, after the
connection is initiated, after each route moved, and during the peering's removal. After the rerun:
one new hop (one peering, or one router interface per side, created once each), the same route
entries repointed at it in place, the old hop gone, the pings through, and a record of each run.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from adversarial_support import kill_when_held, lagging_emulator
from phase_support import (
    EXAMPLE,
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)
from runbook_support import wait_until
from vpclink import migrate
from vpclink.cli import main
from vpclink.params import load

VPCLINK = [sys.executable, "-m", "vpclink.cli"]
ACCOUNTS = ("account-a", "account-b")
ROLE_OF = {"account-a": "initiator", "account-b": "acceptor"}
GONE = ("Deleting", "Deleted")
HELD_MS = 2000  # long enough to see the call held and kill its caller, on a busy machine too
# kill point: (backend migrated to, the mutating call held in flight, the account that makes it)
KILL_POINTS = {
    "to-peering/peering-requested": ("vpc_peer", "CreateVpcPeerConnection", "account-a"),
    "to-peering/peering-accepted": ("vpc_peer", "AcceptVpcPeerConnection", "account-b"),
    "to-peering/initiator-route-moved": ("vpc_peer", "ModifyRouteEntry", "account-a"),
    "to-peering/acceptor-route-moved": ("vpc_peer", "ModifyRouteEntry", "account-b"),
    "to-peering/removal-deactivated": ("vpc_peer", "DeactivateRouterInterface", "account-a"),
    "to-peering/removal-one-deleted": ("vpc_peer", "DeleteRouterInterface", "account-a"),
    "back/initiator-interface-requested": ("router_interface", "CreateRouterInterface", "account-a"),
    "back/acceptor-interface-requested": ("router_interface", "CreateRouterInterface", "account-b"),
    "back/connection-initiated": ("router_interface", "ConnectRouterInterface", "account-a"),
    "back/initiator-route-moved": ("router_interface", "ModifyRouteEntry", "account-a"),
    "back/acceptor-route-moved": ("router_interface", "ModifyRouteEntry", "account-b"),
    "back/removal-peering-deleted": ("router_interface", "DeleteVpcPeerConnection", "account-a"),
}


@pytest.fixture
def peering_params(tmp_path: Path) -> Path:
    """The example link as it stands after a migration to the peering: its file names that backend
    (each test its own copy: a finished migration rewrites it)."""
    path = tmp_path / "example-now-peering.yaml"
    path.write_text(EXAMPLE.read_text() + "\nbackend: vpc_peer\n")
    return path


def custom_routes(rig: Rig) -> dict[str, list[dict[str, Any]]]:
    return {
        a: sorted(
            (r for r in rig.resources(a, "route_entry") if r["Type"] == "Custom"), key=lambda r: r["RouteEntryId"]
        )
        for a in ACCOUNTS
    }


def live(rig: Rig, type_: str, account: str) -> list[dict[str, Any]]:
    return [x for x in rig.resources(account, type_) if x.get("Status") not in GONE]


def made(rig: Rig, seq: int, action: str, account: str) -> int:
    """Creates since ``seq`` that made a resource (a ClientToken's replay makes none)."""
    return sum(
        1
        for e in rig.emu.control(f"journal?since={seq}")["entries"]
        if e["action"] == action
        and e.get("account") == account
        and e["status"] == 200
        and not e.get("idempotent_replay")
    )


def vpclink(*argv: str) -> tuple[int, str]:
    """``vpclink ARGV`` run in this process: its exit code and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def steps(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_at_a_step_then_rerun_converges(point: str, tmp_path: Path, peering_params: Path) -> None:
    to, action, account = KILL_POINTS[point]
    rig = Rig(lagging_emulator(3.0), tmp_path)  # lists lag 3 s, the embedded default
    try:
        rig.run_all()
        assert rig.outputs["verified"] is True
        params = tmp_path / "link.yaml"  # a copy: the finished migration rewrites its backend
        shutil.copyfile(EXAMPLE, params)
        if to == "router_interface":  # the way back, right after the way there
            migrate.migrate(rig.ctx("migrate"), "vpc_peer")
            params = peering_params
        before = {a: [(r["RouteEntryId"], r["DestinationCidrBlock"]) for r in v] for a, v in custom_routes(rig).items()}
        seq = rig.journal_seq()
        records, log = tmp_path / "records", tmp_path / "killed.log"
        argv = [*VPCLINK, "migrate", str(params), "--to", to, "--emulator", rig.emu.url, "--records", str(records)]

        rig.emu.faults(
            {
                "name": "held",
                "action": action,
                "account": account,
                "effect": "latency",
                "latency_ms": HELD_MS,
                "times": 1,
            }
        )
        with log.open("w") as out:
            child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        kill_when_held(child, rig.emu, action, account, log.read_text)
        # the call in flight lands although its caller is dead
        wait_until(
            lambda: bool(rig.emu.journal(since=str(seq), action=action, account=account)), 30, f"{action} to land"
        )
        rig.emu.control("faults", method="DELETE")
        [killed] = sorted(records.iterdir())
        # the record says how far it got: not to the held call's answer, nor to a result or its page
        got_to = steps(killed)
        assert got_to and not {migrate.command.RESULT_FILE, "index.html"} & {f.name for f in killed.iterdir()}
        assert not [s for s in got_to if s["action"] == action and s["side"] == ROLE_OF[account]]

        code, said = vpclink(*argv[len(VPCLINK) :])  # the rerun in this process: one interpreter start less
        assert code == 0, said
        _assert_converged(rig, to, before, seq)
        [_, resumed] = sorted(records.iterdir())
        result = json.loads((resumed / migrate.command.RESULT_FILE).read_text())
        assert result["status"] == "done" and result["backend"] == to
        # the parameter file now names what exists: later runs and teardowns act on the new hop
        assert load(params).backend == to and f"now says `backend: {to}`" in said
        assert set(result["lost_seconds"]) == {"initiator", "acceptor"} and (resumed / "index.html").exists()
        # the rerun proved each move with pings both ways
        assert [s["detail"] for s in steps(resumed) if s["action"] == "RunCommand"] == ["ok"] * 4
    finally:
        rig.emu.server.stop()


def _assert_converged(rig: Rig, to: str, before: dict[str, list[tuple[str, str]]], seq: int) -> None:
    """One new hop, made once; each side's routes the same entries, through it; the old hop gone."""
    hops: dict[str, str] = {}
    if to == "vpc_peer":
        [pcc] = live(rig, "vpc_peer", "account-a")
        assert pcc["Status"] == "Activated"
        assert made(rig, seq, "CreateVpcPeerConnection", "account-a") == 1
        hops = dict.fromkeys(ACCOUNTS, pcc["InstanceId"])
        for account in ACCOUNTS:
            assert live(rig, "router_interface", account) == []
    else:
        assert live(rig, "vpc_peer", "account-a") == []
        for account in ACCOUNTS:
            [ri] = live(rig, "router_interface", account)
            assert ri["Status"] == "Active"
            assert made(rig, seq, "CreateRouterInterface", account) == 1
            hops[account] = ri["RouterInterfaceId"]
    hop_type = "VpcPeer" if to == "vpc_peer" else "RouterInterface"
    for account, entries in custom_routes(rig).items():
        assert [(r["RouteEntryId"], r["DestinationCidrBlock"]) for r in entries] == before[account]  # in place
        assert {(r["NextHopType"], r["NextHopId"], r["Status"]) for r in entries} == {
            (hop_type, hops[account], "Available")
        }
    actions = [e["action"] for e in rig.mutations_since(seq, ok_only=True)]
    assert actions.count("ModifyRouteEntry") == 2  # one change per route, whichever run made it
    assert "CreateRouteEntry" not in actions and "DeleteRouteEntry" not in actions
