"""Runs the phase notebooks in sequence with papermill and keeps the run's records.

Each phase notebook is executed in a fresh kernel (started while the previous phase ran, see
``kernels``) with its parameters: the common ones (parameter
file, run directory, target, ...) and the outputs of earlier phases that the notebook declares in
its ``parameters`` cell, so every executed notebook shows the inputs it received. After each phase
the runner reads the outputs the notebook recorded, updates ``run.json`` atomically, renders the
notebook to HTML and refreshes ``index.html``. A failed phase stops the run; ``--resume`` runs the
phases that are not ``ok`` yet, from the records alone, and converges because every phase does.

Two operators (``RunState.side``): only the phases of that side run, each notebook gets the side and
the other side's latest peer card, and a phase that needs the other operator's part first ends the
run as ``waiting`` (exit code 3) with what that operator must do and how to resume.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import phases
from .kernels import KERNEL, KernelPool, register_engine
from .params import LinkParams
from .picture import link_svg
from .records import HtmlRenderer, SecretHit, new_run_dir, scan_for_secrets, write_index
from .state import (
    CARD_MIME,
    COMMON_PARAMETERS,
    IDENTITIES_MIME,
    OUTPUTS_MIME,
    PARAMS_COPY,
    PEER_MIME,
    STEPS_MIME,
    PhaseRecord,
    RunState,
    read_records,
    save,
    utc_now,
)
from .targets import Target

TEARDOWN = "teardown"
COMMON = COMMON_PARAMETERS
WAITING = "WaitingForPeer"  # the exception a phase notebook raises to wait for the other operator


class RunError(RuntimeError):
    """The run cannot start or continue; the message says why and what to do."""


def default_notebooks_dir() -> Path:
    """The phase notebooks next to the library (``notebooks/`` of the source tree)."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def notebook_name(phase: str) -> str:
    return f"{phases.NOTEBOOKS[phase]}.ipynb"


def select(from_phase: str | None = None, to_phase: str | None = None) -> list[str]:
    """The phases from ``from_phase`` to ``to_phase`` (inclusive), in run order."""
    order = list(phases.PHASES)
    for flag, value in (("--from", from_phase), ("--to", to_phase)):
        if value is not None and value not in order:
            raise RunError(f"{flag} {value}: not a phase; phases in order: {', '.join(order)}")
    first = order.index(from_phase) if from_phase else 0
    last = order.index(to_phase) if to_phase else len(order) - 1
    if first > last:
        raise RunError(f"--from {from_phase} comes after --to {to_phase}; phases in order: {', '.join(order)}")
    return order[first : last + 1]


@dataclass
class RunResult:
    run_dir: Path
    state: RunState
    exit_code: int  # 0 success, 1 failure, 3 waiting for the other operator
    message: str
    ran: list[str] = field(default_factory=list)  # the phases executed by this invocation
    secret_hits: list[SecretHit] = field(default_factory=list)


def side_phases(names: list[str], side: str) -> list[str]:
    """Those of ``names`` that act in ``side``'s account (all of them for one operator, side "")."""
    return [n for n in names if not side or side in phases.get(n).SIDES]


def new_run(
    records: str | Path,
    params_file: str | Path,
    params: LinkParams,
    target: Target,
    *,
    planned: list[str],
    selected: list[str],
    dry_run: bool = False,
    side: str = "",
) -> tuple[Path, RunState]:
    """A new run directory with a copy of the parameters and a ``run.json`` listing ``planned``
    phases; those not in ``selected``, or not of ``side`` (two operators), are marked skipped."""
    run_dir = new_run_dir(records, params.link)
    shutil.copyfile(params_file, run_dir / PARAMS_COPY)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    selected = side_phases(selected, side)
    state = RunState(
        run_id=f"{stamp}-{uuid.uuid4().hex[:8]}",
        link=params.link,
        params_file=str(params_file),
        params=dataclasses.asdict(params),
        target=target.name,
        emulator=target.emulator,
        endpoint=target.endpoint,
        dry_run=dry_run,
        side=side,
        phases=[
            PhaseRecord(name, notebook_name(name), "pending" if name in selected else "skipped") for name in planned
        ],
    )
    save(run_dir, state)
    return run_dir, state


class Runner:
    """Executes phases of one run directory against one target."""

    def __init__(
        self,
        target: Target,
        *,
        notebooks_dir: str | Path | None = None,
        log: Callable[[str], None] = print,
        verbose: bool = False,
        cell_timeout: int | None = None,
    ):
        self.target = target
        self.notebooks_dir = (Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()).resolve()
        self.log = log
        self.verbose = verbose
        self.cell_timeout = cell_timeout
        # HTML is rendered in one background thread while the next notebook runs (its kernel is
        # another process, so the two overlap); _finish waits for every rendering.
        self._html: HtmlRenderer | None = None
        self._renders: list[Future[None]] = []
        self._renderer: ThreadPoolExecutor | None = None
        self._engine = register_engine()
        if not self.notebooks_dir.is_dir():
            raise RunError(f"the phase notebooks are not in {self.notebooks_dir}; pass --notebooks DIR")

    # -- the whole run --------------------------------------------------------------------------
    def execute(
        self,
        run_dir: str | Path,
        state: RunState,
        todo: list[str],
        params: LinkParams,
        *,
        rerun: frozenset[str] = frozenset(),
    ) -> RunResult:
        """Run the phases of ``todo`` that are not ok yet (or are in ``rerun``), in order."""
        run_dir = Path(run_dir)
        state.endpoint, state.result = self.target.endpoint, "running"
        others = [n for n in todo if n not in side_phases(todo, state.side)]
        todo = [n for n in todo if n not in others]  # never the other operator's phases
        for name in todo:
            if not state.has_phase(name):
                state.phases.append(PhaseRecord(name, notebook_name(name)))
        save(run_dir, state)
        failed: PhaseRecord | None = None
        ran: list[str] = []
        pending = [n for n in todo if state.phase(n).status != "ok" or n in rerun]
        pool = KernelPool(self.notebooks_dir)
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vpclink-html")
        try:
            for name in phases.ordered(todo + others):
                if name in others:
                    self.log(
                        f"  {phases.NOTEBOOKS[name]:<20} -- the other operator's phase (this run acts in the "
                        f"{state.side}'s account only)"
                    )
                    continue
                record = state.phase(name)
                if name not in pending:
                    self.log(f"  {phases.NOTEBOOKS[name]:<20} ok (from the records, not run again)")
                    continue
                ran.append(name)
                kernel = pool.take(more=len(ran) < len(pending))
                self._run_phase(run_dir, state, record, params, kernel)
                if record.status != "ok":
                    failed = record
                    break
        except KeyboardInterrupt:
            running = next((p for p in state.phases if p.status == "running"), None)
            if running is not None:
                running.status, running.error, running.ended = "failed", "interrupted (Ctrl-C)", utc_now()
                failed = running
            state.result = "failed"
            self._finish(run_dir, state, params)
            raise
        finally:
            pool.close()
            self._renderer.shutdown(wait=True)
        result = self._conclude(run_dir, state, params, failed, todo)
        result.ran = ran
        return result

    def _conclude(
        self, run_dir: Path, state: RunState, params: LinkParams, failed: PhaseRecord | None, todo: list[str]
    ) -> RunResult:
        outputs = state.merged_outputs()
        if failed is not None and failed.status == "waiting":
            state.result = "waiting"
            message = (
                f"{failed.name} waits for the other operator: {failed.error}\n"
                f"  record: {run_dir / failed.notebook.replace('.ipynb', '.html')}"
            )
        elif failed is not None:
            state.result = "failed"
            message = (
                f"{failed.name} failed: {failed.error}\n"
                f"  record: {run_dir / failed.notebook.replace('.ipynb', '.html')}\n"
                f"  resume: vpclink run --resume {run_dir}"
            )
        elif state.dry_run:
            state.result, message = "planned", "dry run: nothing was changed"
        elif TEARDOWN in todo:
            state.result = "torn down" if outputs.get("teardown_complete") else "failed"
            message = "teardown complete" if state.result == "torn down" else "teardown did not complete"
        elif "verify" in todo:
            state.result = "verified" if outputs.get("verified") is True else "not verified"
            message = "the link verifies" if state.result == "verified" else "the link does not verify"
        else:
            state.result, message = "ok", f"phases up to {todo[-1]} done; not verified (verify was not run)"
        hits = self._finish(run_dir, state, params)
        if hits:
            state.result = "failed"
            save(run_dir, state)
            message = "secrets of the credentials were found in the records (delete them now):\n" + "\n".join(
                f"  {h.file}: {h.label}" for h in hits
            )
        ok = state.result in ("verified", "planned", "torn down", "ok")
        code = 0 if ok else 3 if state.result == "waiting" else 1
        return RunResult(run_dir, state, code, message, secret_hits=hits)

    def _finish(self, run_dir: Path, state: RunState, params: LinkParams) -> list[SecretHit]:
        """run.json and index.html as the run ends, then the secret scan over everything written."""
        for render in self._renders:
            error = render.exception()
            if error is not None:
                self.log(f"  (an HTML rendering failed: {type(error).__name__}: {error})")
        self._renders.clear()
        state.outputs = state.merged_outputs()
        save(run_dir, state)
        write_index(run_dir, state, link_svg(params, state.shown_values()))
        return scan_for_secrets(run_dir, self.target.secrets)

    # -- one phase ------------------------------------------------------------------------------
    def _parameters(self, run_dir: Path, state: RunState, source: Path, record: PhaseRecord) -> dict[str, Any]:
        import papermill

        declared = set(papermill.inspect_notebook(str(source)))
        missing = [k for k in COMMON if k not in declared]
        if missing:
            raise RunError(f"{source.name}: its parameters cell does not define {', '.join(missing)}")
        card = state.peer_cards[-1]["file"] if state.peer_cards else ""
        values: dict[str, Any] = {
            "params_file": str((run_dir / PARAMS_COPY).resolve()),
            "run_dir": str(run_dir.resolve()),
            "target": self.target.name,
            "endpoint": self.target.endpoint,
            "profiles_file": self.target.profiles_file,
            "apply": not state.dry_run,
            "run_id": state.run_id,
            "interactive": False,
            "side": state.side,
            "peer_card": str((run_dir / card).resolve()) if card else "",
        }
        earlier = {}
        for p in state.phases:
            if p.status == "ok" and p.name != record.name:
                earlier.update(p.outputs)
        inputs = {k: v for k, v in earlier.items() if k in declared and k not in values}
        record.inputs = inputs
        return {**values, **inputs}

    def _archive_attempt(self, run_dir: Path, record: PhaseRecord) -> None:
        """Keep the record of an unfinished or failed try beside the new one."""
        executed = run_dir / record.notebook
        if not executed.exists() or record.status not in ("failed", "running", "waiting"):
            return
        n = len(record.attempts) + 1
        stem = executed.stem
        kept = run_dir / f"{stem}.try{n}.ipynb"
        executed.rename(kept)
        html = executed.with_suffix(".html")
        if html.exists():
            html.rename(kept.with_suffix(".html"))
        record.attempts.append(
            {
                "status": record.status if record.status in ("failed", "waiting") else "interrupted",
                "started": record.started,
                "ended": record.ended,
                "error": record.error,
                "notebook": kept.name,
            }
        )

    def _run_phase(self, run_dir: Path, state: RunState, record: PhaseRecord, params: LinkParams, kernel: Any) -> None:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        source = self.notebooks_dir / notebook_name(record.name)
        if not source.exists():
            raise RunError(f"{source}: the notebook of phase {record.name} is missing")
        self._archive_attempt(run_dir, record)
        parameters = self._parameters(run_dir, state, source, record)
        record.status, record.started, record.ended, record.error = "running", utc_now(), None, None
        record.outputs = {}
        save(run_dir, state)
        out = run_dir / record.notebook
        began = time.perf_counter()
        try:
            # no cwd: papermill would chdir this whole process; the kernel starts in the notebooks' directory
            papermill.execute_notebook(
                str(source),
                str(out.resolve()),
                parameters=parameters,
                kernel_name=KERNEL,
                engine_name=self._engine,
                km=kernel,
                progress_bar=False,
                log_output=self.verbose,
                execution_timeout=self.cell_timeout,
            )
        except PapermillExecutionError as e:
            if e.ename == WAITING:
                record.status, record.error = "waiting", e.evalue
            else:
                record.status, record.error = "failed", f"{e.ename}: {e.evalue}"
        except Exception as e:  # a dead kernel, a timeout: the record says so, the run stops
            record.status, record.error = "failed", f"{type(e).__name__}: {e}"
        else:
            record.status = "ok"
        # What the notebook recorded, even if a later cell failed: a failed ping still has results.
        found = (
            read_records(out, OUTPUTS_MIME, IDENTITIES_MIME, PEER_MIME, STEPS_MIME, CARD_MIME) if out.exists() else {}
        )
        recorded = found.get(OUTPUTS_MIME)
        if isinstance(recorded, dict):
            record.outputs = dict(recorded.get("outputs") or {})
        elif record.status == "ok":
            record.status, record.error = "failed", f"{out.name} recorded no outputs"
        identities = found.get(IDENTITIES_MIME) if record.status == "ok" else None
        if identities:
            state.identities.update(identities)
        record.peer = {k: v for k, v in (found.get(PEER_MIME) or {}).items() if k not in ("phase", "side")}
        record.steps = list((found.get(STEPS_MIME) or {}).get("steps") or [])
        record.card = {k: v for k, v in (found.get(CARD_MIME) or {}).items() if k != "card"}
        record.ended, record.seconds = utc_now(), round(time.perf_counter() - began, 2)
        state.outputs = state.merged_outputs()
        save(run_dir, state)
        self._render(out)
        write_index(run_dir, state, link_svg(params, state.shown_values()))
        status = {"ok": "ok", "waiting": "WAITING"}.get(record.status, "FAILED")
        why = (
            "  (for the other operator: see below)"
            if record.status == "waiting"
            else f"  {record.error.splitlines()[0] if record.error else ''}"
            if record.status != "ok"
            else ""
        )
        self.log(f"  {phases.NOTEBOOKS[record.name]:<20} {status:<6} {record.seconds:6.1f} s{why}")

    def _render(self, notebook: Path) -> None:
        if notebook.exists() and self._renderer is not None:
            self._renders.append(self._renderer.submit(self._render_now, notebook))

    def _render_now(self, notebook: Path) -> None:
        if self._html is None:
            self._html = HtmlRenderer()
        self._html.render(notebook)
