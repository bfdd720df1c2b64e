"""The fleet's coordinator: one small HTTP service per fleet run that holds what every process of the
run shares, wherever it runs: the API quotas (``quota.Limiter``), the route-write locks per VPC, and
the listings that waiting links share.

The fleet command starts it (``serve``) on loopback, or on an address the workers of a Dask cluster
can reach, and hands its URL and token to each link's processes in the environment
(``quota.COORDINATOR_ENV``, ``quota.TOKEN_ENV``). It answers JSON over HTTP/1.1 with keep-alive; a
request without the token is refused (the service is reachable by other local users). Requests that
must wait (a quota slot, a lock, a listing being fetched) are held for at most ``HOLD_S`` and then
answered "not yet", so no client waits on a dead connection for long.

Endpoints (POST, JSON): ``/quota/acquire {key, product}`` -> ``{ticket}`` or ``{}``;
``/quota/release {ticket}``; ``/lock/acquire|renew {name, owner, lease_s}`` -> ``{held}``;
``/lock/release {name, owner}``; ``/listing/get {key}`` -> ``{body}`` or ``{fetch: lease}`` or ``{}``;
``/listing/put {key, lease, body}``; ``/listing/abandon {key, lease}``; ``/stats`` -> counts.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import quota

HOLD_S = 20.0  # the longest a request is held before "not yet"
GATHER_S = 0.3  # how long a listing waits for more callers before it is fetched
LISTING_LEASE_S = 60.0  # a fetcher that neither answers nor gives up within this is presumed dead
MAX_BODY = 8 << 20


@dataclass
class _Lock:
    owner: str
    expires: float


class Locks:
    """Named locks with leases: a holder that dies frees its lock when the lease runs out."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._held: dict[str, _Lock] = {}
        self._cond = threading.Condition()
        self.granted = 0
        self.contended = 0

    def acquire(self, name: str, owner: str, lease_s: float, timeout: float) -> bool:
        deadline = self.clock() + timeout
        waited = False
        with self._cond:
            while True:
                now = self.clock()
                held = self._held.get(name)
                if held is None or held.expires <= now or held.owner == owner:
                    self._held[name] = _Lock(owner, now + lease_s)
                    self.granted += 1
                    self.contended += int(waited)
                    return True
                waited = True
                left = deadline - now
                if left <= 0:
                    return False
                self._cond.wait(min(left, held.expires - now))

    def renew(self, name: str, owner: str, lease_s: float) -> bool:
        with self._cond:
            held = self._held.get(name)
            if held is None or held.owner != owner:
                return False
            held.expires = self.clock() + lease_s
            return True

    def release(self, name: str, owner: str) -> None:
        with self._cond:
            held = self._held.get(name)
            if held is not None and held.owner == owner:
                del self._held[name]
                self._cond.notify_all()


@dataclass
class _Listing:
    phase: str = "idle"  # idle | gathering | fetching | done
    lease: str = ""
    round_started: float = 0.0  # when the current round began gathering
    fetch_started: float = 0.0
    lease_expires: float = 0.0
    body: Any = None
    body_started: float = float("-inf")  # when the fetch of ``body`` began


class Listings:
    """Listings shared by the callers that ask at the same moment (see ``quota.shared_listing``).

    A round gathers callers for ``gather_s``, then one of them fetches; every caller that arrived
    before the fetch began gets its answer. A caller arriving later waits for the next round: an
    answer is never older than the question."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, gather_s: float = GATHER_S):
        self.clock = clock
        self.gather_s = gather_s
        self._entries: dict[tuple[str, ...], _Listing] = {}
        self._cond = threading.Condition()
        self.fetches = 0
        self.served = 0

    def get(self, key: tuple[str, ...], timeout: float) -> dict[str, Any]:
        arrived = self.clock()
        deadline = arrived + timeout
        with self._cond:
            while True:
                now = self.clock()
                e = self._entries.setdefault(key, _Listing())
                if e.phase in ("done", "idle") and e.body_started >= arrived:
                    self.served += 1
                    return {"body": e.body}
                if e.phase == "fetching" and e.lease_expires <= now:
                    e.phase = "idle"  # the fetcher died: start over
                if e.phase in ("done", "idle"):  # nothing fresh enough: this caller opens a round
                    e.phase, e.round_started = "gathering", now
                    while self.clock() < e.round_started + self.gather_s:
                        self._cond.wait(e.round_started + self.gather_s - self.clock())
                    e.phase, e.lease = "fetching", uuid.uuid4().hex
                    e.fetch_started = self.clock()
                    e.lease_expires = e.fetch_started + LISTING_LEASE_S
                    self.fetches += 1
                    self._cond.notify_all()
                    return {"fetch": e.lease}
                left = deadline - now
                if left <= 0:
                    return {}
                wait = min(left, e.lease_expires - now) if e.phase == "fetching" else left
                self._cond.wait(max(wait, 0.001))

    def put(self, key: tuple[str, ...], lease: str, body: Any) -> None:
        with self._cond:
            e = self._entries.get(key)
            if e is None or e.lease != lease or e.phase != "fetching":
                return
            e.phase, e.body, e.body_started, e.lease = "done", body, e.fetch_started, ""
            self._cond.notify_all()

    def abandon(self, key: tuple[str, ...], lease: str) -> None:
        with self._cond:
            e = self._entries.get(key)
            if e is not None and e.lease == lease and e.phase == "fetching":
                e.phase, e.lease = "idle", ""
                self._cond.notify_all()


class Coordinator:
    """What the service holds; usable in-process too (tests, a single-process engine)."""

    def __init__(
        self, overrides: Mapping[str, quota.Limit] | None = None, *, gather_s: float = GATHER_S, hold_s: float = HOLD_S
    ):
        self.hold_s = hold_s
        self.limiter = quota.Limiter(overrides)
        self.locks = Locks()
        self.listings = Listings(gather_s=gather_s)

    def handle(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/quota/acquire":
            key = _key(body.get("key"), 3)
            product = body.get("product")
            ticket = self.limiter.acquire(
                (key[0], key[1], key[2]), product if isinstance(product, str) else None, timeout=self.hold_s
            )
            return {"ticket": ticket} if ticket else {}
        if path == "/quota/release":
            self.limiter.release(str(body.get("ticket", "")))
            return {}
        if path in ("/lock/acquire", "/lock/renew", "/lock/release"):
            name, owner = str(body.get("name", "")), str(body.get("owner", ""))
            if not name or not owner:
                raise ValueError("name and owner are required")
            lease = float(body.get("lease_s") or quota.LEASE_S)
            if not 0 < lease <= 3600:
                raise ValueError("lease_s: seconds, more than 0 and at most 3600")
            if path == "/lock/acquire":
                return {"held": self.locks.acquire(name, owner, lease, self.hold_s)}
            if path == "/lock/renew":
                return {"held": self.locks.renew(name, owner, lease)}
            self.locks.release(name, owner)
            return {}
        if path == "/listing/get":
            return self.listings.get(_key(body.get("key"), 4), self.hold_s)
        if path == "/listing/put":
            self.listings.put(_key(body.get("key"), 4), str(body.get("lease", "")), body.get("body"))
            return {}
        if path == "/listing/abandon":
            self.listings.abandon(_key(body.get("key"), 4), str(body.get("lease", "")))
            return {}
        if path == "/stats":
            return self.stats()
        raise LookupError(path)

    def stats(self) -> dict[str, Any]:
        return {
            "quotas": self.limiter.stats(),
            "locks": {"granted": self.locks.granted, "contended": self.locks.contended},
            "listings": {"fetches": self.listings.fetches, "served": self.listings.served},
        }


def _key(value: object, size: int) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != size or not all(isinstance(v, str) for v in value):
        raise ValueError(f"key: a list of {size} strings")
    return tuple(value)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An answer goes out as two writes (headers, then body). With Nagle's algorithm the body waits for
    # the client's ACK of the headers, which a kept-alive client delays (40 ms on Linux): two such
    # waits per API call of every link (quota acquire and release) made each call about 85 ms slower.
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            return self._reply(403, {"error": "not this fleet's coordinator token"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._reply(413, {"error": "body too large"})
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
            answer = self.server.coordinator.handle(self.path, body)
        except LookupError:
            return self._reply(404, {"error": f"no endpoint {self.path}"})
        except (ValueError, TypeError) as e:
            return self._reply(400, {"error": str(e)})
        self._reply(200, answer)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per API call otherwise
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], coordinator: Coordinator, token: str):
        super().__init__(address, _Handler)
        self.coordinator = coordinator
        self.token = token


class Service:
    """A running coordinator: its ``url``, the environment for the processes that use it, ``stop``."""

    def __init__(self, server: _Server, thread: threading.Thread):
        self._server = server
        self._thread = thread
        host, port = str(server.server_address[0]), int(server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"

    @property
    def coordinator(self) -> Coordinator:
        return self._server.coordinator

    def env(self) -> dict[str, str]:
        """What a link's processes need in their environment to share this coordinator."""
        return {quota.COORDINATOR_ENV: self.url, quota.TOKEN_ENV: self._server.token}

    def stats(self) -> dict[str, Any]:
        return self.coordinator.stats()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    overrides: Mapping[str, quota.Limit] | None = None,
    *,
    gather_s: float = GATHER_S,
    hold_s: float = HOLD_S,
) -> Service:
    """Start a coordinator in a thread of this process; ``host``: loopback unless workers on other
    machines must reach it."""
    server = _Server((host, port), Coordinator(overrides, gather_s=gather_s, hold_s=hold_s), secrets.token_urlsafe(24))
    thread = threading.Thread(target=server.serve_forever, name="vpclink-coordinator", daemon=True)
    thread.start()
    return Service(server, thread)
