"""What a phase notebook shows: markdown, tables, and machine-readable records beside a text summary.

Every output of the cells goes through :func:`show`, so that a test can collect them without a kernel.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any


def _display(*objs: Any, raw: bool = False) -> None:
    from IPython.display import display

    display(*objs, raw=raw)


def show(*objs: Any, raw: bool = False) -> None:
    _display(*objs, raw=raw)


def markdown(text: str) -> None:
    from IPython.display import Markdown

    show(Markdown(text))


def record(mime: str, value: Any, summary: str) -> None:
    """A machine-readable record in the notebook: JSON under ``mime`` plus a plain-text fallback."""
    show({mime: value, "text/plain": summary}, raw=True)


def cell(value: Any) -> str:
    """A value for a markdown table cell."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value).replace("|", "\\|")


def values_table(values: Mapping[str, Any], heading: str = "output") -> str:
    """A markdown table of the one-line values, then each multi-line value as a text block."""
    short = {k: v for k, v in values.items() if not (isinstance(v, str) and "\n" in v)}
    long = {k: v for k, v in values.items() if k not in short}
    text = f"| {heading} | value |\n|---|---|\n" + "\n".join(f"| `{k}` | `{cell(v)}` |" for k, v in short.items())
    for k, v in long.items():
        text += f"\n\n`{k}`:\n\n```text\n{v.strip()}\n```"
    return text


def log_to_stdout() -> None:
    """Wait progress lines go to the cell's output, where the record keeps them."""
    logger = logging.getLogger("vpclink")
    if not any(getattr(h, "_vpclink", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        handler._vpclink = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
