"""What a phase notebook shows: markdown, tables, and machine-readable records beside a text summary.

Every output of the cells goes through :func:`show`, so that a test can collect them without a kernel.
"""

from __future__ import annotations

import functools
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
    """Markdown for JupyterLab and the HTML record, the same text for plain-text readers (``-v``)."""
    show({"text/markdown": text, "text/plain": text}, raw=True)


def record(mime: str, value: Any) -> None:
    """A machine-readable record in the notebook: JSON under ``mime`` only. Nothing shows it (the
    cells show the same content as tables and text), so no summary line strays into the record."""
    show({mime: value}, raw=True)


@functools.cache
def _full_frame() -> type:
    import pandas as pd

    whole = ("display.max_colwidth", None, "display.max_rows", None, "display.max_columns", None)

    class FullFrame(pd.DataFrame):  # type: ignore[misc]
        """A table that shows every value whole: pandas cuts cells at 50 characters by default, and
        a record must never lose the peer's account or region that way."""

        @property
        def _constructor(self) -> type:
            return FullFrame

        def _repr_html_(self) -> str | None:
            with pd.option_context(*whole):
                return super()._repr_html_()  # type: ignore[no-any-return]

        def __repr__(self) -> str:
            with pd.option_context(*whole):
                return super().__repr__()  # type: ignore[no-any-return]

    return FullFrame


def full_table(frame: Any) -> Any:
    """``frame`` (a pandas DataFrame) shown with every value whole, in JupyterLab and in the records."""
    return _full_frame()(frame)


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
