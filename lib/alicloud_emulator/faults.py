"""Deterministic fault rules: which request they hit, and what they do to it.

A rule selects requests by ``action`` (glob), ``account`` (name or UID) and ``product``, then
triggers on an occurrence among the requests it selects: ``nth`` (a number or a list, 1-based),
``first`` (the first N), ``after`` (every one after the first N) or always; ``times`` caps how
often it fires. Effects:

* ``error``: respond with ``code``/``status``/``message`` before the handler runs (nothing changes);
  ``retry_after_ms`` adds ``x-acs-retry-after`` so the SDK raises ``ThrottlingException``.
* ``throttle``: ``error`` with ``Throttling.User``, status 400 and a retry-after of 1000 ms.
* ``latency``: wait ``latency_ms`` before handling.
* ``drop``: close the connection without a response, before the handler runs.
* ``fail_after_commit``: apply and commit the change, then lose the response (drop the
  connection, or answer with ``code``/``status`` when given).
* ``stale_read``: serve reads as of ``lag_s`` seconds ago, while the rule is younger than
  ``for_s`` seconds (default: as long as it exists). It selects reads only (changes always see
  the present), so a mutating call neither triggers nor counts toward it.

Rules and their counters live in the store, so they survive a restart. The journal entry of a
request names every rule that acted on it (``fault``: ``"<id>:<name or effect>"``); after a
``fail_after_commit`` it also says ``committed: true`` with the status the client saw
(``0``/``Dropped`` for a dropped connection).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

EFFECTS = {"error", "throttle", "latency", "drop", "fail_after_commit", "stale_read"}
_FIELDS = {
    "action",
    "account",
    "product",
    "nth",
    "first",
    "after",
    "times",
    "effect",
    "code",
    "status",
    "message",
    "retry_after_ms",
    "latency_ms",
    "lag_s",
    "for_s",
    "name",
    "added_at",
}


class FaultRuleError(ValueError):
    pass


def validate_rule(rule: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise FaultRuleError("a fault rule is a JSON object")
    unknown = set(rule) - _FIELDS
    if unknown:
        raise FaultRuleError(
            f"unknown fault rule fields: {', '.join(sorted(unknown))}; valid: {', '.join(sorted(_FIELDS))}"
        )
    effect = rule.get("effect")
    if effect not in EFFECTS:
        raise FaultRuleError(f"effect: {effect!r} is not one of {', '.join(sorted(EFFECTS))}")
    if effect == "error" and not rule.get("code"):
        raise FaultRuleError("code: required for effect 'error'")
    if effect == "latency" and not isinstance(rule.get("latency_ms"), (int, float)):
        raise FaultRuleError("latency_ms: a number is required for effect 'latency'")
    if effect == "stale_read" and not isinstance(rule.get("lag_s"), (int, float)):
        raise FaultRuleError("lag_s: a number is required for effect 'stale_read'")
    nth = rule.get("nth")
    if nth is not None and not (
        isinstance(nth, int) or (isinstance(nth, list) and all(isinstance(n, int) for n in nth))
    ):
        raise FaultRuleError("nth: a whole number or a list of whole numbers")
    return rule


@dataclass(frozen=True)
class Fired:
    """A rule that fires on this request."""

    rule_id: int
    rule: dict[str, Any]

    @property
    def effect(self) -> str:
        return self.rule["effect"]

    def label(self) -> str:
        return f"{self.rule_id}:{self.rule.get('name') or self.effect}"

    def error(self) -> tuple[str, str, int, int | None]:
        """(code, message, status, retry_after_ms) for error-like effects."""
        if self.effect == "throttle":
            return (
                self.rule.get("code", "Throttling.User"),
                self.rule.get("message", "Request was denied due to user flow control."),
                int(self.rule.get("status", 400)),
                int(self.rule.get("retry_after_ms", 1000)),
            )
        return (
            self.rule.get("code", "ServiceUnavailable"),
            self.rule.get("message", "The request has failed due to a temporary failure of the server."),
            int(self.rule.get("status", 503 if self.effect != "error" else 400)),
            self.rule.get("retry_after_ms"),
        )


def selects(rule: dict[str, Any], action: str, product: str, account_name: str, account_uid: str) -> bool:
    if rule.get("action") and not fnmatch.fnmatchcase(action, rule["action"]):
        return False
    if rule.get("product") and rule["product"].lower() != product.lower():
        return False
    return not (rule.get("account") and str(rule["account"]) not in (account_name, account_uid))


def triggers(rule: dict[str, Any], occurrence: int, fired_before: int, now: float) -> bool:
    """Whether the ``occurrence``-th selected request (1-based) is hit."""
    if rule.get("times") is not None and fired_before >= int(rule["times"]):
        return False
    if rule.get("for_s") is not None and now > float(rule.get("added_at", now)) + float(rule["for_s"]):
        return False
    nth = rule.get("nth")
    if nth is not None:
        return occurrence in (nth if isinstance(nth, list) else [nth])
    if rule.get("first") is not None:
        return occurrence <= int(rule["first"])
    if rule.get("after") is not None:
        return occurrence > int(rule["after"])
    return True
