"""Which failed calls are retried, and how long to wait between tries.

The SDKs retry nothing by themselves (one HTTP attempt per call), so the runbook decides:

* throttling is always retried: the service refused the request before acting on it;
* 5xx answers and transport failures (connection reset, timeout) leave the outcome unknown, so
  they are retried only when repeating the call cannot act twice: reads, and writes that carry a
  ``ClientToken`` or set a value rather than add one. Other writes report the failure and the
  phase reads the state to see what happened;
* state conflicts the API documents as transient (``TaskConflict`` and friends) are retried;
* an endpoint that does not resolve (DNS) or refuses the connection is retried once, quickly: the
  request never left, but a network that is down does not come back within a backoff;
* each call may add codes of its own (``IncorrectOppositeInterfaceInfo.NotSet`` at Connect, as
  terraform does).

Backoff is exponential with full jitter, at least the server's ``x-acs-retry-after``, bounded by
a number of attempts and a total time; then the last error is raised.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import tenacity

if TYPE_CHECKING:
    from .cloud import CloudError
    from .waits import Clock

# Transient state conflicts of VPC writes (route tables are changed one entry at a time).
STATE_CONFLICTS = frozenset(
    {"TaskConflict", "IncorrectRouteEntryStatus", "IncorrectStatus.RouterInterface", "OperationConflict"}
)
# Connect before the acceptor's Opposite* fields are visible: terraform retries for 2 minutes.
CONNECT_NOT_SET = "IncorrectOppositeInterfaceInfo.NotSet"
# Codes a server uses for "try again later" with a 4xx status.
TRANSIENT_CODES = frozenset(
    {
        "ServiceUnavailable",
        "InternalError",
        "SystemBusy",
        "UnknownError",
        "LastTokenProcessing",
        "OperationFailed.DistibuteLock",
    }
)  # sic


# An endpoint that does not resolve or refuses connections (``cloud.UNREACHABLE``) is tried this many
# more times, after the first pause only: a network that is down is not throttling.
UNREACHABLE_RETRIES = 1


def is_throttling(code: str | None) -> bool:
    return code is not None and (code.startswith("Throttling") or code == "Rejected.Throttling")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one call."""

    max_attempts: int = 14  # with the delays below, at most about 95 s of pauses in all
    first_delay: float = 0.5  # seconds; doubles per attempt (before jitter)
    max_delay: float = 10.0
    max_elapsed: float = 120.0  # seconds of waiting in total: terraform's window for Connect

    def delay(self, attempt: int, retry_after_ms: int | None, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        backoff = min(self.max_delay, self.first_delay * 2 ** (attempt - 1))
        jittered = backoff / 2 + rng() * backoff / 2
        return max(jittered, (retry_after_ms or 0) / 1000.0)

    def retrying(
        self,
        clock: Clock,
        should_retry: Callable[[BaseException], bool],
        before_sleep: Callable[[BaseException, float], None],
    ) -> tenacity.Retrying:
        """A tenacity ``Retrying`` following this policy; sleeps go through ``clock``."""
        began = clock.now()
        waited = [0.0]

        def wait(rs: tenacity.RetryCallState) -> float:
            exc = rs.outcome.exception() if rs.outcome else None
            return self.delay(rs.attempt_number, getattr(exc, "retry_after_ms", None))

        def stop(rs: tenacity.RetryCallState) -> bool:
            return rs.attempt_number >= self.max_attempts or max(waited[0], clock.now() - began) >= self.max_elapsed

        def announce(rs: tenacity.RetryCallState) -> None:
            pause = rs.next_action.sleep if rs.next_action else 0.0
            waited[0] += pause
            exc = rs.outcome.exception() if rs.outcome else None
            if exc is not None:
                before_sleep(exc, pause)

        return tenacity.Retrying(
            sleep=clock.sleep,
            stop=stop,
            wait=wait,
            reraise=True,
            retry=tenacity.retry_if_exception(should_retry),
            before_sleep=announce,
        )


def retry_reason(error: CloudError, retry_on: frozenset[str], idempotent: bool) -> str | None:
    """Why ``error`` may be retried (a short word for logs), or None when it must be raised."""
    if error.throttled:
        return "throttled"
    if error.code in retry_on:
        return error.code
    if error.ambiguous or error.code in TRANSIENT_CODES:
        return "transient" if idempotent else None
    return None
