"""``vpclink teardown --dry-run`` of a fleet takes the fleet's run directory, not its file. The dry run
of a fleet that verified (each link's removals, no mutating call, records unchanged) is checked in
``test_fleet_e2e.py``, on the fleet that test has built, rather than building a second one here."""

from __future__ import annotations

from pathlib import Path

import yaml
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from test_fleet_e2e import FLEET, vpclink


def test_a_teardown_dry_run_of_a_fleet_file_asks_for_its_run_directory(tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    code, out = vpclink("teardown", str(fleet_file), "--dry-run", cwd=tmp_path)
    assert code == 2 and "run directory" in out, out
