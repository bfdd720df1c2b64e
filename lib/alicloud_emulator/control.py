"""The control API under ``/_emulator/``: health, reset, world, faults, clock, journal, state,
accounts. It answers loopback clients only (the server checks) and is not signed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import yaml

from . import __version__
from .faults import FaultRuleError, validate_rule
from .jsoncodec import loads
from .store import public
from .timefmt import iso
from .wire import Reply, Request, control_reply
from .world import WorldError, load_world_file

if TYPE_CHECKING:
    from .server import App


def handle(app: App, req: Request) -> Reply:
    name = req.path[len("/_emulator/") :].strip("/")
    route = _ROUTES.get(name)
    if route is None:
        return control_reply(
            {
                "error": f"unknown control path /_emulator/{name}; known: "
                + ", ".join(f"/_emulator/{r}" for r in _ROUTES)
            },
            404,
        )
    try:
        return route(app, req)
    except (ValueError, OSError, yaml.YAMLError, WorldError, FaultRuleError) as e:
        return control_reply({"error": str(e)}, 400)


def _body(req: Request) -> Any:
    if not req.body:
        return {}
    text = req.body.decode("utf-8")
    return yaml.safe_load(text) if "yaml" in req.headers.get("content-type", "") else json.loads(text)


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
    if req.method != "POST":
        return control_reply({"error": "POST /_emulator/reset"}, 405)
    app.load_world(app.store.meta("world"))
    return control_reply({"status": "reset"})


def _world(app: App, req: Request) -> Reply:
    if req.method == "GET":
        world = app.store.meta("world") or {}
        return control_reply({k: v for k, v in world.items() if k != "accounts"})
    body = _body(req)
    if not isinstance(body, dict):
        raise WorldError('a world is a mapping with accounts and vpcs, or {"path": FILE}')
    world = load_world_file(body["path"]) if set(body) == {"path"} else body
    app.load_world(world)
    return control_reply({"status": "loaded", "accounts": [a.name for a in app.emulator.accounts]})


def _faults(app: App, req: Request) -> Reply:
    store = app.store
    if req.method == "DELETE":
        with store.transaction() as tx:
            tx.sql("DELETE FROM faults")
    elif req.method == "POST":
        body = _body(req)
        rules = body if isinstance(body, list) else [body]
        with store.transaction() as tx:
            for rule in rules:
                rule = dict(validate_rule(rule), added_at=tx.now)
                tx.sql("INSERT INTO faults (rule) VALUES (?)", (json.dumps(rule),))
    app.emulator.refresh()
    with store.transaction() as tx:
        faults = [{"id": i, "rule": r, "calls": c, "fired": f} for i, r, c, f in tx.faults()]
    return control_reply({"faults": faults})


def _clock(app: App, req: Request) -> Reply:
    if req.method == "POST":
        body = _body(req)
        app.store.advance_clock(float(body.get("advance", 0)))
    now = app.store.now()
    return control_reply({"now": iso(now), "epoch": now})


def _journal(app: App, req: Request) -> Reply:
    q = req.query
    since = int(q.get("since", 0))
    with app.store.transaction() as tx:
        rows = tx.sql("SELECT seq, entry FROM journal WHERE seq > ? ORDER BY seq", (since,))
    entries = []
    for seq, entry in rows:
        e = dict(loads(entry), seq=seq)
        if all(str(e.get(k)) == v for k, v in q.items() if k in ("action", "account", "account_uid", "error_code")):
            entries.append(e)
    return control_reply({"entries": entries})


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
    """The world's accounts with their keys, so a local tool needs no other set-up."""
    return control_reply(
        {
            "accounts": [
                {
                    "name": a.name,
                    "uid": a.uid,
                    "access_key_id": a.access_key_id,
                    "access_key_secret": a.access_key_secret,
                }
                for a in app.emulator.accounts
            ]
        }
    )


_ROUTES = {
    "health": _health,
    "reset": _reset,
    "world": _world,
    "faults": _faults,
    "clock": _clock,
    "journal": _journal,
    "state": _state,
    "accounts": _accounts,
}
