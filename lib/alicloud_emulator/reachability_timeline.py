"""Reachability on the virtual clock: would a ping from an instance to an IP address pass at a given
moment, and which way; and, over a span of virtual time, the stretches in which it passes or not.

A change of routes (a router-interface link replaced by a VPC peering connection, one route at a
time) loses traffic for as long as no path carries it. ``reachability.ping`` decides one moment from
the network as it is; this module asks it at every moment the answer can change, so the loss of a
change is measured exactly, without pinging in a loop:

* ``verdict_at(store, instance_id, ip, t)``: the ping's verdict at virtual time ``t`` (the past is
  read from the store's history, the future from the transitions already scheduled: a route that is
  ``Pending`` now is ``Available`` at its due time).
* ``timeline(store, instance_id, ip, since, until)``: the stretches of ``[since, until]`` with their
  verdicts, merged where nothing the verdict reports changes, and the time lost in them.

The answer can change only when a network record changes: its creation, a write (each replaced
version is kept in ``history`` with the time it was replaced), a scheduled transition, its removal.
Those moments are read from the records and their kept versions, so no moment is missed, with one
limit: the store keeps ``HISTORY_KEEP`` versions of each resource, so for a resource written more
often than that since ``since``, the moments before its oldest kept version are read from that
version; ``exact`` is then false and ``exact_since`` says from when the answer is exact.

Read-only: it never writes the store, and it sees every account (a packet crosses accounts), so it
is for the control API (``control_reachability.py``), never for a product.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .jsoncodec import loads
from .reachability import Network, Verdict, ping
from .store import HISTORY_KEEP, Store

_NETWORK_TYPES = (
    "vpc",
    "vswitch",
    "route_table",
    "route_entry",
    "router_interface",
    "security_group",
    "instance",
    "vpc_peer",
)
MAX_MOMENTS = 20_000  # a span with more changes than this is cut, and said to be


class UnknownInstanceError(LookupError):
    """The source instance does not exist at the moment asked."""


@dataclass(frozen=True)
class Stretch:
    """``[start, end)`` of virtual time in which the verdict stays the same."""

    start: float
    end: float
    reachable: bool
    via: str
    back_via: str
    failed: str
    reason: str

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict[str, Any]:
        return dict(asdict(self), seconds=round(self.seconds, 6))


@dataclass
class Timeline:
    instance_id: str
    ip: str
    since: float
    until: float
    stretches: list[Stretch] = field(default_factory=list)
    exact: bool = True
    exact_since: float | None = None
    cut: bool = False

    @property
    def lost_s(self) -> float:
        """Virtual seconds in ``[since, until]`` in which the ping would not pass."""
        return sum(s.seconds for s in self.stretches if not s.reachable)

    @property
    def longest_loss_s(self) -> float:
        return max((s.seconds for s in self.stretches if not s.reachable), default=0.0)


def _network_at(store: Store, t: float) -> Network:
    now = store.now()
    if t >= now:  # the future: the current versions with their scheduled transitions
        with store.transaction(now=t, write=False) as tx:
            return Network.read(tx)
    with store.transaction(view_time=t, write=False) as tx:  # the past: from the kept versions
        return Network.read(tx)


def verdict_at(store: Store, instance_id: str, ip: str, t: float) -> Verdict:
    """Would ``instance_id`` get an echo reply from ``ip`` at virtual time ``t``?"""
    return _verdict(_network_at(store, t), instance_id, ip)


def _verdict(net: Network, instance_id: str, ip: str) -> Verdict:
    source = next((i for i in net.instances if i.get("InstanceId") == instance_id), None)
    if source is None:
        raise UnknownInstanceError(instance_id)
    if source.get("Status") != "Running":
        return Verdict(False, f"the source instance {instance_id} is {source.get('Status')}, not Running")
    return ping(net, source, ip)


def _moments(store: Store, since: float, until: float) -> tuple[list[float], float | None]:
    """Every moment in ``(since, until]`` at which a network record changes, and, when the kept
    history cannot answer for the whole span, the moment from which it can."""
    marks: set[float] = set()
    types = ", ".join("?" * len(_NETWORK_TYPES))
    with store.transaction(write=False) as tx:
        rows = tx.sql(f"SELECT id, data FROM resources WHERE type IN ({types})", _NETWORK_TYPES)
        ids = {row[0] for row in rows}
        kept = tx.sql("SELECT id, changed_at, data FROM history ORDER BY rowid")
    exact_since: float | None = None
    versions: dict[str, list[tuple[float, str]]] = {}
    for id_, changed_at, data in kept:
        if id_ in ids:
            versions.setdefault(id_, []).append((changed_at, data))
    for id_, data in rows:
        rec = loads(data)
        marks.add(rec.get("_created", since))
        if rec.get("_gone_at") is not None:
            marks.add(rec["_gone_at"])
        marks.update(due for due, _ in rec.get("_transitions") or [])
        older = versions.get(id_, [])
        for changed_at, old in older:
            marks.add(changed_at)
            marks.update(due for due, _ in loads(old).get("_transitions") or [])
        if len(older) >= HISTORY_KEEP and older[0][0] > since:
            exact_since = max(exact_since or since, older[0][0])
    return sorted(m for m in marks if since < m <= until), exact_since


def timeline(store: Store, instance_id: str, ip: str, since: float, until: float) -> Timeline:
    """The verdicts of a ping from ``instance_id`` to ``ip`` over ``[since, until]``."""
    if until < since:
        raise ValueError("until is before since")
    moments, exact_since = _moments(store, since, until)
    out = Timeline(instance_id, ip, since, until, exact=exact_since is None, exact_since=exact_since)
    if len(moments) > MAX_MOMENTS:
        moments, out.cut = moments[:MAX_MOMENTS], True
        out.until = moments[-1]
    current: tuple[float, Verdict] | None = None
    for t in [since, *moments]:
        v = verdict_at(store, instance_id, ip, t)
        if current is not None and _same(current[1], v):
            continue
        if current is not None:
            out.stretches.append(_stretch(current[0], t, current[1]))
        current = (t, v)
    assert current is not None
    out.stretches.append(_stretch(current[0], out.until, current[1]))
    return out


def _same(a: Verdict, b: Verdict) -> bool:
    return (a.reachable, a.via, a.back_via, a.failed) == (b.reachable, b.via, b.back_via, b.failed)


def _stretch(start: float, end: float, v: Verdict) -> Stretch:
    return Stretch(start, end, v.reachable, v.via, v.back_via, v.failed, v.reason)
