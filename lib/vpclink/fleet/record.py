"""The fleet's record: ``fleet.json`` and ``index.html`` beside the links' own records.

``index.html`` is one offline page (no script, no external resource): a picture of the topology (the
VPCs as nodes grouped by account and region, each link a line coloured by its state), a table of the
links (accounts, regions, state, ping both ways, time, API calls, a link to the link's own record),
the API calls per (account, region, action) against the quota in force (read from the links'
ledgers: the most calls in any window, and how many came back throttled), and what the rate control
did (which links were not started, and why). ``fleet.json`` holds the same as data; it is rewritten
as links end, so a fleet killed at any point leaves a record that a resume continues from.
"""

from __future__ import annotations

import html
import json
import math
import os
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import safe_files
from ..record.run import indented_json
from . import quota
from .model import Fleet, Vpc
from .rate import RateControl

if TYPE_CHECKING:
    from .run import FleetOptions, LinkOutcome

FLEET_JSON = "fleet.json"
INDEX_HTML = "index.html"
LEDGER = "ledger.jsonl"
THROTTLING = "Throttling"
# What fleet.json keeps of a link's outcome (``run.LinkOutcome``) beside its state.
OUTCOME_KEYS = ("ok", "result", "message", "seconds", "cpu_seconds", "attempts", "retried", "ping", "phases")
COLOURS = {
    "verified": "#2e7d32",
    "planned": "#2e7d32",
    "torn down": "#1565c0",
    "nothing to remove": "#1565c0",
    "running": "#ef6c00",
    "failed": "#c62828",
    "not started": "#9e9e9e",
    "pending": "#bdbdbd",
}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def read(run_dir: str | Path) -> dict[str, Any]:
    """A fleet run directory's ``fleet.json`` (read as untrusted input), or ``{}``."""
    try:
        data = safe_files.read_json(Path(run_dir) / FLEET_JSON, max_bytes=32 << 20, max_depth=24, what="fleet record")
    except (OSError, safe_files.UnsafeFile):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# -- the API calls, from the links' ledgers ----------------------------------------------------------------


def _epoch(text: object) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _parse(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a torn last line (a killed run)
        if isinstance(entry, dict):
            yield entry


def _read_ledger(path: Path) -> bytes | None:
    """The ledger's bytes, or None when it cannot be read or is not a file of bounded size."""
    try:
        return safe_files.read_bytes(path, max_bytes=64 << 20, what="ledger")
    except (OSError, safe_files.UnsafeFile):
        return None


Key = tuple[str, str, str]  # (account UID, region, action)


class _Tally:
    """What the record takes from ledger entries: how many, and per key the calls' times and throttles."""

    def __init__(self, data: bytes = b"") -> None:
        self.entries = 0
        self.times: dict[Key, list[float]] = {}
        self.throttled: dict[Key, int] = {}
        self.add(data)

    def add(self, data: bytes) -> None:
        for e in _parse(data):
            self.entries += 1
            key = (str(e.get("account_uid") or ""), str(e.get("region") or ""), str(e.get("action") or ""))
            at = _epoch(e.get("time"))
            if at is not None:
                self.times.setdefault(key, []).append(at)
            if THROTTLING in str(e.get("error_code") or ""):
                self.throttled[key] = self.throttled.get(key, 0) + 1


class _Seen:
    """One ledger as last read: its complete lines tallied once, its unfinished last line apart."""

    def __init__(self) -> None:
        self.stamp: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) when last read
        self.done = _Tally()
        self.end = 0  # bytes of complete lines in ``done``
        self.crc = 0  # of those bytes: a ledger rewritten in place is read whole again
        self.tail = _Tally()


class LedgerCache:
    """The links' ledgers as the record needs them, each parsed again only from where it grew.

    A link's ledger only grows by appended lines while the link runs; one that shrank or was replaced
    is read whole again, and one not changed since (same inode, size and mtime) is not read at all."""

    def __init__(self) -> None:
        self._seen: dict[Path, _Seen] = {}

    def tallies(self, run_dir: Path, link_dir: str | None) -> tuple[_Tally, ...]:
        if not link_dir:
            return ()
        path = run_dir / link_dir / LEDGER
        try:
            info = os.stat(path)
        except OSError:
            self._seen.pop(path, None)
            return ()
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        seen = self._seen.get(path)
        if seen is not None and seen.stamp == stamp:
            return seen.done, seen.tail
        # stamped before reading: a line appended meanwhile is read now, and looked at again next time
        data = _read_ledger(path)
        if data is None:  # counts as empty, and is tried again next time
            self._seen.pop(path, None)
            return ()
        seen = self._seen[path] = self._read(data, seen)
        seen.stamp = stamp
        return seen.done, seen.tail

    def entries(self, run_dir: Path, link_dir: str | None) -> int:
        return sum(t.entries for t in self.tallies(run_dir, link_dir))

    @staticmethod
    def _read(data: bytes, seen: _Seen | None) -> _Seen:
        view = memoryview(data)
        if seen is None or len(data) < seen.end or zlib.crc32(view[: seen.end]) != seen.crc:
            seen = _Seen()
        # only whole lines are kept: the last one may still be being written
        end = data.rfind(b"\n") + 1
        if end > seen.end:
            seen.done.add(data[seen.end : end])
            seen.crc = zlib.crc32(view[seen.end : end], seen.crc)
            seen.end = end
        seen.tail = _Tally(data[seen.end :])
        return seen


def api_calls(
    run_dir: Path,
    link_dirs: Mapping[str, str],
    overrides: Mapping[str, quota.Limit],
    cache: LedgerCache | None = None,
) -> list[dict[str, Any]]:
    """Per (account, region, action): calls (every attempt), the most in any window of its quota, the
    quota, and the answers that were throttling. ``cache`` keeps the ledgers between calls."""
    ledgers = cache if cache is not None else LedgerCache()
    times: dict[Key, list[float]] = defaultdict(list)
    throttled: dict[Key, int] = defaultdict(int)
    for link_dir in link_dirs.values():
        for tally in ledgers.tallies(run_dir, link_dir):
            for key, at in tally.times.items():
                times[key].extend(at)
            for key, n in tally.throttled.items():
                throttled[key] += n
    rows = []
    for key in sorted(times):
        limit = quota.limit_of(key[2], None, overrides)
        most = quota.most_in_any_window(times[key], limit.window_s)
        rows.append(
            {
                "account_uid": key[0],
                "region": key[1],
                "action": key[2],
                "calls": len(times[key]),
                "most_in_window": most,
                "limit": limit.calls,
                "window_s": limit.window_s,
                "source": limit.source,
                "inferred": limit.inferred,
                "throttled": throttled[key],
            }
        )
    return rows


# -- the record as the fleet runs ------------------------------------------------------------------------


def _side(vpc: Vpc) -> dict[str, Any]:
    return {
        "vpc": vpc.name,
        "vpc_id": vpc.vpc_id,
        "region": vpc.region,
        "profile": vpc.profile,
        "account_uid": vpc.account_uid,
    }


class Book:
    """Keeps ``fleet.json`` and ``index.html`` up to date during one command on a fleet run directory."""

    def __init__(
        self,
        run_dir: Path,
        fleet: Fleet,
        mode: str,
        options: FleetOptions,
        previous: Mapping[str, Any] | None,
    ):
        self.run_dir = run_dir
        self.fleet = fleet
        self.mode = mode
        self.options = options
        self.previous = dict(previous or {})
        self.engine = ""
        self.started_at = utc_now()
        self.quota_stats: dict[str, Any] = {}
        # CPU seconds of the kernels forked for the links by the fleet's shared fork server (not in
        # any link's own cpu_seconds, as they are not its processes' children)
        self.kernels_cpu_seconds = 0.0
        # CPU seconds of the link fork server itself (its imports, done once for every link command it
        # forked; each command's own CPU is in its link's cpu_seconds)
        self.commands_cpu_seconds = 0.0
        # the record is rewritten about twice per link: each ledger is parsed once, not at every rewrite
        self.ledgers = LedgerCache()

    def started(
        self, engine: str, rate: RateControl, outcomes: Mapping[str, LinkOutcome], link_dirs: Mapping[str, str]
    ) -> None:
        self.engine = engine
        self.update(rate, outcomes, link_dirs)

    def _data(
        self,
        rate: RateControl,
        outcomes: Mapping[str, LinkOutcome],
        link_dirs: Mapping[str, str],
        finished: bool,
    ) -> dict[str, Any]:
        earlier = {link.get("name"): link for link in self.previous.get("links") or [] if isinstance(link, dict)}
        links = []
        for link in self.fleet.links:
            o = outcomes.get(link.name)
            if o is not None:
                state = o.state
            elif link.name in rate.running:
                state = "running"
            elif link.name in rate.not_started:
                state = "not started"
            else:
                state = "pending"
            states = dict((earlier.get(link.name) or {}).get("states") or {})
            if o is not None or state != "pending":
                states[self.mode] = state
            entry: dict[str, Any] = {
                "name": link.name,
                "path": link.path,
                "backend": link.backend,
                "initiator": _side(self.fleet.vpcs[link.initiator]),
                "acceptor": _side(self.fleet.vpcs[link.acceptor]),
                "state": state,
                "states": states,
                "run_dir": link_dirs.get(link.name),
                "api_calls": self.ledgers.entries(self.run_dir, link_dirs.get(link.name)),
            }
            if o is not None:
                entry.update({k: v for k, v in asdict(o).items() if k in OUTCOME_KEYS})
            elif link.name in rate.not_started:
                entry["message"] = rate.not_started[link.name]
            links.append(entry)
        history = list(self.previous.get("history") or [])
        this = {
            "mode": self.mode,
            "started": self.started_at,
            "ended": utc_now() if finished else None,
            "engine": self.engine,
            "target": list(self.options.target_args),
            "rate": rate.outcome(),
        }
        return {
            "fleet": self.fleet.name,
            "source": self.fleet.source,
            "mode": self.mode,
            "status": "finished" if finished else "running",
            "created": self.previous.get("created") or self.started_at,
            "updated": utc_now(),
            "engine": self.engine,
            "rate": rate.outcome(),
            "links": links,
            "link_dirs": dict(link_dirs),
            "api_calls": api_calls(self.run_dir, link_dirs, self.options.quotas, self.ledgers),
            "quota_overrides": {k: asdict(v) for k, v in self.options.quotas.items()},
            "coordinator": self.quota_stats,
            "shared_kernels_cpu_seconds": self.kernels_cpu_seconds,
            "shared_commands_cpu_seconds": self.commands_cpu_seconds,
            "history": [*history, this],
        }

    def update(self, rate: RateControl, outcomes: Mapping[str, LinkOutcome], link_dirs: Mapping[str, str]) -> None:
        self._save(self._data(rate, outcomes, link_dirs, finished=False))

    def finish(
        self, rate: RateControl, outcomes: Mapping[str, LinkOutcome], link_dirs: Mapping[str, str]
    ) -> dict[str, Any]:
        data = self._data(rate, outcomes, link_dirs, finished=True)
        self._save(data)
        return data

    def _save(self, data: dict[str, Any]) -> None:
        _write(self.run_dir / FLEET_JSON, indented_json(data).decode("utf-8"))
        _write(self.run_dir / INDEX_HTML, render(data))


def summary_line(data: Mapping[str, Any]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for link in data.get("links") or []:
        counts[str(link.get("state"))] += 1
    shown = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    rate = data.get("rate") or {}
    stop = f"; stopped by {rate['stopped_by']} (max_errors {rate.get('max_errors')})" if rate.get("stopped") else ""
    return f"{data.get('mode')}: {len(data.get('links') or [])} link(s): {shown}{stop}"


# -- the page -------------------------------------------------------------------------------------------

_e = html.escape


def _colour(state: str) -> str:
    return COLOURS.get(state, "#6a1b9a")


def topology_svg(data: Mapping[str, Any]) -> str:
    """VPCs grouped by (account, region) in boxes; each link a line coloured by its state."""
    vpcs: dict[str, dict[str, Any]] = {}
    for link in data.get("links") or []:
        for role in ("initiator", "acceptor"):
            side = link[role]
            vpcs.setdefault(side["vpc"], side)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, side in vpcs.items():
        groups[(str(side.get("account_uid") or side.get("profile")), str(side.get("region")))].append(name)
    keys = sorted(groups)
    cols = max(1, math.ceil(math.sqrt(len(keys))))
    box_w, node_gap, pad = 230, 70, 20
    heights = [60 + node_gap * math.ceil(len(groups[k]) / 2) for k in keys]
    rows = math.ceil(len(keys) / cols)
    row_h = [max(heights[r * cols : (r + 1) * cols] or [0]) for r in range(rows)]
    pos: dict[str, tuple[float, float]] = {}
    parts: list[str] = []
    y: float = pad
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if i >= len(keys):
                break
            account, region = keys[i]
            x = pad + c * (box_w + pad)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{box_w}" height="{row_h[r]}" rx="8" fill="#f5f7fa" stroke="#90a4ae"/>'
                f'<text x="{x + 8}" y="{y + 18}" font-size="12" fill="#37474f">account {_e(account)}</text>'
                f'<text x="{x + 8}" y="{y + 33}" font-size="12" fill="#37474f">{_e(region)}</text>'
            )
            for j, name in enumerate(sorted(groups[keys[i]])):
                cx = x + 60 + (j % 2) * 110
                cy = y + 70 + (j // 2) * node_gap
                pos[name] = (cx, cy)
        y += row_h[r] + pad
    width = pad + cols * (box_w + pad)
    lines = []
    for link in data.get("links") or []:
        (x1, y1), (x2, y2) = pos[link["initiator"]["vpc"]], pos[link["acceptor"]["vpc"]]
        state = str(link.get("state"))
        dash = ' stroke-dasharray="6 4"' if state in ("pending", "not started") else ""
        lines.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{_colour(state)}" stroke-width="3"{dash}>'
            f"<title>{_e(link['name'])}: {_e(state)}</title></line>"
        )
    nodes = []
    for name, (nx, ny) in pos.items():
        side = vpcs[name]
        nodes.append(
            f'<g><circle cx="{nx}" cy="{ny}" r="20" fill="#ffffff" stroke="#455a64" stroke-width="2"/>'
            f'<text x="{nx}" y="{ny + 34}" font-size="11" text-anchor="middle">{_e(name)}</text>'
            f"<title>{_e(name)}: {_e(str(side.get('vpc_id')))} ({_e(str(side.get('region')))})</title></g>"
        )
    legend = []
    for k, state in enumerate(("verified", "torn down", "running", "failed", "not started", "pending")):
        lx = pad + k * 110
        legend.append(
            f'<line x1="{lx}" y1="{y + 10}" x2="{lx + 24}" y2="{y + 10}" stroke="{_colour(state)}" stroke-width="3"/>'
            f'<text x="{lx + 30}" y="{y + 14}" font-size="11">{state}</text>'
        )
    height = y + 30
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(width, 680)}" height="{height}" '
        f'viewBox="0 0 {max(width, 680)} {height}" font-family="sans-serif" role="img" '
        f'aria-label="topology of fleet {_e(str(data.get("fleet")))}">'
        + "".join(parts + lines + nodes + legend)
        + "</svg>"
    )


def _ping(link: Mapping[str, Any]) -> str:
    ping = link.get("ping") or {}
    if not ping:
        return ""
    return f"{ping.get('initiator_to_acceptor', '?')} / {ping.get('acceptor_to_initiator', '?')}"


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _retry(retry: object) -> str:
    """One try that was run again, as the page shows it (``fleet.json`` is read as untrusted input)."""
    if not isinstance(retry, dict):
        return str(retry)
    attempt = retry.get("attempt")
    return f"attempt {attempt}: {retry.get('reason')}" if attempt is not None else str(retry.get("reason"))


def render(data: Mapping[str, Any]) -> str:
    """The fleet's ``index.html``."""
    link_rows = []
    for link in data.get("links") or []:
        i, a = link["initiator"], link["acceptor"]
        rec = link.get("run_dir")
        record = f'<a href="{_e(rec)}/index.html">{_e(rec.split("/")[-1])}</a>' if rec else ""
        state = str(link.get("state"))
        link_rows.append(
            "<tr>"
            f"<td>{_e(link['name'])}</td>"
            f"<td>{_e(i['vpc'])} ({_e(str(i.get('account_uid') or i['profile']))})<br>"
            f"{_e(a['vpc'])} ({_e(str(a.get('account_uid') or a['profile']))})</td>"
            f"<td>{_e(i['region'])}<br>{_e(a['region'])}</td>"
            f'<td style="color:{_colour(state)}"><b>{_e(state)}</b>'
            + (f"<br><small>{_e(str(link['message']))}</small>" if link.get("message") else "")
            + "".join(f"<br><small>retried: {_e(_retry(r))}</small>" for r in _list(link.get("retried")))
            + "</td>"
            f"<td>{_e(_ping(link))}</td>"
            f"<td>{_e(str(link.get('seconds', '')))}</td>"
            f"<td>{_e(str(link.get('api_calls', '')))}</td>"
            f"<td>{record}</td>"
            "</tr>"
        )
    call_rows = []
    for row in data.get("api_calls") or []:
        over = row["most_in_window"] > row["limit"]
        style = ' style="color:#c62828"' if over or row["throttled"] else ""
        call_rows.append(
            f"<tr{style}><td>{_e(row['account_uid'])}</td><td>{_e(row['region'])}</td><td>{_e(row['action'])}</td>"
            f"<td>{row['calls']}</td><td>{row['most_in_window']}</td>"
            f"<td>{row['limit']} / {row['window_s']:g} s{' (inferred)' if row.get('inferred') else ''}</td>"
            f"<td>{row['throttled']}</td></tr>"
        )
    rate = data.get("rate") or {}
    not_started = rate.get("not_started") or {}
    rate_lines = [
        f"max concurrency {_e(str(rate.get('max_concurrency')))} ({rate.get('concurrency')} at once); "
        f"max errors {_e(str(rate.get('max_errors')))} ({rate.get('error_threshold')} tolerated); "
        f"{len(rate.get('failed') or {})} failed",
    ]
    if rate.get("stopped"):
        rate_lines.append(f"<b>stopped</b>: the failure of {_e(str(rate.get('stopped_by')))} exceeded max errors")
    rate_lines += [f"{_e(n)}: {_e(why)}" for n, why in not_started.items()]
    rate_lines += [f"{_e(n)}: {_e(why)}" for n, why in (rate.get("skipped") or {}).items()]
    history = "".join(
        f"<li>{_e(str(h.get('mode')))}: {_e(str(h.get('started')))} to {_e(str(h.get('ended') or 'running'))} "
        f"on {_e(str(h.get('engine')))}</li>"
        for h in data.get("history") or []
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>fleet {_e(str(data.get("fleet")))}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #263238; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #cfd8dc; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 13px; }}
th {{ background: #eceff1; }}
</style></head><body>
<h1>Fleet {_e(str(data.get("fleet")))}</h1>
<p>{_e(summary_line(data))}. Status: {_e(str(data.get("status")))}, updated {_e(str(data.get("updated")))}.
Fleet file: {_e(str(data.get("source")))}.</p>
<h2>Topology</h2>
{topology_svg(data)}
<h2>Links</h2>
<table><tr><th>link</th><th>accounts (initiator, acceptor)</th><th>regions</th><th>state</th>
<th>ping (to acceptor / to initiator)</th><th>time (s)</th><th>API calls</th><th>record</th></tr>
{"".join(link_rows)}</table>
<h2>API calls against the quotas</h2>
<p>Per account, region and action, from the links' ledgers (every attempt counted): the most calls in any
window of the quota, the quota in force, and the answers that were throttling.</p>
<table><tr><th>account</th><th>region</th><th>action</th><th>calls</th><th>most in any window</th>
<th>quota</th><th>throttled</th></tr>
{"".join(call_rows)}</table>
<h2>Rate control</h2>
<ul>{"".join(f"<li>{line}</li>" for line in rate_lines)}</ul>
<h2>History</h2>
<ul>{history}</ul>
</body></html>
"""
