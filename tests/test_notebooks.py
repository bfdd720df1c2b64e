"""The committed phase notebooks: generated from the phases' declarations, documents first, thin,
safe by default, and runnable as they are.

``test_nbval_runs_every_notebook_with_its_defaults`` runs
``pytest --nbval-lax --nbval-current-env notebooks/`` in a subprocess, the way a reviewer would.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import nbformat
import papermill
import pytest
from runbook_support import NOTEBOOKS, ROOT
from vpclink import phases
from vpclink.notebook import generate
from vpclink.notebook.settings import COMMON
from vpclink.params import load
from vpclink.record.notebook_records import OUTPUTS_MIME, PLAN_MIME, read_record

ALL = list(phases.ORDER)


def notebook_name(name: str) -> str:
    return phases.get(name).notebook_file


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(NOTEBOOKS / notebook_name(name)), as_version=4)


def test_committed_notebooks_are_what_the_generator_makes() -> None:
    """Each notebook is the template filled from its phase's declaration: edit the phase, then
    ``make notebooks``; a notebook edited by hand (or saved by JupyterLab) fails here."""
    assert generate.stale(NOTEBOOKS) == [], "run `make notebooks`"
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(notebook_name(n) for n in ALL)


def test_a_changed_notebook_is_reported_stale(tmp_path) -> None:
    generate.write(tmp_path)
    assert generate.stale(tmp_path) == []
    nb = nbformat.read(str(tmp_path / notebook_name("routes")), as_version=4)
    nb.cells[0].source += "\nedited by hand"
    nbformat.write(nb, str(tmp_path / notebook_name("routes")))
    (tmp_path / notebook_name("verify")).unlink()
    assert generate.stale(tmp_path) == [notebook_name("routes"), notebook_name("verify")]
    assert generate.main(["--check", str(tmp_path)]) == 1


def test_the_notebook_text_is_the_phases_declaration() -> None:
    """One source: the console path and API calls a notebook shows are its phase's."""
    for name in ALL:
        phase = phases.get(name)
        intro = read(name).cells[0].source
        steps = phase.backend(load(str(ROOT / "params" / "example.yaml")))
        assert phase.title in intro and steps.console in intro and steps.api in intro and phase.why in intro


def test_the_security_groups_notebook_says_which_mode_works_where() -> None:
    intro = " ".join(read("security_groups").cells[0].source.split())
    assert "`security_groups.mode: cidr`" in intro and "works in every case" in intro
    assert "`mode: group`" in intro and "refuses it" in intro and "tutorial-era behaviour" in intro


def test_the_packaged_examples_are_the_params_files() -> None:
    """The wheel ships the example parameter files; ``params/`` is their source (``make notebooks``)."""
    packaged = ROOT / "lib" / "vpclink" / "examples"
    names = sorted(p.name for p in (ROOT / "params").glob("*.yaml"))
    assert sorted(p.name for p in packaged.glob("*.yaml")) == names
    for name in names:
        assert (packaged / name).read_bytes() == (ROOT / "params" / name).read_bytes(), name


def parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    return tagged[0]


@pytest.mark.parametrize("name", ALL)
def test_committed_without_outputs(name: str) -> None:
    for cell in read(name).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source


@pytest.mark.parametrize("name", ALL)
def test_a_document_first_in_console_and_api_terms(name: str) -> None:
    nb = read(name)
    intro = nb.cells[0]
    assert intro.cell_type == "markdown" and intro.source.startswith("# ")
    assert "**In the console**" in intro.source and "**In API terms**" in intro.source and "**Why" in intro.source
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    for heading in ("## Plan", "## Apply", "## Resulting state", "## Outputs", "## Ledger"):
        assert heading in headings
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", ALL)
def test_parameters_are_the_contract_with_safe_defaults(name: str) -> None:
    declared = papermill.inspect_notebook(str(NOTEBOOKS / notebook_name(name)))
    assert list(declared) == [*COMMON, *phases.get(name).input_keys]
    defaults = {k: ast.literal_eval(v["default"]) for k, v in declared.items()}
    assert defaults["apply"] is False and defaults["target"] == "" and defaults["run_dir"] == ""
    assert defaults["params_file"] == "../params/example.yaml"
    assert all(defaults[k] in ("", []) for k in phases.get(name).input_keys)


@pytest.mark.parametrize("name", ALL)
def test_logic_lives_in_the_library_not_in_cells(name: str) -> None:
    nb = read(name)
    params = parameters_cell(nb)
    for cell in nb.cells:
        if cell.cell_type != "code" or cell is params:
            continue
        lines = [line for line in cell.source.splitlines() if line.strip()]
        assert len(lines) <= 2, cell.source
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.For, ast.While, ast.If, ast.FunctionDef, ast.Try)), cell.source
            if isinstance(node, ast.ImportFrom):
                assert node.module.startswith("vpclink"), cell.source


def test_default_parameters_show_the_offline_plan_without_any_call(tmp_path) -> None:
    out = tmp_path / "initiator.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / notebook_name("initiator")),
        str(out),
        kernel_name="python3",
        cwd=str(NOTEBOOKS),
        progress_bar=False,
        shutdown_kernel="immediate",
    )
    plan = read_record(out, PLAN_MIME)
    assert plan["offline"] is True
    create = [s for s in plan["steps"] if s["action"] == "CreateRouterInterface"]
    assert [(s["side"], s["intent"]) for s in create] == [("initiator", "create")]
    assert "Spec=Mini.2" in create[0]["detail"]
    assert read_record(out, OUTPUTS_MIME) == {"phase": "initiator", "applied": False, "outputs": {}}
    text = out.read_text()
    assert "No API call was made." in text and "Nothing applied (no target" in text


def test_nbval_runs_every_notebook_with_its_defaults() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-q",
            str(NOTEBOOKS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
