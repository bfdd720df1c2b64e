"""A small fleet end to end, as a network team runs it: `vpclink run FLEET` (a hub with two spokes over
three accounts and two regions, one link on router interfaces and one a VPC peering connection) on the
embedded emulator, every link verified, then `vpclink teardown FLEET_RUN_DIR` leaving every account as
it was. Plus a fleet with one bad link: exit 2 and
no API call for any link.

The embedded emulator's state (private to this module) is seeded first with the fleet's world with
immediate asynchronous steps, so the CLI's default path runs unchanged but fast. The fleet command
runs in a subprocess: it starts a local Dask cluster of worker processes, as a user's would.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import Emulator, link_resources, mutating, without_history
from vpclink import embedded
from vpclink.fleet import load_fleet
from vpclink.fleet.world import world_for_fleet
from vpclink.record.secret_scan import scan_for_secrets
from vpclink.targets import Secret


def _vpc(profile: str, region: str, tag: str, cidr: str) -> dict[str, str]:
    prefix = {"cn-hangzhou": "bp1", "cn-shanghai": "uf6"}[region]
    return {
        "profile": profile,
        "region": region,
        "vpc_id": f"vpc-{prefix}{tag}0000000001",
        "vpc_cidr": cidr,
        "security_group_id": f"sg-{prefix}{tag}sg000001",
        "instance_id": f"i-{prefix}{tag}ecs00001",
    }


# A hub in one account with a spoke in another account of its region and one in a third account
# of another region.
FLEET: dict[str, Any] = {
    "fleet": "hub-two",
    "vpcs": {
        "hub": _vpc("fleet-hub", "cn-hangzhou", "hubhub", "10.0.0.0/16"),
        "app": _vpc("fleet-app", "cn-hangzhou", "appapp", "10.11.0.0/16"),
        "data": _vpc("fleet-data", "cn-shanghai", "datada", "10.12.0.0/16"),
    },
    "defaults": {"bandwidth_mbps": 10, "security_groups": {"mode": "cidr", "rules": [{"protocol": "icmp"}]}},
    "links": [{"initiator": "hub", "acceptor": "app"}, {"initiator": "hub", "acceptor": "data"}],
}


def vpclink(*argv: str, cwd: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "vpclink.cli", *argv],
        cwd=cwd,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc.returncode, proc.stdout + proc.stderr


def journal() -> list[dict[str, Any]]:
    """The embedded emulator's journal of calls."""
    emu = Emulator(db=str(embedded.state_dir() / embedded.STATE_DB))
    try:
        return emu.journal()
    finally:
        emu.stop()


def cloud() -> tuple[dict[str, Any], list[str], int]:
    """The embedded emulator's accounts (state), their secrets, and its journal's length."""
    emu = Emulator(db=str(embedded.state_dir() / embedded.STATE_DB))
    try:
        return emu.state(), emu.secrets(), len(emu.journal())
    finally:
        emu.stop()


def tree_digest(directory: Path) -> dict[str, str]:
    """Every file below ``directory`` by its sha256: what a record holds, to tell it was not touched."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def resources(state: dict[str, Any]) -> Counter:
    """Router interfaces, peering connections (by status), custom routes and rules over every account."""
    total: Counter = Counter()
    for counts in link_resources(state).values():
        total.update(counts)
    for types in state.values():
        total.update(("vpc_peer", p.get("Status")) for p in types.get("vpc_peer", []))
    return total


# The same fleet with its cross-region spoke on a VPC peering connection (its bandwidth from defaults):
# one run, both backends, each link as its own link file with that backend would build it.
MIXED: dict[str, Any] = {
    **FLEET,
    "links": [FLEET["links"][0], {**FLEET["links"][1], "backend": "vpc_peer"}],
}


def test_a_hub_with_two_spokes_on_both_backends_verifies_every_link_then_tears_down_to_nothing(
    tmp_path: Path,
) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(MIXED, sort_keys=False))
    embedded.seed(world_for_fleet(load_fleet(fleet_file)), timing_scale=0, read_lag=3.0)  # the default lag
    before, secrets, _ = cloud()

    code, out = vpclink("run", str(fleet_file), "--records", "runs", "--max-concurrency", "2", cwd=tmp_path)
    assert code == 0, out
    (run_dir,) = (tmp_path / "runs").iterdir()
    record = json.loads((run_dir / "fleet.json").read_text())
    assert [(link["name"], link["backend"], link["state"]) for link in record["links"]] == [
        ("hub-app", "router_interface", "verified"),
        ("hub-data", "vpc_peer", "verified"),
    ]
    for link in record["links"]:
        assert link["ping"] == {"initiator_to_acceptor": "ok", "acceptor_to_initiator": "ok"}, link
        link_run = json.loads((run_dir / link["run_dir"] / "run.json").read_text())
        assert link_run["result"] == "verified" and link_run["link"] == link["name"]
        assert link_run["params"]["backend"] == link["backend"]
        assert (run_dir / link["run_dir"] / "ledger.jsonl").stat().st_size > 0
    assert record["rate"]["not_started"] == {} and not record["rate"]["stopped"]
    page = (run_dir / "index.html").read_text()
    assert "<svg" in page and "hub-app" in page and "hub-data" in page
    # every call went through the fleet's shared quotas: the coordinator admitted each one the ledgers hold
    admitted = sum(row["admitted"] for row in record["coordinator"]["quotas"])
    assert admitted == sum(row["calls"] for row in record["api_calls"])
    assert all(row["throttled"] == 0 and row["most_in_window"] <= row["limit"] for row in record["api_calls"])

    after, _, _ = cloud()
    made = resources(after) - resources(before)
    # hub-app's pair of router interfaces, hub-data's one peering (cross-region, with its bandwidth)
    interfaces = {k: v for k, v in made.items() if k[0] == "router_interface"}
    assert interfaces == {("router_interface", "InitiatingSide"): 1, ("router_interface", "AcceptingSide"): 1}
    assert {k: v for k, v in made.items() if k[0] == "vpc_peer"} == {("vpc_peer", "Activated"): 1}
    (peering,) = [p for types in after.values() for p in types.get("vpc_peer", [])]
    assert int(peering["Bandwidth"]) == 10
    routes = [k for k in made if k[0] == "route"]
    assert len(routes) == 4 and set(made[r] for r in routes) == {1}  # one per destination per side
    assert {r[3].split("-")[0] for r in routes} == {"ri", "pcc"}  # each link's routes to its own next hop
    assert not scan_for_secrets(run_dir, [Secret("emulator key", s) for s in secrets])

    # a second run of the fleet's run directory runs nothing again: every link verified already
    code, out = vpclink("run", "--resume", str(run_dir), cwd=tmp_path)
    assert code == 0, out
    assert "started" not in out, out
    assert len(list((run_dir / "links").iterdir())) == 2
    assert resources(cloud()[0]) == resources(after)

    # teardown --dry-run: each link's removals under its name; no mutating call, the records as they were
    # (each link's dry run keeps its plan in a "-plan" directory of its own)
    _, _, seq = cloud()
    digest = tree_digest(run_dir)
    code, out = vpclink("teardown", str(run_dir), "--dry-run", "--max-concurrency", "1", cwd=tmp_path)
    assert code == 0, out
    assert "would tear down 2 link(s), at most 1 at once (--max-concurrency 1)" in out, out
    for name in ("hub-app", "hub-data"):
        assert f"\n  {name}:\n" in out, out
    app, data = out.split("\n  hub-data:\n")
    assert app.count("DeleteRouterInterface") >= 2 and "DeleteVpcPeerConnection" not in app, out
    assert data.count("DeleteVpcPeerConnection") == 1 and "DeleteRouterInterface" not in data, out
    assert out.count("DeleteRouteEntry") >= 4, out
    assert "nothing was changed" in out
    assert mutating(journal()[seq:]) == []
    assert resources(cloud()[0]) == resources(after)
    changed = sorted(
        k for k, v in {**digest, **tree_digest(run_dir)}.items() if "-plan/" not in k and digest.get(k) != v
    )
    assert changed == []

    code, out = vpclink("teardown", str(run_dir), cwd=tmp_path)
    assert code == 0, out
    record = json.loads((run_dir / "fleet.json").read_text())
    assert [link["state"] for link in record["links"]] == ["torn down", "torn down"]
    assert resources(cloud()[0]) == resources(before)
    assert without_history(cloud()[0]) == without_history(before)  # every account as it was


def test_a_fleet_with_one_bad_link_makes_no_call_for_any_link(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(FLEET))
    bad["links"].append({"initiator": "app", "acceptor": "nowhere"})
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(bad, sort_keys=False))
    emu = Emulator()
    try:
        assert vpclink("check", str(fleet_file), cwd=tmp_path)[0] == 2
        for command in ("check", "run", "plan", "teardown"):
            target = [] if command == "check" else ["--emulator", emu.url]
            code, out = vpclink(command, str(fleet_file), *target, cwd=tmp_path)
            assert code == 2, (command, out)
            assert "links[2].acceptor" in out and "nowhere" in out, out
        assert emu.journal() == []
    finally:
        emu.stop()
    assert not (tmp_path / "runs").exists()
