"""Fixtures shared by the runbook tests: an emulator (tutorial world, every step immediate) and a
rig with the example parameters and a profiles file for its accounts (``phase_support.Rig``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from phase_support import Rig, start_emulator

pytest_plugins = ["parity_plugin"]

# Markers by where a test lives, so that a file never forgets its own: `make test-fast` runs what has
# none of them. ``e2e``: whole runs of the CLI or the runner; ``notebook``: executes notebooks in
# kernels; ``browser``: JupyterLab in Chromium; ``slow``: starts server processes or builds a wheel.
_MARKERS_BY_FILE = {
    "e2e": {
        "test_adversarial_kill.py",
        "test_capture_cli.py",
        "test_cli_changes.py",
        "test_concurrent_runs.py",
        "test_e2e_dual_target.py",
        "test_e2e_faults.py",
        "test_e2e_migrate.py",
        "test_e2e_migrate_kills.py",
        "test_e2e_resume.py",
        "test_e2e_run.py",
        "test_e2e_vpc_peer.py",
        "test_fleet_e2e.py",
        "test_fleet_kernel_death.py",
        "test_fleet_resume.py",
        "test_ram_roles_cli.py",
        "test_fleet_teardown_preview.py",
        "test_fleet_plan_cloud.py",
        "test_two_operators.py",
        "test_two_operators_vpc_peer.py",
        "test_wheel.py",
        "test_working_copies.py",
    },
    "notebook": {"test_notebooks.py", "test_notebook_peer.py", "test_notebook_messages.py", "test_runner.py"},
    "slow": {
        "test_wheel.py",
        "test_cli.py::emulator",
        "test_concurrency.py",
        "test_durability.py",
        "test_fleet_engine.py",
        "test_http_limits.py::emulator",
    },
}


_LONG = {"e2e", "notebook", "browser", "slow"}
# The longest files, longest first (measured with --durations): started first, they end before the rest.
_LONGEST = (
    "test_fleet_e2e.py",
    "test_fleet_resume.py",
    "test_cli_changes.py",
    "test_e2e_resume.py",
    "test_e2e_run.py",
    "test_e2e_vpc_peer.py",
    "test_two_operators.py",
    "test_concurrent_runs.py",
    "test_e2e_migrate_kills.py",
    "test_e2e_migrate.py",
    "test_e2e_dual_target.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        names = {path.name, f"{path.name}::{path.parent.name}"}
        for marker, files in _MARKERS_BY_FILE.items():
            if names & files:
                item.add_marker(marker)
        if "browser" in path.parts:
            item.add_marker("browser")

    # The long files first (``make test`` hands out whole files in this order), so that the workers'
    # last minutes are spent on short ones, not one worker finishing a long run while the other waits.
    def cost(item: pytest.Item) -> tuple[bool, int]:
        name = Path(str(item.fspath)).name
        rank = _LONGEST.index(name) if name in _LONGEST else len(_LONGEST)
        return not _LONG & {m.name for m in item.iter_markers()}, rank

    items.sort(key=cost)


@pytest.fixture
def emu():
    e = start_emulator()
    yield e
    e.server.stop()


@pytest.fixture
def rig(emu, tmp_path):
    return Rig(emu, tmp_path)
