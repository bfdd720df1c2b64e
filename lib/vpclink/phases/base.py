"""What a phase is: its declaration, its context, the steps a plan shows, and the errors it raises.

Every phase module declares one :class:`Phase` named ``PHASE``: its name and number, its title and the
text its notebook shows, the sides it acts in, its inputs and outputs, what it needs from the other
operator, its success rule, its part of the picture, and its :class:`Steps` per backend
(``router_interface``, ``vpc_peer``: one entry each in ``steps``). An output one backend alone
produces says so (``Output.backend``); under the other backend it is empty. The generic layers (runner,
notebooks, record, picture, CLI) read these declarations and name no phase.

A backend's :class:`Steps` are ``offline(params)`` (the calls it would make on a cloud where the link
does not exist yet, from the parameters alone), ``plan(ctx)`` (reads only; the steps apply would
take now), ``apply(ctx)`` (convergent: reads first and creates only what is missing; returns the
outputs) and ``verify(ctx)`` (reads only; rows describing the resulting state). :class:`Phase`
refuses every mutating call inside ``plan`` and ``verify``.

What apply did is told step by step: every step calls ``ctx.outcome(...)`` with a
:class:`StepOutcome` (``created``, ``changed``, ``already there``, ``deleted``, ``already gone``,
``waited``, ``checked``, ``skipped``, with the full resource ID), and the records sum them up ("created
8 resources in 2 accounts" or "changed nothing"). A plan on a cloud where earlier phases have not run
names what they will create by a :func:`placeholder` instead of failing.

Creates are single whatever runs at once: ``ctx.exclusive(role)`` holds the lock of that side of the
link on this machine while a step looks and creates, and ``ctx.token`` gives every run of the link the
same ClientToken for a step (``converge.create_once`` walks its generations).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..cloud import Cloud, CloudError
from ..locks import LockTimeout, Register, SideLock, side_key
from ..params import FieldError, LinkParams, Role
from ..sides import Acting, acting, side_keys
from ..waits import DEFAULT_READ_LAG, Progress, WaitEvent

if TYPE_CHECKING:
    import pandas

    from ..record.picture import LinkView

INTENTS = ("create", "exists", "modify", "connect", "delete", "wait", "check", "skip")
# What one step of an apply did (``StepOutcome.outcome``): the words the records use.
OUTCOMES = ("created", "changed", "already there", "deleted", "already gone", "waited", "checked", "skipped")
# The outcomes that changed the cloud (a record's "created 8 resources in 2 accounts").
CHANGES = ("created", "changed", "deleted")
DEFAULT_BACKEND = "router_interface"

# What a phase is for. "discover": reads only, and runs whenever a target is given (a plan of later
# phases needs what it finds; its identities are the run's); "change": builds part of the link;
# "check": proves the link works; "remove": takes the link away (not part of a run: ``vpclink teardown``).
Kind = Literal["discover", "change", "check", "remove"]


@dataclass(frozen=True)
class StepOutcome:
    """What one step of an apply did, for the records: created, already there, deleted, ...

    ``resource_id`` is the full ID of what the step acted on or found (never cut); ``target`` says
    what it is in words ("router interface vpclink-demo-initiator"); ``detail`` adds why or how.
    """

    side: Role
    action: str  # the API action the step is about, e.g. "CreateRouterInterface"
    target: str
    outcome: str  # one of OUTCOMES
    resource_id: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"StepOutcome outcome {self.outcome!r}: expected one of {', '.join(OUTCOMES)}")

    @property
    def changed(self) -> bool:
        """Whether this step changed the cloud."""
        return self.outcome in CHANGES

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class PhaseContext:
    params: LinkParams
    cloud: Cloud
    inputs: dict[str, Any]  # outputs of earlier phases (flat keys)
    run_id: str  # stable across resume; part of every ClientToken
    phase: str
    progress: Progress = field(default_factory=Progress)
    # What apply found beyond its outputs (command output, say), for verify() and the record.
    results: dict[str, Any] = field(default_factory=dict)
    # Two operators: the one side this run acts in (None: one operator holds both accounts), and the
    # phases the other side has completed according to its peer card (None: not known).
    side: Acting = None
    peer_progress: tuple[str, ...] | None = None
    # What apply did, step by step (``outcome``), in the order it happened: the records' "what changed".
    outcomes: list[StepOutcome] = field(default_factory=list)
    # Seconds describes may lag (None: the parameters' timeouts.read_lag, else waits.DEFAULT_READ_LAG).
    read_lag: float | None = None
    # Where this machine's locks and register live (None: ``locks.state_home()``).
    state_dir: Path | None = None
    _locks: dict[str, SideLock] = field(default_factory=dict, repr=False)
    _registers: dict[str, Register] = field(default_factory=dict, repr=False)

    def acting(self, sides: tuple[Role, ...]) -> tuple[Role, ...]:
        """Those of a phase's ``sides`` this run acts in: all of them, or only ``side``."""
        return acting(sides, self.side)

    def outcome(
        self, side: Role, action: str, target: str, outcome: str, resource_id: str = "", detail: str = ""
    ) -> StepOutcome:
        """Record what one step did (every apply step calls this, "already there" included)."""
        done = StepOutcome(side, action, target, outcome, str(resource_id or ""), detail)
        self.outcomes.append(done)
        return done

    def input(self, key: str) -> Any:
        """An earlier phase's output, or None when absent or empty (papermill's defaults are "")."""
        value = self.inputs.get(key)
        return None if value in ("", None, [], ()) else value

    def token(self, role: Role, step: str, generation: int = 0) -> str:
        """The ClientToken of one step of this link: the same from every run, on every machine.

        It is derived from the link, the side's account scope (role, region, VPC), the step and the
        step's generation, never from the run: two runs of one link that create at once send one
        token, and the cloud creates one resource and answers both with it. ``generation`` counts
        the resources this step created that were deleted since (``converge.create_once`` moves past
        a token whose answer names a deleted resource), so that a create after a teardown does not
        replay the deleted one.
        """
        side = self.params.side(role)
        seed = f"{self.params.link}\n{role}\n{side.region}\n{side.vpc_id}\n{step}\n{generation}"
        return f"vpclink-{hashlib.sha256(seed.encode()).hexdigest()[:48]}"

    def timeout(self, kind: str) -> float:
        return float(getattr(self.params.timeouts, kind))

    def lag_allowance(self) -> float:
        """Seconds a describe may lag behind the writes it should show (``waits.DEFAULT_READ_LAG``
        unless the parameters or the target say otherwise): how long a read that does not show a
        resource is not yet proof that it does not exist."""
        if self.read_lag is not None:
            return float(self.read_lag)
        return float(getattr(self.params.timeouts, "read_lag", None) or DEFAULT_READ_LAG)

    def lock_timeout(self) -> float:
        """How long to wait for another run holding a side's lock: the longest it may need to create
        or remove that side's part (its waits), with a margin."""
        t = self.params.timeouts
        return 2 * (float(t.router_interface) + float(t.route_entry)) + 2 * self.lag_allowance() + 60

    # -- one side at a time --------------------------------------------------------------------
    def _side_key(self, role: Role) -> str:
        side = self.params.side(role)
        return side_key(self.params.link, role, side.region, side.vpc_id)

    @contextmanager
    def exclusive(self, *roles: Role) -> Iterator[None]:
        """Hold the locks of ``roles``' sides of this link (in run order, so two holders never
        deadlock) while the block finds and creates, or removes, what exists there."""
        with ExitStack() as stack:
            for role in [r for r in ("initiator", "acceptor") if r in roles]:
                lock = self._locks.get(role)
                if lock is None:
                    lock = self._locks[role] = SideLock(self._side_key(role), run_id=self.run_id, home=self.state_dir)

                def waiting(holder: str, role: Role = role, lock: SideLock = lock) -> None:
                    self.progress.report(
                        WaitEvent(
                            "state",
                            f"the lock of link {self.params.link}'s {role} side",
                            str(lock.path),
                            f"held by {holder}",
                            ("free",),
                            0.0,
                            "free (another vpclink run of this link is changing this side)",
                        )
                    )

                try:
                    stack.enter_context(lock.hold(self.lock_timeout(), waiting))
                except LockTimeout as e:
                    raise PhaseError(f"the {role} side of link {self.params.link} is busy: {e}") from None
            yield

    def register(self, role: Role) -> Register:
        """What runs of this link on this machine created on ``role``'s side (``locks.Register``)."""
        if role not in self._registers:
            self._registers[role] = Register(self._side_key(role), home=self.state_dir)
        return self._registers[role]


@dataclass
class Step:
    side: Role
    action: str  # API action, e.g. "CreateRouterInterface"
    target: str  # what it acts on, e.g. "router interface vpclink-<link>-initiator"
    intent: str  # one of INTENTS
    detail: str  # human text: why, or the existing ID

    def __post_init__(self) -> None:
        if self.intent not in INTENTS:
            raise ValueError(f"Step intent {self.intent!r}: expected one of {', '.join(INTENTS)}")


def backend_name(params: LinkParams) -> str:
    """The backend whose steps run for ``params`` (``params.backend``)."""
    return str(getattr(params, "backend", None) or DEFAULT_BACKEND)


def placeholder(what: str, phase: str) -> str:
    """How a plan names what an earlier phase's step will create, on a cloud where it does not exist
    yet: ``placeholder("initiator router interface", "initiator")`` is
    ``"<initiator router interface, created in 01_initiator>"``."""
    from . import get

    try:
        where = get(phase).notebook
    except KeyError:
        where = phase
    return f"<{what}, created in {where}>"


def is_placeholder(value: object) -> bool:
    """Whether ``value`` is a :func:`placeholder` (no resource ID is written in angle brackets)."""
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


# -- declarations ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    """One output of a phase: a flat key later phases take as an input, and what it holds."""

    key: str
    doc: str  # e.g. "VPC1's VRouter ID": the comment of the parameter that takes it
    kind: type = str  # str or list: its notebook parameter's type and empty default
    backend: str | None = None  # produced only by this backend (None: by every backend)

    @property
    def empty(self) -> Any:
        return [] if self.kind is list else ""


@dataclass(frozen=True)
class Steps:
    """One backend's part of a phase: the console's and the API's words for it, and the code."""

    console: str  # markdown after "**In the console**": where a person clicks for the same result
    api: str  # markdown after "**In API terms**": the calls, their key parameters, the waits
    offline: Callable[[LinkParams], list[Step]]
    plan: Callable[[PhaseContext], list[Step]]
    apply: Callable[[PhaseContext], dict[str, Any]]
    verify: Callable[[PhaseContext], list[dict[str, Any]]]


@dataclass(frozen=True)
class Phase:
    """Everything about one phase; the module that declares it holds all of its behaviour."""

    name: str
    number: str  # "00".."06", "99": the notebook's prefix and the run order
    title: str  # "Initiator: create account A's router interface"
    summary: str  # markdown: what the phase does, for the notebook's opening
    why: str  # markdown after "**Why…**": why this way, why in this order
    kind: Kind
    sides: tuple[Role, ...]  # the sides it acts in, in the order they act
    inputs: tuple[str, ...]  # output keys of earlier phases it takes
    outputs: tuple[Output, ...]
    steps: Mapping[str, Steps]  # backend name -> its steps
    # The other operator's values (``peer.values.FIELDS``) each side needs, from the parameters.
    needs: Callable[[LinkParams], tuple[str, ...]] | tuple[str, ...] = ()
    # Whether its sides act in turn (``sides`` order): the later side needs the earlier one's part.
    sequential: bool = False
    # None when the outputs meet the phase's goal, else the failure in a sentence.
    success: Callable[[Mapping[str, Any]], str | None] | None = None
    # A phase that ends a run: the run's result and message from the merged outputs.
    concludes: Callable[[Mapping[str, Any]], tuple[str, str]] | None = None
    # One line for the command line's summary of a run, from the outputs (None: nothing to say).
    report: Callable[[Mapping[str, Any]], str | None] | None = None
    # Its part of the picture of the link, from the outputs so far.
    show: Callable[[LinkParams, Mapping[str, Any], LinkView], None] | None = None
    picture: bool = False  # its notebook draws the link after its outputs
    why_heading: str = "Why this way"

    # -- names ------------------------------------------------------------------------------------
    @property
    def notebook(self) -> str:
        """The notebook's stem: ``01_initiator``."""
        return f"{self.number}_{self.name}"

    @property
    def notebook_file(self) -> str:
        return f"{self.notebook}.ipynb"

    @property
    def input_keys(self) -> tuple[str, ...]:
        return self.inputs

    @property
    def output_keys(self) -> tuple[str, ...]:
        return tuple(o.key for o in self.outputs)

    def outputs_for(self, side: Acting) -> tuple[str, ...]:
        """The output keys a run acting only in ``side`` produces (all of them for one operator)."""
        return side_keys(self.output_keys, side)

    def acting(self, side: Acting) -> tuple[Role, ...]:
        return acting(self.sides, side)

    def needs_from_peer(self, params: LinkParams) -> tuple[str, ...]:
        """The peer fields a side of this phase needs from the other side."""
        return self.needs(params) if callable(self.needs) else self.needs

    # -- the backend's steps ----------------------------------------------------------------------
    def backend(self, params: LinkParams) -> Steps:
        name = backend_name(params)
        if name not in self.steps:
            raise PhaseError(
                f"backend: {name!r} has no steps for the {self.name} phase; known: {', '.join(self.steps)}"
            )
        return self.steps[name]

    def offline(self, params: LinkParams, side: Acting = None) -> list[Step]:
        """The steps on a cloud where the link does not exist yet, from the parameters alone."""
        return [s for s in self.backend(params).offline(params) if side is None or s.side == side]

    def plan(self, ctx: PhaseContext) -> list[Step]:
        with ctx.cloud.read_only():
            return self.backend(ctx.params).plan(ctx)

    def apply(self, ctx: PhaseContext) -> dict[str, Any]:
        out = self.backend(ctx.params).apply(ctx)
        # Another backend's outputs are empty here, as a notebook parameter not known yet is.
        name = backend_name(ctx.params)
        for o in self.outputs:
            if o.backend is not None and o.backend != name:
                out.setdefault(o.key, o.empty)
        return out

    def verify(self, ctx: PhaseContext) -> list[dict[str, Any]]:
        with ctx.cloud.read_only():
            return self.backend(ctx.params).verify(ctx)

    def failure(self, outputs: Mapping[str, Any]) -> str | None:
        """Why the outputs miss the phase's goal, or None."""
        return self.success(outputs) if self.success is not None else None


# -- errors ---------------------------------------------------------------------------------------
class PhaseError(RuntimeError):
    """A state the runbook will not change by itself; the message says what to do."""


class ParameterMismatch(PhaseError):
    """The cloud disagrees with the parameters; ``errors`` name each parameter field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        lines = "\n".join(f"  {e.field}: {e.message}" for e in errors)
        super().__init__(f"{len(errors)} parameter(s) do not match the cloud:\n{lines}")


class WaitingForPeer(PhaseError):
    """Two operators: this step needs the other operator's part first. Not a failure: the run stops,
    the message says what the other operator must do next, and resuming continues from here."""


class MissingInput(PhaseError):
    def __init__(self, key: str, phase: str):
        self.key = key
        super().__init__(
            f"input {key} is required by {phase} and was not given; it is an output of the "
            f"{produced_by(key)} phase (run that phase first, or pass {key})"
        )


def produced_by(key: str) -> str:
    """The name of the phase whose output ``key`` is (for messages that say what to run first)."""
    from . import producer

    found = producer(key)
    return found.name if found is not None else "an earlier"


# -- tables for notebooks -----------------------------------------------------------------------
def steps_frame(steps: list[Step]) -> pandas.DataFrame:
    import pandas as pd

    return pd.DataFrame([asdict(s) for s in steps], columns=["side", "action", "target", "intent", "detail"])


def rows_frame(rows: list[dict[str, Any]]) -> pandas.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows)


# Refusals meaning "the interface is not in the state this needs": perhaps it moved on already.
# Today's pages give IncorrectRIStatus for Connect/Activate/Deactivate and InvalidInstance.StatusError
# for Delete; ModifyRouterInterfaceAttribute (and the older pages) still say IncorrectStatus.
STATUS_CODES = frozenset({"IncorrectStatus", "IncorrectRIStatus", "InvalidInstance.StatusError"})


def write_once(act: Callable[[], Any], took_effect: Callable[[], bool], *, attempts: int = 3) -> None:
    """Run a write that carries no ClientToken, so that it must not be repeated blindly.

    When its answer is lost (or a server error leaves the outcome unknown), or the API refuses it
    because of the state, read the state (``took_effect``): done means done; otherwise a lost
    answer is sent again (up to ``attempts`` times) and a refusal is raised.
    """
    for attempt in range(1, attempts + 1):
        try:
            act()
            return
        except CloudError as e:
            if not (e.ambiguous or e.code in STATUS_CODES):
                raise
            if took_effect():
                return
            if not e.ambiguous or attempt == attempts:
                raise
