"""``run.json`` kept from inside a phase notebook, when an analyst runs it rather than the runner.

``vpclink run`` runs each notebook with ``interactive = False`` and copies what the notebook recorded
into ``run.json`` itself. An analyst who executes a notebook cell by cell in JupyterLab with
``run_dir`` set gets the same record from the notebook: :class:`PhaseRecorder` creates the run (with
a copy of the parameters, so that ``vpclink run --resume RUN_DIR`` can continue it) and keeps the
phase's entry up to date as the cells run, through ``RunState.edit`` like every writer of the file.
The ledger needs nothing here: the cloud layer appends to ``ledger.jsonl`` whoever runs the notebook.

Only a phase that reads or changes the cloud is recorded: an offline plan, or a plan without
``apply``, leaves ``run.json`` as it was (a resume would otherwise take a plan for a phase done).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..params import load
from ..record.html import write_index
from ..record.ledger import utc_now as utc_now_ms
from ..record.picture import link_svg
from ..record.provenance import software
from ..record.run import PARAMS_COPY, RunState, RunStateError, utc_now
from ..sides import side_text
from .settings import Settings


class RecordError(ValueError):
    """The run directory belongs to another run than the notebook's parameters describe."""


class StepLog:
    """When each step of the phase ran (plan, apply, ...), in order, for the record."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = utc_now_ms()  # milliseconds: a step often takes less than a second
        try:
            yield
        finally:
            self.steps.append({"step": name, "started": started, "ended": utc_now_ms()})

    def add(self, name: str, started: str) -> None:
        self.steps.append({"step": name, "started": started, "ended": utc_now_ms()})


class PhaseRecorder:
    """One phase's entry in ``run.json``, kept up to date from the notebook."""

    def __init__(self, settings: Settings, run_dir: Path):
        self.run_dir = run_dir
        self.phase = settings.name
        self.params = settings.params
        copy = run_dir / PARAMS_COPY
        if copy.exists() and load(copy) != settings.params:
            raise RecordError(
                f"run_dir: {run_dir} holds a run of other parameters ({copy}); give another "
                f"run_dir, or params_file = {str(copy)!r}"
            )
        state = RunState.find(run_dir)
        if state is None:
            emulator = f"http://{settings.endpoint}" if settings.target == "emulator" and settings.endpoint else ""
            try:
                _, state = RunState.create(
                    run_dir.parent,
                    settings.params_file,
                    settings.params,
                    target=settings.target,
                    emulator=emulator,
                    endpoint=settings.endpoint,
                    side=settings.side,
                    run_id=settings.run_id,
                    run_dir=run_dir,
                )
            except RunStateError:  # another kernel created it a moment ago
                state = RunState.load(run_dir)
        problems = [
            f"{name}: this run has {have!r}, the notebook {want!r}"
            for name, have, want in (
                ("run_id", state.run_id, settings.run_id or state.run_id),
                ("side", side_text(state.side), side_text(settings.side)),
                ("target", state.target, settings.target),
            )
            if have != want
        ]
        if problems:
            raise RecordError(
                f"run_dir: {run_dir} is another run than these parameters describe ("
                + "; ".join(problems)
                + "); leave run_id empty to continue it, or give another run_dir"
            )
        self.run_id = state.run_id
        with RunState.edit(run_dir) as st:
            st.add_phase(self.phase)

    def update(
        self, *, identities: dict[str, Any] | None = None, peer_card: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        """Set fields of the phase's entry (``status``, ``outputs``, ``peer``, ...) and of the run."""
        try:
            with RunState.edit(self.run_dir) as state:
                record = state.add_phase(self.phase)
                for key, value in fields.items():
                    setattr(record, key, value)
                if identities:
                    state.identities.update(identities)
                if peer_card and all(c.get("sha256") != peer_card.get("sha256") for c in state.peer_cards):
                    state.peer_cards.append(peer_card)
                if "status" in fields:  # the run's result follows its latest phase, as the runner's does
                    state.result = state.outcome([self.phase]).result
        except RunStateError as e:
            raise RecordError(f"run_dir: {e}") from None

    def begin(self, inputs: dict[str, Any]) -> None:
        self.update(
            status="running",
            started=utc_now(),
            ended=None,
            seconds=None,
            error=None,
            inputs=dict(inputs),
            software=software(),
        )

    def finish(self, status: str, error: str | None = None) -> None:
        state = RunState.find(self.run_dir)
        started = state.phase(self.phase).started if state and state.has_phase(self.phase) else None
        seconds = None
        if started:
            began = datetime.fromisoformat(started.replace("Z", "+00:00"))
            seconds = round((datetime.now(timezone.utc) - began).total_seconds(), 2)
        self.update(status=status, ended=utc_now(), seconds=seconds, error=error)
        state = RunState.find(self.run_dir)
        if state is not None:
            write_index(self.run_dir, state, link_svg(self.params, state.shown_values()))
