"""``run.json``: what a run knows between phases, and the only code that writes it.

:class:`RunState` creates a run (its directory, a copy of the parameters, ``run.json``), computes the
run's result and each phase's inputs, and is the only writer of ``run.json``: the runner and the
recorder inside a notebook's kernel both change it through :meth:`RunState.edit`, which holds a file
lock, reads the file afresh, lets the caller change it and replaces it atomically. Two writers at the
same moment (a runner and an analyst's kernel, two kernels) are serialized and never lose an update,
and a run killed at any point leaves a readable file that a resume can continue from alone.

A run directory is untrusted input (it may come from elsewhere, or have been edited): ``run.json`` is
read within size and depth limits (``safe_files``), every field is type-checked, and every path it
names is confined to the run directory (:func:`confined`): a phase's notebook is the name its phase
declares, an earlier try is ``NN_phase.tryN.ipynb``, a peer card is under ``peer-cards/``. Anything else
is a ``RunStateError`` (exit 2 in the CLI), before anything is written.

Files of a run are written ``0600`` and its directory ``0700``: the records name accounts, VPCs, IPs
and the calls made in them, which are this user's to share, not every local user's to read.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock
from pydantic import TypeAdapter, ValidationError

from .. import phases as registry
from .. import safe_files
from ..fields import field_path
from ..params import LinkParams, Role
from ..sides import Acting, acting, key_owner, parse_side
from . import changes
from .provenance import software

RUN_FILE = "run.json"
LOCK_FILE = ".run.json.lock"
PARAMS_COPY = "params.yaml"  # the parameter file as it was when the run started
LEDGER_FILE = "ledger.jsonl"

# "waiting": the phase needs the other operator's part first (two operators); resuming continues it.
STATUSES = ("pending", "running", "ok", "failed", "skipped", "waiting")
# Results of a run that count as success (exit code 0).
SUCCESSES = ("verified", "verified one way", "planned", "torn down", "ok")

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
FILE_MODE, DIR_MODE = 0o600, 0o700
MAX_RUN_FILE = 16 << 20  # a run.json is tens of KB; ping outputs and attempts add a few KB each
MAX_RUN_DEPTH = 24
CARDS_DIR = "peer-cards"
_CARD_FILE = re.compile(rf"{CARDS_DIR}/[A-Za-z0-9][A-Za-z0-9._-]*")


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
    # What each step of its apply did: {side, action, target, outcome, resource_id, detail} (``changes``).
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    traceback: str | None = None  # the full traceback behind a failure's short message


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
    # The credential profiles file the user named (--profiles FILE): its absolute path, never its content;
    # "" when vpclink wrote the emulator's profiles itself, or the CLI's own ~/.aliyun/config.json was read.
    profiles_file: str = ""
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
        profiles_file: str = "",
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
        directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        copy = directory / PARAMS_COPY
        if not copy.exists():
            write_file(copy, safe_files.read_bytes(params_file, what="parameter file"))
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
            profiles_file=profiles_file,
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
        """The run recorded in ``run_dir``, read as untrusted input; ``RunStateError`` saying what is
        wrong (and that this is not a run vpclink can continue) otherwise."""
        path = Path(run_dir) / RUN_FILE
        if not os.path.lexists(path):
            raise RunStateError(f"{run_dir}: no {RUN_FILE}; is this a vpclink run directory?")
        if path.is_symlink():
            raise RunStateError(f"{path} is a symbolic link: a run's {RUN_FILE} is a file of its own directory")
        try:
            data = safe_files.read_json(path, max_bytes=MAX_RUN_FILE, max_depth=MAX_RUN_DEPTH, what="run record")
        except safe_files.UnsafeFile as e:
            raise RunStateError(f"{e}; this is not a run record vpclink can continue") from None
        try:
            state = cls.from_dict(data)
        except RunStateError as e:
            raise RunStateError(f"{path}: not a vpclink run record: {e}") from None
        state._check_files(Path(run_dir))
        return state

    def _check_files(self, run_dir: Path) -> None:
        """The files the run writes or reads are its own: none is a link (out of the directory) or a
        special file (a FIFO would hang the reader)."""
        names = [PARAMS_COPY, LEDGER_FILE, LOCK_FILE, "index.html", CARDS_DIR]
        for p in self.phases:
            names += [p.notebook, str(Path(p.notebook).with_suffix(".html"))]
            names += [a["notebook"] for a in p.attempts if a.get("notebook")]
            names += [str(Path(a["notebook"]).with_suffix(".html")) for a in p.attempts if a.get("notebook")]
        names += [c["file"] for c in self.peer_cards]
        for name in names:
            path = run_dir / name
            if not os.path.lexists(path):
                continue
            if path.is_symlink():
                raise RunStateError(f"{path} is a symbolic link; the files of a run are its own: remove it")
            if name != CARDS_DIR and not path.is_file():
                raise RunStateError(f"{path} is not a regular file; the files of a run are its own: remove it")

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
        return write_file(run_dir / RUN_FILE, indented_json(self), sync=True)  # about 17 writes a run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> RunState:
        """A run from ``run.json``'s content: every field type-checked and every path confined
        (``RunStateError`` naming the field otherwise)."""
        if not isinstance(data, dict):
            raise RunStateError("its content must be a JSON object")
        data = dict(data)
        phases = data.pop("phases", [])
        if not isinstance(phases, list) or not all(isinstance(p, dict) for p in phases):
            raise RunStateError("phases: must be a list of objects")
        known_phase = set(PhaseRecord.__dataclass_fields__)
        try:
            data["side"] = parse_side(data.get("side"))  # older records spell one operator ""
        except ValueError as e:
            raise RunStateError(str(e)) from None
        known = set(cls.__dataclass_fields__)
        raw = {k: v for k, v in data.items() if k in known}
        raw["phases"] = [{k: v for k, v in p.items() if k in known_phase} for p in phases]
        try:
            state = _RUN_STATE.validate_python(raw)
        except ValidationError as e:
            problems = [f"{field_path(err['loc'])}: {err['msg']}" for err in e.errors(include_input=False)[:5]]
            raise RunStateError("; ".join(problems)) from None
        state._check_paths()
        return state

    def _check_paths(self) -> None:
        """Every file name the record holds is one of this run's own (see the module's docstring)."""
        for i, p in enumerate(self.phases):
            try:
                declared = registry.get(p.name).notebook_file
            except KeyError as e:
                raise RunStateError(f"phases[{i}].name: {e.args[0]}") from None
            if p.status not in STATUSES:
                raise RunStateError(f"phases[{i}].status: must be one of {', '.join(STATUSES)}")
            if p.notebook != declared:
                raise RunStateError(
                    f"phases[{i}].notebook: {p.notebook!r}; the {p.name} phase's notebook is {declared}"
                )
            tries = re.compile(rf"{re.escape(Path(declared).stem)}\.try[0-9]{{1,4}}\.ipynb")
            for j, attempt in enumerate(p.attempts):
                name = attempt.get("notebook")
                if name is not None and not (isinstance(name, str) and tries.fullmatch(name)):
                    raise RunStateError(
                        f"phases[{i}].attempts[{j}].notebook: not a file of this run (expected {tries.pattern})"
                    )
        for i, card in enumerate(self.peer_cards):
            name = card.get("file")
            if not isinstance(name, str) or not _CARD_FILE.fullmatch(name) or ".." in name.split("/"):
                raise RunStateError(f"peer_cards[{i}].file: not a file of this run (expected {CARDS_DIR}/NAME)")
            for key in ("sha256", "source"):
                if not isinstance(card.get(key, ""), str):
                    raise RunStateError(f"peer_cards[{i}].{key}: must be a string")

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
        side's values as its peer card or the form gave them, with what its checks found."""
        values: dict[str, Any] = {}
        for p in self.phases:
            values.update((p.peer or {}).get("values") or {})
        if self.side is not None:
            theirs, _ = self.peer_checks()
            values.update({k: v for k, v in theirs.items() if key_owner(k) not in (None, self.side)})
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

    # -- what changed ------------------------------------------------------------------------------
    def step_outcomes(self) -> list[dict[str, Any]]:
        """What every step of every phase did, in run order (``changes``)."""
        return [dict(o, phase=p.name) for p in self.phases for o in p.outcomes]

    def changes_summary(self) -> str:
        """ "created 8 resources in 2 accounts", "changed nothing", ... for the whole run."""
        if self.dry_run:
            return "changed nothing (a plan)"
        return changes.summary(self.step_outcomes(), {str(k): v for k, v in self.account_uids().items()})

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
                if self.side is not None and decl.kind == "check":
                    return self._one_side(decl, outputs, result, message)
                return Outcome(result, message, p.name)
        last = done[-1].name if done else None
        concluding = [n for n in registry.RUN if registry.get(n).concludes is not None]
        rest = f"; the {concluding[-1]} phase did not run" if concluding else ""
        return Outcome("ok", f"phases up to {last} done{rest}" if last else "nothing was run")

    def peer_checks(self) -> tuple[dict[str, Any], str | None]:
        """What the other side's checks found, as its latest card says (``checks``), and that card's
        file; ({}, None) when no card carries any."""
        cards = [(c.get("checks"), c.get("file")) for c in self.peer_cards]
        cards += [
            ((p.peer.get("card") or {}).get("checks"), (p.peer.get("card") or {}).get("file")) for p in self.phases
        ]
        found = [(checks, name) for checks, name in cards if isinstance(checks, dict) and checks]
        return (dict(found[-1][0]), str(found[-1][1] or "pasted")) if found else ({}, None)

    def _one_side(self, decl: Any, outputs: Mapping[str, Any], result: str, message: str) -> Outcome:
        """Two operators: a check proves this side's part only (one direction); the other side's part
        is theirs, shown from their card once it carries their result. Never "the link verifies"
        after one side's check."""
        side = self.side
        assert side is not None
        peer = "acceptor" if side == "initiator" else "initiator"
        own = {k: v for k, v in outputs.items() if k in decl.output_keys and key_owner(k) == side}
        here = (decl.report(own) if decl.report else None) or ", ".join(f"{k}: {v}" for k, v in own.items())
        if not Outcome(result, message).ok:
            return Outcome(result, f"{here} (this side, {side}): {message}", decl.name)
        theirs, card = self.peer_checks()
        if not theirs:
            return Outcome(
                f"{result} one way",
                f"{here} (this side, {side}); the {peer}'s direction is the {peer}'s to verify "
                f"(their {decl.notebook}; import their newer peer card to show it here)",
                decl.name,
            )
        their_result, their_message = decl.concludes(theirs)
        there = (decl.report(theirs) if decl.report else None) or their_message
        if not Outcome(their_result, their_message).ok:
            return Outcome(
                their_result, f"{here} (this side); {there} (the {peer}'s, from their card {card})", decl.name
            )
        return Outcome(result, f"{here} (this side); {there} (the {peer}'s, from their card {card})", decl.name)


def new_run_dir(records: str | Path, link: str, now: datetime | None = None) -> Path:
    """A fresh ``<records>/<YYYYmmddTHHMMSSZ>-<link>/``; a second run in the same second gets ``-2``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    base = Path(records) / f"{stamp}-{_SAFE.sub('-', link)}"
    base.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = base, 2
    while True:
        try:
            candidate.mkdir(mode=DIR_MODE)
            return candidate
        except FileExistsError:
            candidate, n = base.with_name(f"{base.name}-{n}"), n + 1


_RUN_STATE: TypeAdapter[RunState] = TypeAdapter(RunState)


def confined(run_dir: str | Path, name: str) -> Path:
    """``run_dir / name`` for a file name a record holds: relative, without ``..``, not a link, and
    inside the run directory once resolved; ``RunStateError`` otherwise."""
    relative = Path(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise RunStateError(f"{name!r}: not a file of the run directory {run_dir}")
    path = Path(run_dir) / relative
    if path.is_symlink():
        raise RunStateError(f"{path} is a symbolic link; a run's records are files of its own directory")
    root = Path(run_dir).resolve()
    if not path.resolve().is_relative_to(root):
        raise RunStateError(f"{name!r}: not a file of the run directory {run_dir}")
    return path


def write_file(path: Path, data: bytes, *, sync: bool = False) -> Path:
    """Write a record file atomically (a reader never sees half of it), mode 0600, replacing the name
    itself (a symbolic link planted there is replaced, never followed)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    lock = run_dir / LOCK_FILE
    if lock.is_symlink() or (lock.exists() and not lock.is_file()):
        raise RunStateError(f"{lock} is not a lock file of this run (a link or a special file): remove it")
    with FileLock(str(lock), mode=FILE_MODE):
        yield


def indented_json(value: Any) -> bytes:
    """A record's JSON as people read it: indented, keys in their order (a dataclass's in field order),
    with a final newline. orjson writes it (the records are rewritten as a run goes: about 1 ms a write
    with json, which deep-copies dataclasses and indents in pure Python, against 0.02 ms); json only a
    value orjson refuses (an integer past 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # orjson.JSONEncodeError is one
        plain = asdict(value) if is_dataclass(value) and not isinstance(value, type) else value
        return (json.dumps(plain, indent=2) + "\n").encode("utf-8")
