"""``run.json``: what a run knows between phases, and the only code that writes it.

:class:`RunState` creates a run (its directory, a copy of the parameters, ``run.json``), computes the
run's result and each phase's inputs, and is the only writer of ``run.json``: the runner and the
recorder inside a notebook's kernel both change it through :meth:`RunState.edit`, which holds a file
lock, reads the file afresh, lets the caller change it and replaces it atomically. Two writers at the
same moment (a runner and an analyst's kernel, two kernels) are serialized and never lose an update,
and a run killed at any point leaves a readable file that a resume can continue from alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from .. import phases as registry
from ..params import LinkParams, Role
from ..sides import Acting, acting, parse_side
from .provenance import software

RUN_FILE = "run.json"
LOCK_FILE = ".run.json.lock"
PARAMS_COPY = "params.yaml"  # the parameter file as it was when the run started
LEDGER_FILE = "ledger.jsonl"

# "waiting": the phase needs the other operator's part first (two operators); resuming continues it.
STATUSES = ("pending", "running", "ok", "failed", "skipped", "waiting")
# Results of a run that count as success (exit code 0).
SUCCESSES = ("verified", "planned", "torn down", "ok")

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def params_dict(params: LinkParams) -> dict[str, Any]:
    """The parameters as plain JSON data, whichever model class holds them."""
    dump = getattr(params, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json"))
    return asdict(params)  # type: ignore[call-overload, no-any-return]


class RunStateError(ValueError):
    """A run directory that cannot be read or continued; the message says why."""


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
    software: dict[str, Any] = field(default_factory=dict)  # what ran this phase (provenance)


@dataclass(frozen=True)
class Outcome:
    """A run's result (``run.json``'s ``result``) and the sentence that explains it."""

    result: str
    message: str
    phase: str | None = None  # the phase the result is about (the one that failed or waits)

    @property
    def ok(self) -> bool:
        return self.result in SUCCESSES


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
    side: Acting = None  # None: one operator with both accounts; else the only side acted in
    peer_cards: list[dict[str, Any]] = field(default_factory=list)  # the other side's cards imported
    created: str = field(default_factory=utc_now)
    identities: dict[str, Any] = field(default_factory=dict)
    phases: list[PhaseRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    result: str = "running"  # "running" | "verified" | "ok" | "failed" | "not verified" | "waiting" | ...
    software: dict[str, Any] = field(default_factory=dict)  # what created the run (provenance)

    # -- creating and reading ---------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        records: str | Path,
        params_file: str | Path,
        params: LinkParams,
        *,
        target: str,
        emulator: str = "",
        endpoint: str = "",
        planned: Iterable[str] = registry.RUN,
        selected: Iterable[str] | None = None,
        dry_run: bool = False,
        side: Acting = None,
        run_id: str = "",
        run_dir: str | Path | None = None,
    ) -> tuple[Path, RunState]:
        """A new run: ``run_dir`` (default: a fresh ``<records>/<UTC time>-<link>/``) with a copy of the
        parameters and a ``run.json`` listing the ``planned`` phases; those not ``selected``, or not
        acted in by ``side`` (two operators), are marked skipped."""
        directory = Path(run_dir) if run_dir is not None else new_run_dir(records, params.link)
        directory.mkdir(parents=True, exist_ok=True)
        copy = directory / PARAMS_COPY
        if not copy.exists():
            shutil.copyfile(params_file, copy)
        chosen = set(planned if selected is None else selected)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        state = cls(
            run_id=run_id or f"{stamp}-{uuid.uuid4().hex[:8]}",
            link=params.link,
            params_file=str(params_file),
            params=params_dict(params),
            target=target,
            emulator=emulator,
            endpoint=endpoint,
            dry_run=dry_run,
            side=side,
            software=software(),
            phases=[
                PhaseRecord(
                    name,
                    registry.get(name).notebook_file,
                    "pending" if name in chosen and acting(registry.get(name).sides, side) else "skipped",
                )
                for name in planned
            ],
        )
        with _locked(directory):
            if (directory / RUN_FILE).exists():
                raise RunStateError(f"{directory}: already holds a run ({RUN_FILE})")
            state._save(directory)
        return directory, state

    @classmethod
    def load(cls, run_dir: str | Path) -> RunState:
        path = Path(run_dir) / RUN_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunStateError(f"{run_dir}: no {RUN_FILE}; is this a vpclink run directory?") from None
        except json.JSONDecodeError as e:
            raise RunStateError(f"{path}: not valid JSON ({e})") from None
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as e:
            raise RunStateError(f"{path}: not a vpclink run record ({e})") from None

    @classmethod
    def find(cls, run_dir: str | Path) -> RunState | None:
        """The run recorded in ``run_dir``, or None when there is none (yet)."""
        return cls.load(run_dir) if (Path(run_dir) / RUN_FILE).exists() else None

    @classmethod
    @contextmanager
    def edit(cls, run_dir: str | Path) -> Iterator[RunState]:
        """Change ``run.json``: under the run's file lock, read it afresh, yield it for changes, then
        write it whole (the merged outputs recomputed). An exception inside the block writes nothing."""
        directory = Path(run_dir)
        with _locked(directory):
            state = cls.load(directory)
            yield state
            state._save(directory)

    def _save(self, run_dir: Path) -> Path:
        """Write ``run.json`` so that a reader (or a resume after ``kill -9``) never sees half a file."""
        self.outputs = self.merged_outputs()
        target = run_dir / RUN_FILE
        fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".run.json.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, indent=2, sort_keys=False)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunState:
        data = dict(data)
        known_phase = set(PhaseRecord.__dataclass_fields__)
        records = [PhaseRecord(**{k: v for k, v in p.items() if k in known_phase}) for p in data.pop("phases", [])]
        data["side"] = parse_side(data.get("side"))  # older records spell one operator ""
        known = set(cls.__dataclass_fields__)
        return cls(phases=records, **{k: v for k, v in data.items() if k in known})

    # -- phases -------------------------------------------------------------------------------------
    def phase(self, name: str) -> PhaseRecord:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(f"phase {name!r} is not part of this run ({', '.join(p.name for p in self.phases)})")

    def has_phase(self, name: str) -> bool:
        return any(p.name == name for p in self.phases)

    def add_phase(self, name: str) -> PhaseRecord:
        """The record of phase ``name``, added (pending) when the run did not plan it."""
        if not self.has_phase(name):
            self.phases.append(PhaseRecord(name, registry.get(name).notebook_file))
        return self.phase(name)

    def phases_done(self) -> list[str]:
        """The phases this run completed (none for a dry run: a plan does nothing)."""
        return [] if self.dry_run else [p.name for p in self.phases if p.status == "ok"]

    # -- values -------------------------------------------------------------------------------------
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

    def inputs_for(self, name: str) -> dict[str, Any]:
        """The inputs phase ``name`` declares, as the run's earlier phases produced them."""
        wanted = set(registry.get(name).input_keys)
        earlier: dict[str, Any] = {}
        for p in self.phases:
            if p.status == "ok" and p.name != name:
                earlier.update(p.outputs)
        return {k: v for k, v in earlier.items() if k in wanted and v not in ("", None, [], ())}

    def account_uids(self) -> dict[Role, str]:
        """Each side's account UID as an earlier phase's STS answer or output established it."""
        outputs = self.merged_outputs()
        uids: dict[Role, str] = {}
        for role in ("initiator", "acceptor"):
            uid = (self.identities.get(role) or {}).get("AccountId") or outputs.get(f"{role}_account_uid")
            if uid:
                uids[role] = str(uid)  # type: ignore[index]
        return uids

    # -- the result ---------------------------------------------------------------------------------
    def outcome(self, todo: Iterable[str] | None = None) -> Outcome:
        """The run's result after the phases of ``todo`` (default: all of the run's): a phase that
        waits or failed decides it; else a dry run is "planned"; else the last phase of ``todo`` that
        concludes a run (its declaration says how: "verified", "torn down", ...); else "ok"."""
        names = [p.name for p in self.phases] if todo is None else list(todo)
        records = [self.phase(n) for n in registry.ordered(names) if self.has_phase(n)]
        verbs = {"waiting": "waits for the other operator", "failed": "failed", "running": "is still running"}
        for status, verb in verbs.items():
            stuck = next((p for p in records if p.status == status), None)
            if stuck is not None:
                return Outcome(status, f"{stuck.name} {verb}" + (f": {stuck.error}" if stuck.error else ""), stuck.name)
        if self.dry_run:
            return Outcome("planned", "dry run: nothing was changed")
        done = [p for p in records if p.status == "ok"]
        outputs = self.merged_outputs()
        for p in reversed(done):
            decl = registry.get(p.name)
            if decl.concludes is not None:
                result, message = decl.concludes(outputs)
                return Outcome(result, message, p.name)
        last = done[-1].name if done else None
        concluding = [n for n in registry.RUN if registry.get(n).concludes is not None]
        rest = f"; the {concluding[-1]} phase did not run" if concluding else ""
        return Outcome("ok", f"phases up to {last} done{rest}" if last else "nothing was run")


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


@contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    with FileLock(str(run_dir / LOCK_FILE)):
        yield
