"""The control API as a security reviewer probes it: only this machine's own tools get in (loopback
client and loopback Host, no cross-site browser request, JSON bodies only), every value is
validated, and nothing a client sends can poison a ``--db`` for good."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time

import pytest
from alicloud_emulator.dispatch import DamagedStateError
from alicloud_emulator.server import make_server
from alicloud_emulator.world import default_world, with_timing

from .conftest import Emu
from .support import connect, control_status, split_response


def _raw(emu, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict, bytes]:
    """One request with exactly these headers (no Host unless given), on its own connection."""
    head = [f"{method} {path} HTTP/1.1", *[f"{k}: {v}" for k, v in headers.items()]]
    head += [f"Content-Length: {len(body)}", "Connection: close"]
    sock = connect(emu.endpoint)
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    return split_response(data)


def _secrets(emu) -> list[str]:
    return [a["access_key_secret"] for a in emu.control("accounts")["accounts"]]


def _offset(emu) -> float:
    return emu.server.app.store.meta("clock_offset", 0.0)


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil.example:1", "10.0.0.1", "", None],
)
def test_a_foreign_or_missing_host_gets_nothing(emu, host):
    """A page on another site that rebinds its name to 127.0.0.1 still sends its own Host."""
    secrets = _secrets(emu)
    headers = {} if host is None else {"Host": host}
    for path in ("/_emulator/accounts", "/_emulator/state", "/_emulator/journal"):
        status, _, body = _raw(emu, "GET", path, headers)
        assert status == 403 and b"loopback Host" in body, body
        assert not any(s.encode() in body for s in secrets)
    status, _, _ = _raw(emu, "POST", "/_emulator/clock", headers, b'{"advance": 100}')
    assert status == 403 and _offset(emu) == 0.0


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}"])
def test_a_loopback_host_is_served(emu, host):
    port = emu.endpoint.rsplit(":", 1)[1]
    status, _, body = _raw(emu, "GET", "/_emulator/health", {"Host": host.format(port=port)})
    assert status == 200 and json.loads(body)["status"] == "ok"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "https://evil.example:8443"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://localhost:8888", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cross_site_request_is_refused(emu, headers):
    status, _, body = _raw(
        emu,
        "POST",
        "/_emulator/clock",
        {"Host": emu.endpoint, "Content-Type": "application/json", **headers},
        b'{"advance": 100}',
    )
    assert status == 403 and b"cross-site" in body
    assert _offset(emu) == 0.0


@pytest.mark.parametrize(
    "headers", [{"Origin": "http://localhost:8888"}, {"Origin": "http://127.0.0.1:9"}, {"Sec-Fetch-Site": "same-site"}]
)
def test_a_same_machine_origin_is_served(emu, headers):
    status, _, _ = _raw(
        emu,
        "POST",
        "/_emulator/clock",
        {"Host": emu.endpoint, "Content-Type": "application/json", **headers},
        b'{"advance": 100}',
    )
    assert status == 200 and _offset(emu) == 100.0


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "text/yaml"]
)
def test_a_body_must_be_json_by_content_type(emu, content_type):
    """A page may POST text/plain or a form to any address without asking first: refused."""
    headers = {"Host": emu.endpoint} | ({"Content-Type": content_type} if content_type else {})
    for path, body in (("/_emulator/clock", b'{"advance": 100}'), ("/_emulator/faults", b'{"effect": "drop"}')):
        status, _, reply = _raw(emu, "POST", path, headers, body)
        assert status == 415 and b"application/json" in reply
    assert _offset(emu) == 0.0 and emu.control("faults")["faults"] == []
    status, _, _ = _raw(
        emu,
        "POST",
        "/_emulator/clock",
        {"Host": emu.endpoint, "Content-Type": "Application/JSON; charset=utf-8"},
        b'{"advance": 1}',
    )
    assert status == 200 and _offset(emu) == 1.0


@pytest.mark.parametrize(
    "body, says",
    [
        (b'{"advance": "nan"}', "advance"),
        (b'{"advance": NaN}', "finite"),
        (b'{"advance": Infinity}', "finite"),
        (b'{"advance": -Infinity}', "finite"),
        (b'{"advance": 1e999}', "finite"),
        (b'{"advance": -1}', "forward"),
        (b'{"advance": "5"}', "advance"),
        (b'{"advance": true}', "advance"),
        (b'{"advance": 1e12}', "advance"),
        (b'{"advance": 5, "extra": 1}', "extra"),
        (b'{"advance": 5, "advance": 6}', "twice"),
        (b"[5]", "object"),
        (b'{"advance": ', "not JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
    ],
)
def test_clock_values_are_validated_and_nothing_moves(emu, body, says):
    status, _, reply = _raw(
        emu, "POST", "/_emulator/clock", {"Host": emu.endpoint, "Content-Type": "application/json"}, body
    )
    error = json.loads(reply)["error"]
    assert status == 400 and says in error, error
    assert _offset(emu) == 0.0
    assert math.isfinite(emu.control("clock")["epoch"])


def test_the_clock_stays_within_a_century(emu):
    for _ in range(101):
        status, reply = control_status(emu.endpoint, "clock", {"advance": 366 * 24 * 3600})
        if status != 200:
            break
    assert status == 400 and "at most" in reply["error"]
    assert _offset(emu) <= 100 * 366 * 24 * 3600
    assert emu.control("health")["now"].startswith("2")  # still a four-digit year


def test_each_route_takes_its_methods_only(emu):
    status, headers, _ = _raw(emu, "GET", "/_emulator/reset", {"Host": emu.endpoint})
    assert status == 405 and headers["allow"] == "POST"
    status, headers, _ = _raw(emu, "DELETE", "/_emulator/accounts", {"Host": emu.endpoint})
    assert status == 405 and headers["allow"] == "GET"


@pytest.mark.parametrize("query, says", [("since=abc", "since"), ("since=-1", "since"), ("bogus=1", "bogus")])
def test_journal_queries_are_validated(emu, query, says):
    status, reply = control_status(emu.endpoint, f"journal?{query}")
    assert status == 400 and says in reply["error"]


def test_journal_limit(emu, a):
    for _ in range(3):
        a.sts.get_caller_identity()
    assert len(emu.journal(limit="2")) == 2


def test_behaviour_is_read_and_changed_through_the_control_api(emu):
    defaults = emu.control("behaviour")["behaviour"]
    assert defaults["read_lag"] == {"seconds": 0.0, "applies_to": "lists"}
    assert defaults["security_group_reference"] == "current"
    assert defaults["quotas"] == {"enabled": True, "overrides": {}}  # the cloud's quotas, on by default
    changed = emu.control("behaviour", {"read_lag": {"seconds": 5, "applies_to": "all"}})["behaviour"]
    assert changed["read_lag"] == {"seconds": 5.0, "applies_to": "all"}
    assert changed["security_group_reference"] == "current"  # a key not given keeps its value
    assert emu.control("world")["behaviour"]["read_lag"]["seconds"] == 5.0
    assert emu.control("behaviour", {"read_lag": 2})["behaviour"]["read_lag"] == {"seconds": 2.0, "applies_to": "lists"}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"read_lag": {"seconds": -1}}, "read_lag.seconds"),
        ({"read_lag": {"seconds": 10**6}}, "read_lag.seconds"),
        ({"read_lag": {"seconds": 3, "applies_to": "some"}}, "read_lag.applies_to"),
        ({"read_lag": "3"}, "read_lag"),
        ({"read_lag": {"second": 3}}, "read_lag.second"),
        ({"security_group_reference": "old"}, "security_group_reference"),
        ({"readlag": 3}, "readlag"),
    ],
)
def test_a_bad_behaviour_is_refused_naming_the_field(emu, body, field):
    status, reply = control_status(emu.endpoint, "behaviour", body)
    assert status == 400 and reply["error"].startswith(field), reply
    assert emu.control("behaviour")["behaviour"]["read_lag"]["seconds"] == 0.0


def test_a_world_posted_with_a_secret_in_a_bad_field_never_echoes_it(emu):
    world = default_world()
    world["accounts"][0]["access_key_secret"] = "Sec ret With Spaces 9f3KqZr7"
    world["accounts"][1]["uid"] = "Sec ret With Spaces 9f3KqZr7"
    status, reply = control_status(emu.endpoint, "world", world)
    assert status == 400 and "accounts[0].access_key_secret" in reply["error"] and "accounts[1].uid" in reply["error"]
    assert "9f3KqZr7" not in reply["error"]


# -- what is read back from a database is checked as if a client had sent it ---------------------------
def _poison(db: str, key: str, value_text: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value_text))


@pytest.mark.parametrize("stored", ["NaN", "Infinity", "-5", "1e300", '"soon"', "true"])
def test_a_poisoned_clock_offset_in_a_database_starts_the_clock_over(tmp_path, stored):
    db = str(tmp_path / "state.db")
    make_server(db=db, world=with_timing(default_world(), scale=0)).server_close()
    _poison(db, "clock_offset", stored)
    server = make_server(db=db).start()
    try:
        emu = Emu(server)
        assert abs(emu.control("clock")["epoch"] - time.time()) < 3600
        assert emu.control("clock", {"advance": 10})["epoch"] > time.time()
        a = emu.side("account-a", "cn-qingdao")
        assert a.sts.get_caller_identity().body.account_id == a.uid
    finally:
        server.stop()


def test_a_damaged_world_or_rule_in_a_database_is_refused_and_reset_recovers(tmp_path):
    db = str(tmp_path / "state.db")
    server = make_server(db=db, world=with_timing(default_world(), scale=0))
    server.server_close()
    server.app.store.close()
    world = default_world()
    world["timing"] = {"command": float("nan")}
    _poison(db, "world", json.dumps(world))
    with pytest.raises(DamagedStateError, match=r"timing\.command"):
        make_server(db=db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO faults (rule) VALUES (?)", ('{"effect": "explode"}',))
    with pytest.raises(DamagedStateError):
        make_server(db=db)
    server = make_server(db=db, reset=True)
    try:
        assert server.app.emulator.accounts and server.app.emulator.world["timing"]["command"] == 3.0
    finally:
        server.server_close()
        server.app.store.close()


def test_a_world_path_that_is_a_fifo_or_a_device_is_refused_at_once(emu, tmp_path):
    fifo = tmp_path / "world.yaml"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        status, reply = control_status(emu.endpoint, "world", {"path": path})
        assert status == 400 and "not a regular file" in reply["error"]
    assert emu.control("health")["accounts"] == ["account-a", "account-b"]
