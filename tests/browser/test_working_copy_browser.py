"""An analyst edits a working copy in JupyterLab: JupyterLab autosaves the change into the copy (seen on
disk), the committed template is unchanged, and ``vpclink run`` still starts from safe defaults and
refuses a notebook that carries an analyst's values as a template."""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
from runbook_support import EXAMPLE, NOTEBOOKS
from vpclink import phases
from vpclink.cli import main
from vpclink.notebook.generate import stale, template_problems
from vpclink.notebook.template import parameters_source

from .conftest import AUTOSAVE_SECONDS, open_notebook

# JupyterLab's save handler waits the larger of its interval and ten times the last save's duration
# before the next autosave (@jupyterlab/docmanager, savehandler.ts): on a busy machine one slow save
# pushes the next one out by minutes. The bound scales with the save this test observed.
SAVED_WITHIN_S = 120
SAVE_BACKOFF = 10


def vpclink(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def injected_source(path: Path) -> str:
    """The source of the notebook's injected-parameters cell, as saved on disk."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # caught mid-write: not saved yet
        return ""
    return next((c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])), "")


def wait_for_saved(path: Path, line: str, seconds: float) -> str:
    """The injected-parameters cell once the file on disk has ``line`` in it (polled: the condition,
    not a time, ends the wait)."""
    deadline = time.monotonic() + seconds
    source = ""
    while time.monotonic() < deadline:
        source = injected_source(path)
        if line in source.splitlines():
            return source
        time.sleep(0.2)
    raise AssertionError(f"{path} was not saved with {line!r} within {seconds:.0f} s; its cell holds:\n{source}")


def kernel_metadata_saved(path: Path, page: Any, seconds: float) -> float:
    """Seconds until JupyterLab's first autosave of the opened copy (the kernel's ``language_info``,
    which the template leaves out) is on disk and the tab shows no unsaved change."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            saved = "version" in nbformat.read(str(path), as_version=4).metadata.get("language_info", {})
        except Exception:  # caught mid-write
            saved = False
        if saved and page.locator(".jp-mod-dirty").count() == 0:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"JupyterLab did not autosave the kernel's metadata into {path} within {seconds:.0f} s")


def test_autosave_writes_the_working_copy_and_never_the_template(
    page: Any, lab: Any, expect: Any, tmp_path: Path
) -> None:
    templates = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in NOTEBOOKS.glob("*.ipynb")}
    code, out = vpclink("notebook", str(EXAMPLE), "initiator", "--records", str(lab.root / "runs"))
    assert code == 0, out
    (copy,) = (lab.root / "runs").glob("*/01_initiator.ipynb")
    assert "apply = True" not in injected_source(copy).splitlines()

    panel = open_notebook(page, lab, str(copy.relative_to(lab.root)))
    # opening marks the copy changed (the kernel's metadata): let that save land first, so the edit
    # below is the only one pending and the save handler's next interval is known
    first_save_s = kernel_metadata_saved(copy, page, SAVED_WITHIN_S + AUTOSAVE_SECONDS)
    injected = panel.locator(".jp-CodeCell").filter(has_text="# Parameters").last
    expect(injected).to_contain_text("run_dir")
    injected.locator(".jp-InputArea-editor .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("apply = True")
    expect(injected).to_contain_text("apply = True")

    # JupyterLab's autosave, on disk
    wait_for_saved(copy, "apply = True", max(SAVED_WITHIN_S, SAVE_BACKOFF * first_save_s) + AUTOSAVE_SECONDS)

    # the committed templates are as the generator writes them, byte for byte
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in NOTEBOOKS.glob("*.ipynb")} == templates
    assert stale(NOTEBOOKS) == [] and template_problems(NOTEBOOKS) == []
    # vpclink run starts from the generated templates, whose defaults are safe ...
    generated = parameters_source(phases.get("initiator")).splitlines()
    assert any(line.startswith("apply: bool = False ") for line in generated)
    assert any(line.startswith('target: str = "" ') for line in generated)
    # ... and refuses the analyst's copy as a template, naming it
    edited = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, edited)
    shutil.copyfile(copy, edited / "01_initiator.ipynb")
    code, out = vpclink("run", str(EXAMPLE), "--records", str(tmp_path / "runs"), "--notebooks", str(edited))
    assert code == 2 and f"{edited / '01_initiator.ipynb'}: has an injected-parameters cell" in out, out
    assert not (tmp_path / "runs").exists()
