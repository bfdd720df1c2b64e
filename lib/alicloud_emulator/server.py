"""The HTTP server: one port for every product and region, plus the control API.

Threaded (one thread per connection, HTTP/1.1 keep-alive); each reply is written in one send.

Requests are read by a small HTTP/1.1 reader rather than ``http.server``: the SDKs send plain
requests with ``Content-Length``, and ``http.server`` parses headers through the ``email``
package, which costs about 0.25 ms a call (measured), more than the emulator's own work and
enough to halve what one SDK client can do against it (``benchmarks/emulator_throughput.py``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import socketserver
import threading
import uuid
from typing import Any

from . import control
from .dispatch import Emulator
from .store import Store
from .wire import Reply, Request, control_reply, error_reply
from .world import default_world, load_into

log = logging.getLogger("alicloud_emulator")

_MAX_HEAD = 65536  # request line and headers
_MAX_HEADERS = 100


class _BadRequest(Exception):
    """A request this server cannot read; it answers with ``status`` and closes."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Handler(socketserver.BaseRequestHandler):
    """One connection: read a request, answer it, repeat while the client keeps it alive."""

    server: EmulatorServer

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def handle(self) -> None:
        while True:
            try:
                parsed = self._read_request()
            except _BadRequest as e:
                self._send(control_reply({"error": str(e)}, e.status))
                return
            except OSError:
                return
            if parsed is None:  # the client closed the connection
                return
            req, keep_alive = parsed
            reply = self._answer(req)
            if reply.drop:
                try:
                    self.request.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if not self._send(reply) or not keep_alive:
                return

    def _receive(self) -> bool:
        chunk = self.request.recv(65536)
        self._buffer += chunk
        return bool(chunk)

    def _read_request(self) -> tuple[Request, bool] | None:
        while True:
            self._buffer = self._buffer.lstrip(b"\r\n")  # tolerated between kept-alive requests
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._buffer) > _MAX_HEAD:
                raise _BadRequest(431, f"request headers longer than {_MAX_HEAD} bytes")
            if not self._receive():
                return None
        head, self._buffer = self._buffer[:end].decode("latin-1"), self._buffer[end + 4 :]
        request_line, *lines = head.split("\r\n")
        parts = request_line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400, f"malformed request line {request_line[:80]!r}")
        method, target, version = parts
        if len(lines) > _MAX_HEADERS:
            raise _BadRequest(431, f"more than {_MAX_HEADERS} header lines")
        headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(400, f"malformed header line {line[:80]!r}")
            name, value = name.strip().lower(), value.strip()
            # a repeated header joins as http.server's would (the SDKs send none twice)
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _BadRequest(411, "chunked request bodies are not supported; send Content-Length")
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            raise _BadRequest(400, f"Content-Length {headers['content-length']!r} is not a number") from None
        if length and headers.get("expect", "").lower() == "100-continue" and len(self._buffer) < length:
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(self._buffer) < length:
            if not self._receive():
                return None
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
        return Request.parse(method, target, headers, body), keep_alive

    def _answer(self, req: Request) -> Reply:
        try:
            if req.path.startswith("/_emulator/"):
                if not is_loopback(self.client_address[0]):
                    return control_reply({"error": "the control API answers loopback clients only"}, 403)
                return control.handle(self.server.app, req)
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


def is_loopback(address: str) -> bool:
    """Whether a client address is this machine's loopback (IPv4, IPv6 or IPv4-mapped IPv6):
    the control API hands out the world's keys, so nobody else may reach it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


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
    request_queue_size = 64  # several kernels connecting at once

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)

    @property
    def endpoint(self) -> str:
        """``host:port``, the form the SDKs' ``Config.endpoint`` takes."""
        host, port = self.server_address[:2]
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
) -> EmulatorServer:
    """A server over ``db`` (in memory when ``None``). ``world`` (default: the built-in one) is
    loaded into an empty database, or with ``reset``; a database that already holds a world keeps
    its state, so a restart resumes where the last process stopped."""
    store = Store(db)
    app = App(store, verify_signatures)
    if reset or store.meta("world") is None:
        app.load_world(world if world is not None else default_world())
    return EmulatorServer(app, host, port)
