"""What a run changed, in the records' words: per step ``created``, ``changed``, ``already there``,
``deleted`` ... with the resource IDs (the phases' ``StepOutcome``), and the one line that sums them up
("created 8 resources in 2 accounts", "changed nothing").

Outcomes are kept as plain dicts (``StepOutcome.as_dict()``: side, action, target, outcome,
resource_id, detail) in each notebook's record, in ``run.json`` and in ``index.html``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..phases.base import CHANGES

if TYPE_CHECKING:
    import pandas

Outcome = Mapping[str, Any]
COLUMNS = ("outcome", "side", "target", "resource_id", "action", "detail")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def changed(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """The outcomes that changed the cloud (created, changed, deleted)."""
    return [o for o in outcomes if o.get("outcome") in CHANGES]


def summary(outcomes: Iterable[Outcome], accounts: Mapping[str, str] | None = None) -> str:
    """One line: what changed, in how many accounts (``accounts``: side -> account UID, so that two
    sides in one account count once), or "changed nothing" and what was found already there."""
    outcomes = list(outcomes)
    made = changed(outcomes)
    if not made:
        there = sum(1 for o in outcomes if o.get("outcome") == "already there")
        return "changed nothing" + (f" ({_plural(there, 'resource')} already there)" if there else "")
    counts = Counter(str(o["outcome"]) for o in made)
    parts = [f"{verb} {_plural(counts[verb], 'resource')}" for verb in CHANGES if counts[verb]]
    owners = {(accounts or {}).get(str(o.get("side")), str(o.get("side"))) for o in made}
    return f"{', '.join(parts)} in {_plural(len(owners), 'account')}"


def lines(outcomes: Iterable[Outcome]) -> list[str]:
    """One plain-text line per step: ``created  initiator  router interface ... ri-...``."""
    return [
        f"{o.get('outcome', ''):<14} {o.get('side', ''):<10} {o.get('target', '')}"
        + (f"  {o['resource_id']}" if o.get("resource_id") else "")
        + (f"  ({o['detail']})" if o.get("detail") else "")
        for o in outcomes
    ]


def frame(outcomes: Iterable[Outcome]) -> pandas.DataFrame:
    """The outcomes as a table, the outcome first."""
    import pandas as pd

    return pd.DataFrame([{c: o.get(c, "") for c in COLUMNS} for o in outcomes], columns=list(COLUMNS))
