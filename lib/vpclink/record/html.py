"""The record of a run as reviewers read it: each executed notebook's HTML rendering and
``index.html`` with the picture of the link, the phases, their times, calls and links.

``runs/<UTC time>-<link>/`` holds ``NN_phase.ipynb`` and ``NN_phase.html`` per phase, ``run.json``
(``run``), ``ledger.jsonl`` (written by the cloud layer), ``params.yaml`` and ``index.html``.

A migration's record (``runs/<UTC time>-<link>-migrate/``, ``vpclink migrate``) has its own
``index.html`` (``write_migration_index``), in the same style: every step, the loss window per side, and
on failure the error and the command that continues it.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from html import escape
from pathlib import Path
from typing import Any, ClassVar

from ..importing import without_gc
from . import changes, page_access
from .ledger import Ledger
from .provenance import describe
from .run import LEDGER_FILE, PARAMS_COPY, RUN_FILE, PhaseRecord, RunState, write_file

INDEX_FILE = "index.html"
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}  # as ipykernel reports it


class HtmlRenderer:
    """nbconvert's HTML exporter, built once per run. Building it and its first rendering (which loads
    the templates, the Markdown renderer and the highlighters) run with the garbage collector paused
    (``importing.without_gc``): about 0.1 s of CPU less per run.

    A process that forks runs (a fleet's link fork server, ``fleet.link_forks``) builds one ahead
    with :meth:`warm`; the run in each fork takes it with :meth:`take` instead of building its own."""

    # The renderer :meth:`warm` built for the next :meth:`take` of this process, then None. Process-wide
    # by necessity: it is built before the fork, in the parent, for whichever run the child becomes.
    _warmed: ClassVar[HtmlRenderer | None] = None

    @classmethod
    def warm(cls) -> None:
        """Build a renderer and load what its first rendering loads, for this process's next take; its
        memo of cleaned code cells starts with every phase's own (most of a page's code cells)."""
        import nbformat

        from .. import phases
        from ..notebook.template import notebook

        renderer = cls()
        cells = [cell for phase in phases.ALL for cell in notebook(phase).cells]
        cells.append(nbformat.v4.new_code_cell("phase.plan()", outputs=[nbformat.v4.new_output("stream", text="1\n")]))
        with without_gc(freeze=False), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # highlighted as an executed phase notebook is: its kernel (ipykernel) names the lexer
            sample = nbformat.v4.new_notebook(cells=cells, metadata={"language_info": LANGUAGE_INFO})
            renderer._exporter.from_notebook_node(sample)
        renderer._loaded = True
        cls._warmed = renderer

    @classmethod
    def warmed(cls) -> bool:
        """Whether :meth:`warm` built one for this process that is not taken yet."""
        return cls._warmed is not None

    @classmethod
    def take(cls) -> HtmlRenderer:
        """The renderer :meth:`warm` built, once; else a new one."""
        renderer, cls._warmed = cls._warmed, None
        return renderer if renderer is not None else cls()

    def __init__(self) -> None:
        with without_gc(freeze=False):
            # its own quiet logger: nbconvert warns about every image without alternative text
            self._exporter = _exporter_class()(
                log=logging.Logger("vpclink.html", level=logging.ERROR),
                # bleach's clean of each code cell's highlighted source: a pure function, and most
                # code cells of a run's pages are the same few lines (``phase.plan()``...)
                filters={"clean_html": _cleaner()},
                # validate the notebook once after its preprocessors, not after each of them (12)
                optimistic_validation=True,
            )
        self._loaded = False

    def render(self, notebook: str | Path) -> Path:
        with nullcontext() if self._loaded else without_gc(freeze=False):
            out = self._render(Path(notebook))
        self._loaded = True
        return out

    def _render(self, notebook: Path) -> Path:
        import nbformat  # here, not above: kernels load this module, and nbformat costs them ~1.5 s

        nb = nbformat.read(str(notebook), as_version=4)
        with warnings.catch_warnings():
            # the machine-readable records (custom mimetypes) are meant not to show: no warning for them
            warnings.filterwarnings("ignore", message="Your element with mimetype", category=UserWarning)
            body, _ = self._exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
        out = notebook.with_suffix(".html")
        _write_atomic(out, body)
        return out


def _exporter_class() -> type:
    """nbconvert's ``HTMLExporter`` with its accessibility pass done by ``page_access`` instead of
    BeautifulSoup (half of a page's rendering). Cooperative inheritance puts ``_Page`` between
    ``HTMLExporter`` and ``TemplateExporter``: ``HTMLExporter.from_notebook_node`` does all its own
    work before the template (its per-notebook filters, its resources), its template's page goes to
    ``page_access`` and travels back in ``resources``, and BeautifulSoup gets an empty page."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters import TemplateExporter

    class _Page(TemplateExporter):
        def from_notebook_node(  # type: ignore[override]  # a page, as nbconvert's own HTMLExporter returns
            self, nb: Any, resources: Any = None, **kw: Any
        ) -> tuple[str, dict[str, Any]]:
            page, resources = super().from_notebook_node(nb, resources, **kw)
            resources[_PAGE] = page_access.add(page)
            return "", resources

    class Exporter(HTMLExporter, _Page):
        def from_notebook_node(  # type: ignore[override]  # a page, as nbconvert's own HTMLExporter returns
            self, nb: Any, resources: Any = None, **kw: Any
        ) -> tuple[str, dict[str, Any]]:
            _, resources = super().from_notebook_node(nb, resources, **kw)
            return resources.pop(_PAGE), resources

    return Exporter


_PAGE = "vpclink_page"


def _cleaner() -> Any:
    from nbconvert.filters.strings import clean_html

    return functools.lru_cache(maxsize=1024)(clean_html)


def _write_atomic(path: Path, text: str) -> None:
    write_file(path, text.encode("utf-8"))  # one mode for every record file (see ``run``)


def read_ledger(run_dir: str | Path) -> list[dict[str, Any]]:
    return Ledger.read(Path(run_dir) / LEDGER_FILE)


def _value(value: Any, limit: int = 60) -> str:
    """A value for a table cell, as HTML: whole when short, else its first ``limit`` characters with
    the whole value one click away (``<details>``). Never cut without the rest."""
    text = ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    first = text.splitlines()[0] if text else ""
    if len(first) <= limit and first == text:
        return escape(text)
    return f"<details><summary>{escape(first[:limit].rstrip())}…</summary><pre>{escape(text)}</pre></details>"


def _outcomes(p: PhaseRecord) -> str:
    """What the phase's steps did: one line each, changes first in bold, with the full resource ID."""
    if not p.outcomes:
        return ""
    items = []
    for o in p.outcomes:
        verb = escape(str(o.get("outcome", "")))
        verb = f"<b>{verb}</b>" if o.get("outcome") in ("created", "changed", "deleted") else verb
        rid = f" <code>{escape(str(o['resource_id']))}</code>" if o.get("resource_id") else ""
        detail = f" ({_value(o['detail'])})" if o.get("detail") else ""
        items.append(
            f"<li>{verb} · {escape(str(o.get('side', '')))} · {escape(str(o.get('target', '')))}{rid}{detail}</li>"
        )
    return f'<ul class="outcomes">{"".join(items)}</ul>'


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
    outputs = "<br>".join(f"{escape(k)}={_value(v)}" for k, v in p.outputs.items())
    label = "waiting for the other operator" if p.status == "waiting" else "error"
    error = f"<br><b>{label}:</b> {_value(p.error, 200)}" if p.error else ""
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
        f"<td>{' · '.join(_links(run_dir, p))}</td><td>{_outcomes(p)}</td><td><code>{outputs}</code>{error}</td></tr>"
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
th { background: #f0f0f0; } code { font-size: 90%; }
p.summary { font-size: 120%; } ul.outcomes { margin: 0; padding-left: 1.2em; }
details summary { cursor: pointer; } details pre { white-space: pre-wrap; margin: 0.3em 0; }"""


def _verification(state: RunState) -> str:
    """The run's result in a sentence (what was verified, and by whom: two operators each verify
    their own direction), for a run that has finished."""
    if state.result in ("running", "pending"):
        return ""
    outcome = state.outcome()
    if outcome.result != state.result:
        return ""
    return f"<p><b>{escape(outcome.result)}</b>: {_value(outcome.message, 300)}</p>\n"


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
        *([escape(describe(state.software))] if state.software else []),
    ]
    if state.side:
        facts.insert(2, f"<b>{escape(state.side)} side only</b> (two operators)")
        facts += [
            f'peer card <a href="{escape(c["file"])}">{escape(c["file"])}</a> '
            f"(received as {escape(str(c.get('source', '')))}, sha256 {_value(c.get('sha256', ''), 12)})"
            for c in state.peer_cards
        ]
    header = (
        "<tr>"
        + "".join(
            f"<th>{h}</th>"
            for h in ("phase", "status", "started (UTC)", "time", "API calls", "records", "what changed", "outputs")
        )
        + "</tr>"
    )
    rows = "\n".join(_phase_row(run_dir, p, calls.get(p.name, 0)) for p in state.phases)
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>vpclink run {escape(state.link)} {escape(state.created)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n<h1>vpclink run: {escape(state.link)}</h1>\n"
        f'<p class="summary">{escape(state.changes_summary().capitalize())}.</p>\n'
        f"{_verification(state)}<p>{' · '.join(facts)}</p>\n{_identities(state)}\n"
        f"<figure>{svg}</figure>\n<table>{header}\n{rows}\n</table>\n</body></html>\n"
    )
    out = run_dir / INDEX_FILE
    _write_atomic(out, page)
    return out


# -- a migration's record ------------------------------------------------------------------------
MIGRATION_STEP_COLUMNS = ("#", "side", "action", "target", "outcome", "resource ID", "detail")
_MIGRATION_STATUS = {"done": "ok", "failed": "failed", "interrupted": "failed"}  # -> _STATUS_COLOUR


def _loss(lost: Mapping[str, Any] | None) -> str:
    """Each side's loss window, or why there is none: only the emulator keeps a reachability timeline."""
    if not lost:
        return (
            "<p>Traffic loss: not measured (only the emulator keeps a timeline of what a ping would do); "
            "the pings after each side's move, in the steps below, are the evidence.</p>"
        )
    rows = "".join(
        f"<tr><td>{escape(str(role))}</td><td>{escape(f'{float(seconds):g}')} s</td></tr>"
        for role, seconds in lost.items()
    )
    return (
        "<h2>Traffic loss</h2>\n<p>How long each side's pings to the other side could not cross during the "
        "migration (the emulator's reachability timeline, on its clock):</p>\n"
        f"<table><tr><th>side</th><th>could not cross for</th></tr>{rows}</table>"
    )


def _migration_step_row(n: int, o: Mapping[str, Any]) -> str:
    outcome = escape(str(o.get("outcome", "")))
    outcome = f"<b>{outcome}</b>" if o.get("outcome") in ("created", "changed", "deleted") else outcome
    rid = f"<code>{escape(str(o['resource_id']))}</code>" if o.get("resource_id") else ""
    cells = [
        str(n),
        escape(str(o.get("side", ""))),
        escape(str(o.get("action", ""))),
        escape(str(o.get("target", ""))),
        outcome,
        rid,
        _value(o.get("detail", ""), 120),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def write_migration_index(
    run_dir: str | Path, result: Mapping[str, Any], steps: Sequence[Mapping[str, Any]], again: str
) -> Path:
    """``index.html`` of a migration's record: the link, the backends it moved between, its status,
    each side's loss window, every step in the order it ended (side, action, target, outcome, full
    resource ID, detail) and, when it did not finish, the error and ``again`` (the command that
    continues it). Every value is escaped; the page links the record's other files."""
    run_dir = Path(run_dir)
    status = str(result.get("status", ""))
    colour = _STATUS_COLOUR.get(_MIGRATION_STATUS.get(status, status), "#212121")
    facts = [
        f'Status: <b style="color:{colour}">{escape(status)}</b>',
        f"from backend <b>{escape(str(result.get('from', '')))}</b> to <b>{escape(str(result.get('to', '')))}</b>",
        *([f"target {escape(str(result['target']))}"] if result.get("target") else []),
        *([f"started {escape(str(result['started']))}"] if result.get("started") else []),
        *([f"ended {escape(str(result['ended']))}"] if result.get("ended") else []),
        *(
            f'<a href="{escape(name)}">{escape(name)}</a>'
            for name in result.get("files", ())
            if (run_dir / name).exists()
        ),
        f"{len(read_ledger(run_dir))} API calls",
    ]
    error = ""
    if status != "done":
        code = f" (<code>{escape(str(result['code']))}</code>)" if result.get("code") else ""
        error = (
            f'<h2>Error</h2>\n<p class="error">{_value(result.get("error", ""), 300)}{code}</p>\n'
            "<p>Run the same command again: it reads what exists and continues from there, without a second "
            f'peering, interface or route:</p>\n<pre class="again">{escape(again)}</pre>\n'
        )
    header = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in MIGRATION_STEP_COLUMNS) + "</tr>"
    rows = "\n".join(_migration_step_row(n, o) for n, o in enumerate(steps, 1))
    link = escape(str(result.get("link", "")))
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>vpclink migrate {link}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n<h1>vpclink migrate: {link}</h1>\n"
        f'<p class="summary">{escape(changes.summary(steps).capitalize())}.</p>\n'
        f"<p>{' · '.join(facts)}</p>\n{error}{_loss(result.get('lost_seconds'))}\n"
        f"<h2>Steps</h2>\n<table>{header}\n{rows}\n</table>\n</body></html>\n"
    )
    out = run_dir / INDEX_FILE
    _write_atomic(out, page)
    return out
