"""``run.json`` kept by a phase notebook itself, when an analyst runs it rather than the runner.

``vpclink run`` keeps ``run.json``: it runs each notebook with ``interactive = False`` and copies what
the notebook recorded (outputs, the peer's values, the time of each step, the card it exported) into
its own entry for the phase. An analyst who executes a notebook cell by cell in JupyterLab with
``run_dir`` set gets the same material from the notebook: :class:`PhaseRecorder` creates the run
directory and its ``run.json`` (with a copy of the parameters as ``params.yaml``, so that
``vpclink run --resume RUN_DIR`` can continue the run) and updates the phase's entry as the cells run.
The ledger needs nothing here: the cloud layer appends to ``ledger.jsonl`` whoever runs the notebook.

Only a phase that reads or changes the cloud is recorded: an offline plan, or a plan without
``apply``, leaves ``run.json`` as it was (a resume would otherwise take a plan for a phase done).
Each update re-reads ``run.json`` and replaces it atomically; two kernels writing the same run at
the same moment are not supported.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import phases
from .params import LinkParams, load
from .state import PARAMS_COPY, RUN_FILE, PhaseRecord, RunState, save, utc_now
from .state import load as load_state


class RecordError(ValueError):
    """The run directory belongs to another run than the notebook's parameters describe."""


def _notebook(phase: str) -> str:
    return f"{phases.NOTEBOOKS[phase]}.ipynb"


def existing(run_dir: Path) -> RunState | None:
    """The run recorded in ``run_dir``, or None when there is none (yet)."""
    return load_state(run_dir) if (run_dir / RUN_FILE).exists() else None


class PhaseRecorder:
    """One phase's entry in ``run.json``, kept up to date from the notebook."""

    def __init__(
        self,
        run_dir: Path,
        phase: str,
        *,
        params_file: str,
        params: LinkParams,
        target: str,
        endpoint: str,
        side: str,
        run_id: str,
    ):
        self.run_dir = run_dir
        self.phase = phase
        self.params = params
        run_dir.mkdir(parents=True, exist_ok=True)
        copy = run_dir / PARAMS_COPY
        if not copy.exists():
            shutil.copyfile(params_file, copy)
        elif load(copy) != params:
            raise RecordError(
                f"run_dir: {run_dir} holds a run of other parameters ({copy}); give another "
                f"run_dir, or params_file = {str(copy)!r}"
            )
        state = existing(run_dir)
        if state is None:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            state = RunState(
                run_id=run_id or f"{stamp}-{uuid.uuid4().hex[:8]}",
                link=params.link,
                params_file=str(params_file),
                params=dataclasses.asdict(params),
                target=target,
                emulator=f"http://{endpoint}" if target == "emulator" and endpoint else "",
                endpoint=endpoint,
                side=side,
                phases=[
                    PhaseRecord(
                        name, _notebook(name), "skipped" if side and side not in phases.get(name).SIDES else "pending"
                    )
                    for name in phases.PHASES
                ],
            )
        problems = [
            f"{name}: this run has {have!r}, the notebook {want!r}"
            for name, have, want in (
                ("run_id", state.run_id, run_id or state.run_id),
                ("side", state.side, side),
                ("target", state.target, target),
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
        if not state.has_phase(phase):
            state.phases.append(PhaseRecord(phase, _notebook(phase)))
        self._save(state)

    def _save(self, state: RunState) -> None:
        state.outputs = state.merged_outputs()
        save(self.run_dir, state)

    def update(
        self, *, identities: dict[str, Any] | None = None, peer_card: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        """Set fields of the phase's entry (``status``, ``outputs``, ``peer``, ...) and of the run."""
        state = existing(self.run_dir)
        if state is None:  # removed under our feet: start it again rather than lose the phase
            raise RecordError(f"run_dir: {self.run_dir / RUN_FILE} has disappeared")
        record = state.phase(self.phase)
        for key, value in fields.items():
            setattr(record, key, value)
        if identities:
            state.identities.update(identities)
        if peer_card and all(c.get("sha256") != peer_card.get("sha256") for c in state.peer_cards):
            state.peer_cards.append(peer_card)
        if "status" in fields:  # the run's result follows its latest phase, as the runner's does
            state.result = _result(self.phase, fields["status"], state.phase(self.phase).outputs)
        self._save(state)

    def begin(self, inputs: dict[str, Any]) -> None:
        self.update(status="running", started=utc_now(), ended=None, seconds=None, error=None, inputs=dict(inputs))

    def finish(self, status: str, error: str | None = None) -> None:
        state = existing(self.run_dir)
        started = state.phase(self.phase).started if state else None
        seconds = None
        if started:
            began = datetime.fromisoformat(started.replace("Z", "+00:00"))
            seconds = round((datetime.now(timezone.utc) - began).total_seconds(), 2)
        self.update(status=status, ended=utc_now(), seconds=seconds, error=error)
        self._index()

    def _index(self) -> None:
        from .picture import link_svg
        from .records import write_index

        state = existing(self.run_dir)
        if state is not None:
            write_index(self.run_dir, state, link_svg(self.params, state.shown_values()))


def _result(phase: str, status: str, outputs: dict[str, Any]) -> str:
    if status in ("running", "waiting", "failed"):
        return status
    if phase == "verify":
        return "verified" if outputs.get("verified") is True else "not verified"
    if phase == "teardown":
        return "torn down" if outputs.get("teardown_complete") else "failed"
    return "ok"
