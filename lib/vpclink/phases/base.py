"""What a phase is: its declaration, its context, the steps a plan shows, and the errors it raises.

Every phase module declares one :class:`Phase` named ``PHASE``: its name and number, its title and the
text its notebook shows, the sides it acts in, its inputs and outputs, what it needs from the other
operator, its success rule, its part of the picture, and its :class:`Steps` per backend (today
``router_interface``; another backend is one more entry in ``steps``). The generic layers (runner,
notebooks, record, picture, CLI) read these declarations and name no phase.

A backend's :class:`Steps` are ``offline(params)`` (the calls it would make on a cloud where the link
does not exist yet, from the parameters alone), ``plan(ctx)`` (reads only; the steps apply would
take now), ``apply(ctx)`` (convergent: reads first and creates only what is missing; returns the
outputs) and ``verify(ctx)`` (reads only; rows describing the resulting state). :class:`Phase`
refuses every mutating call inside ``plan`` and ``verify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..cloud import Cloud, CloudError
from ..params import FieldError, LinkParams, Role
from ..sides import Acting, acting, side_keys
from ..waits import Progress

if TYPE_CHECKING:
    import pandas

    from ..record.picture import LinkView

INTENTS = ("create", "exists", "modify", "connect", "delete", "wait", "check", "skip")
DEFAULT_BACKEND = "router_interface"

# What a phase is for. "discover": reads only, and runs whenever a target is given (a plan of later
# phases needs what it finds; its identities are the run's); "change": builds part of the link;
# "check": proves the link works; "remove": takes the link away (not part of a run: ``vpclink teardown``).
Kind = Literal["discover", "change", "check", "remove"]


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

    def acting(self, sides: tuple[Role, ...]) -> tuple[Role, ...]:
        """Those of a phase's ``sides`` this run acts in: all of them, or only ``side``."""
        return acting(sides, self.side)

    def input(self, key: str) -> Any:
        """An earlier phase's output, or None when absent or empty (papermill's defaults are "")."""
        value = self.inputs.get(key)
        return None if value in ("", None, [], ()) else value

    def token(self, role: Role, step: str) -> str:
        """The ClientToken of one step: the same on every retry and every resume of this run."""
        digest = hashlib.sha256(f"{self.run_id}\n{self.params.link}\n{role}\n{step}".encode()).hexdigest()
        return f"vpclink-{digest[:48]}"

    def timeout(self, kind: str) -> float:
        return float(getattr(self.params.timeouts, kind))


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


# -- declarations ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    """One output of a phase: a flat key later phases take as an input, and what it holds."""

    key: str
    doc: str  # e.g. "VPC1's VRouter ID": the comment of the parameter that takes it
    kind: type = str  # str or list: its notebook parameter's type and empty default


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
        name = str(getattr(params, "backend", None) or DEFAULT_BACKEND)
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
        return self.backend(ctx.params).apply(ctx)

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
