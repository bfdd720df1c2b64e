"""From a parsed HTTP request to a reply: caller, signature, faults, handler, journal.

This is the only place that knows both the wire (``wire.Request``/``wire.Reply``) and the
products; handlers stay free of HTTP.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

from . import signing
from .context import Action, Context
from .errors import ApiError
from .faults import Fired, selects, triggers
from .params import Params, unflatten
from .products import ecs, sts, vpc
from .regions import REGIONS
from .store import Store, Tx
from .wire import Reply, Request, error_reply, json_reply
from .world import Account, accounts_of

# API version -> (product name, host prefix, actions)
PRODUCTS: dict[str, tuple[str, str, dict[str, Action]]] = {
    "2016-04-28": ("Vpc", "vpc", vpc.ACTIONS),
    "2014-05-26": ("Ecs", "ecs", ecs.ACTIONS),
    "2015-04-01": ("Sts", "sts", sts.ACTIONS),
}

# Protocol parameters that are not the action's own (and never go to the journal).
_PROTOCOL = {
    "Action",
    "Version",
    "Format",
    "Timestamp",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "Signature",
    "AccessKeyId",
    "SecurityToken",
}


def _host(prefix: str, region: str) -> str:
    """The endpoint an error's ``HostId`` names, as the cloud's do."""
    return (
        f"{prefix or 'openapi'}.{region}.aliyuncs.com" if region in REGIONS else f"{prefix or 'openapi'}.aliyuncs.com"
    )


class Emulator:
    """The API side of the emulator over one store."""

    def __init__(self, store: Store, verify_signatures: bool = True):
        self.store = store
        self.verify_signatures = verify_signatures
        self._random = random.Random()
        self.refresh()

    def refresh(self) -> None:
        """Re-read what is cached from the store (after a world load or a fault change)."""
        self.world = self.store.meta("world") or {}
        self.accounts = accounts_of(self.world) if self.world.get("accounts") else []
        self._by_key = {a.access_key_id: a for a in self.accounts}
        with self.store.transaction() as tx:
            self._has_faults = bool(tx.faults())

    # -----------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        started = time.perf_counter()
        request_id = self._request_id()
        version = req.headers.get("x-acs-version") or req.query.get("Version", "")
        action = req.headers.get("x-acs-action") or req.query.get("Action", "")
        product, host_prefix, actions = PRODUCTS.get(version, ("", "", {}))
        region = req.params.get("RegionId", "")
        params = {k: v for k, v in req.params.items() if k not in _PROTOCOL}
        entry: dict[str, Any] = {
            "request_id": request_id,
            "action": action,
            "version": version,
            "product": product,
            "region": region or None,
            "params": params,
            "retry_attempt": req.headers.get("x-acs-retry-attempts"),
        }
        try:
            account = self._caller(req)
            entry["account"], entry["account_uid"] = account.name, account.uid
            if not product:
                raise ApiError(
                    "InvalidVersion",
                    f'Specified parameter Version "{version}" is not valid; supported: {", ".join(sorted(PRODUCTS))}.',
                    400,
                )
            spec = actions.get(action)
            if spec is None:
                raise ApiError(
                    "InvalidAction.NotFound", f'Specified api "{action}" is not found for {product} {version}.', 404
                )
            fired = self._fire_faults(action, product, account, spec.mutating)
            if not fired:  # the usual case: no rule acts on this request
                body = self._run(spec, action, account, params, request_id, None, entry, started, None)
                return json_reply(dict(body, RequestId=request_id), request_id)
            latency = [f for f in fired if f.effect == "latency"]
            for f in latency:
                time.sleep(float(f.rule["latency_ms"]) / 1000.0)
            before = next((f for f in fired if f.effect in ("error", "throttle", "drop")), None)
            stale = next((f for f in fired if f.effect == "stale_read"), None)
            after = next((f for f in fired if f.effect == "fail_after_commit"), None)
            # the journal names the rules that acted on this request (an error pre-empts the rest)
            applied = latency + ([before] if before else [f for f in (stale, after) if f])
            if applied:
                entry["fault"] = ",".join(f.label() for f in applied)
            if before is not None:
                if before.effect == "drop":
                    self._record(entry, 0, "Dropped", started)
                    return Reply.dropped()
                code, message, status, retry_after = before.error()
                raise ApiError(code, message, status).with_retry_after(retry_after)
            body = self._run(spec, action, account, params, request_id, stale, entry, started, after)
            if after is not None:
                if not after.rule.get("code"):
                    return Reply.dropped()
                code, message, status, retry_after = after.error()
                return error_reply(status, code, message, request_id, _host(host_prefix, region), retry_after)
            return json_reply(dict(body, RequestId=request_id), request_id)
        except ApiError as e:
            self._record(entry, e.status, e.code, started)
            return error_reply(e.status, e.code, e.message, request_id, _host(host_prefix, region), e.retry_after_ms)

    def _request_id(self) -> str:
        """An upper-case version-4 UUID, as the cloud's RequestIds are (no need for os.urandom
        here: nothing depends on it being unpredictable)."""
        h = f"{self._random.getrandbits(128):032X}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89AB'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"

    def _caller(self, req: Request) -> Account:
        signed = signing.identify(req.method, req.query, req.headers)
        account = self._by_key.get(signed.access_key_id)
        if account is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        if self.verify_signatures:
            signing.verify(
                req.method, req.path, req.query, req.headers, req.body, signed, account.access_key_secret, req.params
            )
        return account

    def _fire_faults(self, action: str, product: str, account: Account, mutating: bool) -> list[Fired]:
        if not self._has_faults:
            return []
        out = []
        with self.store.transaction(write=False) as tx:
            for fault_id, rule, calls, fired in tx.faults():
                if not selects(rule, action, product, account.name, account.uid):
                    continue
                if rule["effect"] == "stale_read" and mutating:
                    continue  # a write always sees the present; only reads lag
                calls += 1
                hit = triggers(rule, calls, fired, tx.now)
                tx.count_fault(fault_id, calls, fired + int(hit))
                if hit:
                    out.append(Fired(fault_id, rule))
        return out

    def _run(
        self,
        spec: Action,
        action: str,
        account: Account,
        flat: dict[str, str],
        request_id: str,
        stale: Fired | None,
        entry: dict[str, Any],
        started: float,
        after: Fired | None,
    ) -> dict[str, Any]:
        values = unflatten(flat)
        params = Params(values)
        token = params.text("ClientToken") if spec.mutating else None
        with self.store.transaction(write=spec.mutating) as tx:
            if stale is not None:
                tx.view_time = tx.now - float(stale.rule["lag_s"])
            if token:
                digest = hashlib.sha256(
                    json.dumps({k: v for k, v in values.items() if k != "ClientToken"}, sort_keys=True).encode()
                ).hexdigest()
                seen = tx.token(account.uid, action, token)
                if seen is not None and seen[0] != digest:
                    raise ApiError(
                        "IdempotentParameterMismatch",
                        "The request uses the same client token as a previous, but non-identical request.",
                    )
            else:
                seen = None
            if seen is not None:  # the first call's result, and nothing else happens
                entry["idempotent_replay"] = True
                body = seen[1]
            else:
                ctx = Context(
                    tx=tx,
                    account=account,
                    action=action,
                    request_id=request_id,
                    params=params,
                    world=self.world,
                    accounts=self.accounts,
                )
                body = spec.handler(ctx, params)
                if token:
                    tx.save_token(account.uid, action, token, digest, body)
            if after is None:
                self._record(entry, 200, None, started, tx, durable=spec.mutating)
            else:  # the journal says what the client saw, and that the change is in
                entry["committed"] = True
                if after.rule.get("code"):
                    code, _, status, _ = after.error()
                    self._record(entry, status, code, started, tx, durable=spec.mutating)
                else:
                    self._record(entry, 0, "Dropped", started, tx, durable=spec.mutating)
        return body

    def _record(
        self,
        entry: dict[str, Any],
        status: int,
        code: str | None,
        started: float,
        tx: Tx | None = None,
        durable: bool = False,
    ) -> None:
        """Journal a request: a change in its own transaction, anything else buffered (store.py).
        ``entry`` is this request's own, so it is completed in place."""
        entry.update(
            time=tx.now if tx is not None else self.store.now(),
            status=status,
            error_code=code,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        if durable and tx is not None:
            tx.journal(entry)
        else:
            self.store.journal_later(entry)
