"""The known differences that ``docs/parity.md`` lists, and the generated table's place in it.

The list is a Markdown table between ``<!-- known-differences:start -->`` and
``<!-- known-differences:end -->``; each row is ``| Product.Action | kind | subject | reason and
source |``, where kind and subject are those of a ``probes.Finding``. A finding is allowed only by
its row, and a row that no finding needs any more is stale: both fail the conformance test, so the
list says exactly where the emulator differs from the metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PARITY = Path(__file__).resolve().parents[3] / "docs" / "parity.md"
KNOWN_START, KNOWN_END = "<!-- known-differences:start -->", "<!-- known-differences:end -->"
TABLE_START, TABLE_END = "<!-- conformance-table:start -->", "<!-- conformance-table:end -->"


@dataclass(frozen=True)
class KnownDifference:
    action: str  # "Vpc.DeleteRouterInterface"
    kind: str
    subject: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.action, self.kind, self.subject


def _cell(text: str) -> str:
    return text.strip().strip("`").strip()


def block(text: str, start: str, end: str) -> str:
    """The text between two markers (an error naming them when they are missing)."""
    try:
        _head, rest = text.split(start, 1)
        inner, _tail = rest.split(end, 1)
    except ValueError:
        raise ValueError(f"docs/parity.md lacks the markers {start} ... {end}") from None
    return inner


def read(path: Path = PARITY) -> list[KnownDifference]:
    rows = []
    for line in block(path.read_text(encoding="utf-8"), KNOWN_START, KNOWN_END).splitlines():
        cells = [c for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 4 or set(cells[0].strip()) <= {"-", ":", " "} or cells[0].strip() == "action":
            continue
        action, kind, subject, reason = (c.strip() for c in cells)
        if not reason:
            raise ValueError(f"docs/parity.md: the known difference {action} {kind} {subject} gives no reason")
        rows.append(KnownDifference(_cell(action), _cell(kind), _cell(subject).replace("\\|", "|"), reason))
    return rows


def replace_table(text: str, table: str) -> str:
    """``text`` with the generated conformance table put between its markers."""
    head, rest = text.split(TABLE_START, 1)
    _old, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}"
