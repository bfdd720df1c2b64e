"""The CLI's fleet options, refused before anything happens: exit 2 naming the option, no records
directory, and the embedded emulator not even started (so no API call)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import yaml
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import EXAMPLE
from vpclink import embedded
from vpclink.cli import main

ROOT = Path(__file__).resolve().parents[1]
FLEET = ROOT / "params" / "fleet-example.yaml"


def vpclink(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def test_check_takes_a_fleet_file_and_names_its_links() -> None:
    code, out = vpclink("check", str(FLEET))
    assert code == 0, out
    assert "Fleet org-network" in out and "shared-payments" in out
    assert "shared-analytics: shared vpc-bp1orgsharedhub000001" in out and "router_interface, 50 Mbps (Small.5)" in out


def test_check_says_each_links_backend_and_what_its_bandwidth_means(tmp_path: Path) -> None:
    data = yaml.safe_load(FLEET.read_text())
    data["defaults"]["backend"] = "vpc_peer"
    del data["defaults"]["bandwidth_mbps"]
    data["links"][0].update(backend="router_interface", bandwidth_mbps=20)
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out = vpclink("check", str(path))
    assert code == 0, out
    lines = {line.split(":")[0].strip(): line for line in out.splitlines()[1:]}
    assert lines["shared-payments"].endswith("router_interface, 20 Mbps (Small.2)"), out
    assert lines["shared-web-https"].endswith("vpc_peer, VPC peering within one region (no bandwidth limit, free)"), out
    assert lines["edge-bj-sh"].endswith("vpc_peer, VPC peering across regions, 100 Mbps"), out
    assert lines["shared-ledger"].endswith("vpc_peer, VPC peering across regions (the API's default bandwidth)"), out


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["run", str(FLEET), "--max-concurrency", "many"], "--max-concurrency"),
        (["run", str(FLEET), "--max-errors", "120%"], "--max-errors"),
        (["plan", str(FLEET), "--max-errors", "x"], "--max-errors"),
        (["teardown", str(FLEET), "--max-concurrency", "-1"], "--max-concurrency"),
        (["run", str(FLEET), "--from", "routes"], "--from"),
        (["run", str(FLEET), "--side", "initiator"], "--side"),
        (["run", str(FLEET), "--target", "alibabacloud"], "--yes"),
        (["teardown", str(FLEET), "--target", "alibabacloud"], "--yes"),
        (["teardown", str(FLEET), "--dry-run"], "--dry-run"),
        (["run", str(EXAMPLE), "--max-errors", "1"], "--max-errors"),
        (["teardown", str(EXAMPLE), "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler"),
    ],
)
def test_a_bad_fleet_option_is_refused_before_anything_happens(argv: list[str], named: str, tmp_path: Path) -> None:
    records = tmp_path / "runs"
    code, out = vpclink(*argv, "--records", str(records))
    assert code == 2, out
    assert named in out, out
    assert not records.exists()
    assert not (embedded.state_dir() / embedded.STATE_DB).exists()


def test_resume_of_a_directory_that_is_no_fleets_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fleet.json").write_text("{}")
    code, out = vpclink("run", "--resume", str(tmp_path))
    assert code == 2, out


def test_without_max_concurrency_a_local_fleet_runs_twice_the_cores_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from vpclink.fleet import command

    monkeypatch.setattr(command.os, "cpu_count", lambda: 2)
    assert command.default_concurrency(None) == "4"
    assert command.default_concurrency("tcp://10.0.0.5:8786") == command.DEFAULT_CONCURRENCY
