"""What a run knows between phases: ``run.json`` and the outputs each phase records in its notebook.

``run.json`` is written only by the runner, atomically after every phase, so a run killed at any
point leaves a readable file and can resume from it alone. A phase notebook records its outputs as a
display output with a custom mimetype (readable back with plain nbformat, no kernel), which the
runner copies into ``run.json`` and passes to later phases as papermill parameters.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import nbformat

RUN_FILE = "run.json"
PARAMS_COPY = "params.yaml"  # the parameter file as it was when the run started
LEDGER_FILE = "ledger.jsonl"

# Machine-readable records inside executed notebooks (display outputs with these mimetypes).
OUTPUTS_MIME = "application/vnd.vpclink.outputs+json"
PLAN_MIME = "application/vnd.vpclink.plan+json"
IDENTITIES_MIME = "application/vnd.vpclink.identities+json"
VERIFY_MIME = "application/vnd.vpclink.verify+json"
PEER_MIME = "application/vnd.vpclink.peer+json"  # the peer's values a phase used, their source and card
STEPS_MIME = "application/vnd.vpclink.steps+json"  # when each step of the phase ran
CARD_MIME = "application/vnd.vpclink.card+json"  # the peer card the phase exported (two operators)

# "waiting": the phase needs the other operator's part first (two operators); resuming continues it.
STATUSES = ("pending", "running", "ok", "failed", "skipped", "waiting")

# The parameters every phase notebook declares (then the phase's INPUTS); the runner sets them all.
COMMON_PARAMETERS = (
    "params_file",
    "run_dir",
    "target",
    "endpoint",
    "profiles_file",
    "apply",
    "run_id",
    "interactive",
    "side",
    "peer_card",
)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class PhaseRecord:
    name: str
    notebook: str  # file name of the executed notebook in the run directory
    status: str = "pending"
    started: str | None = None
    ended: str | None = None
    seconds: float | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)  # earlier, unfinished or failed tries
    peer: dict[str, Any] = field(default_factory=dict)  # the other side's values used, source, card
    steps: list[dict[str, Any]] = field(default_factory=list)  # {step, started, ended} in order
    card: dict[str, Any] = field(default_factory=dict)  # this side's peer card as exported after it


@dataclass
class RunState:
    run_id: str
    link: str
    params_file: str  # the file the run was started with
    params: dict[str, Any]  # as loaded (parameters never hold secrets)
    target: str  # "emulator" | "alibabacloud"
    emulator: str = ""  # "embedded", or the URL of an emulator that was already running
    endpoint: str = ""  # host:port the notebooks used last
    dry_run: bool = False
    side: str = ""  # "" one operator with both accounts; else the only side acted in
    peer_cards: list[dict[str, Any]] = field(default_factory=list)  # the other side's cards imported
    created: str = field(default_factory=utc_now)
    identities: dict[str, Any] = field(default_factory=dict)
    phases: list[PhaseRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    result: str = "running"  # "running" | "verified" | "ok" | "failed" | "not verified" | "waiting"

    def phase(self, name: str) -> PhaseRecord:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(f"phase {name!r} is not part of this run ({', '.join(p.name for p in self.phases)})")

    def has_phase(self, name: str) -> bool:
        return any(p.name == name for p in self.phases)

    def merged_outputs(self) -> dict[str, Any]:
        """Outputs of every phase that finished, later phases winning."""
        merged: dict[str, Any] = {}
        for p in self.phases:
            if p.status == "ok":
                merged.update(p.outputs)
        return merged

    def observed_outputs(self) -> dict[str, Any]:
        """Everything the phases recorded, failed ones included (e.g. the ping results of a link
        that does not verify): for showing, never for passing on."""
        merged: dict[str, Any] = {}
        for p in self.phases:
            merged.update(p.outputs)
        return merged

    def shown_values(self) -> dict[str, Any]:
        """What the picture of the link shows: the phases' outputs, and (two operators) the other
        side's values as its peer card or the form gave them."""
        values: dict[str, Any] = {}
        for p in self.phases:
            values.update((p.peer or {}).get("values") or {})
        values.update(self.observed_outputs())
        return values

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        data = dict(data)
        known_phase = set(PhaseRecord.__dataclass_fields__)
        phases = [PhaseRecord(**{k: v for k, v in p.items() if k in known_phase}) for p in data.pop("phases", [])]
        known = {f for f in cls.__dataclass_fields__}
        return cls(phases=phases, **{k: v for k, v in data.items() if k in known})


def save(run_dir: str | Path, state: RunState) -> Path:
    """Write ``run.json`` so that a reader (or a resume after ``kill -9``) never sees half a file."""
    run_dir = Path(run_dir)
    target = run_dir / RUN_FILE
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".run.json.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state.to_dict(), f, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


class RunStateError(ValueError):
    """A run directory that cannot be resumed; the message says why."""


def load(run_dir: str | Path) -> RunState:
    path = Path(run_dir) / RUN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunStateError(f"{run_dir}: no {RUN_FILE}; is this a vpclink run directory?") from None
    except json.JSONDecodeError as e:
        raise RunStateError(f"{path}: not valid JSON ({e})") from None
    try:
        return RunState.from_dict(data)
    except TypeError as e:
        raise RunStateError(f"{path}: not a vpclink run record ({e})") from None


def read_record(notebook: str | Path | nbformat.NotebookNode, mime: str) -> Any | None:
    """The last value a notebook displayed with ``mime``, or None. Works on any saved notebook."""
    return read_records(notebook, mime).get(mime)


def read_records(notebook: str | Path | nbformat.NotebookNode, *mimes: str) -> dict[str, Any]:
    """The last value a notebook displayed with each of ``mimes`` (absent ones left out)."""
    import nbformat  # imported here: kernels load this module, and nbformat costs them ~1 s

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data") or {}
            for mime in mimes:
                if mime in data:
                    value = data[mime]
                    found[mime] = json.loads(value) if isinstance(value, str) else value
    return found
