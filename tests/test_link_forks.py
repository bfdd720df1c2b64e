"""A fleet's link commands forked from its link fork server (``vpclink.fleet.link_forks``), as the
fleet's tasks get them from ``fleet.run._spawn``: the CLI runs in a fork with the request's working
directory, environment and log, and its exit code, CPU and peak memory come back; a task hanging up
takes its commands (their process groups) with it, the fleet command's end takes them all and the
server; a server that has gone leaves the task to run its command as a subprocess, as before; and a
resume stops a forked command left behind, never an unrelated process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import wait_until
from vpclink import cli
from vpclink.fleet import link_forks
from vpclink.fleet.link_forks import READY, LinkForks, is_forked_command, process_name
from vpclink.fleet.run import LOGS_DIR, PIDS_DIR, LinkTask, _pid_file, _spawn, stop_left_behind
from vpclink.kernel_forks import alive

SERVING = "is serving at"
CLI = [sys.executable, "-m", "vpclink.cli"]


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    """A fleet run directory as ``fleet.run`` prepares it, with one link's parameter file."""
    fleet = tmp_path / "fleet"
    for sub in ("", LOGS_DIR, PIDS_DIR):
        (fleet / sub).mkdir(mode=0o700, exist_ok=True)
    (fleet / "link.yaml").write_text(cli.examples()["example"])
    return fleet.resolve()


@pytest.fixture
def server(tmp_path: Path, fleet_dir: Path):
    sockets = tmp_path / "sockets"
    sockets.mkdir(mode=0o700)
    forks = LinkForks.start(str(fleet_dir), str(sockets))
    yield forks
    forks.close()


def _task(fleet_dir: Path, address: str) -> LinkTask:
    env = ((link_forks.FORKS_ENV, address),)
    return LinkTask("a-b", "run", str(fleet_dir), str(fleet_dir / "link.yaml"), None, (), env, 0)


def _group_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _run(
    address: str, args: list[str], fleet_dir: Path, log: Path, link: str, started: Callable[[int], object] = print
) -> tuple[int, float, int]:
    env = dict(os.environ)
    return link_forks.run(address, [*CLI, *args], cwd=str(fleet_dir), env=env, log=str(log), link=link, started=started)


def _request(address: str, fleet_dir: Path, log: Path, link: str) -> tuple[socket.socket, int]:
    """A task's request to run ``emulator serve`` (it runs until killed) over a raw connection."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    reader = sock.makefile("rb")
    assert reader.readline() == READY
    argv = ["-m", "vpclink.cli", "emulator", "serve", "link.yaml"]
    request = {
        "argv": argv,
        "cwd": str(fleet_dir),
        "env": dict(os.environ),
        "log": str(log),
        "name": process_name(link),
    }
    sock.sendall((json.dumps(request) + "\n").encode())
    return sock, int(json.loads(reader.readline())["pid"])


def test_a_forked_link_command_runs_the_cli_and_reports_its_end(server: LinkForks, fleet_dir: Path) -> None:
    log, started = fleet_dir / LOGS_DIR / "a-b.log", []
    code, cpu, rss = _run(server.address, ["check", "link.yaml"], fleet_dir, log, "a-b", started.append)
    assert code == 0, log.read_text()
    assert started and started[0] not in (os.getpid(), server.pid)
    assert 0 < cpu < 60 and rss > 10_000  # KB: a fork of a server with the CLI imported
    assert "link.yaml" in log.read_text()  # the relative path: it ran in the fleet run directory
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    code, _, _ = _run(server.address, ["check", "missing.yaml"], fleet_dir, log, "a-b")
    assert code == 2 and "missing.yaml" in log.read_text()
    pid = server.pid
    assert pid is not None
    assert server.close() > 0.5  # the server's own CPU: the imports done once for every link
    assert not alive(pid)


def test_a_task_hanging_up_kills_its_command_and_the_fleets_end_kills_all(
    server: LinkForks, fleet_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine_log, theirs_log = fleet_dir / LOGS_DIR / "mine.log", fleet_dir / LOGS_DIR / "theirs.log"
    sock, mine = _request(server.address, fleet_dir, mine_log, "mine")
    # the other task through the API, in a thread: it waits for its command's end
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(tmp_path / "other-state"))  # its own emulator state
    ended: list[tuple[int, float, int]] = []
    theirs: list[int] = []
    serve = ["emulator", "serve", "link.yaml"]
    other = threading.Thread(
        target=lambda: ended.append(_run(server.address, serve, fleet_dir, theirs_log, "theirs", theirs.append))
    )
    other.start()
    try:
        for log in (mine_log, theirs_log):
            wait_until(lambda log=log: log.exists() and SERVING in log.read_text(), 60, f"{log.name} to serve")
        assert Path(f"/proc/{mine}/comm").read_text().strip() == process_name("mine")
        assert os.getpgid(mine) == mine and os.getsid(mine) == mine
        assert is_forked_command(mine, str(fleet_dir), "mine")
        assert not is_forked_command(mine, str(fleet_dir), "theirs")
        assert not is_forked_command(mine, str(tmp_path), "mine")
        sock.close()  # the task's worker died
        wait_until(lambda: not alive(mine) and _group_gone(mine), 30, "the hung-up task's command to be killed")
        assert alive(theirs[0])
    finally:
        server_pid = server.pid
        server.close()  # the fleet command's end
        other.join(30)
    assert ended == [(-signal.SIGKILL, 0.0, 0)]
    wait_until(lambda: not alive(theirs[0]), 30, "the fleet's end to kill the remaining command")
    assert server_pid is not None and not alive(server_pid)
    with pytest.raises(link_forks.LinkForksGone):
        link_forks.run(server.address, [*CLI, "example"], cwd=str(fleet_dir), env={}, log=str(mine_log), link="x")


def test_a_fleet_command_killed_takes_the_server_and_its_commands(fleet_dir: Path, tmp_path: Path) -> None:
    """``kill -9`` of the fleet command: the server reads the end of the owner's socket."""
    sockets = tmp_path / "sockets"
    sockets.mkdir(mode=0o700)
    code = (
        "import sys, time\n"
        "from vpclink.fleet.link_forks import LinkForks\n"
        "forks = LinkForks.start(sys.argv[1], sys.argv[2])\n"
        "print(forks.pid, flush=True)\n"
        "time.sleep(3600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", code, str(fleet_dir), str(sockets)], stdout=subprocess.PIPE)
    try:
        assert owner.stdout is not None
        server_pid = int(owner.stdout.readline())
        log = fleet_dir / LOGS_DIR / "a-b.log"
        sock, pid = _request(str(sockets / link_forks.SOCKET_NAME), fleet_dir, log, "a-b")
        wait_until(lambda: log.exists() and SERVING in log.read_text(), 60, "the command to say it serves")
        owner.kill()
        owner.wait(10)
        wait_until(lambda: not alive(pid) and not alive(server_pid), 30, "the command and the server to end")
        sock.close()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)


def test_spawn_forks_through_the_server_and_falls_back_to_a_subprocess(server: LinkForks, fleet_dir: Path) -> None:
    task = _task(fleet_dir, server.address)
    argv = [*CLI, "emulator", "serve", task.params_file]
    log = fleet_dir / LOGS_DIR / "a-b.log"

    def spawn_serving(expected_serving: int) -> tuple[list[tuple[int, float, int]], threading.Thread, int]:
        ended: list[tuple[int, float, int]] = []
        thread = threading.Thread(target=lambda: ended.append(_spawn(task, argv, 1)), daemon=True)
        thread.start()
        try:
            serving = lambda: log.exists() and log.read_text().count(SERVING) == expected_serving  # noqa: E731
            wait_until(lambda: serving() and _pid_file(task).exists(), 60, "the command to say it serves")
        except BaseException:
            stop_left_behind(task)
            raise
        return ended, thread, int(_pid_file(task).read_text())

    ended, thread, pid = spawn_serving(1)
    try:
        assert is_forked_command(pid, task.fleet_dir, task.name)  # forked by the server, not our child
        # a resume finding the pid file stops it (its fleet command died and left it, say)
        assert stop_left_behind(task)
    finally:
        thread.join(30)
    assert ended and ended[0][0] == -signal.SIGKILL
    assert "attempt 1: -m vpclink.cli emulator serve" in log.read_text()

    server.close()  # the server has gone: the command runs as a subprocess of this process, as before
    ended, thread, pid = spawn_serving(2)
    try:
        assert Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[1] == str(os.getpid())
        assert not is_forked_command(pid, task.fleet_dir, task.name)
        # (not stop_left_behind: from this process, psutil would reap the child that _spawn waits for)
        os.killpg(pid, signal.SIGKILL)
    finally:
        thread.join(30)
    assert ended and ended[0][0] == -signal.SIGKILL and not _pid_file(task).exists()


def test_a_resume_never_stops_a_process_that_is_not_the_links_command(server: LinkForks, fleet_dir: Path) -> None:
    task = _task(fleet_dir, server.address)
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"], cwd=fleet_dir)
    try:
        for pid in (unrelated.pid, server.pid):  # a reused PID; the server itself
            _pid_file(task).write_text(f"{pid}\n")
            assert not stop_left_behind(task)
            assert pid is not None and alive(pid)
    finally:
        unrelated.kill()
        unrelated.wait(10)
