"""``alicloud-emulator serve`` as a user runs it: its flags, its banner, its clean stop, and a
bad world file refused with exit code 2 and a message naming the field."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.utils_models import Config
from alicloud_emulator.world import default_world

from .support import EmulatorProcess, emulator_command


def _serve(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    """Run ``serve`` expecting it to exit by itself (it refuses its input)."""
    return subprocess.run(
        [*emulator_command(), "serve", "--port", "0", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_names_the_serve_flags():
    out = subprocess.run([*emulator_command(), "serve", "--help"], capture_output=True, text=True, timeout=20).stdout
    for flag in ("--host", "--port", "--port-file", "--db", "--world", "--reset", "--no-verify-signatures"):
        assert flag in out


def _bad(world: dict, edit) -> dict:
    edit(world)
    return world


BAD_WORLDS = [
    ("accounts[1].uid", lambda w: w["accounts"][1].update(uid="42")),
    ("accounts[1].access_key_id", lambda w: w["accounts"][1].update(access_key_id=w["accounts"][0]["access_key_id"])),
    ("accounts[0].access_key_secret", lambda w: w["accounts"][0].pop("access_key_secret")),
    ("vpcs[0].account", lambda w: w["vpcs"][0].update(account="account-z")),
    ("vpcs[1].region", lambda w: w["vpcs"][1].update(region="mars-north-1")),
    ("vpcs[0].cidr", lambda w: w["vpcs"][0].update(cidr="192.168.0.0/33")),
    ("vpcs[0].vswitches[0].cidr", lambda w: w["vpcs"][0]["vswitches"][0].update(cidr="10.0.0.0/24")),
    ("vpcs[0].vswitches[0].zone", lambda w: w["vpcs"][0]["vswitches"][0].update(zone="cn-beijing-h")),
    ("vpcs[1].instances[0].vswitch", lambda w: w["vpcs"][1]["instances"][0].update(vswitch="vsw-nope")),
    ("vpcs[1].instances[0].private_ip", lambda w: w["vpcs"][1]["instances"][0].update(private_ip="10.9.9.9")),
    (
        "vpcs[0].instances[0].security_groups[0]",
        lambda w: w["vpcs"][0]["instances"][0].update(security_groups=["sg-elsewhere00000001"]),
    ),
    ("vpcs[1].id", lambda w: w["vpcs"][1].update(id=w["vpcs"][0]["id"])),
    ("timing.router_interface_conect", lambda w: w["timing"].update(router_interface_conect=4)),
    ("timing.command", lambda w: w["timing"].update(command=-1)),
]


@pytest.mark.parametrize("field, edit", BAD_WORLDS, ids=[f for f, _ in BAD_WORLDS])
def test_a_bad_world_file_exits_2_naming_the_field(tmp_path, field, edit):
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(_bad(default_world(), edit), allow_unicode=True))
    result = _serve("--world", str(path))
    assert result.returncode == 2, result.stderr
    assert f"world file {path}: {field}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    for account in default_world()["accounts"]:
        assert account["access_key_secret"] not in result.stderr + result.stdout


@pytest.mark.parametrize("content, says", [("accounts: [", "not valid YAML"), ("- just\n- a list\n", "mapping")])
def test_an_unreadable_world_file_exits_2(tmp_path, content, says):
    path = tmp_path / "world.yaml"
    path.write_text(content)
    result = _serve("--world", str(path))
    assert result.returncode == 2 and says in result.stderr and str(path) in result.stderr


def test_a_missing_world_file_exits_2(tmp_path):
    result = _serve("--world", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2 and "absent.yaml" in result.stderr and "cannot be read" in result.stderr


def test_serve_with_a_world_file_host_and_port_file(tmp_path):
    world = {
        "accounts": [
            {
                "name": "ops",
                "uid": "1111222233334444",
                "access_key_id": "LTAI5tEmuOps0000000001",
                "access_key_secret": "emuSecretOps000000000000000000001",
            }
        ],
        "vpcs": [],
    }
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(world))
    server = EmulatorProcess(tmp_path, None, path, "--host", "127.0.0.2")
    server.start()
    try:
        endpoint = f"127.0.0.2:{server.port}"
        with urllib.request.urlopen(f"http://{endpoint}/_emulator/health", timeout=10) as r:
            health = json.loads(r.read())
        assert health["accounts"] == ["ops"] and health["db"] == ":memory:"
        cfg = Config(
            access_key_id="LTAI5tEmuOps0000000001",
            access_key_secret="emuSecretOps000000000000000000001",
            region_id="cn-shanghai",
            endpoint=endpoint,
            protocol="http",
        )
        assert StsClient(cfg).get_caller_identity().body.account_id == "1111222233334444"
        with pytest.raises(OSError):  # bound to the address it was given, not every address
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    finally:
        assert server.stop() == 0, server.output
    assert f"listening on http://127.0.0.2:{server.port}" in server.output
    assert "ops (1111222233334444)" in server.output
    assert "emuSecretOps" not in server.output  # the banner never prints a secret


def test_a_database_from_a_newer_emulator_is_refused(tmp_path):
    db = tmp_path / "new.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    result = _serve("--db", str(db))
    assert result.returncode == 1 and "newer emulator" in result.stderr and "Traceback" not in result.stderr


def test_a_taken_port_is_reported(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*emulator_command(), "serve", "--port", str(port)], capture_output=True, text=True, timeout=20
        )
    assert result.returncode == 1 and "cannot serve" in result.stderr


def test_sigterm_stops_cleanly_and_the_database_reopens(tmp_path):
    db = tmp_path / "state.db"
    server = EmulatorProcess(tmp_path, db).start()
    assert server.control("health")["db"] == str(db)
    assert server.stop() == 0, server.output
    again = EmulatorProcess(tmp_path, db).start()
    try:
        assert again.control("health")["status"] == "ok"
    finally:
        again.kill()


def test_sigterm_stops_cleanly_every_time(tmp_path):
    """SIGTERM right after start, again and again: the process stops by itself with exit 0 (it
    was once ended by SIGKILL when its KeyboardInterrupt landed in a weakref callback)."""
    db = tmp_path / "state.db"
    for _ in range(3):
        server = EmulatorProcess(tmp_path, db).start()
        server.control("health")
        assert server.stop() == 0, server.output
        assert "Exception ignored" not in server.output and "Traceback" not in server.output


def test_state_files_are_private_whatever_the_umask(tmp_path):
    """The database holds every account's secret: it, its -wal and -shm and the port file are
    0600 even under umask 000."""
    db = tmp_path / "state.db"
    server = EmulatorProcess(tmp_path, db, umask=0).start()
    try:
        a = server.account("account-a")  # the process writes and reads the database
        assert a["access_key_secret"]
        StsClient(server.config("account-a", "cn-qingdao")).get_caller_identity()
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), server.port_file):
            assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        assert server.stop() == 0, server.output


def test_an_existing_readable_database_is_narrowed_to_0600(tmp_path):
    db = tmp_path / "state.db"
    EmulatorProcess(tmp_path, db).start().stop()
    db.chmod(0o644)
    server = EmulatorProcess(tmp_path, db).start()
    try:
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
    finally:
        server.stop()


def _deep(n: int) -> str:
    return "accounts:\n" + "".join("  " * i + "- \n" for i in range(1, n)) + "  " * n + "- x\n"


HOSTILE = [
    ("fifo", None, "not a regular file"),
    ("device", "/dev/zero", "not a regular file"),
    ("directory", ".", "not a regular file"),
    ("large", "a: " + "x" * (2 * 1024 * 1024) + "\n", "more than"),
    ("deep", "x: " + "[" * 500 + "]" * 500 + "\n", "nested more than 32"),
    ("deep block", _deep(100), "nested more than 32"),
    ("aliases", "a: &a [1, 2]\nb: [*a, *a]\n", "aliases"),
    ("duplicate key", "accounts: []\nvpcs: []\naccounts: []\n", "'accounts' is given twice"),
    ("not utf-8", b"accounts: \xff\xfe\n", "not UTF-8"),
    ("binary", b"\x00\x01\x02\x03" * 100, "not valid YAML"),
]


@pytest.mark.parametrize("kind, content, says", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_world_file_exits_2_with_a_message(tmp_path, kind, content, says):
    if kind == "fifo":
        path = tmp_path / "world.yaml"
        os.mkfifo(path)  # nobody writes to it: reading would wait forever
    elif kind in ("device", "directory"):
        path = Path(content) if kind == "device" else tmp_path
    else:
        path = tmp_path / "world.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = _serve("--world", str(path), timeout=30)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and str(path) in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_yaml_error_never_quotes_the_line_it_is_on(tmp_path):
    """PyYAML's own message prints the offending line, which may hold a secret."""
    path = tmp_path / "world.yaml"
    path.write_text("accounts:\n  - access_key_secret: emuSecretLeaked123: oops\n")
    result = _serve("--world", str(path))
    assert result.returncode == 2 and "not valid YAML" in result.stderr and "line 2" in result.stderr
    assert "emuSecretLeaked123" not in result.stderr


def test_every_bad_field_is_named_on_its_own_line(tmp_path):
    world = default_world()
    world["accounts"][0]["uid"] = "42"
    world["accounts"][1]["access_key_secret"] = "has spaces emuSecretB2x7"
    world["vpcs"][1]["region"] = "mars-north-1"
    world["timing"]["command"] = "soon"
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(world))
    result = _serve("--world", str(path))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    for field in ("accounts[0].uid", "accounts[1].access_key_secret", "vpcs[1].region", "timing.command"):
        assert any(line.startswith(f"alicloud-emulator: world file {path}: {field}") for line in lines), lines
    assert "emuSecretB2x7" not in result.stderr


def test_a_damaged_database_exits_1_and_reset_starts_it_over(tmp_path):
    db = tmp_path / "state.db"
    EmulatorProcess(tmp_path, db).start().stop()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'world'", ('{"accounts": [{"name": "x"}]}',))
    result = _serve("--db", str(db))
    assert result.returncode == 1 and "cannot serve" in result.stderr and "accounts[0].uid" in result.stderr
    assert "Traceback" not in result.stderr
    server = EmulatorProcess(tmp_path, db, None, "--reset").start()
    try:
        assert server.control("health")["accounts"] == ["account-a", "account-b"]
    finally:
        assert server.stop() == 0
