"""From a parsed HTTP request to a reply, in named steps over one ``ApiCall`` record:

parse -> authenticate (the caller's key or temporary credentials, its signature) -> freshness
(timestamp, nonce) -> resolve (product, action) -> quota -> faults -> handler (in the request's
transaction) -> journal -> reply.

A step that refuses the request raises ``ApiError``; the refusal is journaled and answered in the
cloud's error envelope. This is the only place that knows both the wire (``wire.Request`` /
``wire.Reply``) and the products; handlers stay free of HTTP.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from typing import Any

from . import signing
from .call import ApiCall
from .context import Action, Context
from .credentials import Credentials
from .errors import ApiError
from .faults import FaultRule, FaultRuleError, Fired, selects, triggers, validate_rule
from .freshness import Freshness, stamp_of
from .params import Params, unflatten
from .products import ecs, sts, vpc, vpcpeer
from .quotas import Limiter
from .store import Store, Tx
from .wire import Reply, Request, api_reply, error_reply
from .world import Account, WorldError, accounts_of, behaviour_of, validate
from .world_schema import Behaviour

# API version -> (product name, host prefix, actions)
PRODUCTS: dict[str, tuple[str, str, dict[str, Action]]] = {
    "2016-04-28": ("Vpc", "vpc", vpc.ACTIONS),
    "2014-05-26": ("Ecs", "ecs", ecs.ACTIONS),
    "2015-04-01": ("Sts", "sts", sts.ACTIONS),
    "2022-01-01": ("VpcPeer", "vpcpeer", vpcpeer.ACTIONS),  # one central endpoint for every region
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
# What a resource ID looks like (``ri-...``, ``vtb-...``): a describe that names one reads it
# without read lag, see ``world_schema.py``.
_RESOURCE_ID = re.compile(r"\b[a-z][a-z0-9]{0,9}-[a-z0-9]{6,64}\b")


class DamagedStateError(RuntimeError):
    """The database holds something no emulator would have written (a world or fault rule that
    does not validate); it is refused rather than served."""


class Emulator:
    """The API side of the emulator over one store."""

    def __init__(self, store: Store, verify_signatures: bool = True, wall_clock: Callable[[], float] = time.time):
        self.store = store
        self.verify_signatures = verify_signatures
        self.freshness = Freshness(wall_clock)
        self.credentials = Credentials(store, wall_clock)
        self._random = random.Random()
        self.world: dict[str, Any] = {}
        self.accounts: list[Account] = []
        self.behaviour = Behaviour()
        self._by_key: dict[str, Account] = {}
        self._by_uid: dict[str, Account] = {}
        self.limiter = Limiter(store, self.behaviour.quotas)
        self._rules: dict[int, FaultRule] = {}

    def refresh(self) -> None:
        """Re-read what is cached from the store (after a world load or a fault change), validating
        it as if it came from a user: a damaged database is refused, never served."""
        world = self.store.meta("world") or {}
        if world:
            try:
                validate(world)
            except WorldError as e:
                raise DamagedStateError(f"the stored world is not valid: {e}") from None
        rules = {}
        with self.store.transaction(write=False) as tx:
            for fault_id, rule, _, _ in tx.faults():
                try:
                    rules[fault_id] = validate_rule(rule)
                except FaultRuleError as e:
                    raise DamagedStateError(f"the stored fault rule {fault_id} is not valid: {e}") from None
        self.world = world
        self.accounts = accounts_of(world) if world.get("accounts") else []
        self.behaviour = behaviour_of(world)
        self._by_key = {a.access_key_id: a for a in self.accounts}
        self._by_uid = {a.uid: a for a in self.accounts}
        self.limiter = Limiter(self.store, self.behaviour.quotas)
        self._rules = rules

    # -- the pipeline --------------------------------------------------------------------------
    def handle(self, http: Request) -> Reply:
        call = self.parse(http)
        try:
            self.authenticate(call)
            self.check_freshness(call)
            self.resolve(call)
            self.check_quota(call)
            if self.apply_faults(call) == "drop":
                self.journal(call, 0, "Dropped")
                return Reply.dropped()
            self.run_handler(call)
        except ApiError as e:
            self.journal(call, e.status, e.code)
            return error_reply(e.status, e.code, e.message, call.request_id, call.host, e.retry_after_ms, call.xml)
        return self.reply(call)

    def parse(self, http: Request) -> ApiCall:
        version = http.headers.get("x-acs-version") or http.params.get("Version", "")
        product, host_prefix, actions = PRODUCTS.get(version, ("", "", {}))
        return ApiCall(
            http=http,
            request_id=self._request_id(),
            started=time.perf_counter(),
            version=version,
            action=http.headers.get("x-acs-action") or http.params.get("Action", ""),
            product=product,
            host_prefix=host_prefix,
            actions=actions,
            region=http.params.get("RegionId", ""),
            params={k: v for k, v in http.params.items() if k not in _PROTOCOL},
            xml=http.params.get("Format", "").lower() == "xml",
            retry_attempt=http.headers.get("x-acs-retry-attempts"),
        )

    def authenticate(self, call: ApiCall) -> None:
        http = call.http
        call.signed = signing.identify(http.method, http.query, http.headers, http.params)
        caller = self.credentials.caller(call.signed, self._by_key, self._by_uid)
        if self.verify_signatures:
            signing.verify(
                http.method,
                http.path,
                http.query,
                http.headers,
                http.body,
                call.signed,
                caller.secret,
                http.params,
            )
        call.account, call.principal = caller.account, caller.principal

    def check_freshness(self, call: ApiCall) -> None:
        assert call.signed is not None
        self.freshness.check(call.signed.access_key_id, stamp_of(call.signed, call.http.params, call.http.headers))

    def resolve(self, call: ApiCall) -> None:
        if not call.product:
            raise ApiError(
                "InvalidVersion",
                f'Specified parameter Version "{call.version}" is not valid; supported: {", ".join(sorted(PRODUCTS))}.',
                400,
            )
        call.spec = call.actions.get(call.action)
        if call.spec is None:
            raise ApiError(
                "InvalidAction.NotFound",
                f'Specified api "{call.action}" is not found for {call.product} {call.version}.',
                404,
            )

    def check_quota(self, call: ApiCall) -> None:
        """Count the call against its API quota, or refuse it with ``Throttling.User`` (quotas.py)."""
        account, principal = call.account, call.principal
        assert account is not None
        role_arn = principal.role_arn if principal is not None else None
        self.limiter.admit(call.product, call.action, account.uid, call.region, role_arn)

    def apply_faults(self, call: ApiCall) -> str | None:
        """Fire the rules that select this call; ``"drop"`` when the connection is to be closed."""
        fired = self._fire_faults(call)
        if not fired:  # the usual case
            return None
        faults = call.faults
        faults.latency = [f for f in fired if f.effect == "latency"]
        faults.before = next((f for f in fired if f.effect in ("error", "throttle", "drop")), None)
        faults.stale = next((f for f in fired if f.effect == "stale_read"), None)
        faults.after = next((f for f in fired if f.effect == "fail_after_commit"), None)
        for f in faults.latency:
            time.sleep((f.rule.latency_ms or 0.0) / 1000.0)
        if faults.before is not None:
            if faults.before.effect == "drop":
                return "drop"
            code, message, status, retry_after = faults.before.error()
            raise ApiError(code, message, status).with_retry_after(retry_after)
        return None

    def run_handler(self, call: ApiCall) -> None:
        """The handler, in the call's own transaction, with its journal entry (a change's entry is
        committed with the change)."""
        spec, account = call.spec, call.account
        assert spec is not None and account is not None
        values = unflatten(call.params)
        params = Params(values)
        computed = None
        if spec.prepare is not None and spec.compute is not None:
            with self.store.transaction(write=False) as tx:
                prepared = spec.prepare(self._context(call, tx, params), params)
            computed = spec.compute(prepared)  # the costly part: no lock held
        token = params.text("ClientToken") if spec.mutating else None
        with self.store.transaction(write=spec.mutating) as tx:
            self._read_view(call, tx)
            seen = None
            if token:
                digest = hashlib.sha256(
                    json.dumps({k: v for k, v in values.items() if k != "ClientToken"}, sort_keys=True).encode()
                ).hexdigest()
                seen = tx.token(account.uid, call.action, token)
                if seen is not None and seen[0] != digest:
                    raise ApiError(
                        "IdempotentParameterMismatch",
                        "The request uses the same client token as a previous, but non-identical request.",
                    )
            if seen is not None:  # the first call's result, and nothing else happens
                call.idempotent_replay = True
                call.body = seen[1]
            else:
                call.body = spec.handler(self._context(call, tx, params, computed), params)
                if token:
                    tx.save_token(account.uid, call.action, token, digest, call.body)
            after = call.faults.after
            if after is None:
                self.journal(call, 200, None, tx, durable=spec.mutating)
            else:  # the journal says what the client saw, and that the change is in
                call.committed = True
                if after.rule.code:
                    code, _, status, _ = after.error()
                    self.journal(call, status, code, tx, durable=spec.mutating)
                else:
                    self.journal(call, 0, "Dropped", tx, durable=spec.mutating)

    def journal(
        self, call: ApiCall, status: int, code: str | None, tx: Tx | None = None, durable: bool = False
    ) -> None:
        """Journal a call: a change in its own transaction, anything else buffered (store.py)."""
        call.status, call.error_code = status, code
        call.time = tx.now if tx is not None else self.store.now()
        call.duration_ms = round((time.perf_counter() - call.started) * 1000, 3)
        if durable and tx is not None:
            tx.journal(call.journal_entry())
        else:
            self.store.journal_later(call.journal_entry())

    def reply(self, call: ApiCall) -> Reply:
        after = call.faults.after
        if after is not None:
            if not after.rule.code:
                return Reply.dropped()
            code, message, status, retry_after = after.error()
            return error_reply(status, code, message, call.request_id, call.host, retry_after, call.xml)
        body = dict(call.body or {}, RequestId=call.request_id)
        return api_reply(body, call.request_id, f"{call.action}Response" if call.xml else None)

    # -- helpers -------------------------------------------------------------------------------
    def _context(self, call: ApiCall, tx: Tx, params: Params, computed: Any = None) -> Context:
        assert call.account is not None
        return Context(
            tx=tx,
            account=call.account,
            action=call.action,
            request_id=call.request_id,
            params=params,
            world=self.world,
            accounts=self.accounts,
            behaviour=self.behaviour,
            computed=computed,
            principal=call.principal,
        )

    def _read_view(self, call: ApiCall, tx: Tx) -> None:
        """The moment a read is served as of: now, or earlier under the ``stale_read`` fault or
        the world's read lag (``world_schema.py``), which spares the records named by ID."""
        spec = call.spec
        assert spec is not None
        if spec.mutating or not spec.reads_at_view_time:
            return
        if call.faults.stale is not None:
            tx.view_time = tx.now - (call.faults.stale.rule.lag_s or 0.0)
            return
        lag = self.behaviour.read_lag
        if lag.seconds > 0 and call.action.startswith(("Describe", "List")):  # VpcPeer lists: List*
            tx.view_time = tx.now - lag.seconds
            call.read_lag_s = lag.seconds
            if lag.applies_to == "lists":
                tx.fresh_ids = frozenset(i for v in call.params.values() for i in _RESOURCE_ID.findall(v))

    def _request_id(self) -> str:
        """An upper-case version-4 UUID, as the cloud's RequestIds are (no need for os.urandom
        here: nothing depends on it being unpredictable)."""
        h = f"{self._random.getrandbits(128):032X}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89AB'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"

    def _fire_faults(self, call: ApiCall) -> list[Fired]:
        if not self._rules:
            return []
        account, spec = call.account, call.spec
        assert account is not None and spec is not None
        out = []
        with self.store.transaction(write=False) as tx:
            for fault_id, calls, fired in tx.fault_counters():
                rule = self._rules.get(fault_id)
                if rule is None or not selects(rule, call.action, call.product, account.name, account.uid):
                    continue
                if rule.effect == "stale_read" and spec.mutating:
                    continue  # a write always sees the present; only reads lag
                calls += 1
                hit = triggers(rule, calls, fired, tx.now)
                tx.count_fault(fault_id, calls, fired + int(hit))
                if hit:
                    out.append(Fired(fault_id, rule))
        return out
