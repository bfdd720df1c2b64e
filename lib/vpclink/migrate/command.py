"""``vpclink migrate PARAMS --to BACKEND [--dry-run]``: the CLI's side of a migration.

Its record is a run directory of its own (``<records>/<UTC time>-<link>-migrate/``): ``ledger.jsonl``
(every API call, as a run's), ``steps.jsonl`` (one line per step, written as the step ends, so a
migration killed at any point shows how far it got), ``migrate.json`` (the result, and on the
emulator how long each side's pings could not cross, from its reachability timeline) and, for a
reviewer, ``index.html`` (``record.html.write_migration_index``: the same, with every step in order
and, when it stopped, the error and the command that continues it). The last two are written when the
migration ends, failed or interrupted included; a ``kill -9`` leaves ``steps.jsonl`` and the ledger.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..cloud import Cloud, CloudError
from ..params import ROLES, LinkParams
from ..phases import lookup
from ..phases.base import PhaseContext, PhaseError, StepOutcome
from ..record.html import INDEX_FILE, write_migration_index
from ..record.ledger import Ledger
from ..record.run import FILE_MODE, new_run_dir, utc_now, write_file
from ..record.secret_scan import scan_for_secrets
from ..sides import peer_of
from ..targets import Target
from ..waits import Progress, WaitTimeout
from . import engine
from .params_file import record_backend

STEPS_FILE, RESULT_FILE = "steps.jsonl", "migrate.json"


class _Steps(list[StepOutcome]):
    """The context's outcomes, each also appended to ``steps.jsonl`` and printed as it happens."""

    def __init__(self, path: Path, out: Callable[[str], None]):
        super().__init__()
        self.path, self.out = path, out

    def append(self, o: StepOutcome) -> None:
        super().append(o)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(o)) + "\n")
        self.path.chmod(FILE_MODE)
        self.out(f"    {o.outcome:<13} {o.side:<10} {o.action:<28} {o.target}  {o.resource_id} {o.detail}".rstrip())


def records_dir(records: str | Path, params: LinkParams) -> Path:
    return new_run_dir(records, f"{params.link}-migrate")


def execute(
    params: LinkParams,
    to: str,
    target: Target,
    run_dir: Path,
    out: Callable[[str], None],
    *,
    dry_run: bool,
    again: str = "",
    params_file: str | Path | None = None,
) -> int:
    """Plan (``dry_run``) or run the migration; 0 done, 1 failed (the record says where, and ``again``,
    the command line that continues it). Once done, ``params_file`` (the link's parameter file) is
    rewritten to name the new backend (``params_file.record_backend``)."""
    cloud = Cloud(
        params,
        endpoint=target.endpoint or None,
        profiles_file=target.profiles_file or None,
        ledger=Ledger(run_dir / "ledger.jsonl"),
        phase="migrate",
    )
    ctx = PhaseContext(params, cloud, {}, run_dir.name, "migrate", Progress("silent"), read_lag=target.read_lag)
    ctx.outcomes = _Steps(run_dir / STEPS_FILE, out)
    if dry_run:
        out(f"  plan: {params.backend} -> {to} (no mutating call)")
        for s in engine.plan(ctx, to):
            out(f"    {s.intent:<8} {s.side:<10} {s.action:<28} {s.target}  ({s.detail})")
        return 0
    began = _clock(target)
    result: dict[str, Any] = {
        "link": params.link,
        "from": params.backend,
        "to": to,
        "target": _where(target),
        "started": utc_now(),
    }
    again = again or f"vpclink migrate PARAMS --to {to}"
    code = 0
    try:
        result.update(engine.migrate(ctx, to), status="done")
        if params_file is not None:  # later runs and teardowns read the file: it must name what exists
            result["parameter_file"] = record_backend(params_file, to)
            out(f"  {result['parameter_file']}")
    except (PhaseError, CloudError, WaitTimeout) as e:
        result.update(status="failed", error=str(e), code=getattr(e, "code", ""))
        out(f"  failed: {e}")
        out(f"  run the same command again: it continues from what exists: {again}")
        code = 1
    except BaseException as e:  # a bug or ^C: the record still says where it stopped, then it goes on
        result.update(status="interrupted", error=f"{type(e).__name__}: {e}", code="")
        _finish(run_dir, result, ctx, again)
        raise
    if began is not None:
        result["lost_seconds"] = _lost(target, ctx, began)
        out("  traffic lost while moving: " + ", ".join(f"{r} {s:g} s" for r, s in result["lost_seconds"].items()))
    _finish(run_dir, result, ctx, again)
    hits = scan_for_secrets(run_dir, target.secrets)
    if hits:
        out(f"  a secret was found in the records ({len(hits)} file(s)); remove {run_dir}")
        return 1
    out(f"  {'done' if code == 0 else 'stopped'}: records in {run_dir / INDEX_FILE}")
    return code


def _finish(run_dir: Path, result: dict[str, Any], ctx: PhaseContext, again: str) -> None:
    """``migrate.json``, then ``index.html`` from it and the steps."""
    result.update(ended=utc_now(), files=[STEPS_FILE, "ledger.jsonl", RESULT_FILE])
    write_file(run_dir / RESULT_FILE, json.dumps(result, indent=2, default=str).encode())
    write_migration_index(run_dir, result, [o.as_dict() for o in ctx.outcomes], again)


def _where(target: Target) -> str:
    return {"embedded": "the embedded emulator", "": "Alibaba Cloud"}.get(
        target.emulator, f"the emulator at {target.emulator}"
    )


def _control(target: Target, path: str) -> Any:
    with urllib.request.urlopen(f"{target.control_url}/_emulator/{path}", timeout=10) as r:
        return json.loads(r.read())


def _clock(target: Target) -> float | None:
    """The emulator's virtual time now (its reachability timeline's clock); None on the real cloud."""
    return float(_control(target, "clock")["epoch"]) if target.control_url else None


def _lost(target: Target, ctx: PhaseContext, since: float) -> dict[str, float]:
    """Seconds each side's pings to the other could not cross since ``since`` (the emulator's word)."""
    lost: dict[str, float] = {}
    for role in ROLES:
        ip = lookup.instance_ip(ctx, peer_of(role))
        instance = ctx.params.side(role).instance_id
        if not ip or not instance:
            continue
        query = urllib.parse.urlencode({"instance": instance, "ip": ip, "since": since})
        lost[role] = float(_control(target, f"reachability?{query}")["lost_s"])
    return lost
