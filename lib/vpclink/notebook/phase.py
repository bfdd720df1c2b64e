"""What the cells of a phase notebook call, so that each cell is one or two readable lines.

A notebook reads its ``parameters`` cell (:func:`start`) and then shows, in order: the values it takes
from the other account (:meth:`PhaseNotebook.ask_peer`, :meth:`PhaseNotebook.use_peer`), the plan (a
table of intended calls), the apply (the outputs it produced), the resulting state, the outputs (as a
table for readers and as JSON under a custom mimetype for the runner), the peer card for the other
operator and the ledger of its API calls. With the default parameters (``target = ""``) nothing calls
an API: the plan comes from the phase's declaration and the parameters alone. With a target but
``apply = False`` only reads are made.

The jobs are apart: ``settings`` (the parameters cell), ``peer`` (the two-operator exchange),
``recorder`` (``run.json`` when an analyst runs the notebook), ``display`` (what the cells show);
this class only runs the phase's declaration in that order.
"""

from __future__ import annotations

import functools
import os
import shlex
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..capture import CaptureWriter
from ..cloud import Cloud
from ..phases import lookup
from ..phases.base import PhaseContext, Step, WaitingForPeer, backend_name, rows_frame, steps_frame
from ..record import changes
from ..record.ledger import FIELDS, Ledger
from ..record.notebook_records import (
    CARD_MIME,
    IDENTITIES_MIME,
    OUTCOMES_MIME,
    OUTPUTS_MIME,
    PEER_MIME,
    PLAN_MIME,
    SOFTWARE_MIME,
    STEPS_MIME,
    VERIFY_MIME,
)
from ..record.picture import link_svg
from ..record.provenance import describe, software
from ..record.run import LEDGER_FILE, RunState, RunStateError
from ..targets import profile_secrets
from ..waits import Progress
from .display import cell, full_table, log_to_stdout, markdown, record, show, values_table
from .messages import explain
from .peer import PeerExchange
from .recorder import PhaseRecorder, RecordError, StepLog
from .settings import RUNNER_ENV, NotebookParameterError, Settings

if TYPE_CHECKING:
    from ..peer.form import PeerForm
    from ..peer.values import PeerValues

# JupyterLab names the notebook a kernel runs for in this variable (papermill does not set it).
SESSION_ENV = "JPY_SESSION_NAME"

OFFLINE_NOTE = (
    "Offline plan from the parameters only: nothing was read from the cloud, so steps already done still show."
)


class PhaseFailed(RuntimeError):
    """The phase ran but did not reach its goal (e.g. the link does not verify)."""


def _present(value: Any) -> bool:
    return value not in ("", None, [], ())


def start(name: str, namespace: Mapping[str, Any]) -> PhaseNotebook:
    """The phase configured by the names of the ``parameters`` cell (pass ``globals()``).

    Run again in the same kernel (the cells re-run from the top), it keeps the peer values confirmed
    in the earlier run's form, so a confirmed form is not emptied."""
    notebook = _notebook_name(name)
    try:
        settings, inputs = Settings.from_namespace(name, namespace)
        _refuse_applying_a_template(settings, notebook)
        earlier = namespace.get("phase")
        confirmed = earlier.confirmed_peer if isinstance(earlier, PhaseNotebook) else None
        phase = PhaseNotebook(settings, inputs, confirmed_peer=confirmed)
        phase.show_setting()
    except Exception as e:
        explain(e, notebook)
        raise
    return phase


def _notebook_name(name: str) -> str:
    try:
        from .. import phases

        return phases.get(name).notebook
    except KeyError:
        return name


def _refuse_applying_a_template(settings: Settings, notebook: str) -> None:
    """``apply = True`` in a phase's template (``NN_phase.ipynb`` outside a run directory), which
    JupyterLab would autosave with the change for the next analyst and ``vpclink run``: refused, naming
    the command that makes a working copy. A copy under another name, or in a run directory, is not a
    template."""
    session = os.environ.get(SESSION_ENV)
    if not (settings.apply and settings.target and session):
        return
    path = Path(session)
    if path.name != settings.phase.notebook_file:
        return  # a copy of the analyst's own
    if settings.run_dir is not None and path.resolve().parent == settings.run_dir.resolve():
        return  # the working copy of this run
    if (path.parent / "run.json").exists():
        return  # a run's working copy (run_dir points elsewhere: the recorder says so)
    raise NotebookParameterError(
        f"apply = True in {path.name}, which is not a run's working copy: JupyterLab saves the change into "
        f"this file. Make a working copy instead: vpclink notebook {shlex.quote(settings.params_file)} {settings.name}"
    )


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _cell(method: _Method) -> _Method:
    """A cell's method: a vpclink error it raises shows as one or two lines (``messages.explain``),
    its full traceback kept in the record."""

    @functools.wraps(method)
    def run(self: PhaseNotebook, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as e:
            explain(e, self.phase.notebook, self.settings.side, keep=self._keep_traceback)
            raise

    return run  # type: ignore[return-value]


class PhaseNotebook:
    """One phase as its notebook runs it. Build it with :func:`start` (or from :class:`Settings`)."""

    def __init__(
        self,
        settings: Settings,
        inputs: Mapping[str, Any] | None = None,
        *,
        confirmed_peer: PeerValues | None = None,
    ):
        self.settings = s = settings
        self.phase = s.phase
        self.params = s.params
        self.run = self._recorded_run()
        self.inputs = self._inputs(inputs or {})
        self.outputs_: dict[str, Any] = {}
        self.applied = False
        self.log = StepLog()
        self.peer_record: dict[str, Any] = {}
        self.card_export: dict[str, Any] = {}
        self.peer_form: PeerForm | None = None
        self._confirmed_before = confirmed_peer

        self.recorder: PhaseRecorder | None = None
        run_id = s.run_id
        # vpclink's runner keeps run.json for the notebooks it runs; any other way (JupyterLab, papermill
        # on its own) the notebook keeps it
        if s.run_dir and s.reads and (s.interactive is not False or not os.environ.get(RUNNER_ENV)):
            try:
                self.recorder = PhaseRecorder(s, s.run_dir)
            except RecordError as e:
                raise NotebookParameterError(str(e)) from None
            run_id = self.recorder.run_id
        run_id = run_id or (self.run.run_id if self.run else "") or f"notebook-{self.params.link}"

        uids = self._account_uids()
        known = {**(self.run.merged_outputs() if self.run else {}), **self.inputs}
        self.peer = PeerExchange(
            s, uids.get(s.side) if s.side else None, known, self.run.params_file if self.run else None
        )
        self.cloud: Cloud | None = None
        if s.target and s.acting:
            self.cloud = Cloud(
                self.params,
                endpoint=s.endpoint or None,
                profiles_file=s.profiles_file or None,
                ledger=Ledger(s.run_dir / LEDGER_FILE if s.run_dir else None),
                phase=s.name,
                sides=s.acting,
                account_uids=uids,
                capture=self._capture(run_id),
            )
        if s.batch and s.target:
            log_to_stdout()
        self.ctx = PhaseContext(
            self.params,
            self.cloud,  # type: ignore[arg-type]  # None only offline, where no step runs
            dict(self.inputs),
            run_id,
            s.name,
            Progress("log" if s.batch else "auto"),
            side=s.side,
            peer_progress=self.peer.peer_progress,
        )
        if self.recorder:
            self.recorder.begin(self.inputs)

    # -- what the run already knows ---------------------------------------------------------------
    def _recorded_run(self) -> RunState | None:
        run_dir = self.settings.run_dir
        if run_dir is None:
            return None
        try:
            run = RunState.find(run_dir)
        except RunStateError:
            return None
        if run is not None and run.link != self.params.link:
            raise NotebookParameterError(
                f"run_dir: {run_dir} records link {run.link!r}, but the parameter "
                f"file is for link {self.params.link!r}; give another run_dir"
            )
        return run

    def _inputs(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters given, and for the rest the outputs this run recorded (an analyst who
        continues a run in JupyterLab needs not copy them; the runner passes the same values)."""
        inputs = {k: v for k, v in given.items() if _present(v)}
        recorded = self.run.inputs_for(self.phase.name) if self.run else {}
        return {**recorded, **inputs}

    def _capture(self, run_id: str) -> CaptureWriter | None:
        """The run's capture (``capture_dir``): one file per run, which every phase continues; a line
        holding a key of the profiles this notebook uses is refused, never written."""
        s = self.settings
        if not s.capture_dir:
            return None
        names = sorted({self.params.side(r).profile for r in s.acting})
        secrets = tuple(x.value for x in profile_secrets(s.profiles_file or None, names))
        return CaptureWriter(s.capture_dir, run_id, secrets=secrets)

    def _account_uids(self) -> dict[str, str]:
        """Each side's account UID as established by an earlier phase (STS): so that every ledger line
        names its account without asking STS again in every phase."""
        uids: dict[str, str] = {str(k): v for k, v in self.run.account_uids().items()} if self.run else {}
        for role in ("initiator", "acceptor"):
            given = self.inputs.get(f"{role}_account_uid")
            if role not in uids and given:
                uids[role] = str(given)
        return uids

    @contextmanager
    def _recorded(self) -> Iterator[None]:
        """A failure or a wait for the other operator ends the phase's entry in run.json too."""
        try:
            yield
        except WaitingForPeer as e:
            waiting = self.peer.waiting(str(e), needs_card=False)
            self._finish("waiting", str(waiting))
            raise waiting from None
        except Exception as e:
            self._finish("failed", f"{type(e).__name__}: {e}")
            raise

    def _finish(self, status: str, error: str | None = None) -> None:
        if self.recorder:
            self.recorder.update(steps=list(self.log.steps))
            self.recorder.finish(status, error)

    def _keep_traceback(self, text: str) -> None:
        if self.recorder:
            self.recorder.update(traceback=text)

    def _record_steps(self) -> None:
        record(STEPS_MIME, {"phase": self.phase.name, "steps": self.log.steps})

    @property
    def confirmed_peer(self) -> PeerValues | None:
        """The peer values this notebook's form confirmed (kept when its cells run again)."""
        if self.peer_form is not None and self.peer_form.confirmed is not None:
            return self.peer_form.confirmed
        return self._confirmed_before

    # -- cells ------------------------------------------------------------------------------------
    def show_setting(self) -> None:
        s = self.settings
        mode = (
            "**offline plan** (no API call: set `target` to plan against the cloud)"
            if not s.target
            else "**apply**: changes are made"
            if s.applying
            else "**plan only** (`apply = False`): nothing is changed"
        )
        stamp = software()
        rows = [
            f"| link | `{self.params.link}` |",
            f"| phase | {self.phase.name} |",
            f"| backend | {backend_name(self.params)} ({self.params.capacity}) |",
            f"| mode | {mode} |",
            f"| target | {s.target or '(none)'} |",
            f"| software | {cell(describe(stamp))} |",
        ]
        if s.side:
            rows.append(
                f"| operator | **{s.side} side only** (two operators: the {s.peer}'s account is someone else's) |"
            )
        for role in self.phase.sides:
            side = self.params.side(role)
            acts = "" if role in s.acting else " (the other operator's: not acted in here)"
            rows.append(f"| {role} | profile `{side.profile}`, {side.region}, {side.vpc_id} ({side.vpc_cidr}){acts} |")
        if self.peer.card:
            rows.append(f"| peer card | `{self.peer.card_file}` ({self.peer.card.describe()}) |")
        for key, value in self.inputs.items():
            rows.append(f"| input `{key}` | `{cell(value)}` |")
        markdown("| setting | value |\n|---|---|\n" + "\n".join(rows))
        record(SOFTWARE_MIME, stamp)
        steps = self.phase.backend(self.params)
        if steps is not next(iter(self.phase.steps.values())):
            # The opening describes the first backend (the tutorial's); say what this link's does.
            after = " " if steps.console.startswith("(") else ": "
            markdown(
                f"**This link's backend is `{backend_name(self.params)}`**, so this phase does it that way "
                f"(not as the opening above describes).\n\n**In the console**{after}{steps.console}\n\n"
                f"**In API terms**: {steps.api}"
            )

    @_cell
    def ask_peer(self) -> PeerForm | None:
        """The other side's values this phase needs (two operators only; None otherwise): settled from
        the parameters and the peer card, else a form in JupyterLab. Under a batch runner a value
        not received yet stops the notebook (``WaitingForPeer``), naming each parameter."""
        try:
            self.peer_form = self.peer.ask(self.inputs, self._confirmed_before)
        except WaitingForPeer as e:
            self._finish("waiting", str(e))
            raise
        return self.peer_form

    @_cell
    def use_peer(self, peer: PeerForm | None) -> None:
        """Take the confirmed values: print them (plain text, for every record), check them against the
        parameter file, pass them to the phase, and record them with their source, time and card."""
        s = self.settings
        if peer is None:
            if s.side is None:
                markdown(
                    "One operator holds both accounts' profiles: the phase reads what it needs from "
                    "both accounts itself."
                )
            else:
                markdown(f"This phase acts in the {s.peer}'s account only: its operator runs it.")
            return
        values = peer.result()  # while a form is not confirmed: an error naming each parameter
        with self._recorded():
            self.peer.check(values)
        self.inputs.update(values.inputs())
        self.ctx.inputs.update(values.inputs())
        print(values.text() if values.values else f"No value is needed from the {values.role} for this phase.")
        self.log.add("peer values", values.confirmed_at)
        self.peer_record = self.peer.record(values)
        record(PEER_MIME, dict(self.peer_record, phase=self.phase.name, side=s.side))
        if self.recorder:
            card = self.peer_record.get("card") if self.peer.card else None
            self.recorder.update(
                peer=self.peer_record,
                inputs=dict(self.inputs),
                peer_card={k: card[k] for k in ("file", "sha256", "describes")} if card else None,
            )

    @_cell
    def plan(self) -> Any:
        """The steps apply would take, as a table (read-only; every value shown whole)."""
        s = self.settings
        if not s.acting:
            markdown(f"Nothing to plan on the {s.side} side: the {s.peer}'s operator runs this phase.")
            return full_table(steps_frame([]))
        with self._recorded(), self.log.step("plan"):
            if self.cloud is None:
                steps: list[Step] = [step for step in self.phase.offline(self.params) if step.side in s.acting]
                markdown(f"*{OFFLINE_NOTE}*")
            else:
                steps = self.phase.plan(self.ctx)
        record(
            PLAN_MIME,
            {"phase": self.phase.name, "offline": self.cloud is None, "steps": [asdict(step) for step in steps]},
        )
        return full_table(steps_frame(steps))

    @_cell
    def apply(self) -> None:
        """Make the changes (only with a target and ``apply = True``), then show what each step did
        (created, already there, ...) with the resource IDs, and the outputs."""
        s = self.settings
        if not s.reads or self.cloud is None:
            why = (
                f"the {s.peer}'s operator runs this phase"
                if not s.acting
                else "no target: this was an offline plan"
                if not s.target
                else "apply = False: this was a plan only"
            )
            markdown(f"Nothing applied ({why}).")
            return
        try:
            with self._recorded(), self.log.step("apply"):
                if s.applying:
                    outputs = self.phase.apply(self.ctx)
                else:
                    with self.cloud.read_only():
                        outputs = self.phase.apply(self.ctx)
                expected = self.phase.outputs_for(s.side)
                missing = [k for k in expected if k not in outputs]
                if missing:
                    raise PhaseFailed(f"the {self.phase.name} phase returned no {', '.join(missing)}")
        finally:  # what the steps did, also when a later step failed
            self._record_outcomes()
        self.outputs_ = {k: outputs[k] for k in expected}
        self.applied = True
        markdown("Applied. Outputs:\n\n" + values_table(self.outputs_))

    def _record_outcomes(self) -> None:
        outcomes = [o.as_dict() for o in getattr(self.ctx, "outcomes", [])]
        if not outcomes:
            return
        uids = self._account_uids()
        line = changes.summary(outcomes, uids)
        record(OUTCOMES_MIME, {"phase": self.phase.name, "summary": line, "outcomes": outcomes})
        markdown(f"**What this phase did: {line}.**")
        show(full_table(changes.frame(outcomes)))
        if self.recorder:
            self.recorder.update(outcomes=outcomes)

    @_cell
    def verify(self) -> Any:
        """The resulting state, as a table (read-only)."""
        if not self.applied:
            markdown("Nothing to verify: nothing was applied.")
            return None
        with self._recorded(), self.log.step("verify"):
            rows = self.phase.verify(self.ctx)
        record(VERIFY_MIME, {"phase": self.phase.name, "rows": rows})
        return full_table(rows_frame(rows))

    @_cell
    def outputs(self) -> None:
        """Record the outputs: a table for readers, JSON for the runner and later phases."""
        name = self.phase.name
        markdown(f"### Outputs of {name}\n\n" + (values_table(self.outputs_) if self.outputs_ else "(none)"))
        record(OUTPUTS_MIME, {"phase": name, "applied": self.applied, "outputs": self.outputs_})
        identities: dict[str, Any] | None = None
        if self.applied and self.phase.kind == "discover" and self.cloud is not None:
            identities = {role: self.cloud.identity(role) for role in self.settings.acting}
            record(IDENTITIES_MIME, identities)
        self._record_steps()
        if self.recorder:
            self.recorder.update(outputs=dict(self.outputs_), steps=list(self.log.steps), identities=identities)

    @_cell
    def export_card(self) -> Any:
        """Two operators: write this side's peer card (what the other operator needs) into the run
        directory and print it; the other side imports the file or pastes the text into its form."""
        from ..peer import card as peercard

        s = self.settings
        if s.side is None:
            markdown("One operator holds both accounts: there is no peer card to send.")
            return None
        if self.phase.kind == "remove":
            markdown("Nothing to send after this phase: the other operator looks after their own side.")
            return None
        known: dict[str, Any] = dict(self.run.merged_outputs()) if self.run else {}
        known.update({k: v for k, v in self.inputs.items() if k.startswith(f"{s.side}_")})
        known.update(self.outputs_)
        with self.log.step("peer card"):
            self._read_own(known)
            try:
                card, path = self.peer.export(known, self._phases_done())
            except peercard.PeerCardError as e:
                if s.run_dir is None:
                    markdown(f"No peer card yet: {e}")
                    return None
                raise
        where = f"written to {path}" if path else "(no run_dir: copy the text below)"
        print(f"Peer card of the {s.side} side for the {s.peer}'s operator, {where}:\n{card.to_json()}")
        self.card_export = {
            "file": path.name if path else None,
            "sha256": peercard.file_digest(path) if path else None,
            "describes": card.describe(),
            "phases_done": list(card.phases_done),
        }
        record(CARD_MIME, dict(self.card_export, card=asdict(card)))
        self._record_steps()
        if self.recorder:
            self.recorder.update(card=self.card_export, steps=list(self.log.steps))
        return path

    @_cell
    def ledger(self) -> Any:
        """This notebook's API calls (one row per call and retry), as a table."""
        import pandas as pd

        rows = self.cloud.ledger.entries if self.cloud is not None else []
        if not rows:
            markdown("No API call was made.")
        return full_table(pd.DataFrame(rows, columns=list(FIELDS)))

    @_cell
    def picture(self) -> None:
        """The link as a picture: both VPCs, each side's end of the link, routes, rules and pings."""
        known = dict(self.run.observed_outputs()) if self.run else {}
        known.update(self.inputs)
        known.update(self.outputs_)
        svg = link_svg(self.params, known)
        show(
            {"image/svg+xml": svg, "text/plain": f"(the picture of link {self.params.link}: see the HTML record)"},
            raw=True,
        )

    @_cell
    def check(self) -> None:
        """Fail the notebook (and the run) when the phase did not reach its goal."""
        with self._recorded():
            failure = self.phase.failure(self.outputs_) if self.settings.applying else None
            if failure:
                raise PhaseFailed(failure)
        markdown(f"**{self.phase.name}: done.**" if self.applied else f"**{self.phase.name}: planned.**")
        self._record_steps()
        self._finish("ok")

    # -- helpers ----------------------------------------------------------------------------------
    def _read_own(self, known: dict[str, Any]) -> None:
        """This side's values for its card that no phase of the run has output yet (a notebook run on
        its own, without the discovery phase), read from the cloud: reads only, and only what is missing."""
        side, cloud = self.settings.side, self.cloud
        if cloud is None or side is None or side not in self.settings.acting:
            return
        readers = {
            "account_uid": lambda: cloud.account_uid(side),
            "vrouter_id": lambda: lookup.vrouter_id(self.ctx, side),
            "instance_ip": lambda: lookup.instance_ip(self.ctx, side),
        }
        with cloud.read_only():
            for name, read in readers.items():
                if not _present(known.get(f"{side}_{name}")):
                    known[f"{side}_{name}"] = read()

    def _phases_done(self) -> list[str]:
        """The phases this side has completed, for its card: the run's, and this one once applied."""
        done = self.run.phases_done() if self.run else []
        if self.applied and (self.settings.applying or self.phase.kind == "discover"):
            done.append(self.phase.name)
        return done
