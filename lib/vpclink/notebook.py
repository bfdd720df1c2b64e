"""What the phase notebooks' cells call, so that each cell is one or two readable lines.

A notebook reads its ``parameters`` cell into a :class:`Phase` and then shows, in order: the values
it takes from the other account (:meth:`Phase.ask_peer`, :meth:`Phase.use_peer`), the plan (a table
of intended calls), the apply (the outputs it produced), the resulting state, the outputs (as a
table for readers and as JSON under a custom mimetype for the runner), the peer card for the other
operator (:meth:`Phase.export_card`) and the ledger of its API calls. With the default parameters
(``target = ""``) nothing calls an API: the plan comes from the parameters alone. With a target but
``apply = False`` only reads are made.

**Two operators** (``side = "initiator"`` or ``"acceptor"``): the notebook acts only in that side's
account, with only that side's credentials, and takes the other side's values from its peer card
(``peer_card``) or, in JupyterLab, from a form. Under a batch runner (``interactive = False``) no
form appears: a value the other operator has not sent yet stops the notebook with
``WaitingForPeer``, which names each parameter, says what the other operator must do next and how
to resume. A form never blocks: "Run All" stops at the cell after it until the form is confirmed.

**Records**: every executed notebook holds its records as display outputs (``state``'s mimetypes).
``vpclink run`` (``interactive = False``) copies them into ``run.json``; a notebook an analyst runs
with ``run_dir`` set keeps its own entry in ``run.json`` up to date (``runrecord``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import offline, peercard, peerexchange, phases
from . import params as params_module
from .cloud import Cloud
from .ledger import (  # utc_now in milliseconds: a step often takes less than a second
    Ledger,
    utc_now,
)
from .params import ROLES, Role
from .peervalues import Local, needed, peer_of
from .phases import lookup
from .phases.base import (
    PhaseContext,
    Step,
    WaitingForPeer,
    rows_frame,
    side_outputs,
    steps_frame,
)
from .picture import link_svg
from .runrecord import PhaseRecorder, RecordError, existing
from .state import (
    CARD_MIME,
    COMMON_PARAMETERS,
    IDENTITIES_MIME,
    LEDGER_FILE,
    OUTPUTS_MIME,
    PEER_MIME,
    PLAN_MIME,
    STEPS_MIME,
    VERIFY_MIME,
    RunState,
    RunStateError,
)
from .waits import Progress

TARGETS = ("", "emulator", "alibabacloud")
SIDES = ("", *ROLES)
# Phases whose apply only reads (discovery): they run whenever a target is given, so that a plan
# of later phases (a dry run) can use what they found.
READ_ONLY_PHASES = frozenset({"preflight"})
COMMON = COMMON_PARAMETERS

if TYPE_CHECKING:  # widgets imports ipywidgets: only when a phase asks for the peer's values
    from .widgets import PeerForm


class NotebookParameterError(ValueError):
    """A notebook parameter with a value the notebook cannot use; the message names it."""


class PhaseFailed(RuntimeError):
    """The phase ran but did not reach its goal (e.g. the link does not verify)."""


def _display(*objs: Any, raw: bool = False) -> None:
    from IPython.display import display

    display(*objs, raw=raw)


def _markdown(text: str) -> None:
    from IPython.display import Markdown

    _display(Markdown(text))


def _record(mime: str, value: Any, summary: str) -> None:
    """A machine-readable record in the notebook: JSON under ``mime`` plus a plain-text fallback."""
    _display({mime: value, "text/plain": summary}, raw=True)


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value).replace("|", "\\|")


def _log_to_stdout() -> None:
    """Wait progress lines go to the cell's output, where the record keeps them."""
    logger = logging.getLogger("vpclink")
    if not any(getattr(h, "_vpclink", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        handler._vpclink = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _present(value: Any) -> bool:
    return value not in ("", None, [], ())


class Phase:
    """One phase as a notebook runs it. Build it with :meth:`start`."""

    def __init__(
        self,
        name: str,
        *,
        params_file: str,
        run_dir: str = "",
        target: str = "",
        endpoint: str = "",
        profiles_file: str = "",
        apply: bool = False,
        run_id: str = "",
        interactive: bool | None = None,
        side: str = "",
        peer_card: str = "",
        inputs: Mapping[str, Any] | None = None,
    ):
        if target not in TARGETS:
            raise NotebookParameterError(
                f'target = {target!r}: expected "" (offline plan), "emulator" or "alibabacloud"'
            )
        if target == "emulator" and not endpoint:
            raise NotebookParameterError('endpoint: the emulator\'s host:port is required with target = "emulator"')
        if interactive not in (None, True, False):
            raise NotebookParameterError(
                f"interactive = {interactive!r}: expected None (forms in JupyterLab), True or False (batch: no form)"
            )
        if side not in SIDES:
            raise NotebookParameterError(
                f'side = {side!r}: expected "" (one operator holds both accounts\' profiles), "initiator" or "acceptor"'
            )
        if peer_card and not side:
            raise NotebookParameterError(
                "peer_card: a peer card is for two operators; set side to this "
                'operator\'s side ("initiator" or "acceptor") too'
            )
        self.name = name
        self.module = phases.get(name)
        self.params = params_module.load(params_file)
        self.run_dir = Path(run_dir) if run_dir else None
        self.target = target
        self.interactive = interactive
        self.side: Role | None = side or None  # type: ignore[assignment]
        self.peer: Role | None = peer_of(self.side) if self.side else None
        # The sides this notebook acts in: the phase's, or only this operator's.
        self.acting: tuple[Role, ...] = tuple(r for r in self.module.SIDES if self.side in (None, r))
        self.applying = bool(apply) and bool(target) and bool(self.acting)
        self.reads = bool(target) and bool(self.acting) and (self.applying or name in READ_ONLY_PHASES)
        self.run = self._recorded_run()
        self.inputs = self._inputs(inputs or {})
        self.outputs_: dict[str, Any] = {}
        self.applied = False
        self.steps: list[dict[str, Any]] = []
        self.peer_record: dict[str, Any] = {}
        self.card_export: dict[str, Any] = {}

        self.recorder: PhaseRecorder | None = None
        if self.run_dir and interactive is not False and self.reads:  # batch runners keep run.json themselves
            try:
                self.recorder = PhaseRecorder(
                    self.run_dir,
                    name,
                    params_file=params_file,
                    params=self.params,
                    target=target,
                    endpoint=endpoint,
                    side=side,
                    run_id=run_id,
                )
            except RecordError as e:
                raise NotebookParameterError(str(e)) from None
            run_id = self.recorder.run_id
        run_id = run_id or (self.run.run_id if self.run else "") or f"notebook-{self.params.link}"

        self.local = Local()
        self.card: peercard.PeerCard | None = None
        self.card_file: str | None = None
        self.card_sha256: str | None = None
        if self.side:
            own = self.params.side(self.side)
            self.local = Local(
                account_uid=self._account_uids().get(self.side) or own.account_uid, vpc_cidr=own.vpc_cidr
            )
        if peer_card:
            self._read_card(peer_card)

        self.cloud: Cloud | None = None
        if target and self.acting:
            ledger = Ledger(self.run_dir / LEDGER_FILE if self.run_dir else None)
            self.cloud = Cloud(
                self.params,
                endpoint=endpoint or None,
                profiles_file=profiles_file or None,
                ledger=ledger,
                phase=name,
                sides=self.acting,
                account_uids=self._account_uids(),
            )
        batch = interactive is False
        if batch and target:
            _log_to_stdout()
        self.ctx = PhaseContext(
            self.params,
            self.cloud,
            dict(self.inputs),  # type: ignore[arg-type]
            run_id,
            name,
            Progress("log" if batch else "auto"),
            side=self.side,
            peer_progress=self.card.phases_done if self.card else None,
        )
        if self.recorder:
            self.recorder.begin(self.inputs)

    @classmethod
    def start(cls, name: str, namespace: Mapping[str, Any]) -> Phase:
        """The phase configured by the names of the ``parameters`` cell (pass ``globals()``)."""
        module = phases.get(name)
        missing = [k for k in COMMON if k not in namespace]
        if missing:
            raise NotebookParameterError(f"the parameters cell must define {', '.join(missing)}")
        phase = cls(name, **{k: namespace[k] for k in COMMON}, inputs={k: namespace.get(k, "") for k in module.INPUTS})
        phase.show_setting()
        return phase

    # -- what the run already knows ---------------------------------------------------------
    def _recorded_run(self) -> RunState | None:
        if self.run_dir is None:
            return None
        try:
            run = existing(self.run_dir)
        except RunStateError:
            return None
        if run is not None and run.link != self.params.link:
            raise NotebookParameterError(
                f"run_dir: {self.run_dir} records link {run.link!r}, but the parameter "
                f"file is for link {self.params.link!r}; give another run_dir"
            )
        return run

    def _inputs(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters given, and for the rest the outputs this run recorded (an analyst who
        continues a run in JupyterLab needs not copy them; the runner passes the same values)."""
        inputs = {k: v for k, v in given.items() if _present(v)}
        recorded = self.run.merged_outputs() if self.run else {}
        for key in self.module.INPUTS:
            if key not in inputs and _present(recorded.get(key)):
                inputs[key] = recorded[key]
        return inputs

    def _account_uids(self) -> dict[str, str]:
        """Each side's account UID as established by preflight (STS): so that every ledger line
        names its account without asking STS again in every phase."""
        uids: dict[str, str] = {}
        for role in ROLES:
            recorded = (self.run.identities.get(role) or {}).get("AccountId") if self.run else None
            outputs = self.run.merged_outputs().get(f"{role}_account_uid") if self.run else None
            uid = recorded or outputs or self.inputs.get(f"{role}_account_uid")
            if uid:
                uids[role] = str(uid)
        return uids

    def _read_card(self, path: str) -> None:
        try:
            self.card = peercard.read(path, expect_role=self.peer, expect_link=self.params.link, local=self.local)
        except FileNotFoundError:
            raise NotebookParameterError(
                f"peer_card: {path} does not exist; give the path of the {self.peer}'s .peercard.json file"
            ) from None
        try:  # as the run's records name it (a copy in the run directory), else its file name
            self.card_file = (
                str(Path(path).resolve().relative_to(self.run_dir.resolve())) if self.run_dir else Path(path).name
            )
        except ValueError:
            self.card_file = Path(path).name
        self.card_sha256 = peercard.file_digest(path)

    @contextmanager
    def _step(self, step: str) -> Iterator[None]:
        started = utc_now()
        try:
            yield
        finally:
            self.steps.append({"step": step, "started": started, "ended": utc_now()})

    @contextmanager
    def _recorded(self) -> Iterator[None]:
        """A failure or a wait for the other operator ends the phase's entry in run.json too."""
        try:
            yield
        except WaitingForPeer as e:
            waiting = self._waiting(str(e), needs_card=False)
            if self.recorder:
                self.recorder.update(steps=list(self.steps))
                self.recorder.finish("waiting", str(waiting))
            raise waiting from None
        except Exception as e:
            if self.recorder:
                self.recorder.update(steps=list(self.steps))
                self.recorder.finish("failed", f"{type(e).__name__}: {e}")
            raise

    def _waiting(self, text: str, *, needs_card: bool) -> WaitingForPeer:
        hint = peerexchange.resume_hint(self.run_dir, needs_card=needs_card, own_card=self._own_card_path())
        return WaitingForPeer(f"{text.rstrip('.')}.\n{hint}")

    def _own_card_path(self) -> Path | None:
        """Where this side's card is written (two operators with records)."""
        if self.run_dir is None or self.side is None:
            return None
        return self.run_dir / peercard.file_name(self.params.link, self.side)

    # -- cells --------------------------------------------------------------------------------
    def show_setting(self) -> None:
        mode = (
            "**offline plan** (no API call: set `target` to plan against the cloud)"
            if not self.target
            else "**apply**: changes are made"
            if self.applying
            else "**plan only** (`apply = False`): nothing is changed"
        )
        rows = [
            f"| link | `{self.params.link}` |",
            f"| phase | {self.name} |",
            f"| mode | {mode} |",
            f"| target | {self.target or '(none)'} |",
        ]
        if self.side:
            rows.append(
                f"| operator | **{self.side} side only** (two operators: the {self.peer}'s account is someone else's) |"
            )
        for role in self.module.SIDES:
            s = self.params.side(role)
            acts = "" if role in self.acting else " (the other operator's: not acted in here)"
            rows.append(f"| {role} | profile `{s.profile}`, {s.region}, {s.vpc_id} ({s.vpc_cidr}){acts} |")
        if self.card:
            rows.append(f"| peer card | `{self.card_file}` ({self.card.describe()}) |")
        for key, value in self.inputs.items():
            rows.append(f"| input `{key}` | `{_cell(value)}` |")
        _markdown("| setting | value |\n|---|---|\n" + "\n".join(rows))

    def ask_peer(self) -> PeerForm | None:
        """The other side's values this phase needs (two operators only; None otherwise): settled from
        the parameters and the peer card, else a form in JupyterLab. Under a batch runner a value
        not received yet stops the notebook (``WaitingForPeer``), naming each parameter."""
        if self.side is None or not self.acting:
            return None
        from . import widgets

        sg_mode = self.params.security_groups.mode
        known = peerexchange.known_values(self.params, self.side, self.inputs)
        if not self.target or not needed(self.name, sg_mode=sg_mode):
            return widgets.settled(self.name, self.side, known, sg_mode=sg_mode, card=self.card)
        try:
            return widgets.ask(
                self.name,
                self.side,
                known,
                interactive=self.interactive,
                local=self.local,
                link=self.params.link,
                sg_mode=sg_mode,
                card=self.card,
            )
        except widgets.PeerValuesMissing as e:
            if any(not err.message.startswith("required") for err in e.errors):
                raise  # a bad value is an error, not something to wait for
            fields = peerexchange.missing_fields(e.errors, self.peer)  # type: ignore[arg-type]
            own = self._own_card_path()
            text = (
                peerexchange.missing_message(self.name, self.side, e.errors)
                + "\nNext, "
                + peerexchange.next_for_peer(self.peer, fields, own.name if own else None)
            )  # type: ignore[arg-type]
            waiting = self._waiting(text, needs_card=True)
            if self.recorder:
                self.recorder.finish("waiting", str(waiting))
            raise waiting from None

    def use_peer(self, peer: PeerForm | None) -> None:
        """Take the confirmed values: print them (plain text, for every record), check them against the
        parameter file, pass them to the phase, and record them with their source, time and card."""
        if peer is None:
            if self.side is None:
                _markdown(
                    "One operator holds both accounts' profiles: the phase reads what it needs from "
                    "both accounts itself."
                )
            else:
                _markdown(f"This phase acts in the {self.peer}'s account only: its operator runs it.")
            return
        values = peer.result()  # while a form is not confirmed: an error naming each parameter
        with self._recorded():
            peerexchange.check_against_params(
                self.params,
                self.side,
                values.values,  # type: ignore[arg-type]
                f"{values.source} {values.card or ''}".strip(),
            )
            if self.card is not None:
                peerexchange.check_against_params(
                    self.params,
                    self.side,
                    self.card.values(),  # type: ignore[arg-type]
                    f"peer card {self.card_file}",
                )
        self.inputs.update(values.inputs())
        self.ctx.inputs.update(values.inputs())
        print(values.text() if values.values else f"No value is needed from the {values.role} for this phase.")
        self.steps.append({"step": "peer values", "started": values.confirmed_at, "ended": utc_now()})
        self.peer_record = peerexchange.peer_record(values, self.card, self.card_file, self.card_sha256)
        _record(
            PEER_MIME,
            dict(self.peer_record, phase=self.name, side=self.side),
            f"{values.role}'s values from the {values.source}",
        )
        if self.recorder:
            card = self.peer_record.get("card") if self.card else None
            self.recorder.update(
                peer=self.peer_record,
                inputs=dict(self.inputs),
                peer_card={k: card[k] for k in ("file", "sha256", "describes")} if card else None,
            )

    def plan(self) -> Any:
        """The steps apply would take, as a table (read-only)."""
        if not self.acting:
            _markdown(f"Nothing to plan on the {self.side} side: the {self.peer}'s operator runs this phase.")
            return steps_frame([])
        with self._recorded(), self._step("plan"):
            if self.cloud is None:
                steps: list[Step] = [s for s in offline.plan(self.name, self.params) if s.side in self.acting]
                _markdown(f"*{offline.NOTE}*")
            else:
                steps = self.module.plan(self.ctx)
        _record(
            PLAN_MIME,
            {"phase": self.name, "offline": self.cloud is None, "steps": [asdict(s) for s in steps]},
            f"{len(steps)} planned steps",
        )
        return steps_frame(steps)

    def apply(self) -> None:
        """Make the changes (only with a target and ``apply = True``) and show the outputs."""
        if not self.reads:
            why = (
                f"the {self.peer}'s operator runs this phase"
                if not self.acting
                else "no target: this was an offline plan"
                if not self.target
                else "apply = False: this was a plan only"
            )
            _markdown(f"Nothing applied ({why}).")
            return
        with self._recorded(), self._step("apply"):
            if self.applying:
                outputs = self.module.apply(self.ctx)
            else:
                with self.cloud.read_only():  # type: ignore[union-attr]
                    outputs = self.module.apply(self.ctx)
            expected = side_outputs(self.module.OUTPUTS, self.side)
            missing = [k for k in expected if k not in outputs]
            if missing:
                raise PhaseFailed(f"the {self.name} phase returned no {', '.join(missing)}")
        self.outputs_ = {k: outputs[k] for k in expected}
        self.applied = True
        _markdown("Applied. Outputs:\n\n" + self._table(self.outputs_))

    def verify(self) -> Any:
        """The resulting state, as a table (read-only)."""
        if not self.applied:
            _markdown("Nothing to verify: nothing was applied.")
            return None
        with self._recorded(), self._step("verify"):
            rows = self.module.verify(self.ctx)
        _record(VERIFY_MIME, {"phase": self.name, "rows": rows}, f"{len(rows)} rows")
        return rows_frame(rows)

    def outputs(self) -> None:
        """Record the outputs: a table for readers, JSON for the runner and later phases."""
        _markdown(f"### Outputs of {self.name}\n\n" + (self._table(self.outputs_) if self.outputs_ else "(none)"))
        _record(
            OUTPUTS_MIME,
            {"phase": self.name, "applied": self.applied, "outputs": self.outputs_},
            ", ".join(f"{k}={v}" for k, v in self.outputs_.items()) or "no outputs",
        )
        identities = None
        if self.applied and self.name == "preflight" and self.cloud is not None:
            identities = {role: self.cloud.identity(role) for role in self.acting}
            _record(
                IDENTITIES_MIME,
                identities,
                "identities: " + ", ".join(f"{r}={i.get('AccountId')}" for r, i in identities.items()),
            )
        self._record_steps()
        if self.recorder:
            self.recorder.update(outputs=dict(self.outputs_), steps=list(self.steps), identities=identities)

    def export_card(self) -> Path | None:
        """Two operators: write this side's peer card (what the other operator needs) into the run
        directory and print it; the other side imports the file or pastes the text into its form."""
        if self.side is None:
            _markdown("One operator holds both accounts: there is no peer card to send.")
            return None
        if self.name == "teardown":
            _markdown("Nothing to send after a teardown: the other operator tears down their own side.")
            return None
        known: dict[str, Any] = dict(self.run.merged_outputs()) if self.run else {}
        known.update({k: v for k, v in self.inputs.items() if k.startswith(f"{self.side}_")})
        known.update(self.outputs_)
        done = self._phases_done()
        with self._step("peer card"):
            self._read_own(known)
            try:
                card = peercard.from_outputs(self.params, self.side, known, phases_done=done)
            except peercard.PeerCardError as e:
                if self.run_dir is None:
                    _markdown(f"No peer card yet: {e}")
                    return None
                raise
            path = peercard.write(card, self.run_dir) if self.run_dir else None
        where = f"written to {path}" if path else "(no run_dir: copy the text below)"
        print(f"Peer card of the {self.side} side for the {self.peer}'s operator, {where}:\n{card.to_json()}")
        self.card_export = {
            "file": path.name if path else None,
            "sha256": peercard.file_digest(path) if path else None,
            "describes": card.describe(),
            "phases_done": list(card.phases_done),
        }
        _record(CARD_MIME, dict(self.card_export, card=asdict(card)), f"peer card {card.describe()}")
        self._record_steps()
        if self.recorder:
            self.recorder.update(card=self.card_export, steps=list(self.steps))
        return path

    def ledger(self) -> Any:
        """This notebook's API calls (one row per call and retry), as a table."""
        import pandas as pd

        from .ledger import FIELDS

        rows = self.cloud.ledger.entries if self.cloud is not None else []
        if not rows:
            _markdown("No API call was made.")
        return pd.DataFrame(rows, columns=list(FIELDS))

    def picture(self) -> None:
        """The link as a picture: both VPCs, the router interfaces, routes, rules and ping results."""
        from IPython.display import SVG

        known = dict(self.run.observed_outputs()) if self.run else {}
        known.update(self.inputs)
        known.update(self.outputs_)
        _display(SVG(link_svg(self.params, known)))

    def check(self) -> None:
        """Fail the notebook (and the run) when the phase did not reach its goal."""
        with self._recorded():
            if self.applying and self.outputs_.get("verified") is False:
                raise PhaseFailed(
                    "the link does not verify: "
                    + ", ".join(
                        f"ping {k.removeprefix('ping_').replace('_to_', ' -> ')} {v}"
                        for k, v in self.outputs_.items()
                        if k.startswith("ping_") and not k.endswith("_output")
                    )
                )
            if self.applying and self.outputs_.get("teardown_complete") is False:
                raise PhaseFailed("teardown did not remove everything; see the verify table above")
        _markdown(f"**{self.name}: done.**" if self.applied else f"**{self.name}: planned.**")
        self._record_steps()
        if self.recorder:
            self.recorder.update(steps=list(self.steps))
            self.recorder.finish("ok")

    # -- helpers ------------------------------------------------------------------------------
    def _read_own(self, known: dict[str, Any]) -> None:
        """This side's values for its card that no phase of the run has output yet (a notebook run on
        its own, without preflight), read from the cloud: reads only, and only what is missing."""
        if self.cloud is None or self.side not in self.acting:
            return
        side: Role = self.side  # type: ignore[assignment]
        readers = {
            "account_uid": lambda: self.cloud.account_uid(side),  # type: ignore[union-attr]
            "vrouter_id": lambda: lookup.vrouter_id(self.ctx, side),
            "instance_ip": lambda: lookup.instance_ip(self.ctx, side),
        }
        with self.cloud.read_only():
            for name, read in readers.items():
                if not _present(known.get(f"{side}_{name}")):
                    known[f"{side}_{name}"] = read()

    def _record_steps(self) -> None:
        _record(STEPS_MIME, {"phase": self.name, "steps": self.steps}, f"{len(self.steps)} steps timed")

    def _phases_done(self) -> list[str]:
        """The phases this side has completed, for its card: the run's, and this one once applied."""
        done = [] if not self.run or self.run.dry_run else [p.name for p in self.run.phases if p.status == "ok"]
        if self.applied and (self.applying or self.name in READ_ONLY_PHASES):
            done.append(self.name)
        return done

    @staticmethod
    def _table(values: Mapping[str, Any]) -> str:
        """A markdown table of the one-line values, then each multi-line value as a text block."""
        short = {k: v for k, v in values.items() if not (isinstance(v, str) and "\n" in v)}
        long = {k: v for k, v in values.items() if k not in short}
        text = "| output | value |\n|---|---|\n" + "\n".join(f"| `{k}` | `{_cell(v)}` |" for k, v in short.items())
        for k, v in long.items():
            text += f"\n\n`{k}`:\n\n```text\n{v.strip()}\n```"
        return text
