"""What every phase shares: its context, the steps a plan shows, names, tokens and errors.

A phase module has ``NAME``, ``SIDES``, ``INPUTS``, ``OUTPUTS`` and three functions:
``plan(ctx)`` (reads only; the ``Step`` list apply would take now), ``apply(ctx)`` (convergent:
reads first and creates only what is missing; returns the outputs) and ``verify(ctx)`` (reads
only; rows describing the resulting state).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..cloud import Cloud, CloudError
from ..params import FieldError, LinkParams, Role
from ..waits import Progress

if TYPE_CHECKING:
    import pandas

INTENTS = ("create", "exists", "modify", "connect", "delete", "wait", "check", "skip")
RI_MARKER = "vpclink"


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
    side: Role | None = None
    peer_progress: tuple[str, ...] | None = None

    def acting(self, sides: tuple[Role, ...]) -> tuple[Role, ...]:
        """Those of a phase's ``sides`` this run acts in: all of them, or only ``side``."""
        return tuple(r for r in sides if self.side is None or r == self.side)

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
    def __init__(self, key: str, phase: str, produced_by: str):
        self.key = key
        super().__init__(
            f"input {key} is required by {phase} and was not given; it is an output of the "
            f"{produced_by} phase (run that phase first, or pass {key})"
        )


def peer_role(role: Role) -> Role:
    return "acceptor" if role == "initiator" else "initiator"


def key_owner(key: str) -> Role | None:
    """The side an output key belongs to: the role it names first (``ping_acceptor_to_initiator``
    is the acceptor's), or None for a key of the link (``connection_status``, ``verified``)."""
    named = sorted((key.find(role), role) for role in ("initiator", "acceptor") if role in key)
    return named[0][1] if named else None


def side_outputs(outputs: tuple[str, ...], side: Role | None) -> tuple[str, ...]:
    """The output keys a run acting only in ``side`` produces (all of them when ``side`` is None)."""
    return tuple(k for k in outputs if side is None or key_owner(k) in (None, side))


# -- names the runbook puts on what it creates --------------------------------------------------
def ri_name(params: LinkParams, role: Role) -> str:
    return f"{RI_MARKER}-{params.link}-{role}"


def ri_description(params: LinkParams, role: Role) -> str:
    return f"{RI_MARKER} link {params.link} {role} side"


def marker(params: LinkParams) -> str:
    """The text that starts the description of every route and rule this link creates."""
    return f"{RI_MARKER} link {params.link}"


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


F = TypeVar("F", bound=Callable[..., Any])


def reads_only(fn: F) -> F:
    """Run a phase function with mutating calls refused (for ``plan`` and ``verify``)."""

    @functools.wraps(fn)
    def wrapper(ctx: PhaseContext, *args: Any, **kwargs: Any) -> Any:
        with ctx.cloud.read_only():
            return fn(ctx, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
