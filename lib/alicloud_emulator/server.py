"""The HTTP server: one port for every product and region, plus the control API.

Threaded (one thread per connection, keep-alive); each reply is written in one send.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import control
from .dispatch import Emulator
from .store import Store
from .wire import Request, control_reply, error_reply
from .world import default_world, load_into

log = logging.getLogger("alicloud_emulator")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "EmulatorServer"

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            req = Request.parse(self.command, self.path, headers, body)
            if req.path.startswith("/_emulator/"):
                if not is_loopback(self.client_address[0]):
                    reply = control_reply({"error": "the control API answers loopback clients only"}, 403)
                else:
                    reply = control.handle(self.server.app, req)
            else:
                reply = self.server.app.emulator.handle(req)
        except Exception as e:  # a bug must still answer like the cloud does, not hang the SDK
            log.exception("internal error")
            reply = error_reply(500, "InternalError", f"The request processing has failed due to some unknown error. ({type(e).__name__})",
                                str(uuid.uuid4()).upper(), "openapi.aliyuncs.com")
        if reply.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(reply.to_bytes())

    do_POST = do_GET = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


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


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

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

    def start(self) -> "EmulatorServer":
        """Serve in a background thread (tests, the embedded default)."""
        # a short poll interval makes stop() quick, which a test suite that starts many pays for
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02},
                         name="alicloud-emulator", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def make_server(db: str | None = None, world: dict[str, Any] | None = None, host: str = "127.0.0.1",
                port: int = 0, verify_signatures: bool = True, reset: bool = False) -> EmulatorServer:
    """A server over ``db`` (in memory when ``None``). ``world`` (default: the built-in one) is
    loaded into an empty database, or with ``reset``; a database that already holds a world keeps
    its state, so a restart resumes where the last process stopped."""
    store = Store(db)
    app = App(store, verify_signatures)
    if reset or store.meta("world") is None:
        app.load_world(world if world is not None else default_world())
    return EmulatorServer(app, host, port)
