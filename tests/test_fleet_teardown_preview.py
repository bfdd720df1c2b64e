"""``vpclink teardown FLEET_RUN_DIR --dry-run`` after a fleet verified: each link's plan of what would
go, printed under its name; not one mutating API call, the fleet's and the links' records unchanged
(each link's dry run keeps its plan in a ``-plan`` directory of its own), every resource still there.
Then the real teardown still removes everything."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import Emulator, mutating
from test_fleet_e2e import FLEET, cloud, resources, vpclink
from test_fleet_resume import tree_digest
from vpclink import embedded
from vpclink.fleet import load_fleet
from vpclink.fleet.world import world_for_fleet


def journal() -> list[dict]:
    emu = Emulator(db=str(embedded.state_dir() / embedded.STATE_DB))
    try:
        return emu.journal()
    finally:
        emu.stop()


def test_a_fleets_teardown_dry_run_shows_each_links_removals_and_changes_nothing(tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    embedded.seed(world_for_fleet(load_fleet(fleet_file)), timing_scale=0, read_lag=3.0)
    before, _, _ = cloud()
    code, out = vpclink("run", str(fleet_file), "--records", "runs", "--max-concurrency", "2", cwd=tmp_path)
    assert code == 0, out
    (run_dir,) = (tmp_path / "runs").iterdir()
    built, _, seq = cloud()
    digest = tree_digest(run_dir)

    code, out = vpclink("teardown", str(run_dir), "--dry-run", cwd=tmp_path)
    assert code == 0, out
    for link in ("hub-app", "hub-data"):
        assert f"\n  {link}:\n" in out, out
    assert out.count("DeleteRouterInterface") >= 4 and out.count("DeleteRouteEntry") >= 4, out
    assert "nothing was changed" in out
    assert mutating(journal()[seq:]) == []
    assert resources(cloud()[0]) == resources(built)
    changed = sorted(
        k for k, v in {**digest, **tree_digest(run_dir)}.items() if "-plan/" not in k and digest.get(k) != v
    )
    assert changed == []
    assert [link["state"] for link in json.loads((run_dir / "fleet.json").read_text())["links"]] == [
        "verified",
        "verified",
    ]

    code, out = vpclink("teardown", str(run_dir), cwd=tmp_path)
    assert code == 0, out
    assert resources(cloud()[0]) == resources(before)


def test_a_teardown_dry_run_of_a_fleet_file_asks_for_its_run_directory(tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    code, out = vpclink("teardown", str(fleet_file), "--dry-run", cwd=tmp_path)
    assert code == 2 and "run directory" in out, out
