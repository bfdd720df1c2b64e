"""Deterministic fault rules: which request they hit, and what they do to it.

A rule selects requests by ``action`` (glob), ``account`` (name or UID) and ``product``, then
triggers on an occurrence among the requests it selects: ``nth`` (a number or a list, 1-based),
``first`` (the first N), ``after`` (every one after the first N) or always (at most one of the
three); ``times`` caps how often it fires. Effects:

* ``error``: respond with ``code``/``status``/``message`` before the handler runs (nothing changes);
  ``retry_after_ms`` adds ``x-acs-retry-after`` so the SDK raises ``ThrottlingException``.
* ``throttle``: the cloud's flow control, in one of its documented shapes, chosen by ``status``:

  - ``400`` (default) ``Throttling.User`` "Request was denied due to user flow control.", the
    common code of the OpenAPI gateway (Alibaba Cloud common error codes,
    https://developer.aliyun.com/ask/278265; the ECS API error tables);
  - ``403`` and ``429`` ``Throttling`` "Request was denied due to request throttling.", the
    variants some APIs list (https://developer.aliyun.com/ask/128391 shows the message);
  - ``503`` ``ServiceUnavailable`` "The request has failed due to a temporary failure of the
    server.", which terraform-provider-alicloud retries like throttling (``NeedRetry``).

  ``code``/``message`` override the defaults. No page documents a retry-after header on a
  throttled answer, so none is sent unless the rule asks with ``retry_after_ms``; without it the
  tea SDK raises ``ClientException`` (4xx) or ``ServerException`` (5xx), with it
  ``ThrottlingException`` (``alibabacloud_tea_openapi`` ``Utils.get_throttling_time_left``).
* ``latency``: wait ``latency_ms`` before handling.
* ``drop``: close the connection without a response, before the handler runs.
* ``fail_after_commit``: apply and commit the change, then lose the response (drop the
  connection, or answer with ``code``/``status`` when given).
* ``stale_read``: serve reads as of ``lag_s`` seconds ago, while the rule is younger than
  ``for_s`` seconds (default: as long as it exists). It selects reads only (changes always see
  the present), so a mutating call neither triggers nor counts toward it.

A rule is a ``FaultRule`` (strict: unknown fields, strings for numbers, non-finite numbers and
out-of-range values are refused with a message naming the field). Rules and their counters live
in the store, so they survive a restart; a rule read back from the store is validated again. The
journal entry of a request names every rule that acted on it (``fault``: ``"<id>:<name or
effect>"``); after a ``fail_after_commit`` it also says ``committed: true`` with the status the
client saw (``0``/``Dropped`` for a dropped connection).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from .schema import MAX_SECONDS, Seconds, Strict, Text, problems

Effect = Literal["error", "throttle", "latency", "drop", "fail_after_commit", "stale_read"]
EFFECTS = {"error", "throttle", "latency", "drop", "fail_after_commit", "stale_read"}
THROTTLE_SHAPES: dict[int, tuple[str, str]] = {
    400: ("Throttling.User", "Request was denied due to user flow control."),
    403: ("Throttling", "Request was denied due to request throttling."),
    429: ("Throttling", "Request was denied due to request throttling."),
    503: ("ServiceUnavailable", "The request has failed due to a temporary failure of the server."),
}
_UNAVAILABLE = ("ServiceUnavailable", "The request has failed due to a temporary failure of the server.")


class FaultRuleError(ValueError):
    """A rule that cannot be used; one line per bad field."""


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


Count = Annotated[int, Field(ge=0, le=10**9)]
Occurrence = Annotated[int, Field(ge=1, le=10**9)]


class FaultRule(Strict):
    name: Annotated[str, Field(max_length=128)] | None = None
    action: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9*?\[\]!._-]+$")] | None = None
    account: Annotated[Text, Field(max_length=64)] | None = None
    product: Annotated[str, Field(max_length=32)] | None = None
    nth: Annotated[list[Occurrence], BeforeValidator(_one_or_many), Field(min_length=1, max_length=1000)] | None = None
    first: Count | None = None
    after: Count | None = None
    times: Count | None = None
    effect: Effect
    code: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,127}$")] | None = None
    status: Annotated[int, Field(ge=400, le=599)] | None = None
    message: Annotated[str, Field(max_length=1024)] | None = None
    retry_after_ms: Annotated[int, Field(ge=1, le=3_600_000)] | None = None
    latency_ms: Annotated[float, Field(ge=0, le=600_000, allow_inf_nan=False)] | None = None
    lag_s: Seconds | None = None
    for_s: Seconds | None = None
    added_at: Annotated[float, Field(ge=0, le=MAX_SECONDS * 1000, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _effect_needs(self) -> FaultRule:
        wrong = []
        if self.effect == "error" and not self.code:
            wrong.append("code: required for effect 'error'")
        if self.effect == "latency" and self.latency_ms is None:
            wrong.append("latency_ms: a number of milliseconds is required for effect 'latency'")
        if self.effect == "stale_read" and self.lag_s is None:
            wrong.append("lag_s: a number of seconds is required for effect 'stale_read'")
        if self.effect == "throttle" and self.status is not None and self.status not in THROTTLE_SHAPES:
            wrong.append(f"status: a throttle answers {', '.join(map(str, THROTTLE_SHAPES))}")
        given = [k for k in ("nth", "first", "after") if getattr(self, k) is not None]
        if len(given) > 1:
            wrong.append(f"{given[1]}: give at most one of nth, first, after")
        if wrong:
            raise ValueError("\n".join(wrong))
        return self


def validate_rule(rule: Any) -> FaultRule:
    if not isinstance(rule, dict):
        raise FaultRuleError('a fault rule is a JSON object such as {"effect": "throttle", "first": 2}')
    try:
        return FaultRule.model_validate(rule)
    except ValidationError as e:
        raise FaultRuleError("\n".join(problems(e, FaultRule))) from None


def as_stored(rule: FaultRule) -> dict[str, Any]:
    return rule.model_dump(exclude_none=True)


@dataclass(frozen=True)
class Fired:
    """A rule that fires on this request."""

    rule_id: int
    rule: FaultRule

    @property
    def effect(self) -> str:
        return self.rule.effect

    def label(self) -> str:
        return f"{self.rule_id}:{self.rule.name or self.effect}"

    def error(self) -> tuple[str, str, int, int | None]:
        """(code, message, status, retry_after_ms) for error-like effects."""
        r = self.rule
        if r.effect == "throttle":
            status = r.status or 400
            code, message = THROTTLE_SHAPES[status]
            return r.code or code, r.message or message, status, r.retry_after_ms
        code, message = _UNAVAILABLE
        status = r.status or (400 if r.effect == "error" else 503)
        return r.code or code, r.message or message, status, r.retry_after_ms


def selects(rule: FaultRule, action: str, product: str, account_name: str, account_uid: str) -> bool:
    if rule.action and not fnmatch.fnmatchcase(action, rule.action):
        return False
    if rule.product and rule.product.lower() != product.lower():
        return False
    return not (rule.account and rule.account not in (account_name, account_uid))


def triggers(rule: FaultRule, occurrence: int, fired_before: int, now: float) -> bool:
    """Whether the ``occurrence``-th selected request (1-based) is hit."""
    if rule.times is not None and fired_before >= rule.times:
        return False
    if rule.for_s is not None and now > (rule.added_at if rule.added_at is not None else now) + rule.for_s:
        return False
    if rule.nth is not None:
        return occurrence in rule.nth
    if rule.first is not None:
        return occurrence <= rule.first
    if rule.after is not None:
        return occurrence > rule.after
    return True
