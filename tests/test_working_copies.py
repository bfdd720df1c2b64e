"""Analysts work on a run's working copy of a notebook, never on the committed templates: ``vpclink
notebook PARAMS PHASE`` writes it into a run directory, parameterized; papermill users get a parameters
file for ``papermill notebooks/NN_phase.ipynb out.ipynb -f FILE``; a template whose parameters cell
was changed (JupyterLab autosaved an analyst's ``apply = True``) is refused by ``vpclink run``, and a
template is refused ``apply = True`` when JupyterLab runs it."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from runbook_support import EXAMPLE, NOTEBOOKS, ROOT, Emulator
from vpclink import phases
from vpclink.cli import main
from vpclink.notebook import NotebookParameterError, start
from vpclink.notebook.generate import template_problems
from vpclink.notebook.settings import COMMON
from vpclink.profiles import AkProfile, write_profiles
from vpclink.record.run import RunState


def vpclink(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.glob("*.ipynb"))}


def injected(path: Path) -> dict[str, object]:
    """The values of a notebook's injected-parameters cell."""
    nb = nbformat.read(str(path), as_version=4)
    (cell,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    namespace: dict[str, object] = {}
    exec(cell.source, namespace)  # the cell is plain assignments papermill wrote
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


def test_a_working_copy_is_written_into_a_new_run_directory_and_the_template_stays(tmp_path: Path) -> None:
    templates = digests(NOTEBOOKS)
    code, out = vpclink("notebook", str(EXAMPLE), "01_initiator", "--records", str(tmp_path))
    assert code == 0, out
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    copy = run_dir / "01_initiator.ipynb"
    assert f"open it: jupyter lab {copy}" in out
    values = injected(copy)
    assert values["params_file"] == str((run_dir / "params.yaml").resolve())
    assert values["run_dir"] == str(run_dir.resolve()) and values["target"] == "" and "apply" not in values
    assert (run_dir / "params.yaml").read_bytes() == EXAMPLE.read_bytes()
    assert digests(NOTEBOOKS) == templates and template_problems(NOTEBOOKS) == []
    assert os.stat(copy).st_mode & 0o777 == 0o600

    # the next phase's copy goes into the same run; the same phase twice is refused, naming the file
    code, out = vpclink("notebook", str(EXAMPLE), "acceptor", "--run", str(run_dir))
    assert code == 0 and (run_dir / "02_acceptor.ipynb").exists(), out
    code, out = vpclink("notebook", str(EXAMPLE), "initiator", "--run", str(run_dir))
    assert code == 2 and f"{copy} exists already" in out and "jupyter lab" in out
    other = tmp_path / "other.yaml"
    other.write_text(EXAMPLE.read_text().replace("bandwidth_mbps: 2", "bandwidth_mbps: 5"))
    code, out = vpclink("notebook", str(other), "connect", "--run", str(run_dir))
    assert code == 2 and "differ from" in out
    code, out = vpclink("notebook", str(EXAMPLE), "launch", "--records", str(tmp_path))
    assert code == 2 and "'launch' is not a phase; phases: 00_preflight, 01_initiator" in out


def test_a_working_copy_for_the_emulator_names_where_it_calls(tmp_path: Path) -> None:
    code, out = vpclink("notebook", str(EXAMPLE), "02", "--records", str(tmp_path), "--target", "emulator")
    assert code == 2 and "--endpoint HOST:PORT and --profiles FILE" in out
    code, out = vpclink(
        "notebook", str(EXAMPLE), "02", "--records", str(tmp_path), "--target", "emulator",
        "--endpoint", "127.0.0.1:8080", "--profiles", str(tmp_path / "config.json"), "--side", "acceptor",
    )  # fmt: skip
    assert code == 0, out
    (copy,) = tmp_path.glob("*/02_acceptor.ipynb")
    values = injected(copy)
    assert (values["target"], values["endpoint"], values["side"]) == ("emulator", "127.0.0.1:8080", "acceptor")
    assert values["profiles_file"] == str((tmp_path / "config.json").resolve())


def profiles_for(emu: Emulator, path: Path) -> Path:
    accounts = {a["name"]: a for a in emu.control("accounts")["accounts"]}
    return write_profiles(
        path,
        [
            AkProfile(profile, accounts[name]["access_key_id"], accounts[name]["access_key_secret"], region)
            for profile, name, region in (
                ("vpclink-a", "account-a", "cn-qingdao"),
                ("vpclink-b", "account-b", "cn-beijing"),
            )
        ],
    )


@pytest.fixture
def emu() -> Emulator:
    e = Emulator()
    yield e
    e.stop()


def test_papermill_runs_the_templates_with_the_parameters_file_vpclink_writes(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exactly ``papermill notebooks/01_initiator.ipynb out.ipynb -f FILE``, from the checkout."""
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(tmp_path / "state"))
    profiles = profiles_for(emu, tmp_path / "config.json")
    endpoint = emu.url.split("://", 1)[1]
    common = ["--target", "emulator", "--endpoint", endpoint, "--profiles", str(profiles), "--apply"]
    code, out = vpclink(
        "notebook", str(EXAMPLE), "preflight", "--records", str(tmp_path / "runs"), *common,
        "--papermill-params", str(tmp_path / "preflight.yaml"),
    )  # fmt: skip
    assert code == 0, out
    assert f"papermill {NOTEBOOKS / '00_preflight.ipynb'} OUT.ipynb -f {tmp_path / 'preflight.yaml'}" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    written = yaml.safe_load((tmp_path / "preflight.yaml").read_text())
    assert set(written) >= set(COMMON) - {"run_id"} and written["apply"] is True and written["interactive"] is False
    code, out = vpclink(
        "notebook", str(EXAMPLE), "initiator", "--run", str(run_dir), *common,
        "--papermill-params", str(tmp_path / "initiator.yaml"),
    )  # fmt: skip
    assert code == 0, out

    papermill = shutil.which("papermill", path=str(Path(sys.executable).parent)) or "papermill"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("VPCLINK_RUNNER", None)
    for stem in ("00_preflight", "01_initiator"):
        name = stem.split("_", 1)[1]
        done = subprocess.run(
            [
                papermill,
                f"notebooks/{stem}.ipynb",
                str(tmp_path / f"{stem}.out.ipynb"),
                "-f",
                str(tmp_path / f"{name}.yaml"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    # the notebooks kept the run's record themselves: the initiator took preflight's outputs from it
    state = RunState.load(run_dir)
    assert [(p.name, p.status) for p in state.phases if p.status != "pending"] == [
        ("preflight", "ok"),
        ("initiator", "ok"),
    ]
    ri = state.phase("initiator").outputs["initiator_router_interface_id"]
    assert [r["RouterInterfaceId"] for r in emu.state()["account-a"]["router_interface"]] == [ri]
    assert template_problems(NOTEBOOKS) == []  # papermill wrote its outputs elsewhere


def test_run_refuses_templates_whose_parameters_cell_was_changed(tmp_path: Path) -> None:
    changed = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, changed)
    assert template_problems(changed) == []
    path = changed / "01_initiator.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace("apply: bool = False", "apply: bool = True").replace(
        'target: str = ""', 'target: str = "alibabacloud"'
    )
    nbformat.write(nb, str(path))
    code, out = vpclink("run", str(EXAMPLE), "--records", str(tmp_path / "runs"), "--notebooks", str(changed))
    assert code == 2, out
    assert f"{path}: its parameters cell differs from the committed defaults" in out
    assert "apply: bool = True" in out and "vpclink notebook PARAMS PHASE" in out
    assert not (tmp_path / "runs").exists()


def test_jupyterlab_refuses_apply_in_a_template_and_names_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = {
        "params_file": str(EXAMPLE),
        "run_dir": "",
        "target": "emulator",
        "endpoint": "127.0.0.1:9",
        "profiles_file": "",
        "apply": True,
        "run_id": "",
        "interactive": None,
        "side": "",
        "peer_card": "",
    }
    monkeypatch.setenv("JPY_SESSION_NAME", str(NOTEBOOKS / "01_initiator.ipynb"))
    with pytest.raises(NotebookParameterError, match="not a run's working copy") as e:
        start("initiator", namespace)
    assert f"vpclink notebook {EXAMPLE} initiator" in str(e.value)
    lines = e.value._render_traceback_()  # type: ignore[attr-defined]
    assert len(lines) <= 2 and "01_initiator" in lines[0]
    assert phases.get("initiator").notebook == "01_initiator"
