"""Client-side API quotas for a fleet: the published table, the shared limiter, and the hooks the SDK
layer calls around every API call.

Alibaba Cloud counts API calls per (main account, region, API action) over 60 s ("API速率配额"
pages: ``N/60(s)``, dimension "regionId, API, ParentUid"), shared by every RAM user, role session
and process of the account. A fleet runs many links at once, each in its own processes (a runner and
a kernel per phase), possibly on many machines: a per-process limit would let them add up past the
quota. So the limits are held by one service per fleet run (``coordinator``) and every process asks
it before each call, through :func:`guard`.

**Window.** A sliding window: at most ``calls`` calls of one key in any trailing ``window_s``, which
is what the emulator enforces and what a fixed-window count can never exceed either (a token bucket
refilled at N/60 s would admit up to 2N in one window). A call occupies its slot from the moment it
is admitted until ``window_s`` after its answer arrived (the server may count it any time in
between), so the server never sees more than ``calls`` in any of its own windows, whatever the
network delay. A call whose process died holds its slot for ``LEASE_S`` before the window starts.

**Route writes** (Create/Delete/ModifyRouteEntry) are serialized by the service
("CreateRouteEntry 接口不支持在同一个VPC或者同一个VBR中并发添加自定义路由条目"; TaskConflict or
IncorrectRouteEntryStatus otherwise): :func:`guard` takes a lock per route table around such a call, and
:func:`route_lock` holds it across a write and the wait for its entry to settle.

**Polling.** Where many links wait at once, :func:`shared_listing` lets the waiters of one
(account, region, action, scope) share one listing: the service gathers the callers for a moment,
lets one of them fetch, and hands the answer to all of them. A listing is always fetched after the
caller asked (never an older one), and a caller that does not find its resource in it falls back to
its own describe: correctness never depends on the sharing.

Without a coordinator (``VPCLINK_COORDINATOR`` unset: a single link) every hook does nothing more
than the call itself. When the coordinator cannot be reached, calls go ahead unguarded (the cloud
layer still retries the throttling that may then come) and a warning is logged once.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

log = logging.getLogger("vpclink.fleet.quota")

COORDINATOR_ENV = "VPCLINK_COORDINATOR"  # http://HOST:PORT of the fleet's coordinator
TOKEN_ENV = "VPCLINK_COORDINATOR_TOKEN"  # the coordinator's shared secret (never recorded)

WINDOW_S = 60.0
# Seconds added to every window: the client's clock and the server's are not the same clock.
MARGIN_S = 0.25
# A call admitted but never reported done (its process died) is counted as answered this long after.
LEASE_S = 60.0

# -- the table ---------------------------------------------------------------------------------------

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


@dataclass(frozen=True)
class Row:
    """One action's published quota: ``calls`` per ``window_s`` per (account, region, action)."""

    product: str  # vpc | vpcpeer | ecs | sts (as the SDK layer names its clients)
    action: str  # or "*": the product's level for actions without a row
    calls: int
    window_s: float
    source: str
    inferred: bool = False  # the row was not read on the page: its product's documented level
    note: str = ""


def _rows(product: str, source: str, calls: int, *actions: str, inferred: bool = False, note: str = "") -> list[Row]:
    return [Row(product, a, calls, WINDOW_S, source, inferred, note) for a in actions]


_NOT_READ_VPC = "not read on the page; every VPC write row read is 300/60 s"
TABLE: tuple[Row, ...] = (
    *_rows("vpc", Q_VPC_TC, 300, "CreateRouterInterface", "ConnectRouterInterface", "DeleteRouteEntries"),
    *_rows("vpc", Q_VPC, 300, "DeleteRouterInterface", "ModifyRouteEntry"),
    *_rows("vpc", f"{Q_VPC_TC}; {Q_EC}", 300, "DeactivateRouterInterface"),
    *_rows("vpc", Q_VPC, 120, "GetVpcRouteEntrySummary"),
    *_rows(
        "vpc",
        Q_VPC,
        300,
        "ActivateRouterInterface",
        "ModifyRouterInterfaceAttribute",
        "CreateRouteEntry",
        "DeleteRouteEntry",
        "DescribeRouterInterfaces",
        "DescribeRouteEntryList",
        "DescribeRouteTableList",
        "DescribeVpcs",
        "DescribeVSwitches",
        "DescribeVRouters",
        inferred=True,
        note=_NOT_READ_VPC,
    ),
    Row("vpc", "*", 300, WINDOW_S, Q_VPC, True, "describes take the write level (lists read are 300-1200/60 s)"),
    *_rows(
        "vpcpeer",
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
    Row("vpcpeer", "*", 360, WINDOW_S, Q_PEER, True, "the level of every connection action"),
    *_rows("ecs", Q_ECS, 1000, "JoinSecurityGroup", "CreateCommand"),
    *_rows("ecs", Q_ECS_DDH, 1000, "RevokeSecurityGroupEgress"),
    *_rows(
        "ecs",
        Q_ECS,
        1000,
        "AuthorizeSecurityGroup",
        "RevokeSecurityGroup",
        inferred=True,
        note="not read; as JoinSecurityGroup and RevokeSecurityGroupEgress",
    ),
    *_rows("ecs", Q_ECS, 1000, "RunCommand", inferred=True, note="not read; as CreateCommand"),
    Row("ecs", "*", 1000, WINDOW_S, Q_ECS, True, "not read; the security-group and command rows read (1000/60 s)"),
    Row("sts", "AssumeRole", 100, 1.0, N_STS, False, "100 per second per account, RAM users and roles counted"),
    Row("sts", "*", 100, 1.0, FAQ_STS, True, "'STS supports up to 100 QPS'"),
)
_BY_ACTION = {(r.product, r.action): r for r in TABLE}
PRODUCTS = tuple(dict.fromkeys(r.product for r in TABLE))
# The product of an action without its product named (the SDK layer usually names it).
_PRODUCT_OF = {r.action: r.product for r in reversed(TABLE) if r.action != "*"}
ROUTE_WRITES = frozenset(
    {"CreateRouteEntry", "DeleteRouteEntry", "ModifyRouteEntry", "CreateRouteEntries", "DeleteRouteEntries"}
)


@dataclass(frozen=True)
class Limit:
    calls: int
    window_s: float
    source: str  # the row's source, or "quotas.<key> of the fleet file"
    inferred: bool = False


class QuotaError(ValueError):
    """A quota override that cannot be used; the message names the field."""


# Words in the names of the ECS and STS actions without a row (a ledger line names no product).
_ECS_WORDS = ("Instance", "SecurityGroup", "Invocation", "Command", "CloudAssistant")
_STS_ACTIONS = frozenset({"GetCallerIdentity", "AssumeRole"})


def _guess_product(action: str) -> str:
    if action in _STS_ACTIONS:
        return "sts"
    return "ecs" if any(w in action for w in _ECS_WORDS) else "vpc"


def row_of(product: str | None, action: str) -> Row:
    """The table's row for an action, else its product's ``*`` row (VPC's when nothing is known)."""
    product = (product or _PRODUCT_OF.get(action) or _guess_product(action)).lower()
    return _BY_ACTION.get((product, action)) or _BY_ACTION.get((product, "*")) or _BY_ACTION[("vpc", "*")]


def parse_overrides(value: object, field: str = "quotas") -> dict[str, Limit]:
    """A fleet file's ``quotas:`` mapping, validated: ``{KEY: calls}`` (per 60 s) or ``{KEY: {calls,
    window_s}}``, KEY being ``Action``, ``product.Action``, ``product.*`` or ``*``. ``QuotaError`` names
    every bad field and what would be valid."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise QuotaError(f"{field}: a mapping of API action to calls per 60 s, e.g. {{CreateRouteEntry: 100}}")
    out: dict[str, Limit] = {}
    wrong: list[str] = []
    for key, given in value.items():
        here = f"{field}.{key}"
        if not isinstance(key, str) or not _key_ok(key):
            wrong.append(
                f"{here}: a key is an API action (CreateRouteEntry), product.Action, product.* or * "
                f"(products: {', '.join(PRODUCTS)})"
            )
            continue
        calls, window = given, WINDOW_S
        if isinstance(given, Mapping):
            extra = set(given) - {"calls", "window_s"}
            if extra:
                wrong.append(f"{here}: unknown key(s) {', '.join(sorted(map(str, extra)))}; valid: calls, window_s")
                continue
            calls, window = given.get("calls"), given.get("window_s", WINDOW_S)
        if isinstance(calls, bool) or not isinstance(calls, int) or not 1 <= calls <= 1_000_000:
            wrong.append(
                f"{here}: calls must be a whole number from 1 to 1000000 (calls per {window} s), not {calls!r}"
            )
            continue
        if isinstance(window, bool) or not isinstance(window, (int, float)) or not 0 < float(window) <= 86_400:
            wrong.append(f"{here}.window_s: seconds, more than 0 and at most 86400, not {window!r}")
            continue
        out[key] = Limit(calls, float(window), f"{here} of the fleet file")
    if wrong:
        raise QuotaError("; ".join(wrong))
    return out


def _key_ok(key: str) -> bool:
    if key == "*":
        return True
    product, _, action = key.rpartition(".")
    if product and product.lower() not in PRODUCTS:
        return False
    return (action == "*" and bool(product)) or (action.isalnum() and action[:1].isupper())


def limit_of(action: str, product: str | None = None, overrides: Mapping[str, Limit] | None = None) -> Limit:
    """The limit in force for an action: the most specific override, else the table's row."""
    row = row_of(product, action)
    for key in (f"{row.product}.{action}", action, f"{row.product}.*", "*"):
        found = (overrides or {}).get(key)
        if found is not None:
            return found
    return Limit(row.calls, row.window_s, row.source, row.inferred)


# -- the limiter (held by the coordinator) -------------------------------------------------------------

Key = tuple[str, str, str]  # (account UID, region, action)


@dataclass
class _Book:
    limit: Limit
    done: deque[float] = field(default_factory=deque)  # when admitted calls were answered, oldest first
    inflight: dict[str, float] = field(default_factory=dict)  # ticket -> when admitted
    admitted: int = 0
    waited: int = 0
    most_in_window: int = 0


class Limiter:
    """Sliding-window quotas per (account, region, action), thread-safe, on one clock.

    ``acquire`` blocks until the key has room (or ``timeout`` passes: ``None``); ``release`` says the
    call was answered. A ticket never released is counted as answered ``lease_s`` after admission."""

    def __init__(
        self,
        overrides: Mapping[str, Limit] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        margin_s: float = MARGIN_S,
        lease_s: float = LEASE_S,
    ):
        self.overrides = dict(overrides or {})
        self.clock = clock
        self.margin_s = margin_s
        self.lease_s = lease_s
        self._books: dict[Key, _Book] = {}
        self._tickets: dict[str, Key] = {}
        self._cond = threading.Condition()

    def _book(self, key: Key, product: str | None) -> _Book:
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = _Book(limit_of(key[2], product, self.overrides))
        return book

    def _expire(self, book: _Book, now: float) -> None:
        for ticket, at in list(book.inflight.items()):
            if at + self.lease_s <= now:
                del book.inflight[ticket]
                self._tickets.pop(ticket, None)
                _insort(book.done, at + self.lease_s)
        horizon = now - book.limit.window_s - self.margin_s
        while book.done and book.done[0] <= horizon:
            book.done.popleft()

    def _room(self, book: _Book, now: float) -> tuple[bool, float]:
        """(room now, seconds until the oldest counted call leaves the window)."""
        self._expire(book, now)
        used = len(book.done) + len(book.inflight)
        if used < book.limit.calls:
            return True, 0.0
        if not book.done:  # all slots held by calls in flight: wait for an answer or a lease
            return False, min(at + self.lease_s for at in book.inflight.values()) - now
        return False, book.done[0] + book.limit.window_s + self.margin_s - now

    def try_acquire(self, key: Key, product: str | None = None) -> tuple[str | None, float]:
        """A ticket, or None and the seconds to wait at least."""
        with self._cond:
            return self._try(key, product)

    def _try(self, key: Key, product: str | None) -> tuple[str | None, float]:
        book = self._book(key, product)
        now = self.clock()
        ok, wait = self._room(book, now)
        if not ok:
            return None, max(wait, 0.001)
        ticket = uuid.uuid4().hex
        book.inflight[ticket] = now
        self._tickets[ticket] = key
        book.admitted += 1
        book.most_in_window = max(book.most_in_window, len(book.done) + len(book.inflight))
        return ticket, 0.0

    def acquire(self, key: Key, product: str | None = None, timeout: float | None = None) -> str | None:
        deadline = None if timeout is None else self.clock() + timeout
        waited = False
        with self._cond:
            while True:
                ticket, wait = self._try(key, product)
                if ticket is not None:
                    if waited:
                        self._books[key].waited += 1
                    return ticket
                waited = True
                if deadline is not None:
                    left = deadline - self.clock()
                    if left <= 0:
                        return None
                    wait = min(wait, left)
                self._cond.wait(wait)

    def release(self, ticket: str) -> None:
        with self._cond:
            key = self._tickets.pop(ticket, None)
            if key is None:
                return  # unknown or already expired
            book = self._books[key]
            book.inflight.pop(ticket, None)
            book.done.append(self.clock())  # answers arrive in order of this clock
            self._cond.notify_all()

    def stats(self) -> list[dict[str, Any]]:
        with self._cond:
            return [
                {
                    "account_uid": k[0],
                    "region": k[1],
                    "action": k[2],
                    "limit": b.limit.calls,
                    "window_s": b.limit.window_s,
                    "source": b.limit.source,
                    "admitted": b.admitted,
                    "waited": b.waited,
                    "most_in_window": b.most_in_window,
                }
                for k, b in sorted(self._books.items())
            ]


def _insort(dq: deque[float], value: float) -> None:
    i = len(dq)
    while i > 0 and dq[i - 1] > value:
        i -= 1
    dq.insert(i, value)


def most_in_any_window(times: Iterable[float], window_s: float) -> int:
    """The most of ``times`` (seconds) that fall in any window ``(t - window_s, t]``: what the
    emulator's sliding window counts."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window_s:
            start += 1
        most = max(most, end - start + 1)
    return most


# -- the client: what every process calls -------------------------------------------------------------


class CoordinatorUnavailable(RuntimeError):
    """The coordinator did not answer."""


class Client:
    """A small HTTP client for the coordinator: one keep-alive connection per thread."""

    def __init__(self, url: str, token: str, timeout_s: float = 60.0):
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"{COORDINATOR_ENV}: expected http://HOST:PORT, got {url!r}")
        self.host, self.port = parts.hostname, parts.port
        self.url = f"http://{self.host}:{self.port}"
        self._token = token
        self.timeout_s = timeout_s
        self._local = threading.local()

    def __repr__(self) -> str:  # never the token
        return f"Client({self.url!r})"

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        return conn

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self._token}"}
        for attempt in (1, 2):  # a kept-alive connection the server closed is opened again once
            conn = self._connection()
            try:
                conn.request("POST", path, body=data, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise CoordinatorUnavailable(f"the fleet's coordinator at {self.url} did not answer: {e}") from None
                continue
            if response.status != 200:
                raise CoordinatorUnavailable(f"the fleet's coordinator refused {path}: HTTP {response.status}")
            return dict(json.loads(payload))
        raise AssertionError("unreachable")


_clients: dict[tuple[str, str, int], Client] = {}
_clients_lock = threading.Lock()
_warned = threading.Event()


def client() -> Client | None:
    """The coordinator of this process's fleet (from the environment), or None for a single link."""
    url = os.environ.get(COORDINATOR_ENV, "")
    if not url:
        return None
    token = os.environ.get(TOKEN_ENV, "")
    key = (url, token, os.getpid())  # a forked process opens its own connections
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            found = _clients[key] = Client(url, token)
        return found


def _unavailable(e: Exception) -> None:
    if not _warned.is_set():
        _warned.set()
        log.warning("%s; API calls go ahead without the fleet's shared quotas", e)


def _lock_name(account_uid: str | None, region: str, route_table_id: str) -> str:
    return f"route-writes/{account_uid or ''}/{region}/{route_table_id}"


_held = threading.local()  # the route locks this thread holds (route_lock), so guard does not take them again


def _holding() -> set[str]:
    names: set[str] | None = getattr(_held, "names", None)
    if names is None:
        names = _held.names = set()
    return names


@contextmanager
def guard(
    account_uid: str | None,
    region: str,
    action: str,
    *,
    product: str | None = None,
    route_table_id: str | None = None,
) -> Iterator[None]:
    """Around one API request (each attempt of it): wait for room in the (account, region, action)
    quota shared by the whole fleet; for a route write with ``route_table_id``, hold that table's route lock
    too (unless this thread holds it already, see :func:`route_lock`). Does nothing without a
    coordinator."""
    c = client()
    if c is None:
        yield
        return
    lock = None
    if route_table_id and action in ROUTE_WRITES and _lock_name(account_uid, region, route_table_id) not in _holding():
        lock = _lock_name(account_uid, region, route_table_id)
    ticket: str | None = None
    owner = uuid.uuid4().hex
    try:
        if lock is not None:
            _acquire_lock(c, lock, owner, LEASE_S)
        ticket = _acquire_quota(c, (account_uid or "", region, action), product)
    except CoordinatorUnavailable as e:
        _unavailable(e)
    try:
        yield
    finally:
        try:
            if ticket is not None:
                c.post("/quota/release", {"ticket": ticket})
            if lock is not None:
                c.post("/lock/release", {"name": lock, "owner": owner})
        except CoordinatorUnavailable as e:
            _unavailable(e)


def _acquire_quota(c: Client, key: Key, product: str | None) -> str:
    while True:
        answer = c.post("/quota/acquire", {"key": list(key), "product": product})
        if answer.get("ticket"):
            return str(answer["ticket"])


def _acquire_lock(c: Client, name: str, owner: str, lease_s: float) -> None:
    while not c.post("/lock/acquire", {"name": name, "owner": owner, "lease_s": lease_s}).get("held"):
        pass  # the server waits before answering no; ask again


@contextmanager
def route_lock(account_uid: str | None, region: str, route_table_id: str, *, lease_s: float = 30.0) -> Iterator[None]:
    """Hold a route table's write lock for a block (a route write and the wait until its entry is
    Available): no other link of the fleet writes that table's routes meanwhile. The lease is renewed
    while the block runs; a holder that dies frees the lock ``lease_s`` later."""
    c = client()
    name = _lock_name(account_uid, region, route_table_id)
    if c is None or name in _holding():
        yield
        return
    owner = uuid.uuid4().hex
    try:
        _acquire_lock(c, name, owner, lease_s)
    except CoordinatorUnavailable as e:
        _unavailable(e)
        yield
        return
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease_s / 3):
            try:
                c.post("/lock/renew", {"name": name, "owner": owner, "lease_s": lease_s})
            except CoordinatorUnavailable as e:
                _unavailable(e)

    renewer = threading.Thread(target=renew, name="vpclink-route-lock", daemon=True)
    renewer.start()
    _holding().add(name)
    try:
        yield
    finally:
        _holding().discard(name)
        stop.set()
        renewer.join()
        try:
            c.post("/lock/release", {"name": name, "owner": owner})
        except CoordinatorUnavailable as e:
            _unavailable(e)


T = TypeVar("T")


def shared_listing(account_uid: str | None, region: str, action: str, scope: str, fetch: Callable[[], T]) -> T:
    """The answer of ``fetch`` (a listing of ``action`` in ``scope``, e.g. every router interface of
    the region, or one route table's entries), shared with the other links of the fleet that ask for
    the same listing at the same moment. The listing returned was fetched after this call began; the
    caller filters it for its own resource and, not finding it, makes its own describe. ``fetch``
    must return JSON-able data."""
    c = client()
    if c is None:
        return fetch()
    key = [account_uid or "", region, action, scope]
    try:
        while True:
            answer = c.post("/listing/get", {"key": key})
            if "body" in answer:
                return answer["body"]  # type: ignore[no-any-return]
            if answer.get("fetch"):
                lease = answer["fetch"]
                break
    except CoordinatorUnavailable as e:
        _unavailable(e)
        return fetch()
    try:
        body = fetch()
    except BaseException:
        try:
            c.post("/listing/abandon", {"key": key, "lease": lease})
        except CoordinatorUnavailable as e:
            _unavailable(e)
        raise
    try:
        c.post("/listing/put", {"key": key, "lease": lease, "body": body})
    except CoordinatorUnavailable as e:
        _unavailable(e)
    return body
