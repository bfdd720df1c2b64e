"""The HTTP layer under hostile clients: oversized and malformed requests are refused, slow and
idle connections are closed, the connection cap evicts idle connections rather than lock out a
working client, and while any of that goes on an SDK client keeps being served."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_sts20150401.client import Client as StsClient
from alicloud_emulator.server import Limits, make_server
from alicloud_emulator.world import default_world, with_timing

from .conftest import Emu
from .support import connect, split_response


def _start(**limits) -> Emu:
    return Emu(make_server(world=with_timing(default_world(), scale=0), limits=Limits(**limits)).start())


@pytest.fixture
def strict():
    """Short timeouts, so a test waits seconds, not minutes, for the server to give up."""
    e = _start(idle_timeout_s=0.5, request_timeout_s=1.0, max_connections=20)
    yield e
    e.server.stop()


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.01)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _works(emu: Emu) -> None:
    """An SDK client of account A is served, over a connection of its own."""
    sts = StsClient(emu.config("account-a", "cn-qingdao"))
    assert sts.get_caller_identity().body.account_id == emu.account("account-a")["uid"]


def _exchange(emu: Emu, raw: bytes) -> tuple[int, dict, bytes]:
    sock = connect(emu.endpoint)
    try:
        sock.sendall(raw)
        return split_response(_read_all(sock))
    finally:
        sock.close()


@pytest.mark.parametrize(
    "length, status",
    [
        ("-1", 400),
        ("+5", 400),
        ("4_2", 400),
        ("0x10", 400),
        ("1e3", 400),
        ("5, 5", 400),
        ("", 400),
        ("9" * 30, 400),
        (str(3 * 1024 * 1024), 413),
    ],
)
def test_content_length_must_be_plain_digits_within_the_limit(emu, length, status):
    raw = f"POST /_emulator/clock HTTP/1.1\r\nHost: {emu.endpoint}\r\nContent-Length: {length}\r\n\r\n".encode()
    got, headers, body = _exchange(emu, raw)  # the server answers at once: it never waits for the body
    assert got == status and json.loads(body)["error"], body
    assert headers["connection"] == "close"
    _works(emu)


@pytest.mark.parametrize(
    "extra",
    [
        "Content-Length: 2\r\nContent-Length: 2\r\n",
        "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
        "Content-Length : 2\r\n",
        " Content-Length: 2\r\n",
        "Bad Header: 2\r\n",
    ],
)
def test_ambiguous_framing_is_refused(emu, extra):
    raw = f"POST /_emulator/clock HTTP/1.1\r\nHost: {emu.endpoint}\r\n{extra}\r\n{{}}".encode()
    got, _, body = _exchange(emu, raw)
    assert got == 400 and json.loads(body)["error"]
    assert emu.control("clock")["epoch"] > 0


def test_oversized_headers_are_refused(emu):
    raw = f"GET /_emulator/health HTTP/1.1\r\nHost: {emu.endpoint}\r\nX-Big: {'a' * 200_000}\r\n\r\n".encode()
    got, _, body = _exchange(emu, raw)
    assert got == 431 and "headers" in json.loads(body)["error"]
    raw = (f"GET /_emulator/health HTTP/1.1\r\nHost: {emu.endpoint}\r\n" + "X-A: 1\r\n" * 101 + "\r\n").encode()
    assert _exchange(emu, raw)[0] == 431
    _works(emu)


def test_a_large_body_in_small_pieces_is_read_whole(emu):
    """Appending is linear: a body just under the limit, sent in 4 KiB pieces, is read and parsed."""
    body = json.dumps({"advance": 1, "pad": "x" * (2 * 1024 * 1024 - 64)}).encode()
    sock = connect(emu.endpoint, timeout=30)
    try:
        head = f"POST /_emulator/clock HTTP/1.1\r\nHost: {emu.endpoint}\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        for i in range(0, len(body), 4096):
            sock.sendall(body[i : i + 4096])
        status, _, reply = split_response(_read_all(sock))
    finally:
        sock.close()
    assert status == 400 and "pad" in json.loads(reply)["error"]  # read whole, then refused for its field


def test_a_request_that_trickles_is_cut_off_while_others_are_served(strict):
    emu = strict
    slow = connect(emu.endpoint)
    try:
        slow.sendall(b"POST /?Action=GetCallerIdentity HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        _until(lambda: emu.server.connections()["reading"] == 1)
        for _ in range(5):
            _works(emu)  # served while the slow request is still being waited for
        assert emu.server.connections()["reading"] == 1
        status, _, body = split_response(_read_all(slow))  # then the server gives up on it
        assert status == 408 and "whole" in json.loads(body)["error"]
    finally:
        slow.close()


def test_a_body_that_never_comes_is_cut_off(strict):
    emu = strict
    sock = connect(emu.endpoint)
    try:
        head = f"POST /_emulator/clock HTTP/1.1\r\nHost: {emu.endpoint}\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: 100\r\n\r\n{{".encode())
        status, _, _ = split_response(_read_all(sock))
        assert status == 408
    finally:
        sock.close()


def test_an_idle_connection_is_closed(strict):
    sock = connect(strict.endpoint)
    try:
        assert sock.recv(1) == b"", "the server closes a connection that sends nothing"
        _until(lambda: strict.server.connections()["idle"] == 0)
    finally:
        sock.close()


def test_a_kept_alive_connection_is_closed_once_idle(strict):
    emu = strict
    sock = connect(emu.endpoint)
    try:
        sock.sendall(f"GET /_emulator/health HTTP/1.1\r\nHost: {emu.endpoint}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert sock.recv(1) == b""
    finally:
        sock.close()


def test_hundreds_of_idle_connections_do_not_lock_out_an_sdk_client():
    """The default cap (256) with 400 idle connections: each new one closes the longest idle."""
    emu = _start()
    idle = []
    try:
        for _ in range(400):
            idle.append(connect(emu.endpoint))
        _until(lambda: sum(emu.server.connections().values()) == emu.server.limits.max_connections)
        for _ in range(3):
            _works(emu)
        assert sum(emu.server.connections().values()) <= emu.server.limits.max_connections
        for s in idle[: 400 - emu.server.limits.max_connections]:  # the oldest were evicted
            s.settimeout(10)
            assert s.recv(1) == b""
    finally:
        for s in idle:
            s.close()
        emu.server.stop()


def test_trickling_connections_are_evicted_before_a_client_is_refused():
    emu = _start(max_connections=4, request_timeout_s=60)
    slow = []
    try:
        for _ in range(4):
            s = connect(emu.endpoint)
            s.sendall(b"POST / HTTP/1.1\r\n")
            slow.append(s)
        _until(lambda: emu.server.connections()["reading"] == 4)
        _works(emu)
    finally:
        for s in slow:
            s.close()
        emu.server.stop()


def test_when_every_connection_is_busy_a_newcomer_gets_503_not_a_hang():
    emu = _start(max_connections=2)

    def settled(call: Callable[[], Any]) -> Any:
        # a setup call only once the server has let go of the last one's connection: with two slots,
        # a busy machine can otherwise answer the setup itself with the 503 under test
        _until(lambda: sum(emu.server.connections().values()) == 0)
        return call()

    settled(lambda: emu.faults({"action": "GetCallerIdentity", "effect": "latency", "latency_ms": 3000, "times": 2}))
    configs = [settled(lambda: emu.config("account-a", "cn-qingdao")) for _ in range(2)]  # keys fetched first
    clients = [StsClient(c) for c in configs]
    busy = [threading.Thread(target=c.get_caller_identity) for c in clients]
    try:
        for t in busy:
            t.start()
        _until(lambda: emu.server.connections()["busy"] == 2)
        status, _, body = _exchange(emu, f"GET /_emulator/health HTTP/1.1\r\nHost: {emu.endpoint}\r\n\r\n".encode())
        assert status == 503 and "maximum of connections" in json.loads(body)["error"]
    finally:
        for t in busy:
            t.join(30)
        emu.server.stop()
