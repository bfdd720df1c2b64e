"""Write the phase notebooks from the template and the phases' declarations (``make notebooks``).

    python -m vpclink.notebook.generate [DIR]          # write NN_phase.ipynb for every phase into DIR
    python -m vpclink.notebook.generate --check [DIR]  # exit 1 naming each notebook that differs

DIR defaults to ``notebooks/`` of the checkout. The committed notebooks are exactly what this writes
(a test checks it), so a change to a phase's text or inputs is made in its phase module, then here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from .. import phases
from ..phases.base import Phase
from .template import notebook, parameters_source


def text(phase: Phase) -> str:
    """The notebook file's content, as nbformat writes it."""
    out = nbformat.writes(notebook(phase))
    return out if out.endswith("\n") else out + "\n"


def checkout_notebooks() -> Path:
    """``notebooks/`` of the checkout this package is imported from."""
    return Path(__file__).resolve().parents[3] / "notebooks"


def stale(directory: str | Path) -> list[str]:
    """The notebook files in ``directory`` that differ from (or lack) what the generator makes."""
    directory = Path(directory)
    out = []
    for phase in phases.ALL:
        path = directory / phase.notebook_file
        if not path.exists() or path.read_text(encoding="utf-8") != text(phase):
            out.append(phase.notebook_file)
    return out


def template_problems(directory: str | Path) -> list[str]:
    """Why the phase notebooks in ``directory`` cannot serve as templates for a run: a notebook missing,
    unreadable, or whose ``parameters`` cell differs from the committed defaults (JupyterLab saved an
    analyst's ``apply = True`` into it, say), or that carries papermill's injected parameters. Each
    problem names the notebook and the cell."""
    directory = Path(directory)
    problems = []
    for phase in phases.ALL:
        path = directory / phase.notebook_file
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception as e:  # nbformat raises several kinds for a file that is not a notebook
            problems.append(f"{path}: not a notebook ({type(e).__name__})")
            continue
        tagged = {tag: c for c in nb.cells for tag in (c.get("metadata", {}).get("tags") or [])}
        if "injected-parameters" in tagged:
            problems.append(f"{path}: has an injected-parameters cell (an executed copy, not a template)")
        cell = tagged.get("parameters")
        expected = parameters_source(phase)
        if cell is None:
            problems.append(f"{path}: has no cell tagged parameters")
        elif cell.source != expected:
            want = expected.splitlines()
            changed = [line.split("#")[0].strip() for line in cell.source.splitlines() if line not in want]
            problems.append(
                f"{path}: its parameters cell differs from the committed defaults"
                + (f" ({'; '.join(c for c in changed if c)[:200]})" if any(changed) else "")
            )
    return problems


def write(directory: str | Path) -> list[Path]:
    """Write every phase's notebook into ``directory``; the files written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for phase in phases.ALL:
        path = directory / phase.notebook_file
        content = text(phase)
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vpclink.notebook.generate", description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", help="where the notebooks go (default: the checkout's notebooks/)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook differs")
    args = parser.parse_args(argv)
    directory = Path(args.directory) if args.directory else checkout_notebooks()
    if args.check:
        differ = stale(directory)
        for name in differ:
            print(f"{directory / name}: differs from its phase's declaration; run `make notebooks`", file=sys.stderr)
        return 1 if differ else 0
    for path in write(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
