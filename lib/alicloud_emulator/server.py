"""The HTTP server: one port for every product and region, plus the control API.

Threaded (one thread per connection, HTTP/1.1 keep-alive); each reply is written in one send.

Requests are read by a small HTTP/1.1 reader rather than ``http.server``: the SDKs send plain
requests with ``Content-Length``, and ``http.server`` parses headers through the ``email``
package, which costs about 0.25 ms a call (measured), more than the emulator's own work and
enough to halve what one SDK client can do against it (``benchmarks/emulator_throughput.py``).

The reader is strict, because the server must stay up for every client whatever one of them
sends (``Limits``):

* a connection that sends nothing for ``idle_timeout_s`` is closed, and a request must arrive
  whole within ``request_timeout_s`` of its first byte (a half-open or trickling client holds a
  thread no longer than that); a reply the client does not read is abandoned after the same time;
* at most ``max_connections`` at once: a new connection beyond that closes the longest idle one
  (then the one that has trickled its request longest), so hundreds of idle connections never
  lock a working client out; only when every connection is busy with a request is the newcomer
  answered ``503 ServiceUnavailable``;
* the request line and headers are at most ``max_head_bytes`` (``431``), the body at most
  ``max_body_bytes`` (``413``, refused before it is read); the cloud's gateway limits are not
  documented for these APIs (API Gateway's, the nearest documented, answers ``413`` too:
  https://www.alibabacloud.com/help/en/api-gateway/latest/error-codes);
* ``Content-Length`` must be digits, given once, and not beside a ``Transfer-Encoding``; a
  request with a body sent ``chunked`` is refused (``411``): the SDKs always send the length;
* the buffer grows by appending and is searched only where new bytes arrived: reading is linear
  in the size of the request.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from . import control
from .dispatch import DamagedStateError, Emulator
from .store import Store
from .wire import Reply, Request, control_reply, error_reply
from .world import default_world, load_into

log = logging.getLogger("alicloud_emulator")

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
_DIGITS = re.compile(r"[0-9]{1,15}")


@dataclass(frozen=True)
class Limits:
    max_connections: int = 256
    idle_timeout_s: float = 60.0
    request_timeout_s: float = 30.0
    max_head_bytes: int = 128 * 1024
    max_headers: int = 100
    max_body_bytes: int = 2 * 1024 * 1024


class _BadRequest(Exception):
    """A request this server cannot read; it answers with ``status`` and closes."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Closed(Exception):
    """The connection ended (the client closed it, went quiet, or was evicted)."""


class _Conn:
    """What the server knows of one connection, to pick one to evict."""

    __slots__ = ("since", "sock", "state")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.state = "idle"  # idle (between requests) | reading (a request has begun) | busy
        self.since = time.monotonic()

    def set(self, state: str) -> None:
        self.state, self.since = state, time.monotonic()


class _Handler(socketserver.BaseRequestHandler):
    """One connection: read a request, answer it, repeat while the client keeps it alive."""

    server: EmulatorServer

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()
        self._conn = self.server.connection_of(self.request)

    def handle(self) -> None:
        limits = self.server.limits
        while True:
            try:
                parsed = self._read_request()
            except _BadRequest as e:
                self._send(_http_error(e.status, str(e)))
                return
            except (_Closed, OSError):
                return
            req, keep_alive = parsed
            self._conn.set("busy")
            reply = self._answer(req)
            if reply.drop:
                try:
                    self.request.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            self.request.settimeout(limits.request_timeout_s)  # a reply nobody reads is given up
            if not self._send(reply) or not keep_alive:
                return
            self._conn.set("idle")

    def finish(self) -> None:
        self.server.forget(self.request)

    def _receive(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.request.settimeout(left)
        chunk = self.request.recv(65536)
        if not chunk:
            raise _Closed
        self._buffer += chunk

    def _read_request(self) -> tuple[Request, bool]:
        limits = self.server.limits
        buf = self._buffer
        deadline = time.monotonic() + limits.idle_timeout_s
        while True:  # CRLFs between kept-alive requests are tolerated
            while buf[:2] == b"\r\n" or buf[:1] == b"\n":
                del buf[: 2 if buf[:1] == b"\r" else 1]
            if buf:
                break
            try:
                self._receive(deadline)
            except TimeoutError:
                raise _Closed from None  # idle: close quietly
        self._conn.set("reading")
        deadline = time.monotonic() + limits.request_timeout_s
        scanned = 0
        while True:
            end = buf.find(b"\r\n\r\n", max(0, scanned - 3))
            if end >= 0:
                break
            scanned = len(buf)
            if scanned > limits.max_head_bytes:
                raise _BadRequest(431, f"request line and headers longer than {limits.max_head_bytes} bytes")
            self._receive_or_timeout(deadline)
        if end > limits.max_head_bytes:
            raise _BadRequest(431, f"request line and headers longer than {limits.max_head_bytes} bytes")
        head = bytes(buf[:end])
        del buf[: end + 4]
        method, target, version, headers = _parse_head(head, limits.max_headers)
        length = _content_length(headers)
        if length > limits.max_body_bytes:
            raise _BadRequest(413, f"request body of {length} bytes; at most {limits.max_body_bytes} are accepted")
        if length and headers.get("expect", "").lower() == "100-continue" and len(buf) < length:
            self.request.settimeout(limits.request_timeout_s)
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(buf) < length:
            self._receive_or_timeout(deadline)
        body = bytes(buf[:length])
        del buf[:length]
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
        return Request.parse(method, target, headers, body), keep_alive

    def _receive_or_timeout(self, deadline: float) -> None:
        try:
            self._receive(deadline)
        except TimeoutError:
            limit = self.server.limits.request_timeout_s
            raise _BadRequest(408, f"the request did not arrive whole within {limit:g} s") from None

    def _answer(self, req: Request) -> Reply:
        try:
            if req.path.startswith("/_emulator/"):
                return control.handle(self.server.app, req, self.client_address[0])
            return self.server.app.emulator.handle(req)
        except Exception as e:  # a bug must still answer like the cloud does, not hang the SDK
            log.exception("internal error")
            return error_reply(
                500,
                "InternalError",
                f"The request processing has failed due to some unknown error. ({type(e).__name__})",
                str(uuid.uuid4()).upper(),
                "openapi.aliyuncs.com",
            )

    def _send(self, reply: Reply) -> bool:
        try:
            self.request.sendall(reply.to_bytes())  # one buffer, one send
            return True
        except OSError:
            return False


def _parse_head(head: bytes, max_headers: int) -> tuple[str, str, str, dict[str, str]]:
    request_line, *lines = head.split(b"\r\n")
    parts = request_line.decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not _TOKEN.fullmatch(parts[0].encode("latin-1")):
        raise _BadRequest(400, f"malformed request line {request_line[:80]!r}")
    method, target, version = parts
    if len(lines) > max_headers:
        raise _BadRequest(431, f"more than {max_headers} header lines")
    headers: dict[str, str] = {}
    lengths = 0
    for line in lines:
        name_bytes, sep, value_bytes = line.partition(b":")
        if not sep or not _TOKEN.fullmatch(name_bytes):  # also refuses "Name :" and folded lines
            raise _BadRequest(400, f"malformed header line {line[:80]!r}")
        name, value = name_bytes.decode("latin-1").lower(), value_bytes.decode("latin-1").strip()
        if name == "content-length":
            lengths += 1
        # a repeated header joins as http.server's would (the SDKs send none twice)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if lengths > 1:
        raise _BadRequest(400, "Content-Length is given more than once")
    return method, target, version, headers


def _content_length(headers: dict[str, str]) -> int:
    if "transfer-encoding" in headers:
        if "content-length" in headers:
            raise _BadRequest(400, "Content-Length and Transfer-Encoding together are refused")
        raise _BadRequest(411, "chunked or encoded request bodies are not supported; send Content-Length")
    given = headers.get("content-length")
    if given is None:
        return 0
    if not _DIGITS.fullmatch(given):
        raise _BadRequest(400, f"Content-Length {given[:32]!r} is not a number of bytes (digits only)")
    return int(given)


def _http_error(status: int, message: str) -> Reply:
    reply = control_reply({"error": message}, status)
    reply.headers["Connection"] = "close"
    return reply


class App:
    """What the server serves: the store, the API emulator over it, and where it came from."""

    def __init__(self, store: Store, verify_signatures: bool = True):
        self.store = store
        self.emulator = Emulator(store, verify_signatures)

    def load_world(self, world: dict[str, Any]) -> None:
        load_into(self.store, world)
        self.emulator.refresh()


class EmulatorServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # several kernels connecting at once

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0, limits: Limits | None = None):
        self.app = app
        self.limits = limits or Limits()
        self._conns: dict[socket.socket, _Conn] = {}
        self._conns_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)

    # -- the connection cap -----------------------------------------------------------------------
    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._admit(request):
            try:
                request.settimeout(1.0)
                request.sendall(
                    _http_error(503, "the emulator is serving its maximum of connections; retry").to_bytes()
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def _admit(self, sock: socket.socket) -> bool:
        """Register a new connection, evicting one if the server is full; False if it cannot."""
        with self._conns_lock:
            if len(self._conns) >= self.limits.max_connections:
                for state in ("idle", "reading"):
                    waiting = [c for c in self._conns.values() if c.state == state]
                    if waiting:
                        victim = min(waiting, key=lambda c: c.since)
                        del self._conns[victim.sock]
                        try:
                            victim.sock.shutdown(socket.SHUT_RDWR)  # its thread sees the end and returns
                        except OSError:
                            pass
                        break
                else:
                    return False
            self._conns[sock] = _Conn(sock)
            return True

    def connection_of(self, sock: socket.socket) -> _Conn:
        with self._conns_lock:
            return self._conns.get(sock) or _Conn(sock)

    def forget(self, sock: socket.socket) -> None:
        with self._conns_lock:
            self._conns.pop(sock, None)

    def connections(self) -> dict[str, int]:
        """How many connections are open, by state (for tests and health)."""
        with self._conns_lock:
            counts = {"idle": 0, "reading": 0, "busy": 0}
            for c in self._conns.values():
                counts[c.state] += 1
            return counts

    @property
    def endpoint(self) -> str:
        """``host:port``, the form the SDKs' ``Config.endpoint`` takes."""
        host, port = str(self.server_address[0]), self.server_address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def start(self) -> EmulatorServer:
        """Serve in a background thread (tests, the embedded default)."""
        # a short poll interval makes stop() quick, which a test suite that starts many pays for
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, name="alicloud-emulator", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.app.store.close()


def make_server(
    db: str | None = None,
    world: dict[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    verify_signatures: bool = True,
    reset: bool = False,
    limits: Limits | None = None,
) -> EmulatorServer:
    """A server over ``db`` (in memory when ``None``). ``world`` (default: the built-in one) is
    loaded into an empty database, or with ``reset``; a database that already holds a world keeps
    its state, so a restart resumes where the last process stopped. A database whose world or
    fault rules do not validate is refused (``DamagedStateError``); ``reset`` starts it over."""
    store = Store(db)
    try:
        app = App(store, verify_signatures)
        if reset or store.meta("world") is None:
            app.load_world(world if world is not None else default_world())
        else:
            app.emulator.refresh()
        return EmulatorServer(app, host, port, limits)
    except (DamagedStateError, OSError):
        store.close()
        raise
