"""The control API under ``/_emulator/``: health, reset, world, behaviour, quotas, credentials,
faults, clock, journal, state, accounts. It is not signed and ``accounts`` hands out every key, so it answers
only what can only come from this machine's own tools:

* a loopback client (127.0.0.0/8, ::1, IPv4-mapped loopback) ...
* ... that names a loopback ``Host`` (``127.0.0.1``, ``[::1]``, ``localhost``, with a port or
  not), so a web page on another site that rebinds its DNS name to 127.0.0.1 gets nothing;
* no cross-site browser request: an ``Origin`` header must be a loopback origin and
  ``Sec-Fetch-Site`` must not be ``cross-site``;
* a body only as ``Content-Type: application/json`` (a form or ``text/plain`` body, which a
  page may send without asking, is refused), parsed strictly: no ``NaN``/``Infinity``, no number
  too large for a float, no key given twice.

Every value is validated (``schema.py``) and refused with a 400 naming the field and what would be
valid; nothing is stored before its whole request is known to be good.

* ``quotas`` (``quotas.py``): GET shows whether quotas are enforced, the overrides, the table (each
  row with its source and the limit in force) and the calls each (account, region, action) made in
  its current window; POST ``{"enabled": bool, "overrides": {KEY: calls | {calls, window_s} | null},
  "clear": true}`` changes them (an override given as null is dropped, one given replaces its key,
  the others stay; ``clear`` forgets the calls counted so far), kept in the world like ``behaviour``.
* ``credentials`` (``credentials.py``): GET lists the temporary credentials AssumeRole issued (no
  secret, no token); POST ``{"expire": "all" | [AccessKeyId, ...]}`` ends them now, so a client's
  handling of ``InvalidSecurityToken.Expired`` can be tested without waiting for the real clock.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationError

from . import __version__
from .control_reachability import reachability
from .faults import FaultRuleError, as_stored, validate_rule
from .jsoncodec import loads
from .quotas import Quotas
from .roles import role_arn
from .schema import MAX_SECONDS, Strict, problems
from .store import public
from .timefmt import iso
from .wire import Reply, Request, control_reply
from .world import WorldError, load_world_file
from .world_schema import Behaviour

if TYPE_CHECKING:
    from .server import App

MAX_RULES_PER_POST = 1000
_JOURNAL_FILTERS = ("action", "account", "account_uid", "error_code", "role_arn", "role_session")


class ControlError(ValueError):
    """A control request refused with a status and a message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# -- who may call -------------------------------------------------------------------------------
def is_loopback(address: str) -> bool:
    """Whether a client address is this machine's loopback (IPv4, IPv6 or IPv4-mapped IPv6)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def is_loopback_host(host: str) -> bool:
    """Whether a ``Host`` header (``name[:port]``) names this machine's loopback."""
    host = host.strip().lower()
    if host.startswith("["):
        name, sep, rest = host[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return False
        port = rest[1:]
    elif host.count(":") <= 1:
        name, _, port = host.partition(":")
    else:
        return False  # a bare IPv6 address must be bracketed in a Host header
    if port and not (port.isdigit() and len(port) <= 5):
        return False
    return name == "localhost" or is_loopback(name)


def is_loopback_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin.strip())
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return False
    return parts.hostname == "localhost" or is_loopback(parts.hostname)


def refusal(req: Request, peer: str) -> str | None:
    """Why a control request may not be served, or None."""
    if not is_loopback(peer):
        return "the control API answers loopback clients only"
    if not is_loopback_host(req.headers.get("host", "")):
        return "the control API answers requests for a loopback Host only (127.0.0.1, [::1], localhost)"
    origin = req.headers.get("origin")
    if origin is not None and not is_loopback_origin(origin):
        return "the control API refuses cross-site requests (Origin is not a loopback origin)"
    if req.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return "the control API refuses cross-site requests (Sec-Fetch-Site: cross-site)"
    return None


# -- the routes ---------------------------------------------------------------------------------
def handle(app: App, req: Request, peer: str) -> Reply:
    why = refusal(req, peer)
    if why is not None:
        return control_reply({"error": why}, 403)
    name = req.path[len("/_emulator/") :].strip("/")
    route = _ROUTES.get(name)
    if route is None:
        known = ", ".join(f"/_emulator/{r}" for r in _ROUTES)
        return control_reply({"error": f"unknown control path /_emulator/{name}; known: {known}"}, 404)
    handler, methods = route
    if req.method not in methods:
        reply = control_reply({"error": f"/_emulator/{name} takes {', '.join(methods)}"}, 405)
        reply.headers["Allow"] = ", ".join(methods)
        return reply
    try:
        return handler(app, req)
    except ControlError as e:
        return control_reply({"error": str(e)}, e.status)
    except (WorldError, FaultRuleError, ValueError, OSError) as e:
        return control_reply({"error": str(e)}, 400)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ControlError(f"the number {text[:32]} is too large; numbers must be finite")
    return value


def _constant(name: str) -> Any:
    raise ControlError(f"{name} is not a number the control API accepts; numbers must be finite")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ControlError(f"the key {key[:64]!r} is given twice")
        out[key] = value
    return out


def _body(req: Request) -> Any:
    """The request's JSON body (None when it has none)."""
    if not req.body:
        return None
    media = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ControlError("a control request body must be sent as Content-Type: application/json", 415)
    try:
        text = req.body.decode("utf-8")
        return json.loads(text, parse_float=_finite, parse_constant=_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise ControlError("the body is not UTF-8 text") from None
    except RecursionError:
        raise ControlError("the body is nested too deeply") from None
    except json.JSONDecodeError as e:
        raise ControlError(f"the body is not JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None


def _validated(model: type[Strict], value: Any, what: str) -> Any:
    if not isinstance(value, dict):
        raise ControlError(f"{what}: a JSON object is required")
    try:
        return model.model_validate(value)
    except ValidationError as e:
        raise ControlError("\n".join(problems(e, model))) from None


def _forward(seconds: float) -> float:
    if seconds < 0:
        raise ValueError("the clock only moves forward; give seconds >= 0")
    return seconds


class ClockRequest(Strict):
    advance: Annotated[float, Field(le=MAX_SECONDS, allow_inf_nan=False), AfterValidator(_forward)] = 0.0


def _health(app: App, req: Request) -> Reply:
    store = app.store
    return control_reply(
        {
            "status": "ok",
            "version": __version__,
            "db": store.path or ":memory:",
            "now": iso(store.now()),
            "epoch": store.now(),
            "accounts": [a.name for a in app.emulator.accounts],
            "signatures": "enforced" if app.emulator.verify_signatures else "off",
        }
    )


def _reset(app: App, req: Request) -> Reply:
    _body(req)  # a body, if any, must still be JSON
    app.load_world(app.store.meta("world"))
    return control_reply({"status": "reset"})


def _world(app: App, req: Request) -> Reply:
    if req.method == "GET":
        world = app.store.meta("world") or {}
        return control_reply({k: v for k, v in world.items() if k != "accounts"})
    body = _body(req)
    if not isinstance(body, dict):
        raise WorldError('a world is a mapping with accounts and vpcs, or {"path": FILE}')
    if set(body) == {"path"}:
        if not isinstance(body["path"], str) or not body["path"]:
            raise ControlError("path: the path of a world file is required")
        world = load_world_file(body["path"])
    else:
        world = body
    app.load_world(world)
    return control_reply({"status": "loaded", "accounts": [a.name for a in app.emulator.accounts]})


def _behaviour(app: App, req: Request) -> Reply:
    """The world's ``behaviour`` (``world_schema.py``); a POST changes the keys it gives, at
    once, for every later request, and keeps them in the world (a reset keeps them too)."""
    if req.method == "POST":
        body = _body(req)
        world = dict(app.store.meta("world") or {})
        if not world:
            raise ControlError("no world is loaded")
        current = app.emulator.behaviour.model_dump()
        if not isinstance(body, dict):
            raise ControlError('behaviour: a JSON object such as {"read_lag": {"seconds": 3}} is required')
        behaviour = _validated(Behaviour, dict(current, **body), "behaviour")
        world["behaviour"] = behaviour.model_dump()
        app.store.set_meta("world", world)
        app.emulator.refresh()
    return control_reply({"behaviour": app.emulator.behaviour.model_dump()})


class QuotasRequest(Strict):
    enabled: bool | None = None
    overrides: Annotated[dict[Annotated[str, Field(max_length=128)], Any], Field(max_length=1000)] | None = None
    clear: bool = False


def _quotas(app: App, req: Request) -> Reply:
    """The API quotas: GET the table, the overrides and the counts; POST changes them."""
    emulator = app.emulator
    if req.method == "POST":
        body = _validated(QuotasRequest, _body(req) or {}, "quotas")
        world = dict(app.store.meta("world") or {})
        if not world:
            raise ControlError("no world is loaded")
        current = emulator.behaviour.quotas.model_dump(exclude_none=True)
        overrides = dict(current["overrides"])
        for key, value in (body.overrides or {}).items():
            if value is None:
                overrides.pop(key, None)
            else:
                overrides[key] = value
        enabled = current["enabled"] if body.enabled is None else body.enabled
        quotas = _validated(Quotas, {"enabled": enabled, "overrides": overrides}, "quotas")
        behaviour = emulator.behaviour.model_copy(update={"quotas": quotas})
        world["behaviour"] = behaviour.model_dump(exclude_none=True)
        app.store.set_meta("world", world)
        emulator.refresh()
        if body.clear:
            emulator.limiter.clear()
    names = {a.uid: a.name for a in emulator.accounts}
    return control_reply(emulator.limiter.report(names))


class CredentialsRequest(Strict):
    expire: Literal["all"] | Annotated[list[Annotated[str, Field(max_length=128)]], Field(max_length=10_000)]


def _credentials(app: App, req: Request) -> Reply:
    """Temporary credentials: GET lists them; POST ``{"expire": ...}`` ends them now."""
    out: dict[str, Any] = {}
    if req.method == "POST":
        body = _validated(CredentialsRequest, _body(req) or {}, "credentials")
        out["expired_now"] = app.emulator.credentials.expire(None if body.expire == "all" else list(body.expire))
    out["credentials"] = app.emulator.credentials.listing()
    return control_reply(out)


def _faults(app: App, req: Request) -> Reply:
    store = app.store
    if req.method == "DELETE":
        with store.transaction() as tx:
            tx.sql("DELETE FROM faults")
    elif req.method == "POST":
        body = _body(req)
        given = body if isinstance(body, list) else [body]
        if len(given) > MAX_RULES_PER_POST:
            raise ControlError(f"at most {MAX_RULES_PER_POST} rules per request")
        rules, wrong = [], []
        for i, rule in enumerate(given):
            try:
                rules.append(validate_rule(rule))
            except FaultRuleError as e:
                where = f"rules[{i}]: " if len(given) > 1 else ""
                wrong += [where + line for line in str(e).splitlines()]
        if wrong:
            raise ControlError("\n".join(wrong))
        with store.transaction() as tx:
            for rule in rules:
                stored = dict(as_stored(rule), added_at=tx.now)
                tx.sql("INSERT INTO faults (rule) VALUES (?)", (json.dumps(stored, allow_nan=False),))
    app.emulator.refresh()
    with store.transaction() as tx:
        faults = [{"id": i, "rule": r, "calls": c, "fired": f} for i, r, c, f in tx.faults()]
    return control_reply({"faults": faults})


def _clock(app: App, req: Request) -> Reply:
    if req.method == "POST":
        clock = _validated(ClockRequest, _body(req) or {}, "clock")
        app.store.advance_clock(clock.advance)
    now = app.store.now()
    return control_reply({"now": iso(now), "epoch": now})


def _journal(app: App, req: Request) -> Reply:
    q = req.query
    unknown = set(q) - {"since", "limit", *_JOURNAL_FILTERS}
    if unknown:
        raise ControlError(
            f"unknown journal query {', '.join(sorted(unknown))}; valid: since, limit, {', '.join(_JOURNAL_FILTERS)}"
        )
    since, limit = _whole(q, "since", 0), _whole(q, "limit", None)
    app.store.flush()
    with app.store.transaction(write=False) as tx:
        rows = tx.sql("SELECT seq, entry FROM journal WHERE seq > ? ORDER BY seq", (since,))
    entries = []
    for seq, entry in rows:
        e = dict(loads(entry), seq=seq)
        if all(str(e.get(k)) == v for k, v in q.items() if k in _JOURNAL_FILTERS):
            entries.append(e)
            if limit is not None and len(entries) >= limit:
                break
    return control_reply({"entries": entries})


def _whole(q: dict[str, str], name: str, default: int | None) -> int | None:
    value = q.get(name)
    if value is None:
        return default
    if not value.isdigit() or len(value) > 18:
        raise ControlError(f"{name}: a whole number >= 0 is required")
    return int(value)


def _state(app: App, req: Request) -> Reply:
    out: dict[str, Any] = {}
    names = {a.uid: a.name for a in app.emulator.accounts}
    with app.store.transaction() as tx:
        rows = tx.sql("SELECT type, account FROM resources GROUP BY type, account")
        for type_, account in rows:
            items = [public(r) for r in tx.find(type_, account=account)]
            if items:
                out.setdefault(names.get(account, account), {})[type_] = items
    return control_reply({"now": iso(app.store.now()), "accounts": out})


def _accounts(app: App, req: Request) -> Reply:
    """The world's accounts with their keys and the ARNs of their roles, so a local tool needs no
    other set-up."""
    roles_of = {
        a["name"]: [role_arn(str(a["uid"]), r["name"]) for r in a.get("roles") or []]
        for a in app.emulator.world.get("accounts") or []
    }
    return control_reply(
        {
            "accounts": [
                {
                    "name": a.name,
                    "uid": a.uid,
                    "access_key_id": a.access_key_id,
                    "access_key_secret": a.access_key_secret,
                    "key_kind": a.key_kind,
                    "roles": roles_of.get(a.name, []),
                }
                for a in app.emulator.accounts
            ]
        }
    )


_GET, _POST = ("GET",), ("POST",)
_ROUTES: dict[str, tuple[Callable[[App, Request], Reply], tuple[str, ...]]] = {
    "health": (_health, _GET),
    "reset": (_reset, _POST),
    "world": (_world, ("GET", "POST")),
    "behaviour": (_behaviour, ("GET", "POST")),
    "quotas": (_quotas, ("GET", "POST")),
    "credentials": (_credentials, ("GET", "POST")),
    "faults": (_faults, ("GET", "POST", "DELETE")),
    "clock": (_clock, ("GET", "POST")),
    "journal": (_journal, _GET),
    "state": (_state, _GET),
    "accounts": (_accounts, _GET),
    "reachability": (reachability, _GET),
}
