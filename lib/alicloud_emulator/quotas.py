"""API rate quotas: at most N calls per window, per (account, region, action), as the cloud counts.

Alibaba Cloud publishes a quota per API action on each product's "API速率配额" page, as ``N/60(s)``
per "regionId, API, ParentUid" (the main account: every RAM user, role session and process of the
account shares it). ECS counts per "MappingResourceOwnerId, regionId, API, stsTokenPlayerUid",
which adds the STS session; STS's AssumeRole is limited to 100 calls per second per account. A
call over its quota is refused with ``Throttling.User`` "Request was denied due to user flow
control.", HTTP 400, without an ``x-acs-retry-after`` header (the shape of the ``throttle`` fault,
``faults.py``): the tea SDK raises ``ClientException`` and retries nothing by itself.

``TABLE`` holds one row per action with its source. The pages list far more rows than the search
could read; a row marked ``inferred`` was not read and takes its product's documented level (every
VPC write read is 300/60 s, VpcPeer is 360/60 s throughout, the ECS rows read are 100-2000/60 s).
An action without a row takes its product's ``*`` row.

**Window:** "N/60(s)" does not say how the 60 seconds are counted. The emulator admits a call when
fewer than N calls of the same key were admitted in the trailing window (a sliding-window log)
[inferred]. That is the strictest reading: a client that never meets it is never throttled under a
fixed-window count either, and "the most calls in any 60-second window" read from the journal
never exceeds N. Only admitted calls count; a throttled one does not.

**ECS's dimension:** ``stsTokenPlayerUid`` is not explained anywhere; the emulator counts ECS calls
of a role session apart from the account's own key and from other roles' sessions, per role (the
"player" of the token) [inferred].

**Time** is the virtual clock (``store.py``): a test moves past a window with
``POST /_emulator/clock``. Each decision is one transaction of the store (``BEGIN IMMEDIATE`` on a
file), so threads and processes sharing a ``--db`` never admit more than N together. The admitted
calls are a log in the store (``quota_calls``: key, virtual time), pruned as windows pass, which
ends with the world (``forget`` runs when a world is loaded or reset).

Settings (``behaviour.quotas`` of the world, ``/_emulator/quotas``): ``enabled`` (default true) and
``overrides``: ``{KEY: calls}`` or ``{KEY: {calls, window_s}}``, where KEY is ``Product.Action``,
``Action`` (in every product that has it), ``Product.*`` or ``*``, the most specific winning; a
bare number keeps the row's window.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from .errors import ErrorCode
from .faults import THROTTLE_SHAPES
from .schema import Strict
from .store import Store, Tx

THROTTLED = ErrorCode("Throttling.User", 400)
THROTTLE_MESSAGE = THROTTLE_SHAPES[400][1]
_TABLE = (
    "CREATE TABLE IF NOT EXISTS quota_calls (key TEXT NOT NULL, at REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS quota_calls_key_at ON quota_calls (key, at)"
)
PRUNE_EVERY = 64  # admitted calls between deletes of a key's calls that left its window

Q_VPC = "https://help.aliyun.com/zh/vpc/developer-reference/api-vpc-2016-04-28-quota"
Q_VPC_TC = "https://www.alibabacloud.com/help/tc/vpc/developer-reference/api-vpc-2016-04-28-quota"
Q_EC = (
    "https://www.alibabacloud.com/help/tc/express-connect/developer-reference/api-vpc-2016-04-28-quota-express-connect"
)
Q_PEER = "https://help.aliyun.com/zh/vpc/developer-reference/api-vpcpeer-2022-01-01-quota"
Q_ECS = "https://alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-quota"
Q_ECS_DDH = "https://help.aliyun.com/en/dedicated-host/developer-reference/api-ecs-2014-05-26-quota-ddh"
N_STS = "https://www.alibabacloud.com/notice/ram20220829"
FAQ_STS = "https://www.alibabacloud.com/help/doc-detail/139021.htm"

BY_ACCOUNT_REGION = "regionId,API,ParentUid"
BY_ECS = "MappingResourceOwnerId,regionId,API,stsTokenPlayerUid"
BY_ACCOUNT = "account,API"


@dataclass(frozen=True)
class Row:
    """One action's published quota: ``calls`` per ``window_s`` seconds."""

    product: str
    action: str  # or "*": the product's level for actions without a row
    calls: int
    window_s: float
    dimension: str
    source: str
    inferred: bool = False
    note: str = ""


def _rows(
    product: str, dimension: str, source: str, calls: int, *actions: str, inferred: bool = False, note: str = ""
) -> list[Row]:
    return [Row(product, a, calls, 60.0, dimension, source, inferred, note) for a in actions]


_VPC_LEVEL = "not read; the level of every VPC write row read (300/60 s)"
TABLE: tuple[Row, ...] = (
    *_rows("Vpc", BY_ACCOUNT_REGION, Q_VPC_TC, 300, "CreateRouterInterface", "ConnectRouterInterface"),
    *_rows("Vpc", BY_ACCOUNT_REGION, Q_VPC, 300, "DeleteRouterInterface", "ModifyRouteEntry"),
    *_rows("Vpc", BY_ACCOUNT_REGION, f"{Q_VPC_TC}; {Q_EC}", 300, "DeactivateRouterInterface"),
    *_rows("Vpc", BY_ACCOUNT_REGION, Q_VPC_TC, 300, "DeleteRouteEntries", "TagResources"),
    *_rows("Vpc", BY_ACCOUNT_REGION, Q_VPC, 120, "GetVpcRouteEntrySummary"),
    *_rows("Vpc", BY_ACCOUNT_REGION, Q_EC, 300, "CreateVSwitch"),
    *_rows(
        "Vpc",
        BY_ACCOUNT_REGION,
        Q_VPC,
        300,
        "ActivateRouterInterface",
        "ModifyRouterInterfaceAttribute",
        "ModifyRouterInterfaceSpec",
        "CreateRouteEntry",
        "DeleteRouteEntry",
        "DescribeRouterInterfaceAttribute",
        "DescribeRouterInterfaces",
        "DescribeRouteEntryList",
        "DescribeRouteTableList",
        inferred=True,
        note=_VPC_LEVEL,
    ),
    Row(
        "Vpc",
        "*",
        300,
        60.0,
        BY_ACCOUNT_REGION,
        Q_VPC,
        True,
        "not read; describes take the write level (lists read are 300-1200/60 s)",
    ),
    *_rows(
        "VpcPeer",
        BY_ACCOUNT_REGION,
        Q_PEER,
        360,
        "CreateVpcPeerConnection",
        "AcceptVpcPeerConnection",
        "RejectVpcPeerConnection",
        "DeleteVpcPeerConnection",
        "ModifyVpcPeerConnection",
        "GetVpcPeerConnectionAttribute",
        "ListVpcPeerConnections",
    ),
    *_rows("VpcPeer", BY_ACCOUNT_REGION, Q_PEER, 1000, "TagResources", "UnTagResources", "MoveResourceGroup"),
    *_rows("VpcPeer", BY_ACCOUNT_REGION, Q_PEER, 3000, "ListTagResources"),
    Row("VpcPeer", "*", 360, 60.0, BY_ACCOUNT_REGION, Q_PEER, True, "the level of every connection action"),
    *_rows("Ecs", BY_ECS, Q_ECS, 1000, "JoinSecurityGroup", "CreateCommand"),
    *_rows("Ecs", BY_ECS, Q_ECS_DDH, 1000, "RevokeSecurityGroupEgress"),
    *_rows("Ecs", BY_ECS, Q_ECS_DDH, 500, "StopInstance"),
    *_rows("Ecs", BY_ECS, Q_ECS_DDH, 100, "DeleteInstances"),
    *_rows("Ecs", BY_ECS, Q_ECS_DDH, 300, "ActivateRouterInterface"),
    *_rows(
        "Ecs",
        BY_ECS,
        Q_ECS,
        1000,
        "AuthorizeSecurityGroup",
        "RevokeSecurityGroup",
        note="not read; as JoinSecurityGroup and RevokeSecurityGroupEgress",
        inferred=True,
    ),
    *_rows("Ecs", BY_ECS, Q_ECS, 1000, "RunCommand", note="not read; as CreateCommand", inferred=True),
    Row("Ecs", "*", 1000, 60.0, BY_ECS, Q_ECS, True, "not read; the security-group and command rows read (1000/60 s)"),
    Row(
        "Sts",
        "AssumeRole",
        100,
        1.0,
        BY_ACCOUNT,
        N_STS,
        False,
        "100 per second per account, RAM users and roles counted",
    ),
    Row("Sts", "*", 100, 1.0, BY_ACCOUNT, FAQ_STS, True, "'STS supports up to 100 QPS'"),
)
_BY_ACTION = {(r.product, r.action): r for r in TABLE}


# -- settings -------------------------------------------------------------------------------------------
def _calls_shorthand(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"calls": value}
    return value


class Override(Strict):
    calls: Annotated[int, Field(ge=1, le=1_000_000)]
    window_s: Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)] | None = None


_KEY = re.compile(r"^(?:\*|(?P<product>[A-Za-z]+)\.(?P<action>\*|[A-Za-z0-9]+)|(?P<bare>[A-Za-z0-9]+))$")


def served() -> dict[str, set[str]]:
    """Product -> the actions the emulator serves (read when a setting is validated)."""
    from .dispatch import PRODUCTS  # the products import the world schema, which imports this

    return {name: set(actions) for name, _prefix, actions in PRODUCTS.values()}


def _check_key(key: str, products: dict[str, set[str]]) -> str | None:
    m = _KEY.fullmatch(key)
    every = sorted({a for actions in products.values() for a in actions})
    if m is None:
        return f"{key[:80]!r}: a key is Product.Action, Action, Product.* or *"
    if m["bare"]:
        if m["bare"] in every:
            return None
        close = difflib.get_close_matches(m["bare"], every, n=1)
        return f"{key!r} is not an action the emulator serves" + (f" (did you mean {close[0]}?)" if close else "")
    if m["product"]:
        if m["product"] not in products:
            return f"{key!r}: the products are {', '.join(sorted(products))}"
        if m["action"] != "*" and m["action"] not in products[m["product"]]:
            close = difflib.get_close_matches(m["action"], sorted(products[m["product"]]), n=1)
            return f"{key!r} is not an action of {m['product']}" + (f" (did you mean {close[0]}?)" if close else "")
    return None


class Quotas(Strict):
    enabled: bool = True
    overrides: Annotated[
        dict[Annotated[str, Field(max_length=128)], Annotated[Override, BeforeValidator(_calls_shorthand)]],
        Field(max_length=1000),
    ] = Field(default_factory=dict)

    @field_validator("overrides")
    @classmethod
    def _known_actions(cls, value: dict[str, Override]) -> dict[str, Override]:
        products = served()
        wrong = [w for w in (_check_key(k, products) for k in value) if w]
        if wrong:
            raise ValueError("; ".join(wrong))
        return value


# -- the limits ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    calls: int
    window_s: float
    row: Row
    overridden_by: str | None = None


def row_of(product: str, action: str) -> Row:
    """The table's row for an action, else its product's ``*`` row (a product without one: VPC's)."""
    return _BY_ACTION.get((product, action)) or _BY_ACTION.get((product, "*")) or _BY_ACTION[("Vpc", "*")]


def limit_of(settings: Quotas, product: str, action: str) -> Limit:
    row = row_of(product, action)
    for key in (f"{product}.{action}", action, f"{product}.*", "*"):
        o = settings.overrides.get(key)
        if o is not None:
            return Limit(o.calls, o.window_s if o.window_s is not None else row.window_s, row, key)
    return Limit(row.calls, row.window_s, row)


def dimension_key(row: Row, product: str, action: str, uid: str, region: str, role_arn: str | None) -> list[str]:
    """The counter a call adds to: what the row's dimension names, nothing more."""
    if row.dimension == BY_ACCOUNT:
        return [uid, "", product, action, ""]
    if row.dimension == BY_ECS:
        return [uid, region, product, action, role_arn or ""]
    return [uid, region, product, action, ""]


def _create(tx: Tx) -> None:
    for statement in _TABLE.split(";"):
        tx.sql(statement)


def forget(tx: Tx) -> None:
    """Forget every counted call (a new world starts with none)."""
    _create(tx)
    tx.sql("DELETE FROM quota_calls")


class Limiter:
    """The quotas of one emulator: admits or refuses each call, atomically, in the store."""

    def __init__(self, store: Store, settings: Quotas):
        self.store = store
        self.settings = settings
        self._limits: dict[tuple[str, str], Limit] = {}
        self._admitted = 0
        windows = [r.window_s for r in TABLE] + [o.window_s for o in settings.overrides.values() if o.window_s]
        self._longest_s = max(windows)
        with store.transaction() as tx:
            _create(tx)

    def limit(self, product: str, action: str) -> Limit:
        found = self._limits.get((product, action))
        if found is None:
            found = self._limits[(product, action)] = limit_of(self.settings, product, action)
        return found

    def admit(self, product: str, action: str, uid: str, region: str, role_arn: str | None = None) -> None:
        """Count the call, or refuse it with ``Throttling.User`` when its key is at its quota."""
        if not self.settings.enabled:
            return
        limit = self.limit(product, action)
        key = json.dumps(dimension_key(limit.row, product, action, uid, region, role_arn))
        with self.store.transaction() as tx:  # one writer at a time, across processes too
            cutoff = tx.now - limit.window_s
            # the limit-th most recent admitted call: inside the window, the key is at its quota
            nth = tx.sql(
                "SELECT at FROM quota_calls WHERE key=? ORDER BY at DESC LIMIT 1 OFFSET ?", (key, limit.calls - 1)
            )
            if nth and nth[0][0] > cutoff:
                raise THROTTLED(THROTTLE_MESSAGE)
            tx.sql("INSERT INTO quota_calls VALUES (?, ?)", (key, tx.now))
            self._admitted += 1
            if self._admitted % PRUNE_EVERY == 0:  # what no window in force can see any more
                tx.sql("DELETE FROM quota_calls WHERE key=? AND at <= ?", (key, cutoff))
                tx.sql("DELETE FROM quota_calls WHERE at <= ?", (tx.now - self._longest_s,))

    def clear(self) -> None:
        with self.store.transaction() as tx:
            forget(tx)

    def report(self, names: dict[str, str]) -> dict[str, Any]:
        """The table with the limits in force, and the calls each key made in its current window."""
        now = self.store.now()
        with self.store.transaction(write=False) as tx:
            rows = tx.sql("SELECT key, at FROM quota_calls ORDER BY key")
        by_key: dict[str, list[float]] = {}
        for key, at in rows:
            by_key.setdefault(key, []).append(at)
        counts = []
        for key, times in by_key.items():
            uid, region, product, action, role_arn = json.loads(key)
            limit = self.limit(product, action)
            calls = sum(1 for t in times if t > now - limit.window_s)
            entry = {
                "account": names.get(uid, uid),
                "account_uid": uid,
                "region": region or None,
                "product": product,
                "action": action,
                "calls": calls,
                "limit": limit.calls,
                "window_s": limit.window_s,
            }
            if role_arn:
                entry["role_arn"] = role_arn
            counts.append(entry)
        table = []
        for r in TABLE:
            limit = self.limit(r.product, r.action)
            table.append(
                dict(asdict(r), limit=limit.calls, limit_window_s=limit.window_s, overridden_by=limit.overridden_by)
            )
        return {
            "enabled": self.settings.enabled,
            "window": "sliding: at most limit calls in any trailing window_s of virtual time",
            "overrides": {k: v.model_dump(exclude_none=True) for k, v in self.settings.overrides.items()},
            "table": table,
            "counts": counts,
        }
