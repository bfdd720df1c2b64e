"""A real phase notebook in a real JupyterLab, as the acceptor's operator runs it.

Account A's operator has done their part (preflight and the initiator, through the same cells) and
sent their peer card. Account B's operator holds only account B's profile; they take the committed
``02_acceptor.ipynb`` with its parameters set the way papermill sets them (``side = "acceptor"``, the
emulator, ``apply = True``, ``interactive = True``), open it in JupyterLab and Run All: the form asks
for the initiator's values and "Run All" stops at the next cell. A bad router interface ID is flagged
beside its field; pasting A's card fills the form; after Confirm the remaining cells run, and the
emulator shows account B's acceptor interface pointing at A's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook
from runbook_support import EXAMPLE, NOTEBOOKS, Emulator, run_cells, side_profiles
from vpclink.notebook import PhaseNotebook, Settings
from vpclink.peer import card as peercard
from vpclink.record.run import RunState

from .conftest import KERNEL_IDLE_TIMEOUT_MS, open_notebook

LINK = "tutorial-qingdao-beijing"
APPLY_TIMEOUT_MS = 60_000  # the remaining cells: plan, create, wait for Idle, read back (zero delays)


@pytest.fixture
def emulator() -> Any:
    emu = Emulator()  # a thread of this process, every asynchronous step immediate
    yield emu
    emu.stop()


def initiator_card(emu: Emulator, tmp_path: Path) -> peercard.PeerCard:
    """Account A's operator, alone: preflight and the initiator; their card for B."""
    profiles = side_profiles(emu, tmp_path / "a-profiles.json", ("initiator",))
    run_dir = tmp_path / "a-run"
    endpoint = emu.url.split("://", 1)[1]
    for name in ("preflight", "initiator"):
        settings = Settings.read(
            name,
            params_file=str(EXAMPLE),
            run_dir=str(run_dir),
            target="emulator",
            endpoint=endpoint,
            profiles_file=str(profiles),
            apply=True,
            side="initiator",
        )
        run_cells(PhaseNotebook(settings))
    return peercard.read(run_dir / peercard.file_name(LINK, "initiator"))


def acceptor_notebook(lab: Any, emu: Emulator, tmp_path: Path) -> tuple[str, Path]:
    """The committed notebook with B's operator's parameters injected, in the Lab's root."""
    nb = load_notebook_node(str(NOTEBOOKS / "02_acceptor.ipynb"))  # as papermill reads it
    run_dir = tmp_path / "b-run"
    parameters = {
        "params_file": str(EXAMPLE),
        "run_dir": str(run_dir),
        "target": "emulator",
        "endpoint": emu.url.split("://", 1)[1],
        "apply": True,
        "interactive": True,
        "side": "acceptor",
        "profiles_file": str(side_profiles(emu, tmp_path / "b-profiles.json", ("acceptor",))),
    }
    nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    name = "02_acceptor-operator-b.ipynb"
    nbformat.write(nb, str(lab.root / name))
    return name, run_dir


def test_the_acceptors_operator_confirms_the_initiators_values_and_the_phase_runs(
    page: Any, lab: Any, expect: Any, screenshots: Path, emulator: Emulator, tmp_path: Path
) -> None:
    a_card = initiator_card(emulator, tmp_path)
    notebook, run_dir = acceptor_notebook(lab, emulator, tmp_path)
    panel = open_notebook(page, lab, notebook)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    # The form asks for what the parameters lack; Run All stops at the cell after it.
    form = panel.locator(".vpclink-peer-form")
    expect(form).to_have_count(1, timeout=KERNEL_IDLE_TIMEOUT_MS)
    use_cell = panel.locator(".jp-CodeCell").filter(has_text="phase.use_peer(peer)")
    expect(use_cell).to_have_count(1)
    use_output = use_cell.locator(".jp-Cell-outputArea")
    expect(use_output).to_contain_text("PeerValuesMissing", timeout=KERNEL_IDLE_TIMEOUT_MS)
    expect(use_output).to_contain_text("initiator_router_interface_id")
    expect(form.get_by_label("Initiator region")).to_have_value("cn-qingdao")  # from the parameter file
    assert emulator.state()["account-b"].get("router_interface", []) == []  # nothing ran past the form

    ri = form.get_by_label("Initiator router interface ID")
    ri_error = form.locator(".vpclink-error-router_interface_id")
    expect(ri).to_have_count(1)
    expect(ri_error).to_have_count(1)
    ri.fill(a_card.router_interface_id.upper())
    expect(ri_error).to_contain_text("uppercase")
    form.get_by_role("button", name="Confirm").click()
    expect(form.locator(".vpclink-status")).to_contain_text("Not confirmed")
    expect(form.locator(".vpclink-error-vrouter_id")).to_contain_text("required")
    form.screenshot(path=str(screenshots / "phase-form-error.png"))

    form.locator(".vpclink-card-text textarea").fill(a_card.to_json())
    form.get_by_role("button", name="Use card").click()
    expect(ri).to_have_value(a_card.router_interface_id)
    expect(ri_error).to_have_text("")
    form.get_by_role("button", name="Confirm").click()
    expect(form.locator(".vpclink-status")).to_contain_text("Confirmed")
    expect(form).to_contain_text(f"initiator_router_interface_id = {a_card.router_interface_id}")
    form.screenshot(path=str(screenshots / "phase-form-confirmed.png"))

    # Run the cells from the one that stopped.
    use_cell.locator(".jp-InputArea-editor").click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run Selected Cell and All Below", exact=True).click()
    expect(panel).to_contain_text("acceptor: done.", timeout=APPLY_TIMEOUT_MS)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle")
    expect(use_output).to_contain_text("initiator's values from the peer card")
    expect(use_output).to_contain_text(f"initiator_router_interface_id = {a_card.router_interface_id}")
    expect(use_output).not_to_contain_text("PeerValuesMissing")
    page.screenshot(path=str(screenshots / "phase-notebook-done.png"), full_page=True)

    # The phase did its work in account B: the acceptor interface, opposite the initiator.
    interfaces = emulator.state()["account-b"]["router_interface"]
    assert [
        (ri["Role"], ri["OppositeInterfaceId"], ri["OppositeRouterId"], str(ri["OppositeInterfaceOwnerId"]))
        for ri in interfaces
    ] == [("AcceptingSide", a_card.router_interface_id, a_card.vrouter_id, a_card.account_uid)]
    # ... and kept the same records as a batch run: run.json and the ledger, B's account only.
    run = RunState.load(run_dir)
    acceptor = run.phase("acceptor")
    assert (acceptor.status, run.side) == ("ok", "acceptor")
    assert acceptor.outputs["acceptor_router_interface_id"] == interfaces[0]["RouterInterfaceId"]
    assert acceptor.peer["source"] == "peer card" and acceptor.peer["card"]["describes"] == a_card.describe()
    ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
    assert {e["account_uid"] for e in ledger} == {"1589430122237715"}
    assert "CreateRouterInterface" in {e["action"] for e in ledger}
