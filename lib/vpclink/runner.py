"""Runs the phase notebooks in sequence with papermill and keeps the run's records.

Each phase notebook is executed in a fresh kernel (started while the previous phase ran, see
``kernels``) with its parameters: the common ones (parameter file, run directory, target, ...) and the
outputs of earlier phases that the phase declares, so every executed notebook shows the inputs it
received. The notebooks are generated for the run from the phases' declarations (the same generator
wrote the committed ``notebooks/``), unless ``notebooks_dir`` names others. After each phase the
runner reads the outputs the notebook recorded into ``run.json`` (through ``RunState.edit``, like every
writer of it), stamps the notebook with what ran it, renders it to HTML and refreshes ``index.html``.
A failed phase stops the run; ``--resume`` runs the phases that are not ``ok`` yet, from the records
alone, and converges because every phase does.

Two operators (``RunState.side``): only the phases of that side run, each notebook gets the side and
the other side's latest peer card, and a phase that needs the other operator's part first ends the
run as ``waiting`` (exit code 3) with what that operator must do and how to resume.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import phases, scratch
from .notebook.settings import COMMON, REQUIRED
from .params import LinkParams
from .record.html import HtmlRenderer, write_index
from .record.notebook_records import (
    CARD_MIME,
    IDENTITIES_MIME,
    OUTCOMES_MIME,
    OUTPUTS_MIME,
    PEER_MIME,
    STEPS_MIME,
    TRACEBACK_MIME,
    read_records,
)
from .record.picture import link_svg
from .record.provenance import software
from .record.render_worker import RenderWorker
from .record.run import PARAMS_COPY, PhaseRecord, RunState, RunStateError, confined, utc_now
from .record.secret_scan import SecretHit, scan_for_secrets
from .sides import side_text
from .targets import Target

if TYPE_CHECKING:
    from .kernels import KernelPool

RELAY_SWITCH_INTERVAL = 0.0002  # seconds; see Runner.execute
WAITING = "WaitingForPeer"  # the exception a phase notebook raises to wait for the other operator


class RunError(RuntimeError):
    """The run cannot start or continue; the message says why and what to do."""


def select(from_phase: str | None = None, to_phase: str | None = None) -> list[str]:
    """The phases of a run from ``from_phase`` to ``to_phase`` (inclusive), in run order."""
    order = list(phases.RUN)
    for flag, value in (("--from", from_phase), ("--to", to_phase)):
        if value is not None and value not in order:
            raise RunError(f"{flag} {value}: not a phase; phases in order: {', '.join(order)}")
    first = order.index(from_phase) if from_phase else 0
    last = order.index(to_phase) if to_phase else len(order) - 1
    if first > last:
        raise RunError(f"--from {from_phase} comes after --to {to_phase}; phases in order: {', '.join(order)}")
    return order[first : last + 1]


def with_discovery(names: Iterable[str]) -> list[str]:
    """``names`` with the read-only discovery phases first: a run that starts later than them still
    runs them, since they only read and give the later phases the IDs they need."""
    names = list(names)
    return phases.ordered({*phases.DISCOVER, *names})


@dataclass
class RunResult:
    run_dir: Path
    state: RunState
    exit_code: int  # 0 success, 1 failure, 3 waiting for the other operator
    message: str
    ran: list[str] = field(default_factory=list)  # the phases executed by this invocation
    secret_hits: list[SecretHit] = field(default_factory=list)


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
        self.notebooks_dir = Path(notebooks_dir).resolve() if notebooks_dir else None
        self.log = log
        self.verbose = verbose
        self.cell_timeout = cell_timeout
        # HTML is rendered while the next notebook runs, by a render worker process (see
        # ``record.render_worker``) or else in this process, from one background thread that waits
        # for each; _finish waits for every rendering.
        self._html: HtmlRenderer | None = None
        self._worker: RenderWorker | None = None
        self._renders: list[Future[None]] = []
        self._renderer: ThreadPoolExecutor | None = None
        # whose fork server forks the render worker, when the first notebook is done (see _render)
        self._worker_from: KernelPool | None = None
        # papermill and the kernels' machinery load here, not at import: `vpclink check`, `migrate`
        # and the other commands that run no notebook do not pay for them
        from .kernels import register_engine

        self._engine = register_engine()
        if self.notebooks_dir is not None and not self.notebooks_dir.is_dir():
            raise RunError(f"the phase notebooks are not in {self.notebooks_dir}; pass --notebooks DIR")

    # -- the notebooks ----------------------------------------------------------------------------
    def _generated(self) -> Path:
        """The phase notebooks as the installed package generates them, in a private directory."""
        from .notebook import generate

        directory = Path(scratch.private_dir("notebooks"))
        generate.write(directory)
        return directory

    # -- the whole run --------------------------------------------------------------------------
    def execute(
        self, run_dir: str | Path, todo: list[str], params: LinkParams, *, rerun: frozenset[str] = frozenset()
    ) -> RunResult:
        """Run the phases of ``todo`` that are not ok yet (or are in ``rerun``), in order."""
        run_dir = Path(run_dir)
        with RunState.edit(run_dir) as state:
            state.endpoint, state.result = self.target.endpoint, "running"
            state.profiles_file = self.target.given_profiles
            others = [n for n in todo if not phases.get(n).acting(state.side)]
            todo = [n for n in todo if n not in others]  # never the other operator's phases
            for name in todo:
                state.add_phase(name)
        pending = [n for n in todo if state.phase(n).status != "ok" or n in rerun]
        ran: list[str] = []
        generated = self._generated() if self.notebooks_dir is None else None
        notebooks = generated or self.notebooks_dir
        assert notebooks is not None
        from .kernels import KernelPool

        pool = KernelPool(notebooks, endpoints=[self.target.endpoint] if self.target.endpoint else [])
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vpclink-html")
        if not HtmlRenderer.warmed():  # a fleet's link has one built already, in this process
            self._worker_from = pool
        # This thread relays every message between papermill and the kernel, and waits for the GIL at
        # each while the renderer holds it: up to the switch interval, 5 ms by default. Handing the
        # GIL over sooner costs the renderer little and saved a link 0.2-0.8 s in side-by-side runs.
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(RELAY_SWITCH_INTERVAL)
        try:
            for name in phases.ordered(todo + others):
                stem = phases.get(name).notebook
                if name in others:
                    self.log(
                        f"  {stem:<20} -- the other operator's phase (this run acts in the {state.side}'s account only)"
                    )
                    continue
                if name not in pending:
                    self.log(f"  {stem:<20} ok (from the records, not run again)")
                    continue
                ran.append(name)
                kernel = pool.take(more=len(ran) < len(pending))
                if self._run_phase(run_dir, notebooks, name, params, kernel) != "ok":
                    break
        except KeyboardInterrupt:
            with RunState.edit(run_dir) as state:
                running = next((p for p in state.phases if p.status == "running"), None)
                if running is not None:
                    running.status, running.error, running.ended = "failed", "interrupted (Ctrl-C)", utc_now()
                state.result = "failed"
            self._finish(run_dir, params)
            raise
        finally:
            self._renderer.shutdown(wait=True)  # before the pool: its fork server stops the render worker
            self._worker_from = None
            if self._worker is not None:
                self._worker.close()
                self._worker = None
            pool.close()
            sys.setswitchinterval(switch_interval)
            if generated is not None:
                scratch.release(str(generated))
        result = self._conclude(run_dir, params, todo)
        result.ran = ran
        return result

    def _conclude(self, run_dir: Path, params: LinkParams, todo: list[str]) -> RunResult:
        with RunState.edit(run_dir) as state:
            outcome = state.outcome(todo)
            state.result = outcome.result
        message = outcome.message
        if outcome.phase is not None and outcome.result in ("waiting", "failed"):
            notebook = phases.get(outcome.phase).notebook
            message += f"\n  record: {run_dir / notebook}.html"
            if outcome.result == "failed":
                message += "\n  " + self._next_step(run_dir, todo)
        hits = self._finish(run_dir, params)
        if hits:
            with RunState.edit(run_dir) as state:
                state.result = "failed"
            message = "secrets of the credentials were found in the records (delete them now):\n" + "\n".join(
                f"  {h.file}: {h.label}" for h in hits
            )
        state = RunState.load(run_dir)
        code = 0 if not hits and outcome.ok else 3 if state.result == "waiting" else 1
        return RunResult(run_dir, state, code, message, secret_hits=hits)

    @staticmethod
    def _next_step(run_dir: Path, todo: list[str]) -> str:
        """What to do after a failure, as a command that can work: a plan is made afresh (it changed
        nothing, so there is nothing to resume); a removal is run again; a run resumes."""
        state = RunState.load(run_dir)
        if state.dry_run:
            again = f"vpclink plan {shlex.quote(state.params_file)}"
            return f"nothing was changed; fix the cause above, then plan again: {again}"
        if any(phases.get(n).kind == "remove" for n in todo):
            return f"once the cause above is fixed, run it again: vpclink teardown {run_dir}"
        return f"resume: vpclink run --resume {run_dir}"

    def _finish(self, run_dir: Path, params: LinkParams) -> list[SecretHit]:
        """index.html as the run ends, then the secret scan over everything written."""
        for render in self._renders:
            error = render.exception()
            if error is not None:
                self.log(f"  (an HTML rendering failed: {type(error).__name__}: {error})")
        self._renders.clear()
        state = RunState.load(run_dir)
        write_index(run_dir, state, link_svg(params, state.shown_values()))
        return scan_for_secrets(run_dir, self.target.secrets)

    # -- one phase ------------------------------------------------------------------------------
    def _parameters(self, run_dir: Path, state: RunState, source: Path, name: str) -> dict[str, Any]:
        import papermill

        declared = set(papermill.inspect_notebook(str(source)))
        missing = [k for k in REQUIRED if k not in declared]
        if missing:
            raise RunError(f"{source.name}: its parameters cell does not define {', '.join(missing)}")
        card = state.peer_cards[-1]["file"] if state.peer_cards else ""
        if card:
            try:
                card = str(confined(run_dir, card))
            except RunStateError as e:
                raise RunError(str(e)) from None
        values: dict[str, Any] = {
            "params_file": str((run_dir / PARAMS_COPY).resolve()),
            "run_dir": str(run_dir.resolve()),
            "target": self.target.name,
            "endpoint": self.target.endpoint,
            "profiles_file": self.target.profiles_file,
            "apply": not state.dry_run,
            "run_id": state.run_id,
            "interactive": False,
            "side": side_text(state.side),
            "peer_card": str(Path(card).resolve()) if card else "",
            "capture_dir": str(Path(self.target.capture_dir).resolve()) if self.target.capture_dir else "",
        }
        inputs = {k: v for k, v in state.inputs_for(name).items() if k in declared and k not in values}
        return {**values, **inputs}

    @staticmethod
    def _archive_attempt(run_dir: Path, record: PhaseRecord) -> None:
        """Keep the record of an unfinished or failed try beside the new one."""
        executed = run_dir / record.notebook
        if not executed.exists() or record.status not in ("failed", "running", "waiting"):
            return
        n = len(record.attempts) + 1
        kept = run_dir / f"{executed.stem}.try{n}.ipynb"
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

    def _run_phase(self, run_dir: Path, notebooks: Path, name: str, params: LinkParams, kernel: Any) -> str:
        """Execute one phase's notebook and record what it did; its status."""
        import papermill
        from papermill.exceptions import PapermillExecutionError

        from .kernels import KERNEL

        source = notebooks / phases.get(name).notebook_file
        if not source.exists():
            raise RunError(f"{source}: the notebook of phase {name} is missing")
        stamp = software()
        with RunState.edit(run_dir) as state:
            record = state.phase(name)
            self._archive_attempt(run_dir, record)
            parameters = self._parameters(run_dir, state, source, name)
            record.status, record.started, record.ended, record.error = "running", utc_now(), None, None
            record.outputs, record.software, record.outcomes, record.traceback = {}, stamp, [], None
            record.inputs = {k: v for k, v in parameters.items() if k not in COMMON}
        try:
            out = confined(run_dir, record.notebook)
        except RunStateError as e:
            raise RunError(str(e)) from None
        began = time.perf_counter()
        status, error = "ok", None
        try:
            # no cwd: papermill would chdir this whole process; the kernel starts in the notebooks' directory
            papermill.execute_notebook(
                str(source),
                str(out.resolve()),
                parameters=parameters,
                kernel_name=KERNEL,
                engine_name=self._engine,
                kernel=kernel,
                software=stamp,
                progress_bar=False,
                log_output=self.verbose,
                execution_timeout=self.cell_timeout,
            )
        except PapermillExecutionError as e:
            status, error = ("waiting", e.evalue) if e.ename == WAITING else ("failed", f"{e.ename}: {e.evalue}")
        except Exception as e:  # a dead kernel, a timeout: the record says so, the run stops
            status, error = "failed", f"{type(e).__name__}: {e}"
        # What the notebook recorded, even if a later cell failed: a failed ping still has results.
        mimes = (OUTPUTS_MIME, IDENTITIES_MIME, PEER_MIME, STEPS_MIME, CARD_MIME, OUTCOMES_MIME, TRACEBACK_MIME)
        found = read_records(out, *mimes) if out.exists() else {}
        recorded = found.get(OUTPUTS_MIME)
        if not isinstance(recorded, dict) and status == "ok":
            status, error = "failed", f"{out.name} recorded no outputs"
        with RunState.edit(run_dir) as state:
            record = state.phase(name)
            record.status, record.error = status, error
            record.outputs = dict(recorded.get("outputs") or {}) if isinstance(recorded, dict) else {}
            identities = found.get(IDENTITIES_MIME) if status == "ok" else None
            if identities:
                state.identities.update(identities)
            record.peer = {k: v for k, v in (found.get(PEER_MIME) or {}).items() if k not in ("phase", "side")}
            record.steps = list((found.get(STEPS_MIME) or {}).get("steps") or [])
            record.card = {k: v for k, v in (found.get(CARD_MIME) or {}).items() if k != "card"}
            record.outcomes = list((found.get(OUTCOMES_MIME) or {}).get("outcomes") or [])
            record.traceback = (found.get(TRACEBACK_MIME) or {}).get("traceback") if status != "ok" else None
            record.ended, record.seconds = utc_now(), round(time.perf_counter() - began, 2)
        self._render(out)
        write_index(run_dir, state, link_svg(params, state.shown_values()))
        shown = {"ok": "ok", "waiting": "WAITING"}.get(status, "FAILED")
        why = (
            "  (for the other operator: see below)"
            if status == "waiting"
            else f"  {error.splitlines()[0] if error else ''}"
            if status != "ok"
            else ""
        )
        self.log(f"  {phases.get(name).notebook:<20} {shown:<6} {record.seconds:6.1f} s{why}")
        return status

    def _render(self, notebook: Path) -> None:
        if notebook.exists() and self._renderer is not None:
            # The render worker starts with the first page to render, not with the run: building its
            # exporter would take CPU from the first kernel's start, which the first phase waits for.
            pool, self._worker_from = self._worker_from, None
            if pool is not None:
                self._renderer.submit(self._start_worker, pool)
            self._renders.append(self._renderer.submit(self._render_now, notebook))

    def _start_worker(self, pool: KernelPool) -> None:
        self._worker = pool.render_worker()

    def _render_now(self, notebook: Path) -> None:
        if self._worker is not None:
            try:
                self._worker.render(notebook)
                return
            except ConnectionError:  # it has gone (killed?): this process renders from now on
                self._worker.close()
                self._worker = None
        if self._html is None:
            self._html = HtmlRenderer.take()
        self._html.render(notebook)
