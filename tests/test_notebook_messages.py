"""Mistakes a person makes in JupyterLab or on the command line end in one or two lines naming the
notebook or file and what to do next, with the full traceback kept in the record: running 03 before 02,
re-running the cells of a confirmed form, a peer value the parameters contradict, a missing file."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from runbook_support import EXAMPLE, ROOT, Emulator, run_cells, side_profiles
from vpclink.cli import main
from vpclink.notebook import Settings, display, start
from vpclink.notebook.messages import missing_input
from vpclink.notebook.phase import PhaseNotebook
from vpclink.phases.base import MissingInput, PhaseError
from vpclink.record.notebook_records import TRACEBACK_MIME
from vpclink.record.run import RunState

LINK = "tutorial-qingdao-beijing"


@pytest.fixture
def emu() -> Emulator:
    e = Emulator()
    yield e
    e.stop()


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    items: list[Any] = []
    monkeypatch.setattr(display, "_display", lambda *objs, raw=False: items.extend(objs))
    return items


def namespace(**values: Any) -> dict[str, Any]:
    """A notebook's globals after its parameters cell (and whatever the cells left there)."""
    base = {
        "params_file": str(EXAMPLE),
        "run_dir": "",
        "target": "",
        "endpoint": "",
        "profiles_file": "",
        "apply": False,
        "run_id": "",
        "interactive": None,
        "side": "",
        "peer_card": "",
    }
    return {**base, **{k: str(v) if isinstance(v, Path) else v for k, v in values.items()}}


def test_running_connect_before_the_acceptor_names_the_notebook_to_run_first(
    emu: Emulator, tmp_path: Path, shown: list[Any]
) -> None:
    profiles = side_profiles(emu, tmp_path / "config.json", ("initiator", "acceptor"))
    endpoint = emu.url.split("://", 1)[1]
    run_dir = tmp_path / "run"
    values = dict(run_dir=run_dir, target="emulator", endpoint=endpoint, profiles_file=profiles, apply=True)
    for name in ("preflight", "initiator"):
        run_cells(PhaseNotebook(Settings.read(name, **namespace(**values))))
    phase = start("connect", namespace(**values))
    phase.plan()  # a plan names what 02_acceptor will create
    with pytest.raises(PhaseError) as e:
        phase.apply()
    lines = e.value._render_traceback_()  # type: ignore[attr-defined]
    assert len(lines) <= 2, lines
    assert "03_connect" in lines[0] and "run the acceptor phase (02_acceptor) first" in lines[0]
    kept = [o[TRACEBACK_MIME] for o in shown if isinstance(o, dict) and TRACEBACK_MIME in o]
    assert kept and "Traceback (most recent call last)" in kept[0]["traceback"]
    record = RunState.load(run_dir).phase("connect")
    assert record.status == "failed" and "Traceback" in (record.traceback or "")


def test_the_executed_notebook_shows_the_message_not_the_traceback(emu: Emulator, tmp_path: Path) -> None:
    """The same in a real kernel (papermill's, as JupyterLab's): the error output is the short message."""
    profiles = side_profiles(emu, tmp_path / "c.json", ("initiator", "acceptor"))
    target = ["--target", "emulator", "--endpoint", emu.url.split("://", 1)[1], "--profiles", str(profiles)]
    records = ["--records", str(tmp_path / "runs")]
    code = main(
        ["notebook", str(EXAMPLE), "03", *records, *target, "--apply", "--papermill-params", str(tmp_path / "p.yaml")]
    )
    assert code == 0
    papermill = shutil.which("papermill", path=str(Path(sys.executable).parent)) or "papermill"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = tmp_path / "out.ipynb"
    done = subprocess.run(
        [papermill, "notebooks/03_connect.ipynb", str(out), "-f", str(tmp_path / "p.yaml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode != 0
    nb = nbformat.read(str(out), as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    (error,) = errors
    assert len(error.traceback) <= 2, error.traceback
    assert "03_connect" in error.traceback[0] and "run the initiator phase (01_initiator) first" in error.traceback[0]
    kept = [
        o.data[TRACEBACK_MIME] for c in nb.cells for o in c.get("outputs", []) if TRACEBACK_MIME in o.get("data", {})
    ]
    assert kept and "Traceback (most recent call last)" in kept[0]["traceback"]


def test_rerunning_the_cells_keeps_the_values_confirmed_in_the_form(
    emu: Emulator, tmp_path: Path, shown: list[Any]
) -> None:
    profiles = side_profiles(emu, tmp_path / "b.json", ("acceptor",))
    ns = namespace(
        target="emulator",
        endpoint=emu.url.split("://", 1)[1],
        profiles_file=profiles,
        side="acceptor",
        apply=True,
        interactive=True,  # as in JupyterLab
    )
    ns["phase"] = phase = start("acceptor", ns)
    ns["peer"] = form = phase.ask_peer()
    assert form is not None and form.widget is not None
    form.inputs["vrouter_id"].value = "vrt-m5e1tutorialvrt1qd00001"
    form.inputs["router_interface_id"].value = "ri-m5e1tutorialri1qd000001"
    form.confirm_button.click()
    phase.use_peer(form)

    # "Run All" again from the top, in the same kernel: the confirmed values stay, no form to refill
    ns["phase"] = again = start("acceptor", ns)
    settled = again.ask_peer()
    assert settled is not None and settled.widget is None
    assert settled.result() == form.result() and settled.result().source == "form"
    again.use_peer(settled)
    assert again.ctx.inputs["initiator_router_interface_id"] == "ri-m5e1tutorialri1qd000001"


def test_an_acceptor_operator_is_never_told_to_run_the_initiators_phases() -> None:
    text = missing_input(MissingInput("initiator_vrouter_id", "acceptor"), "02_acceptor", "acceptor")
    assert "the initiator's value" in text and "peer_card" in text and "preflight" not in text
    one = missing_input(MissingInput("acceptor_router_interface_id", "connect"), "03_connect", None)
    assert "an output of 02_acceptor: run 02_acceptor first" in one


def test_a_notebook_started_with_a_missing_parameter_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(Exception) as e:
        start("initiator", namespace(params_file=str(tmp_path / "nope.yaml")))
    lines = e.value._render_traceback_()  # type: ignore[attr-defined]
    assert "01_initiator" in lines[0] and "nope.yaml" in "\n".join(lines)


def test_check_of_a_missing_file_names_the_file(tmp_path: Path) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["check", str(tmp_path / "missing.yaml")]) == 2
    assert f"{tmp_path / 'missing.yaml'} cannot be read: No such file or directory" in err.getvalue()
    assert "Traceback" not in err.getvalue()
