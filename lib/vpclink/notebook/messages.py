"""What a notebook shows when a cell stops: one or two lines naming the notebook and what to do next.

An error vpclink raises on purpose (a bad parameter, a value from the other operator not received yet,
an earlier phase not run, the cloud refusing a call) is a message for the person running the notebook,
not a bug: :func:`explain` gives it IPython's ``_render_traceback_`` so JupyterLab (and the executed
notebook papermill saves) shows those lines instead of a 30-line traceback. The full traceback is kept
in the notebook as a record nobody sees on screen (``TRACEBACK_MIME``); the runner copies it into
``run.json``. Any other exception is a defect and keeps its traceback.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable

from .. import phases
from ..phases.base import MissingInput, WaitingForPeer
from ..record.notebook_records import TRACEBACK_MIME
from ..sides import Acting, key_owner, peer_of
from .display import record


def is_message(error: BaseException) -> bool:
    """Whether ``error`` is one vpclink raised on purpose (its message says what to do)."""
    return type(error).__module__.split(".")[0] == "vpclink"


def missing_input(error: MissingInput, notebook: str, side: Acting) -> str:
    """What to do about an input an earlier phase gives: run that phase's notebook first, or (two
    operators) get the other side's value from their peer card or the form."""
    key = error.key
    owner = key_owner(key)
    producer = phases.producer(key)
    if side is not None and owner == peer_of(side):
        return (
            f"{notebook} needs {key}, the {owner}'s value: set peer_card to their .peercard.json "
            "(or fill the form of this notebook), then run the cells again."
        )
    if producer is None:
        return f"{notebook} needs {key}: give it in the parameters cell, then run the cells again."
    return (
        f"{notebook} needs {key}, an output of {producer.notebook}: run {producer.notebook} first with the same "
        f"run_dir (or give {key} in the parameters cell), then run this notebook again."
    )


_RUN_PHASE = re.compile(r"\brun (?:the )?(\w+) phase\b")


def _with_notebooks(text: str) -> str:
    """Name the notebook beside a phase to run ("run the acceptor phase (02_acceptor) first"): a
    person in JupyterLab knows the notebooks by their file names."""

    def named(m: re.Match[str]) -> str:
        try:
            return f"{m[0]} ({phases.get(m[1]).notebook})"
        except KeyError:
            return m[0]

    return _RUN_PHASE.sub(named, text)


def headline(error: BaseException, notebook: str, side: Acting = None) -> str:
    """The lines a person reads for ``error`` in ``notebook``."""
    if isinstance(error, MissingInput):
        return missing_input(error, notebook, side)
    text = _with_notebooks(str(error).strip() or type(error).__name__)
    if isinstance(error, WaitingForPeer):
        return f"{notebook} waits for the other operator: {text}"
    return f"{notebook}: {text}"


def explain(
    error: BaseException, notebook: str, side: Acting = None, keep: Callable[[str], None] | None = None
) -> None:
    """Give a vpclink error its short rendering (``_render_traceback_``) and keep its full traceback in
    the notebook's record (and through ``keep``, e.g. into ``run.json``). Other errors are left as they are."""
    if not is_message(error) or getattr(error, "_vpclink_explained", False):
        return
    full = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    text = headline(error, notebook, side)
    lines = [f"\x1b[0;31m{type(error).__name__}\x1b[0m: {text.splitlines()[0]}", *text.splitlines()[1:]]
    error._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
    error._vpclink_explained = True  # type: ignore[attr-defined]
    try:
        record(TRACEBACK_MIME, {"notebook": notebook, "error": type(error).__name__, "traceback": full})
    except Exception:  # no display outside a kernel: the message itself still stands
        pass
    if keep is not None:
        keep(full)
