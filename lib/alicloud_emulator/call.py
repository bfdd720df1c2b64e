"""One API request on its way through the pipeline (``dispatch.py``): a typed record that each
step fills in (what the wire said, who signed it, which action and faults apply, what the handler
answered, how it ended) and that the journal and the reply are made from. Handlers never see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .context import Action
from .faults import Fired
from .regions import REGIONS
from .roles import Principal
from .signing import SignedRequest
from .wire import Request
from .world import Account

# Host prefixes of products served from one central endpoint for every region.
CENTRAL_PRODUCTS = frozenset({"vpcpeer"})


@dataclass
class Faults:
    """The rules that fire on a call, by what they do to it."""

    latency: list[Fired] = field(default_factory=list)
    before: Fired | None = None  # error, throttle or drop: the handler never runs
    stale: Fired | None = None
    after: Fired | None = None  # fail_after_commit

    def applied(self) -> list[Fired]:
        """The rules that acted (an error before the handler pre-empts the others)."""
        if self.before is not None:
            return [*self.latency, self.before]
        return [*self.latency, *[f for f in (self.stale, self.after) if f is not None]]


@dataclass
class ApiCall:
    # -- parse
    http: Request
    request_id: str
    started: float  # perf_counter, for the duration
    version: str
    action: str
    product: str
    host_prefix: str
    actions: dict[str, Action]
    region: str
    params: dict[str, str]  # the action's own (no protocol parameter)
    xml: bool  # Format=XML was asked
    retry_attempt: str | None
    # -- authenticate
    signed: SignedRequest | None = None
    account: Account | None = None  # the account the call acts as (a role session's: the role's)
    principal: Principal | None = None  # who signed it: the account's key or a role session
    # -- resolve
    spec: Action | None = None
    # -- faults
    faults: Faults = field(default_factory=Faults)
    # -- handler
    read_lag_s: float = 0.0
    body: dict[str, Any] | None = None
    idempotent_replay: bool = False
    committed: bool = False
    # -- outcome
    status: int = 0
    error_code: str | None = None
    time: float = 0.0
    duration_ms: float = 0.0

    @property
    def host(self) -> str:
        """The endpoint an error's ``HostId`` names, as the cloud's do."""
        prefix = self.host_prefix or "openapi"
        # VpcPeer is served from one central endpoint for every region (its SDK's endpoint rule).
        if prefix in CENTRAL_PRODUCTS:
            return f"{prefix}.aliyuncs.com"
        return f"{prefix}.{self.region}.aliyuncs.com" if self.region in REGIONS else f"{prefix}.aliyuncs.com"

    def journal_entry(self) -> dict[str, Any]:
        """What the journal keeps of the call: never a signature, a key or a secret. A call signed
        with a role session's credentials names the role and session it acted as."""
        entry: dict[str, Any] = {
            "request_id": self.request_id,
            "action": self.action,
            "version": self.version,
            "product": self.product,
            "region": self.region or None,
            "params": self.params,
            "retry_attempt": self.retry_attempt,
        }
        if self.account is not None:
            entry["account"], entry["account_uid"] = self.account.name, self.account.uid
            principal = self.principal
            if principal is not None and principal.role_arn is not None:
                entry["role_arn"], entry["role_session"] = principal.role_arn, principal.session
        applied = self.faults.applied()
        if applied:
            entry["fault"] = ",".join(f.label() for f in applied)
        if self.read_lag_s:
            entry["read_lag_s"] = self.read_lag_s
        if self.idempotent_replay:
            entry["idempotent_replay"] = True
        if self.committed:
            entry["committed"] = True
        entry.update(time=self.time, status=self.status, error_code=self.error_code, duration_ms=self.duration_ms)
        return entry
