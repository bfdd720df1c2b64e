"""The record of a run as reviewers read it: the run directory, each executed notebook's HTML
rendering, ``index.html`` with the picture of the link, and the final scan for secrets.

``runs/<UTC time>-<link>/`` holds ``NN_phase.ipynb`` and ``NN_phase.html`` per phase, ``run.json``
(``state``), ``ledger.jsonl`` (written by the cloud layer), ``params.yaml`` and ``index.html``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

import nbformat

from .state import LEDGER_FILE, PARAMS_COPY, RUN_FILE, PhaseRecord, RunState
from .targets import Secret

INDEX_FILE = "index.html"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def new_run_dir(records: str | Path, link: str, now: datetime | None = None) -> Path:
    """A fresh ``<records>/<YYYYmmddTHHMMSSZ>-<link>/``; a second run in the same second gets ``-2``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    base = Path(records) / f"{stamp}-{_SAFE.sub('-', link)}"
    base.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = base, 2
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            candidate, n = base.with_name(f"{base.name}-{n}"), n + 1


class HtmlRenderer:
    """nbconvert's HTML exporter, built once per run (its first use loads the templates)."""

    def __init__(self) -> None:
        from nbconvert import HTMLExporter

        # its own quiet logger: nbconvert warns about every image without alternative text
        self._exporter = HTMLExporter(log=logging.Logger("vpclink.html", level=logging.ERROR))

    def render(self, notebook: str | Path) -> Path:
        notebook = Path(notebook)
        nb = nbformat.read(str(notebook), as_version=4)
        body, _ = self._exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
        out = notebook.with_suffix(".html")
        _write_atomic(out, body)
        return out


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def read_ledger(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / LEDGER_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by kill -9 is not a call we can account for
    return rows


def _short(value: Any, limit: int = 60) -> str:
    """A value for a table cell: its first line, cut at ``limit`` characters."""
    text = str(value)
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit and first == text else first[:limit].rstrip() + "…"


_STATUS_COLOUR = {
    "ok": "#2e7d32",
    "failed": "#c62828",
    "running": "#ef6c00",
    "pending": "#757575",
    "skipped": "#757575",
    "waiting": "#1565c0",
}


def _links(run_dir: Path, p: PhaseRecord) -> list[str]:
    html = Path(p.notebook).with_suffix(".html").name
    links = [
        f'<a href="{escape(name)}">{label}</a>'
        for name, label in ((html, "HTML"), (p.notebook, "notebook"))
        if (run_dir / name).exists()
    ]
    for a in p.attempts:
        if a.get("notebook") and (run_dir / a["notebook"]).exists():
            earlier = Path(a["notebook"]).with_suffix(".html").name
            target = earlier if (run_dir / earlier).exists() else a["notebook"]
            links.append(f'<a href="{escape(target)}">earlier try ({escape(a.get("status", ""))})</a>')
    return links


def _phase_row(run_dir: Path, p: PhaseRecord, calls: int) -> str:
    seconds = f"{p.seconds:.1f} s" if p.seconds is not None else ""
    status = f'<td style="color:{_STATUS_COLOUR.get(p.status, "#212121")};font-weight:bold">{escape(p.status)}</td>'
    outputs = escape(", ".join(f"{k}={_short(v)}" for k, v in p.outputs.items()))
    label = "waiting for the other operator" if p.status == "waiting" else "error"
    error = f"<br><b>{label}:</b> {escape(p.error)}" if p.error else ""
    if p.peer:
        card = p.peer.get("card") or {}
        used = (
            f" (card {escape(str(card.get('file') or 'pasted'))}, sha256 {escape(str(card.get('sha256') or '')[:12])})"
            if card
            else ""
        )
        error += f"<br><b>peer values</b> from the {escape(str(p.peer.get('source')))}{used}"
    return (
        f"<tr><td>{escape(p.name)}</td>{status}<td>{escape(p.started or '')}</td><td>{seconds}</td><td>{calls}</td>"
        f"<td>{' · '.join(_links(run_dir, p))}</td><td><code>{outputs}</code>{error}</td></tr>"
    )


def _identities(state: RunState) -> str:
    items = "".join(
        f"<li>{escape(role)}: account {escape(str(i.get('AccountId', '')))} as "
        f"<code>{escape(str(i.get('Arn', '')))}</code> ({escape(str(i.get('IdentityType', '')))})</li>"
        for role, i in state.identities.items()
    )
    return f"<p>Identities (STS GetCallerIdentity):</p><ul>{items}</ul>" if items else ""


_STYLE = """body { font-family: sans-serif; margin: 2em; color: #212121; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } code { font-size: 90%; }"""


def write_index(run_dir: str | Path, state: RunState, svg: str) -> Path:
    """``index.html``: the picture, then each phase with its status, time and links to its records."""
    run_dir = Path(run_dir)
    ledger = read_ledger(run_dir)
    calls = Counter(row.get("phase", "?") for row in ledger)
    target = escape(state.target) + (f" ({escape(state.emulator)})" if state.emulator else "")
    facts = [
        f"Result: <b>{escape(state.result)}</b>",
        f"target {target}",
        *(["dry run (nothing changed)"] if state.dry_run else []),
        f"run ID <code>{escape(state.run_id)}</code>",
        f"started {escape(state.created)}",
        f'parameters <a href="{PARAMS_COPY}">{PARAMS_COPY}</a>',
        f'<a href="{RUN_FILE}">{RUN_FILE}</a>',
        f'<a href="{LEDGER_FILE}">{LEDGER_FILE}</a> ({len(ledger)} API calls)',
    ]
    if state.side:
        facts.insert(2, f"<b>{escape(state.side)} side only</b> (two operators)")
        facts += [
            f'peer card <a href="{escape(c["file"])}">{escape(c.get("source", c["file"]))}</a> '
            f"(sha256 {escape(c['sha256'][:12])})"
            for c in state.peer_cards
        ]
    header = (
        "<tr>"
        + "".join(
            f"<th>{h}</th>" for h in ("phase", "status", "started (UTC)", "time", "API calls", "records", "outputs")
        )
        + "</tr>"
    )
    rows = "\n".join(_phase_row(run_dir, p, calls.get(p.name, 0)) for p in state.phases)
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>vpclink run {escape(state.link)} {escape(state.created)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n<h1>vpclink run: {escape(state.link)}</h1>\n<p>{' · '.join(facts)}</p>\n{_identities(state)}\n"
        f"<figure>{svg}</figure>\n<table>{header}\n{rows}\n</table>\n</body></html>\n"
    )
    out = run_dir / INDEX_FILE
    _write_atomic(out, page)
    return out


@dataclass(frozen=True)
class SecretHit:
    file: str  # path relative to the run directory
    label: str  # which credential field, never its value


def scan_for_secrets(run_dir: str | Path, secrets: Iterable[Secret]) -> list[SecretHit]:
    """Every file of the run directory that contains any of the secrets, as is or JSON-escaped."""
    run_dir = Path(run_dir)
    needles = []
    for s in secrets:
        if len(s.value) >= 8:  # shorter values would match by chance; real keys are far longer
            forms = {s.value, json.dumps(s.value)[1:-1], escape(s.value)}
            needles.append((s.label, [f.encode() for f in forms]))
    hits: list[SecretHit] = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for label, forms in needles:
            if any(f in data for f in forms):
                hits.append(SecretHit(str(path.relative_to(run_dir)), label))
    return hits
