"""The committed phase notebooks: documents first, thin, safe by default, and runnable as they are.

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
from vpclink.runner import COMMON, notebook_name
from vpclink.state import OUTPUTS_MIME, PLAN_MIME, read_record

ALL = list(phases.NOTEBOOKS)


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(NOTEBOOKS / notebook_name(name)), as_version=4)


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
    assert list(declared) == [*COMMON, *phases.get(name).INPUTS]
    defaults = {k: ast.literal_eval(v["default"]) for k, v in declared.items()}
    assert defaults["apply"] is False and defaults["target"] == "" and defaults["run_dir"] == ""
    assert defaults["params_file"] == "../params/example.yaml"
    assert all(defaults[k] in ("", []) for k in phases.get(name).INPUTS)


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
