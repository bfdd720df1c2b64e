"""Runs that stop part way: the runner or a kernel killed with ``kill -9`` in the middle of a phase,
a phase that fails, a link that does not answer. Each leaves a record that says where and why, and
``vpclink run --resume RUN_DIR`` continues from the records alone to exactly one link: one router
interface per side, one route per destination per side, no duplicate rule. Runs the installed
``vpclink`` command."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from adversarial_support import lagging_world
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import EXAMPLE, Emulator, assert_one_link, succeeded, wait_until
from vpclink.record.run import RunState, RunStateError

VPCLINK = str(Path(sys.executable).with_name("vpclink"))


@pytest.fixture(params=[3.0], ids=["lists-lag-3s"])
def emu(request: pytest.FixtureRequest) -> Emulator:
    """The tutorial world, every step immediate, lists lagging 3 s behind writes as the cloud's do: a
    resume that must find what the killed run created is hardest when the lists do not show it yet.
    (Kill and resume without lag: ``test_adversarial_kill.py``, at 0, 3 and 30 s of lag.)"""
    e = Emulator(world=lagging_world(request.param))
    if request.param:
        e.control("clock", {"advance": request.param})  # the accounts' VPCs are older than the lag
    yield e
    e.stop()


def phase_status(records: Path, name: str) -> str | None:
    for run_dir in records.iterdir():
        if run_dir.is_dir() and not run_dir.name.startswith("."):
            try:
                return RunState.load(run_dir).phase(name).status
            except (RunStateError, KeyError):
                return None
    return None


def processes() -> list[tuple[int, int, list[str]]]:
    """(process ID, parent process ID, command line) of every process."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            found.append((int(proc.name), int(stat.rsplit(")", 1)[1].split()[1]), cmdline))
    return found


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def kernels_of(pid: int) -> list[tuple[int, int, str]]:
    """(kernel number, process ID, connection file) of the kernels a runner started, oldest first:
    its children started with a connection file, or the children of its kernel fork server (whose
    command line names the kernels' directory, and whose process names are ``vpclink-kN``)."""
    found = []
    listed = processes()
    for child, parent, cmdline in listed:
        connection = next((a for a in cmdline if a.endswith(".json") and "/vpclink-kernels-" in a), None)
        if parent == pid and connection:
            found.append((int(Path(connection).stem.lstrip("k")), child, connection))
    servers = {
        child: cmdline[cmdline.index("vpclink.kernel_forks") + 1]
        for child, parent, cmdline in listed
        if parent == pid and "vpclink.kernel_forks" in cmdline
    }
    for child, parent, _ in listed:
        name = process_name(child)
        if parent in servers and name.startswith("vpclink-k"):
            number = name.removeprefix("vpclink-k")
            found.append((int(number), child, f"{servers[parent]}/k{number}.json"))
    return sorted(found)


def test_a_run_killed_mid_phase_resumes_from_its_records_and_converges(emu: Emulator, tmp_path: Path) -> None:
    records = tmp_path / "runs"
    # account B's route is held in flight for 3 s, so the kill lands between A's route and B's
    emu.faults(
        [
            {
                "name": "slow route B",
                "action": "CreateRouteEntry",
                "account": "account-b",
                "effect": "latency",
                "latency_ms": 3000,
                "nth": 1,
            }
        ]
    )
    log = (tmp_path / "first.log").open("w")
    runner = subprocess.Popen(
        [VPCLINK, "run", str(EXAMPLE), "--records", str(records), "--emulator", emu.url],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def routes_started() -> bool:
            created = succeeded([e for e in emu.journal() if e["action"] == "CreateRouteEntry"])
            return any(e["account"] == "account-a" for e in created)

        wait_until(routes_started, 240, "account A's route to be created")
        time.sleep(0.5)  # B's CreateRouteEntry is now on its way
        assert runner.poll() is None, (tmp_path / "first.log").read_text()
        kernel_dir = str(Path(kernels_of(runner.pid)[0][2]).parent)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(10)
    finally:
        if runner.poll() is None:
            runner.kill()
        log.close()
    assert runner.returncode == -signal.SIGKILL
    assert phase_status(records, "routes") == "running"
    # its kernels (the one running the phase and the one started for the next) follow it
    wait_until(lambda: not [c for _, _, c in processes() if any(kernel_dir in a for a in c)], 15, "the kernels to exit")
    # the request in flight when the runner died still lands (the cloud does not know the caller died)
    wait_until(
        lambda: any(e["account"] == "account-b" for e in emu.journal() if e["action"] == "CreateRouteEntry"),
        10,
        "account B's route request to complete",
    )

    run_dir = next(p for p in records.iterdir() if p.is_dir() and not p.name.startswith("."))
    # what a killed runner cannot clean up: its kernels' sockets and its copy of the emulator's keys
    # (another vpclink process on this machine may have swept them already: either way they are gone)
    killed = nbformat.read(str(run_dir / "04_routes.ipynb"), as_version=4)
    shutil.rmtree(Path(killed.metadata.papermill.parameters["profiles_file"]).parent, ignore_errors=True)
    shutil.rmtree(kernel_dir, ignore_errors=True)
    before = {p.name: p.started for p in RunState.load(run_dir).phases if p.status == "ok"}
    assert set(before) == {"preflight", "initiator", "acceptor", "connect"}
    resumed = subprocess.run([VPCLINK, "run", "--resume", str(run_dir)], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "result: verified" in resumed.stdout

    assert_one_link(emu.state())
    state = RunState.load(run_dir)
    assert state.result == "verified" and all(p.status == "ok" for p in state.phases)
    assert {p.name: p.started for p in state.phases if p.name in before} == before  # not run again
    routes = state.phase("routes")
    assert [a["status"] for a in routes.attempts] == ["interrupted"]
    assert (run_dir / routes.attempts[0]["notebook"]).exists()  # the killed try stays on record
    assert (run_dir / "04_routes.html").exists()


def test_a_failing_phase_stops_the_run_with_a_record_of_where_and_why(emu: Emulator, tmp_path: Path) -> None:
    records = tmp_path / "runs"
    emu.faults(
        [
            {
                "name": "no permission",
                "action": "CreateRouterInterface",
                "account": "account-b",
                "effect": "error",
                "code": "Forbidden.RAM",
                "status": 403,
                "message": "User not authorized to operate on the specified resource.",
            }
        ]
    )
    failed = subprocess.run(
        [VPCLINK, "run", str(EXAMPLE), "--records", str(records), "--emulator", emu.url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    run_dir = next(p for p in records.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert f"resume: vpclink run --resume {run_dir}" in failed.stdout
    assert "acceptor failed: CloudError" in failed.stdout and "Forbidden.RAM" in failed.stdout
    state = RunState.load(run_dir)
    assert [(p.name, p.status) for p in state.phases] == [
        ("preflight", "ok"),
        ("initiator", "ok"),
        ("acceptor", "failed"),
        ("connect", "pending"),
        ("routes", "pending"),
        ("security_groups", "pending"),
        ("verify", "pending"),
    ]
    assert "Forbidden.RAM" in state.phase("acceptor").error and "request ID" in state.phase("acceptor").error
    assert state.result == "failed"
    html = (run_dir / "02_acceptor.html").read_text()
    assert "Forbidden.RAM" in html and "CloudError" in html
    assert "acceptor" in (run_dir / "index.html").read_text()

    emu.control("faults", method="DELETE")  # the permission is granted; resume
    resumed = subprocess.run([VPCLINK, "run", "--resume", str(run_dir)], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_one_link(emu.state())
    assert RunState.load(run_dir).phase("acceptor").attempts[0]["status"] == "failed"


def test_a_link_that_does_not_answer_fails_the_run_at_verify(emu: Emulator, tmp_path: Path) -> None:
    # verify alone, on accounts where nothing connects the two VPCs: both pings must fail
    done = subprocess.run(
        [VPCLINK, "run", str(EXAMPLE), "--records", str(tmp_path), "--emulator", emu.url, "--from", "verify"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ping initiator -> acceptor: failed; acceptor -> initiator: failed" in done.stdout
    assert "the link does not verify" in done.stdout
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    state = RunState.load(run_dir)
    assert [(p.name, p.status) for p in state.phases if p.status != "skipped"] == [
        ("preflight", "ok"),
        ("verify", "failed"),
    ]
    assert state.phase("verify").outputs["verified"] is False
    assert "ping A → B: failed" in (run_dir / "index.html").read_text()


def test_a_kernel_killed_mid_phase_fails_the_phase_and_the_run_resumes(emu: Emulator, tmp_path: Path) -> None:
    records = tmp_path / "runs"
    emu.faults(
        [
            {
                "name": "slow route B",
                "action": "CreateRouteEntry",
                "account": "account-b",
                "effect": "latency",
                "latency_ms": 3000,
                "nth": 1,
            }
        ]
    )
    runner = subprocess.Popen(
        [VPCLINK, "run", str(EXAMPLE), "--records", str(records), "--emulator", emu.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: any(
                e["account"] == "account-a" for e in succeeded(emu.journal()) if e["action"] == "CreateRouteEntry"
            ),
            240,
            "account A's route to be created",
        )
        (_, pid, connection), *_ = kernels_of(runner.pid)  # the oldest kernel runs the routes notebook
        os.kill(pid, signal.SIGKILL)
        out, _ = runner.communicate(timeout=240)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 1, out
    assert "routes failed: DeadKernelError" in out and "resume: vpclink run --resume" in out
    run_dir = next(p for p in records.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert RunState.load(run_dir).phase("routes").status == "failed"
    kernel_dir = str(Path(connection).parent)  # no kernel of that run is left, the spare included
    assert not [cmd for _, _, cmd in processes() if any(kernel_dir in a for a in cmd)]

    resumed = subprocess.run([VPCLINK, "run", "--resume", str(run_dir)], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_one_link(emu.state())
