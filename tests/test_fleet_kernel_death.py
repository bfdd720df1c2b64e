"""A fleet link whose kernel dies mid-phase (``kill -9``, as papermill loses one now and then under
load) is retried: the fleet finishes with every link verified, the link's record shows the failed
attempt and the retry, and the cloud holds exactly one link per link (one router interface per side,
one route per destination, no rule twice). A phase that genuinely fails is not taken for a dead
kernel: it is run once, not retried.

The kill lands while the acceptor phase of ``hub-app`` has its ``CreateRouterInterface`` held in flight
by the emulator (a ``latency`` fault on the first such call of ``hub-app``'s acceptor account): the
kernel killed is the one with a connection open to the emulator among the kernels of that link's
command. Kernels are found by their working directory, the notebooks directory of the command that
runs them (``/vpclink-notebooks-<its pid>-...``), never by their parent process (on Linux they are
forked by the fleet's kernel fork server).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from alicloud_emulator.world import with_timing
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import Emulator, link_resources, wait_until
from test_fleet_e2e import FLEET, resources
from test_fleet_resume import left_behind
from vpclink.fleet import load_fleet
from vpclink.fleet import run as fleet_run
from vpclink.fleet.world import world_for_fleet

NOTEBOOKS = "/vpclink-notebooks-"
APP = "fleet-app"  # hub-app's acceptor account (hub-data's is fleet-data)
ESTABLISHED = "01"  # the state column of /proc/net/tcp


def kernels() -> list[tuple[int, str]]:
    """(process ID, working directory) of every vpclink kernel: a process started as
    ``ipykernel_launcher`` or forked as one (named ``vpclink-kN``), working in its runner's notebooks
    directory (``/vpclink-notebooks-<pid of the command that runs them>-...``)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
                name = (proc / "comm").read_text().strip()
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            if (name.startswith("vpclink-k") or "ipykernel_launcher" in cmdline) and NOTEBOOKS in cwd:
                found.append((int(proc.name), cwd))
    return found


def connected_to(pid: int, port: int) -> bool:
    """Whether process ``pid`` has a TCP connection established to ``port`` (on any address)."""
    try:
        sockets = {
            target[len("socket:[") : -1]
            for fd in Path(f"/proc/{pid}/fd").iterdir()
            if (target := os.readlink(fd)).startswith("socket:[")
        }
    except OSError:
        return False
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == ESTABLISHED and fields[9] in sockets and int(fields[2].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def command_of(fleet_dir: Path, link: str) -> int | None:
    """The process ID of the command running ``link`` now (the fleet writes it to ``.pids/``)."""
    try:
        return int((fleet_dir / fleet_run.PIDS_DIR / f"{link}.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def running_kernel(records: Path, link: str, port: int) -> int | None:
    """The kernel of ``link``'s command that talks to the emulator now: the one running the phase (the
    spare started for the next phase has made no call)."""
    fleet_dirs = list(records.iterdir()) if records.is_dir() else []
    command = command_of(fleet_dirs[0], link) if len(fleet_dirs) == 1 else None
    if command is None:
        return None
    mine = [pid for pid, cwd in kernels() if f"{NOTEBOOKS}{command}-" in cwd]
    talking = [pid for pid in mine if connected_to(pid, port)]
    return talking[0] if len(talking) == 1 else None


@pytest.fixture
def fleet_emu(tmp_path: Path) -> Any:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    world = with_timing(world_for_fleet(load_fleet(fleet_file)), scale=0)
    world["behaviour"] = {"read_lag": {"seconds": 3.0, "applies_to": "lists"}}  # as the embedded default
    emu = Emulator(world=world)
    emu.control("clock", {"advance": 10})  # the accounts' VPCs are older than the lag
    yield emu, fleet_file
    emu.stop()


def fleet_command(fleet_file: Path, emu: Emulator, log: Any) -> subprocess.Popen:
    """``vpclink run FLEET`` on the emulator, both links at once, in a session of its own."""
    target = ["--emulator", emu.url, "--max-concurrency", "2"]
    return subprocess.Popen(
        [sys.executable, "-m", "vpclink.cli", "run", str(fleet_file), "--records", "runs", *target],
        cwd=fleet_file.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_a_link_whose_kernel_is_killed_mid_phase_is_retried_and_the_fleet_verifies(fleet_emu: Any) -> None:
    emu, fleet_file = fleet_emu
    tmp_path = fleet_file.parent
    records = tmp_path / "runs"
    port = int(urlsplit(emu.url).port or 0)
    before = resources(emu.state())
    # the first CreateRouterInterface of hub-app's acceptor account is held in flight
    emu.faults(
        [
            {
                "name": "held",
                "action": "CreateRouterInterface",
                "account": APP,
                "effect": "latency",
                "latency_ms": 4000,
                "nth": 1,
            }
        ]
    )
    log_path = tmp_path / "fleet.log"
    with log_path.open("w") as log:
        command = fleet_command(fleet_file, emu, log)
        try:
            killed: list[int] = []

            def kernel_killed() -> bool:
                assert command.poll() is None, log_path.read_text()
                if not any(f["fired"] for f in emu.control("faults")["faults"] if f["rule"].get("name") == "held"):
                    return False
                pid = running_kernel(records, "hub-app", port)
                if pid is None:
                    return False
                answered = [e for e in emu.journal() if e["action"] == "CreateRouterInterface" and e["account"] == APP]
                assert not answered, "the held call was answered before its kernel was found: hold it longer"
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return True

            wait_until(kernel_killed, 300, "hub-app's CreateRouterInterface held and its kernel found")
            command.wait(600)
        finally:
            if command.poll() is None:
                os.killpg(command.pid, signal.SIGKILL)
                command.wait(10)
    out = log_path.read_text()
    assert command.returncode == 0, out

    (fleet_dir,) = records.iterdir()
    record = json.loads((fleet_dir / "fleet.json").read_text())
    links = {link["name"]: link for link in record["links"]}
    assert {name: link["state"] for name, link in links.items()} == {"hub-app": "verified", "hub-data": "verified"}
    # the fleet's record: hub-app ran twice, and says why it was run again; hub-data once
    assert links["hub-app"]["attempts"] == 2 and links["hub-data"]["attempts"] == 1
    (retry,) = links["hub-app"]["retried"]
    assert retry["attempt"] == 1 and "acceptor" in retry["reason"] and "DeadKernelError" in retry["reason"], retry
    assert links["hub-data"]["retried"] == []
    assert "retried" in (fleet_dir / "index.html").read_text()
    # the link's own record: one run directory, its acceptor phase ok after a failed try kept on record
    app = json.loads((fleet_dir / links["hub-app"]["run_dir"] / "run.json").read_text())
    assert app["result"] == "verified" and all(p["status"] == "ok" for p in app["phases"])
    acceptor = next(p for p in app["phases"] if p["name"] == "acceptor")
    (tried,) = acceptor["attempts"]
    assert tried["status"] == "failed" and "DeadKernelError" in tried["error"], tried
    assert (fleet_dir / links["hub-app"]["run_dir"] / tried["notebook"]).exists()
    assert len(list((fleet_dir / "links").iterdir())) == 2
    resumed = f"attempt 2: -m vpclink.cli run --resume {links['hub-app']['run_dir']} "
    assert resumed in (fleet_dir / "logs" / "hub-app.log").read_text()

    # the held request landed although its kernel was dead; exactly one link per link in the cloud
    state = emu.state()
    made = resources(state) - resources(before)
    interfaces = {k: v for k, v in made.items() if k[0] == "router_interface"}
    assert interfaces == {("router_interface", "InitiatingSide"): 2, ("router_interface", "AcceptingSide"): 2}
    per_account = link_resources(state)
    for account in ("fleet-app", "fleet-data"):
        assert per_account[account][("router_interface", "AcceptingSide")] == 1, per_account[account]
    assert per_account["fleet-hub"][("router_interface", "InitiatingSide")] == 2
    routes = Counter({k: v for k, v in made.items() if k[0] == "route"})
    assert len(routes) == 4 and set(routes.values()) == {1}, routes  # one per destination per side per link
    rules = {k: v for k, v in made.items() if k[0] == "rule"}
    assert rules and set(rules.values()) == {1}, rules
    # nothing of the fleet is left behind: no link command, no kernel
    assert not left_behind(fleet_dir)
    assert not [pid for pid, _ in kernels() if pid in killed or connected_to(pid, port)]


# -- a genuine failure is not a dead kernel ---------------------------------------------------------------


def _task(tmp_path: Path, retries: int = 2) -> fleet_run.LinkTask:
    fleet_dir = tmp_path / "fleet"
    for sub in (fleet_run.LINKS_DIR, fleet_run.LOGS_DIR, fleet_run.PIDS_DIR, fleet_run.PARAMS_DIR):
        (fleet_dir / sub).mkdir(parents=True, exist_ok=True)
    params = fleet_dir / fleet_run.PARAMS_DIR / "hub-app.yaml"
    params.write_text("{}\n")
    return fleet_run.LinkTask("hub-app", "run", str(fleet_dir), str(params), None, (), (), retries)


Spawn = Callable[[fleet_run.LinkTask, list[str], int], tuple[int, float, int]]


def _fake_command(task: fleet_run.LinkTask, errors: list[str | None]) -> tuple[list[list[str]], Spawn]:
    """Stand-in for the link's command: each call writes the link's run.json with the acceptor phase
    failed with the next of ``errors`` (or verified for ``None``); returns the argv of each call."""
    run_dir = Path(task.fleet_dir) / fleet_run.LINKS_DIR / "20260101T000000Z-hub-app"
    calls: list[list[str]] = []

    def spawn(task: fleet_run.LinkTask, argv: list[str], attempt: int) -> tuple[int, float, int]:
        calls.append(argv)
        error = errors[len(calls) - 1]
        run_dir.mkdir(exist_ok=True)
        phase = {"name": "acceptor", "status": "failed" if error else "ok", "error": error}
        data = {"link": task.name, "created": "2026-01-01T00:00:00Z", "result": "failed" if error else "verified"}
        (run_dir / "run.json").write_text(json.dumps({**data, "phases": [phase]}))
        return (1 if error else 0), 0.0, 0

    return calls, spawn


def test_a_phase_that_genuinely_fails_is_run_once_not_retried_as_a_dead_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _task(tmp_path)
    error = "CloudError: Forbidden.RAM: User not authorized to operate on the specified resource. (request ID 1A2B)"
    calls, spawn = _fake_command(task, [error, None])
    monkeypatch.setattr(fleet_run, "_spawn", spawn)
    outcome = fleet_run.run_link(task)
    assert len(calls) == 1 and outcome.attempts == 1
    assert not outcome.ok and outcome.state == "failed" and "Forbidden.RAM" in outcome.message
    assert outcome.retried == []


def test_a_kernel_that_dies_every_time_is_retried_within_the_bound_and_each_retry_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _task(tmp_path, retries=2)
    calls, spawn = _fake_command(task, ["DeadKernelError: Kernel died"] * 4)
    monkeypatch.setattr(fleet_run, "_spawn", spawn)
    outcome = fleet_run.run_link(task)
    assert len(calls) == 3 and outcome.attempts == 3  # the first try and 2 retries, no more
    assert [c[3:5] for c in calls[1:]] == [["run", "--resume"]] * 2  # each retry resumes the same run directory
    assert not outcome.ok and "DeadKernelError" in outcome.message
    assert [r["attempt"] for r in outcome.retried] == [1, 2]
    assert all(r["reason"] == "acceptor: DeadKernelError: Kernel died" for r in outcome.retried)


def test_a_genuine_failure_on_the_retry_after_a_dead_kernel_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _task(tmp_path, retries=5)
    calls, spawn = _fake_command(task, ["DeadKernelError: Kernel died", "CloudError: Forbidden.RAM", None])
    monkeypatch.setattr(fleet_run, "_spawn", spawn)
    outcome = fleet_run.run_link(task)
    assert len(calls) == 2 and outcome.attempts == 2 and not outcome.ok
    assert "Forbidden.RAM" in outcome.message and [r["attempt"] for r in outcome.retried] == [1]


def test_a_resume_failing_on_its_own_is_not_taken_for_the_dead_kernel_still_on_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resume after a dead kernel reruns preflight first; when that fails (a permission revoked
    meanwhile), the acceptor phase that lost its kernel is still marked failed in run.json."""
    task = _task(tmp_path)
    run_dir = Path(task.fleet_dir) / fleet_run.LINKS_DIR / "20260101T000000Z-hub-app"
    run_dir.mkdir()
    dead = {"name": "acceptor", "status": "failed", "error": "DeadKernelError: Kernel died"}
    calls: list[list[str]] = []

    def spawn(task: fleet_run.LinkTask, argv: list[str], attempt: int) -> tuple[int, float, int]:
        calls.append(argv)
        phases = [{"name": "preflight", "status": "ok", "ended": "2026-01-01T00:00:01Z"}]
        if attempt == 1:
            phases.append({**dead, "ended": "2026-01-01T00:00:05Z"})
        else:
            refused = "CloudError: Forbidden.RAM: User not authorized (request ID 1A2B)"
            phases = [
                {"name": "preflight", "status": "failed", "error": refused, "ended": "2026-01-01T00:01:00Z"},
                {**dead, "ended": "2026-01-01T00:00:05Z"},
            ]
        data = {"link": task.name, "created": "2026-01-01T00:00:00Z", "result": "failed", "phases": phases}
        (run_dir / "run.json").write_text(json.dumps(data))
        return 1, 0.0, 0

    monkeypatch.setattr(fleet_run, "_spawn", spawn)
    outcome = fleet_run.run_link(task)
    assert len(calls) == 2 and outcome.attempts == 2 and not outcome.ok
    assert [r["reason"] for r in outcome.retried] == ["acceptor: DeadKernelError: Kernel died"]


def test_a_kernel_that_died_once_is_retried_and_the_link_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _task(tmp_path)
    calls, spawn = _fake_command(task, ["DeadKernelError: Kernel died", None])
    monkeypatch.setattr(fleet_run, "_spawn", spawn)
    outcome = fleet_run.run_link(task)
    assert len(calls) == 2 and outcome.ok and outcome.state == "verified" and outcome.attempts == 2
    assert outcome.retried == [{"attempt": 1, "exit_code": 1, "reason": "acceptor: DeadKernelError: Kernel died"}]
