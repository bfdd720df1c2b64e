"""Waiting for the cloud's asynchronous state machines, and showing it.

``wait_for`` polls a read function with backoff (0.5 s growing to 5 s) until the state is one of
the expected ones, reporting every state change to a ``Progress``; it gives up after a timeout with
a message naming the resource, the state it reached and the state that was expected.

Time goes through a ``Clock`` so that tests can replace sleeping by moving an emulator's virtual
clock, and ``RealClock(scale)`` shortens the pauses (not the timeout) for fast local runs.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

import tenacity

log = logging.getLogger("vpclink.waits")

# The state ``read`` returns for a resource that no longer exists.
GONE = "gone"

POLL_START = 0.5
POLL_CAP = 5.0
POLL_GROWTH = 1.5
# Pauses stop growing long before this many polls; the exponent stops here too, so that a wait
# polling thousands of times (a clock that does not pause, RealClock(0)) cannot overflow a float.
_MAX_GROWTH_STEPS = 64

# Seconds a describe may lag behind the writes it should show, unless the parameters say otherwise.
# Alibaba's describes are eventually consistent: terraform-provider-alicloud polls every 3 s at least
# (``BuildStateConf``'s MinTimeout in alicloud/common.go) after a first delay of 5 to 10 s
# (``buildStateConf``'s Delay), and retries a read that finds nothing yet (NotFoundChecks). Ten
# seconds covers the lags seen there with a margin; a read that misses a resource is proof of its
# absence only once this long has passed since the write it should reflect.
DEFAULT_READ_LAG = 10.0


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class RealClock:
    """Wall-clock time; ``scale`` multiplies every pause (0 = do not pause at all)."""

    scale: float = 1.0

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds * self.scale > 0:
            time.sleep(seconds * self.scale)


@dataclass(frozen=True)
class WaitEvent:
    """One thing a wait reports: it started, saw a new state, finished, or gave up."""

    kind: str  # "start" | "state" | "done" | "timeout" | "failed" | "error"
    what: str  # e.g. "router interface"
    resource_id: str
    state: str | None
    expected: tuple[str, ...]
    elapsed: float
    goal: str = ""  # the expected states in words ("finished"), when listing them reads badly

    @property
    def target(self) -> str:
        return self.goal or _either(self.expected)


class WaitTimeout(TimeoutError):
    """A wait that ran out of time; says what was reached and what was expected."""

    def __init__(
        self,
        what: str,
        resource_id: str,
        reached: str | None,
        expected: Collection[str],
        timeout: float,
        goal: str = "",
    ):
        self.what, self.resource_id, self.reached = what, resource_id, reached
        self.expected, self.timeout = tuple(expected), timeout
        now = "it was not found" if reached == GONE else f"its state was still {reached or 'unknown'}"
        super().__init__(
            f"timed out after {timeout:g} s waiting for {what} {resource_id} to be "
            f"{goal or _either(self.expected)}; {now}"
        )


class WaitFailed(RuntimeError):
    """A wait that saw a state from which the expected one cannot be reached."""

    def __init__(self, what: str, resource_id: str, reached: str, expected: Collection[str], goal: str = ""):
        self.what, self.resource_id, self.reached, self.expected = what, resource_id, reached, tuple(expected)
        super().__init__(
            f"{what} {resource_id} became {reached} while waiting for it to be {goal or _either(self.expected)}"
        )


def _either(states: Collection[str]) -> str:
    return " or ".join(states)


def _pause(start: float, cap: float, polls: int) -> float:
    """The pause after ``polls`` + 1 reads: ``start`` growing by ``POLL_GROWTH`` up to ``cap``."""
    return min(cap, start * POLL_GROWTH ** min(polls, _MAX_GROWTH_STEPS))


def in_jupyter_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (where a widget progress bar renders)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


class Progress:
    """Where waits report state changes.

    ``mode``: ``"bar"`` shows a ``tqdm.auto`` bar whose description is the current state (in
    JupyterLab a widget); ``"log"`` writes a log line per state change; ``"silent"`` only calls
    ``on_event``; ``"auto"`` picks ``bar`` in a Jupyter kernel and ``log`` elsewhere.
    ``on_event`` receives every ``WaitEvent`` (tests, records).
    """

    def __init__(
        self,
        mode: str = "auto",
        *,
        logger: logging.Logger | None = None,
        on_event: Callable[[WaitEvent], None] | None = None,
    ):
        if mode not in ("auto", "bar", "log", "silent"):
            raise ValueError(f"Progress mode {mode!r}: expected auto, bar, log or silent")
        self.mode = ("bar" if in_jupyter_kernel() else "log") if mode == "auto" else mode
        self.logger = logger or log
        self.on_event = on_event
        self._bar: Any = None

    def report(self, event: WaitEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)
        if self.mode == "log":
            self._log(event)
        elif self.mode == "bar":
            self._draw(event)

    def _log(self, e: WaitEvent) -> None:
        target = e.target
        if e.kind == "start":
            self.logger.info("waiting for %s %s to be %s", e.what, e.resource_id, target)
        elif e.kind == "state":
            self.logger.info(
                "%s %s is %s after %.1f s (waiting for %s)", e.what, e.resource_id, e.state, e.elapsed, target
            )
        elif e.kind == "done":
            self.logger.info("%s %s is %s after %.1f s", e.what, e.resource_id, e.state, e.elapsed)
        elif e.kind == "error":
            self.logger.warning(
                "stopped waiting for %s %s after %.1f s: reading its state failed", e.what, e.resource_id, e.elapsed
            )
        else:
            self.logger.warning(
                "%s %s: gave up after %.1f s in state %s (expected %s)",
                e.what,
                e.resource_id,
                e.elapsed,
                e.state,
                target,
            )

    def _draw(self, e: WaitEvent) -> None:
        from tqdm.auto import tqdm  # imported late: only notebooks need it

        label = f"{e.what} {e.resource_id}: {e.state or 'waiting'}"
        if e.kind == "start":
            self._bar = tqdm(total=None, desc=label, bar_format="{desc} [{elapsed}]", leave=True)
            return
        if self._bar is None:
            return
        if e.kind in ("timeout", "failed", "error"):
            label += f" (expected {e.target})"
        self._bar.set_description_str(label)
        if e.kind != "state":
            self._bar.close()
            self._bar = None


def wait_while(
    read: Callable[[], str],
    *,
    pending: Collection[str],
    what: str,
    resource_id: str,
    timeout: float,
    progress: Progress,
    clock: Clock,
    goal: str,
    began: float | None = None,
) -> str:
    """Poll ``read`` while it returns a state in ``pending``, for at most ``timeout`` seconds since
    ``began`` (default: now); return the last state read, pending or not: running out of time is an
    answer here (a resource still not visible once reads cannot lag any more), never an error."""
    began = clock.now() if began is None else began
    state = read()
    if state not in pending:
        return state
    progress.report(WaitEvent("start", what, resource_id, None, (), clock.now() - began, goal))
    progress.report(WaitEvent("state", what, resource_id, state, (), clock.now() - began, goal))
    # Measured against a deadline, not as now - began: a clock that adds up its pauses (a virtual
    # one) may never get now - began to reach the timeout exactly, and would then pause for ever
    # smaller remainders that its float cannot add.
    deadline = began + timeout
    attempt = 0
    while state in pending and clock.now() < deadline:
        clock.sleep(max(0.0, min(_pause(POLL_START, POLL_CAP, attempt), deadline - clock.now())))
        attempt += 1
        state = read()
    progress.report(WaitEvent("done", what, resource_id, state, (), clock.now() - began, goal))
    return state


def wait_for(
    read: Callable[[], str],
    *,
    what: str,
    resource_id: str,
    expected: Collection[str],
    timeout: float,
    progress: Progress,
    clock: Clock,
    failed: Collection[str] = (),
    goal: str = "",
    start: float = POLL_START,
    cap: float = POLL_CAP,
) -> str:
    """Poll ``read`` until it returns one of ``expected``; return that state.

    Raises ``WaitTimeout`` after ``timeout`` seconds (by ``clock``) and ``WaitFailed`` when a state
    in ``failed`` shows up. Errors from ``read`` propagate. ``goal`` names the expected states in
    messages.
    """
    expected = tuple(expected)
    began = clock.now()
    deadline = began + timeout  # not now - began >= timeout: see wait_while
    seen: list[str] = []

    def elapsed() -> float:
        return clock.now() - began

    def event(kind: str, state: str | None) -> WaitEvent:
        return WaitEvent(kind, what, resource_id, state, expected, elapsed(), goal)

    def poll() -> str:
        state = read()
        if not seen or seen[-1] != state:
            seen.append(state)
            if state not in expected:
                progress.report(event("state", state))
        if state in failed:
            progress.report(event("failed", state))
            raise WaitFailed(what, resource_id, state, expected, goal)
        return state

    def out_of_time(retry_state: tenacity.RetryCallState) -> bool:
        return clock.now() >= deadline

    def pause(retry_state: tenacity.RetryCallState) -> float:
        return max(0.0, min(_pause(start, cap, retry_state.attempt_number - 1), deadline - clock.now()))

    progress.report(event("start", None))
    retrying = tenacity.Retrying(
        sleep=clock.sleep,
        stop=out_of_time,
        wait=pause,
        retry=tenacity.retry_if_result(lambda s: s not in expected),
        retry_error_callback=lambda rs: None,
    )
    try:
        state = retrying(poll)
    except WaitFailed:
        raise
    except BaseException:  # a read failed: close the report, the caller sees the error
        progress.report(event("error", seen[-1] if seen else None))
        raise
    if state is None:
        reached = seen[-1] if seen else None
        progress.report(event("timeout", reached))
        raise WaitTimeout(what, resource_id, reached, expected, timeout, goal)
    progress.report(event("done", state))
    return state
