"""``GET /_emulator/reachability``: what the reachability model says of a ping, at a moment or over
a span of virtual time (``reachability_timeline.py``). Read-only, for local tools that measure how
long traffic could not cross during a change (a migration from router interfaces to a VPC peering
connection, one route at a time).

Query parameters:

* ``instance`` (required): the source ECS instance ID; ``ip`` (required): the address pinged;
* ``at``: a moment (epoch seconds of the virtual clock, as ``/_emulator/clock`` gives ``epoch``;
  default now), answered with one verdict;
* or ``since`` (and ``until``, default now): a span, answered with its stretches, the seconds lost
  in it (``lost_s``) and the longest loss (``longest_loss_s``).

A verdict is ``{reachable, reason, via, back_via, failed}``: ``via``/``back_via`` the hop each
direction took (``local``, ``RouterInterface ri-...``, ``VpcPeer pcc-...``), ``failed`` where a lost
packet died (``forward``, ``destination``, ``ingress``, ``return``). The journal of RunCommand pings
records what was asked; this answers what any moment would have given.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .reachability_timeline import UnknownInstanceError, timeline, verdict_at
from .timefmt import iso
from .wire import Reply, Request, control_reply

if TYPE_CHECKING:
    from .server import App

_KNOWN = ("instance", "ip", "at", "since", "until")
MAX_SPAN_S = 366 * 24 * 3600.0


class _Refused(ValueError):
    pass


def _moment(q: dict[str, str], name: str) -> float | None:
    value = q.get(name)
    if value is None or value == "":
        return None
    try:
        t = float(value)
    except ValueError:
        raise _Refused(f"{name}: epoch seconds of the virtual clock are required (GET /_emulator/clock)") from None
    if not math.isfinite(t) or t < 0:
        raise _Refused(f"{name}: a finite number of epoch seconds >= 0 is required")
    return t


def reachability(app: App, req: Request) -> Reply:
    """The route's handler: ``control._ROUTES["reachability"] = (reachability, ("GET",))``."""
    try:
        return control_reply(_answer(app, req.query))
    except _Refused as e:
        return control_reply({"error": str(e)}, 400)
    except UnknownInstanceError as e:
        return control_reply({"error": f"instance: {e} does not exist at the moment asked"}, 404)


def _answer(app: App, q: dict[str, str]) -> dict[str, Any]:
    unknown = sorted(set(q) - set(_KNOWN))
    if unknown:
        raise _Refused(f"unknown query {', '.join(unknown)}; valid: {', '.join(_KNOWN)}")
    instance, ip = q.get("instance", ""), q.get("ip", "")
    if not instance or not ip:
        raise _Refused("instance and ip are required: the source ECS instance ID and the address it pings")
    store = app.store
    now = store.now()
    at, since, until = _moment(q, "at"), _moment(q, "since"), _moment(q, "until")
    if at is not None and (since is not None or until is not None):
        raise _Refused("give either at (one moment) or since/until (a span)")
    if since is None and until is not None:
        raise _Refused("until needs since")
    head: dict[str, Any] = {"instance": instance, "ip": ip, "now": now, "now_iso": iso(now)}
    if since is None:
        moment = now if at is None else at
        v = verdict_at(store, instance, ip, moment)
        return dict(head, at=moment, verdict=_verdict(v.reachable, v.reason, v.via, v.back_via, v.failed))
    end = now if until is None else until
    if end < since:
        raise _Refused("until is before since")
    if end - since > MAX_SPAN_S:
        raise _Refused(f"a span is at most {MAX_SPAN_S:.0f} seconds")
    t = timeline(store, instance, ip, since, end)
    return dict(
        head,
        since=t.since,
        until=t.until,
        stretches=[s.as_dict() for s in t.stretches],
        lost_s=round(t.lost_s, 6),
        longest_loss_s=round(t.longest_loss_s, 6),
        exact=t.exact,
        exact_since=t.exact_since,
        cut=t.cut,
    )


def _verdict(reachable: bool, reason: str, via: str, back_via: str, failed: str) -> dict[str, Any]:
    return {"reachable": reachable, "reason": reason, "via": via, "back_via": back_via, "failed": failed}
