"""The runner with stand-in notebooks (no cloud): what each phase receives, what a failure leaves,
how a resume continues, and the secret scan that fails a run."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from runbook_support import EXAMPLE
from vpclink import phases
from vpclink.notebook.settings import COMMON
from vpclink.params import load
from vpclink.record.notebook_records import IDENTITIES_MIME, OUTPUTS_MIME
from vpclink.record.run import RunState
from vpclink.runner import RunError, Runner, select
from vpclink.targets import Secret, Target

PARAMS = load(EXAMPLE)
SECRET = "S3cretThatMustNotLeak0123456789"


def stand_in(directory: Path, name: str, inputs: tuple[str, ...], body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(
        "\n".join([f'{k} = ""' for k in COMMON if k != "apply"] + ["apply = False"] + [f'{k} = ""' for k in inputs])
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, str(directory / phases.get(name).notebook_file))


def record(outputs: dict) -> str:
    return (
        f"from IPython.display import display\n"
        f"display({{{OUTPUTS_MIME!r}: {{'outputs': {outputs!r}}}, 'text/plain': 'outputs'}}, raw=True)\n"
    )


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    d = tmp_path / "notebooks"
    d.mkdir()
    stand_in(
        d,
        "preflight",
        (),
        record({"initiator_vrouter_id": "vrt-1", "not_declared_later": 7})
        + f"display({{{IDENTITIES_MIME!r}: {{'initiator': {{'AccountId': '1'}}}}, 'text/plain': 'ids'}}, raw=True)",
    )
    stand_in(
        d,
        "initiator",
        ("initiator_vrouter_id",),
        "assert initiator_vrouter_id == 'vrt-1' and apply is True\n"
        + record({"initiator_router_interface_id": "ri-1"}),
    )
    stand_in(
        d,
        "acceptor",
        ("initiator_router_interface_id",),
        "import os\n"
        "if not os.path.exists(os.path.join(run_dir, 'allow')):\n    raise ValueError('boom: no allow file')\n"
        + record({"acceptor_router_interface_id": "ri-2"}),
    )
    stand_in(d, "connect", (), f"print({SECRET!r})\n" + record({"connection_status": "Active"}))
    return d


def target(*secrets: str) -> Target:
    return Target(
        "emulator",
        endpoint="127.0.0.1:9",
        profiles_file="",
        secrets=[Secret(f"secret {i}", s) for i, s in enumerate(secrets)],
    )


def new_run(records: Path, runner: Runner, *, planned: list[str], selected: list[str]) -> tuple[Path, RunState]:
    t = runner.target
    return RunState.create(
        records, EXAMPLE, PARAMS, target=t.name, endpoint=t.endpoint, planned=planned, selected=selected
    )


def test_select_is_inclusive_and_in_run_order() -> None:
    assert select() == list(phases.RUN)
    assert select("connect", "routes") == ["connect", "routes"]
    assert select(to_phase="initiator") == ["preflight", "initiator"]
    with pytest.raises(RunError, match="not a phase"):
        select("typo")


def test_each_phase_gets_the_earlier_outputs_it_declares_a_failure_stops_and_resume_continues(
    notebooks: Path, tmp_path: Path
) -> None:
    todo = ["preflight", "initiator", "acceptor"]
    runner = Runner(target(), notebooks_dir=notebooks, log=lambda line: None)
    run_dir, _ = new_run(tmp_path / "runs", runner, planned=list(phases.RUN), selected=todo)
    result = runner.execute(run_dir, todo, PARAMS)

    assert result.exit_code == 1
    assert "acceptor failed: ValueError: boom: no allow file" in result.message
    assert f"resume: vpclink run --resume {run_dir}" in result.message
    saved = RunState.load(run_dir)
    assert [(p.name, p.status) for p in saved.phases] == [
        ("preflight", "ok"),
        ("initiator", "ok"),
        ("acceptor", "failed"),
        ("connect", "skipped"),
        ("routes", "skipped"),
        ("security_groups", "skipped"),
        ("verify", "skipped"),
    ]
    assert saved.phase("initiator").inputs == {"initiator_vrouter_id": "vrt-1"}  # only what it declares
    assert saved.identities == {"initiator": {"AccountId": "1"}}
    assert (run_dir / "02_acceptor.html").exists() and (run_dir / "index.html").exists()
    injected = (run_dir / "01_initiator.ipynb").read_text()
    assert "not_declared_later" not in injected and 'initiator_vrouter_id = \\"vrt-1\\"' in injected

    (run_dir / "allow").touch()
    started = {p.name: p.started for p in saved.phases}
    again = Runner(target(), notebooks_dir=notebooks, log=lambda line: None).execute(run_dir, todo, PARAMS)
    assert again.exit_code == 0 and again.ran == ["acceptor"]
    resumed = RunState.load(run_dir)
    assert resumed.phase("preflight").started == started["preflight"]
    acceptor = resumed.phase("acceptor")
    assert acceptor.status == "ok" and acceptor.inputs == {"initiator_router_interface_id": "ri-1"}
    assert [(a["status"], a["notebook"]) for a in acceptor.attempts] == [("failed", "02_acceptor.try1.ipynb")]
    assert "boom" in (run_dir / "02_acceptor.try1.html").read_text()
    assert resumed.outputs == {
        "initiator_vrouter_id": "vrt-1",
        "not_declared_later": 7,
        "initiator_router_interface_id": "ri-1",
        "acceptor_router_interface_id": "ri-2",
    }


def test_a_secret_in_any_record_fails_the_run(notebooks: Path, tmp_path: Path) -> None:
    runner = Runner(target(SECRET), notebooks_dir=notebooks, log=lambda line: None)
    run_dir, _ = new_run(tmp_path / "runs", runner, planned=["connect"], selected=["connect"])
    result = runner.execute(run_dir, ["connect"], PARAMS)
    assert result.exit_code == 1 and RunState.load(run_dir).result == "failed"
    assert {h.file for h in result.secret_hits} == {"03_connect.ipynb", "03_connect.html"}
    assert "secret 0" in result.message and SECRET not in result.message
    assert json.loads((run_dir / "run.json").read_text())["result"] == "failed"
