"""A fleet command killed with ``kill -9`` part way, then ``vpclink run --resume FLEET_RUN_DIR``: the
fleet finishes; a link that verified before the kill is not run again (its record is untouched), and
no link ever gets a second router interface, route or rule.

The two links run one at a time (``--max-concurrency 1``), so the kill lands after the first verified
and while the second is between phases with its initiator's router interface already made. The kill
goes to the fleet command's process group (the command and its Dask workers); the link's own command
runs in a session of its own: forked by the fleet's link fork server, it is killed by that server as
the fleet command's end reaches it (a subprocess would be left behind, and the resume stops it before
running that link again; a pid file left naming a dead or reused PID stops nothing).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import wait_until
from test_fleet_e2e import FLEET, cloud, resources, tree_digest, vpclink
from vpclink import embedded
from vpclink.fleet import load_fleet
from vpclink.fleet.world import world_for_fleet


def link_runs(records: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Each link's run directory and run.json under the (only) fleet run directory, as far as written."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for links in records.glob("*/links"):
        for run_dir in links.iterdir():
            try:
                data = json.loads((run_dir / "run.json").read_text())
            except (OSError, ValueError):
                continue
            found[str(data.get("link"))] = (run_dir, data)
    return found


def left_behind(fleet_dir: Path) -> list[int]:
    """Processes whose command line names this fleet run directory (the links' commands)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(fleet_dir) in cmdline and int(proc.name) != os.getpid():
                pids.append(int(proc.name))
    return pids


def test_a_fleet_killed_after_one_link_verified_resumes_without_duplicates(tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    embedded.seed(world_for_fleet(load_fleet(fleet_file)), timing_scale=0, read_lag=3.0)  # the default lag
    before, _, _ = cloud()
    records = tmp_path / "runs"

    log = (tmp_path / "first.log").open("w")
    command = subprocess.Popen(
        [sys.executable, "-m", "vpclink.cli", "run", str(fleet_file), "--records", "runs", "--max-concurrency", "1"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def one_verified_one_in_flight() -> bool:
            runs = link_runs(records)
            done = [name for name, (_, data) in runs.items() if data.get("result") == "verified"]
            flying = [
                name
                for name, (_, data) in runs.items()
                if data.get("result") != "verified"
                and any(p.get("name") == "initiator" and p.get("status") == "ok" for p in data.get("phases") or [])
            ]
            assert command.poll() is None, (tmp_path / "first.log").read_text()
            return bool(done and flying)

        wait_until(one_verified_one_in_flight, 180, "one link verified and the other's router interface made")
        os.killpg(command.pid, signal.SIGKILL)
        command.wait(10)
    finally:
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
            command.wait(10)
        log.close()
    assert command.returncode == -signal.SIGKILL
    (fleet_dir,) = records.iterdir()
    runs = link_runs(records)
    (verified,) = [name for name, (_, data) in runs.items() if data.get("result") == "verified"]
    (unfinished,) = [name for name, (_, data) in runs.items() if data.get("result") != "verified"]
    kept = tree_digest(runs[verified][0])

    try:
        code, out = vpclink("run", "--resume", str(fleet_dir), cwd=tmp_path)
        assert code == 0, out
    finally:
        for pid in left_behind(fleet_dir):  # only if the resume failed to stop what it left
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    record = json.loads((fleet_dir / "fleet.json").read_text())
    assert {link["name"]: link["state"] for link in record["links"]} == {verified: "verified", unfinished: "verified"}
    # The unfinished link's own command was killed with the fleet's (forked by its link fork server) or,
    # as a subprocess, outlived it and may finish before the resume looks: the resume continues it or
    # finds it verified; either way in its own run directory, never a second one.
    assert f"{verified:<32} started" not in out, out
    # the verified link was not run again: its record is as the kill left it, and no second one was made
    assert tree_digest(runs[verified][0]) == kept
    assert sorted(p.name for p in (fleet_dir / "links").iterdir()) == sorted(r.name for r, _ in runs.values())
    # the unfinished link resumed its own run directory
    assert link_runs(records)[unfinished][0] == runs[unfinished][0]

    made = resources(cloud()[0]) - resources(before)
    interfaces = {k: v for k, v in made.items() if k[0] == "router_interface"}
    assert interfaces == {("router_interface", "InitiatingSide"): 2, ("router_interface", "AcceptingSide"): 2}
    routes = Counter({k: v for k, v in made.items() if k[0] == "route"})
    assert len(routes) == 4 and set(routes.values()) == {1}, routes  # one per destination per side per link
    rules = {k: v for k, v in made.items() if k[0] == "rule"}
    assert rules and set(rules.values()) == {1}, rules
    assert not left_behind(fleet_dir)
