"""Rate control for a fleet, as SSM Automation, OOS loops and CloudFormation StackSets do it.

``max_concurrency``: how many links run at once, ``N`` or ``P%`` of the fleet's links.
``max_errors``: how many links may fail before no new link starts, ``N`` or ``P%`` of the links.

The rules, and where they come from:

- Past the threshold no new link starts, the links in flight finish, and every link not started is
  recorded with the reason (SSM: "After the MaxErrors value is reached, Systems Manager stops
  running the automation on additional targets ... invocations that are already in progress are
  allowed to complete").
- The threshold is *exceeded*, not reached: ``max_errors 0`` stops after the first failure,
  ``max_errors 2`` after the third (SSM: "If you specify MaxErrors as 0 ... the system stops after
  the first error"; StackSets' FailureToleranceCount is the failures tolerated).
- A percentage is of the fleet's links and rounds down, as StackSets' percentages do
  (MaxConcurrentPercentage: "rounds down to the next whole number ... if that results in zero, uses
  one"; FailureTolerancePercentage: "rounds down"). So ``max_errors 10%`` of 8 links is 0.
- A link counts as an error when its run ended without its goal (``run``: verified; ``teardown``:
  torn down), after the engine's retries of a dead worker or kernel.

Sources: https://docs.aws.amazon.com/systems-manager/latest/userguide/running-automations-scale-controls.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html,
Alibaba Cloud OOS loop ``MaxErrors``/``Concurrency``
(https://www.alibabacloud.com/help/en/oos/user-guide/loop).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_FORM = re.compile(r"^\s*(\d{1,7})\s*(%?)\s*$")
DEFAULT_CONCURRENCY = "10"
DEFAULT_ERRORS = "0"


class RateError(ValueError):
    """An option value that is not N or P%; the message names the option and the valid forms."""


@dataclass(frozen=True)
class Threshold:
    """``N`` links, or ``P%`` of the fleet's links."""

    value: int
    percent: bool = False

    @classmethod
    def parse(cls, text: object, option: str) -> Threshold:
        if isinstance(text, Threshold):
            return text
        if isinstance(text, int) and not isinstance(text, bool):
            text = str(text)
        m = _FORM.match(text) if isinstance(text, str) else None
        if m is None:
            raise RateError(
                f"{option} {text!r}: give a number of links (e.g. 5) or a percentage of the fleet's links (e.g. 20%)"
            )
        value, percent = int(m[1]), bool(m[2])
        if percent and value > 100:
            raise RateError(f"{option} {text!r}: a percentage is at most 100%")
        return cls(value, percent)

    def of(self, total: int) -> int:
        """The number of links this means in a fleet of ``total``."""
        return total * self.value // 100 if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


@dataclass
class RateControl:
    """Which links to start when, given how the others ended. Pure logic: the caller starts the
    links ``ready`` returns and reports each end with ``finished``."""

    names: Sequence[str]
    max_concurrency: Threshold = field(default_factory=lambda: Threshold.parse(DEFAULT_CONCURRENCY, ""))
    max_errors: Threshold = field(default_factory=lambda: Threshold.parse(DEFAULT_ERRORS, ""))
    waiting: list[str] = field(init=False)
    running: list[str] = field(init=False, default_factory=list)
    requeued: list[str] = field(init=False, default_factory=list)  # in flight, their worker died
    succeeded: list[str] = field(init=False, default_factory=list)
    failed: dict[str, str] = field(init=False, default_factory=dict)
    not_started: dict[str, str] = field(init=False, default_factory=dict)
    skipped: dict[str, str] = field(init=False, default_factory=dict)
    stopped_by: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise ValueError("link names must be unique")
        self.waiting = list(self.names)

    @property
    def concurrency(self) -> int:
        """Links at once: at least one."""
        return max(1, self.max_concurrency.of(len(self.names)))

    @property
    def error_threshold(self) -> int:
        """Failures tolerated; one more stops the fleet."""
        return self.max_errors.of(len(self.names))

    @property
    def stopped(self) -> bool:
        return self.stopped_by is not None

    @property
    def done(self) -> bool:
        return not self.running and not self.waiting and not self.requeued

    def ready(self) -> list[str]:
        """The links to start now (in the fleet's order), marked running. Links requeued because
        their worker died come first, even after a stop: they were in flight, and in-flight links
        finish."""
        room = max(self.concurrency - len(self.running), 0)
        again, self.requeued = self.requeued[:room], self.requeued[room:]
        room -= len(again)
        start: list[str] = []
        if not self.stopped:
            start, self.waiting = self.waiting[:room], self.waiting[room:]
        self.running += again + start
        return again + start

    def finished(self, name: str, ok: bool, why: str = "") -> None:
        """A link ended (``ok``: it reached its goal). Past the threshold, the links still waiting
        are not started, each recorded with the reason."""
        if name not in self.running:
            raise ValueError(f"{name} is not running")
        self.running.remove(name)
        if ok:
            self.succeeded.append(name)
            return
        self.failed[name] = why or "failed"
        if not self.stopped and len(self.failed) > self.error_threshold:
            self.stopped_by = name
            reason = (
                f"not started: {len(self.failed)} link(s) failed, more than max_errors {self.max_errors} "
                f"allows ({self.error_threshold} of {len(self.names)}); the failure of {name} stopped the fleet"
            )
            for waiting in self.waiting:
                self.not_started[waiting] = reason
            self.waiting = []

    def requeue(self, name: str) -> None:
        """A running link goes back to the front of the queue (its worker died before it ended)."""
        if name not in self.running:
            raise ValueError(f"{name} is not running")
        self.running.remove(name)
        self.requeued.append(name)

    def skip(self, name: str, why: str) -> None:
        """Leave a link out before anything starts, as done already (verified by an earlier run of
        the fleet): not an error, not counted against the concurrency."""
        if name not in self.waiting:
            raise ValueError(f"{name} is not waiting to start")
        self.waiting.remove(name)
        self.skipped[name] = why

    def describe(self, doing: str) -> list[str]:
        """What the rate control does with the links still to start, in words, without starting any:
        ``doing`` (``"runs"``, ``"would tear down"``) so many links, at most how many at once and in
        which order, and when it stops starting them. A preview (``plan``, ``teardown --dry-run``)
        says this so that the concurrency a real command would apply is seen before it runs."""
        queue = [*self.requeued, *self.waiting]
        n, at_once = len(queue), self.concurrency
        if not queue:
            return ["every link is done already: none to start"]
        given = f"--max-concurrency {self.max_concurrency}"
        if self.max_concurrency.percent:
            given += f": {self.max_concurrency.of(len(self.names))} of {len(self.names)}"
        if self.max_concurrency.of(len(self.names)) < 1:
            given += ", at least one"
        if n <= at_once:
            order = f"all at once: {', '.join(queue)}" if n > 1 else f"{', '.join(queue)}"
        else:
            order = (
                f"first {', '.join(queue[:at_once])}; then, each as soon as a link in flight ends, "
                f"{', '.join(queue[at_once:])}"
            )
        tolerated = f"--max-errors {self.max_errors}"
        if self.max_errors.percent:
            tolerated += f": {self.error_threshold} of {len(self.names)}"
        return [
            f"{doing} {n} link(s), at most {at_once} at once ({given}), in the file's order: {order}",
            f"after {self.error_threshold + 1} failed link(s) ({tolerated}) no new link starts; links in flight finish",
        ]

    def outcome(self) -> dict[str, Any]:
        """What the record says of the rate control."""
        return {
            "max_concurrency": str(self.max_concurrency),
            "concurrency": self.concurrency,
            "max_errors": str(self.max_errors),
            "error_threshold": self.error_threshold,
            "links": len(self.names),
            "succeeded": list(self.succeeded),
            "failed": dict(self.failed),
            "stopped": self.stopped,
            "stopped_by": self.stopped_by,
            "not_started": dict(self.not_started),
            "skipped": dict(self.skipped),
        }
