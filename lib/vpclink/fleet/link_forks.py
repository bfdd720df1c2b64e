"""A fleet's link commands forked from a process that has imported the CLI once.

Each link of a fleet runs as the single-link command (``python -m vpclink.cli run ...``, see ``run``).
Started as a subprocess, that command spends about 1.7 s of CPU importing the CLI, the SDKs and
papermill, and as much again building nbconvert's HTML exporter, before its first phase: on a small
machine, most of a fleet's time. So the fleet command starts one *link fork server* (``python -m
vpclink.fleet.link_forks FLEET_RUN_DIR``) that does all that once; each link command is then a
``fork()`` of it that goes on as ``vpclink.cli.main(argv)`` would in a process of its own: its own
session, working directory, environment and log file (as standard output and error). Nothing is shared
but the pages of the imported modules (copy-on-write) and the HTML exporter built before the fork.

The fleet command owns the server through a socket pair; the links' tasks (Dask workers on this
machine) connect to its listening socket, in a private directory (mode 0700), whose address they find
in ``FORKS_ENV``. One JSON line per command to run, answered by ``{"pid": N}`` once forked, then
``{"pid": N, "exit_code": C, "cpu": S, "maxrss": KB}`` when it has exited (``os.wait4``: the figures
the fleet's record keeps per link). A task's connection ending (its worker died) kills the commands
it started, with their process groups; the owner's (the fleet command ended, even by ``kill -9``)
kills every command and ends the server. A forked command's command line reads as the server's, which
names the fleet run directory; its process name (``/proc/PID/comm``) is :func:`process_name` of its
link, and its working directory the fleet run directory.

Only on Linux; a task that cannot reach the server (another machine of a ``--scheduler`` cluster, a
server that has gone) runs its command as a subprocess, as before.

This module is imported by the fleet command and by the server itself before its imports, so it
imports nothing heavy at the top.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import processes

FD_ENV = "VPCLINK_LINK_FORKS_FD"
FORKS_ENV = "VPCLINK_LINK_FORKS"  # the fleet's link fork server's socket, for its links' tasks
SOCKET_NAME = "links.sock"
READY = b'{"ready": true}\n'
NAME_PREFIX = "vpclink-l"
MODULE = "vpclink.fleet.link_forks"
CLI = "vpclink.cli"


class LinkForksGone(RuntimeError):
    """The link fork server cannot be reached (never started, another machine, died): run the
    command as a subprocess."""


def supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def process_name(link: str) -> str:
    """A forked link command's process name: 15 bytes, distinct per link (``/proc/PID/comm``)."""
    return NAME_PREFIX + hashlib.sha256(link.encode()).hexdigest()[:6]


def forkable(argv: Sequence[str]) -> bool:
    """Whether a command line is this interpreter's ``-m vpclink.cli ...``, which a fork of the server
    (the same interpreter) can stand in for."""
    if len(argv) < 3 or list(argv[1:3]) != ["-m", CLI]:
        return False
    try:
        return os.path.samefile(argv[0], sys.executable)
    except OSError:
        return False


# -- the fleet command's side ---------------------------------------------------------------------------
class LinkForks:
    """The fleet command's handle on the link fork server it started (and ends with :meth:`close`)."""

    def __init__(self, sock: socket.socket, process: subprocess.Popen[bytes], address: str):
        self._socket = sock
        self._process: subprocess.Popen[bytes] | None = process
        self.address = address

    @classmethod
    def start(cls, fleet_dir: str, socket_dir: str) -> LinkForks:
        """Start the server for ``fleet_dir`` (its command line names it), listening in ``socket_dir``
        (private to this user: mode 0700). ``OSError`` when no process can be started."""
        address = os.path.join(socket_dir, SOCKET_NAME)
        ours, theirs = socket.socketpair()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(address)
            listener.listen(64)
            fds = [theirs.fileno(), listener.fileno()]
            process = subprocess.Popen(
                [sys.executable, "-m", MODULE, fleet_dir],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=fds,
                # one BLAS thread: a process with threads is not safe to fork
                env={**os.environ, FD_ENV: " ".join(map(str, fds)), "OPENBLAS_NUM_THREADS": "1"},
                start_new_session=True,  # a Ctrl-C meant for the fleet command must not reach the links
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            listener.close()
        return cls(ours, process, address)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def close(self) -> float:
        """Hang up: the server kills the commands still running and exits. Its own CPU seconds (user +
        system: the imports done once for every link; the commands' are each link's own), 0.0 if it
        could not say."""
        process, self._process = self._process, None
        if process is None:
            return 0.0
        own = 0.0
        try:
            self._socket.shutdown(socket.SHUT_WR)  # the end of requests: the server answers its CPU
            self._socket.settimeout(30)
            with self._socket.makefile("rb") as reader:
                for line in reader:
                    own = float(json.loads(line).get("own_cpu", own))
        except (OSError, ValueError, AttributeError):
            pass
        finally:
            self._socket.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return own


def run(
    address: str,
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    log: str,
    link: str,
    started: Callable[[int], object] = lambda pid: None,
) -> tuple[int, float, int]:
    """Run ``argv`` (``python -m vpclink.cli ...``) as a fork of the server at ``address``, its output
    appended to ``log``, and wait for it: (exit code, CPU seconds, peak RSS in KB), the exit code
    negative for a signal as ``subprocess`` has it. ``started(pid)`` once it runs. ``LinkForksGone``
    when the server cannot take it (the command has not started: run it some other way)."""
    if not forkable(argv):
        raise LinkForksGone(f"not a command line the link fork server runs: {argv[:3]}")
    request = {"argv": list(argv[1:]), "cwd": cwd, "env": dict(env), "log": log, "name": process_name(link)}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(address)
            reader = sock.makefile("rb")
            if reader.readline() != READY:  # the server's imports done
                raise LinkForksGone("the link fork server has exited")
            sock.sendall((json.dumps(request) + "\n").encode())
            answer = _answer(reader.readline())
        except OSError as e:
            raise LinkForksGone(f"no link fork server at {address}: {e}") from None
        if "pid" not in answer:
            raise LinkForksGone(f"the link fork server could not fork: {answer.get('error')}")
        pid = int(answer["pid"])
        started(pid)
        try:
            ended = _answer(reader.readline())
        except (OSError, LinkForksGone):
            ended = {}
        if "exit_code" not in ended:  # the server went (the fleet command ended): it killed the command
            return -signal.SIGKILL, 0.0, 0
        return int(ended["exit_code"]), float(ended["cpu"]), int(ended["maxrss"])
    finally:
        sock.close()  # also when interrupted: the server kills the command with its process group


def _answer(line: bytes) -> dict[str, Any]:
    if not line:
        raise LinkForksGone("the link fork server has exited")
    try:
        answer = json.loads(line)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise LinkForksGone(f"the link fork server answered {line[:200]!r}")
    return answer


def is_forked_command(pid: int, fleet_dir: str, link: str) -> bool:
    """Whether process ``pid`` is provably a link command forked for ``link`` by the link fork server of
    ``fleet_dir``: its command line is that server's, and so is its parent's; its name is the link's
    and its working directory the fleet run directory. Anything else (a reused PID) is not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            ppid = int(f.read().rsplit(b")", 1)[-1].split()[1])
        with open(f"/proc/{pid}/comm", "rb") as f:
            name = f.read().strip().decode(errors="replace")
        cwd = os.readlink(f"/proc/{pid}/cwd")
        mine, parents = _cmdline(pid), _cmdline(ppid)
    except (OSError, ValueError, IndexError):
        return False
    server = ["-m", MODULE, fleet_dir]
    return (
        name == process_name(link)
        and mine[1:] == server
        and parents == mine
        and os.path.realpath(cwd) == os.path.realpath(fleet_dir)
    )


def _cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]


# -- the server ---------------------------------------------------------------------------------------------
def warm() -> None:
    """Import what a link command needs, and build what it would build first, once for every fork."""
    from vpclink.importing import skip_iri_grammar

    skip_iri_grammar()
    import vpclink.cli
    import vpclink.kernels  # noqa: F401  (papermill, jupyter_client, nbclient)
    from vpclink.record.html import HtmlRenderer

    try:  # the embedded emulator, the default target, when installed
        import alicloud_emulator.server  # noqa: F401
    except ImportError:
        pass
    HtmlRenderer.warm()


def _one_thread() -> None:
    """A process is forked safely only when it has no other thread (a lock held by one would stay
    held in the child forever)."""
    import threading

    tasks = os.listdir("/proc/self/task")
    if threading.active_count() != 1 or len(tasks) != 1:
        raise RuntimeError(f"the link fork server has {len(tasks)} threads; it forks only with one")


def _become_command(request: Mapping[str, Any], close_fds: Sequence[int]) -> None:
    """In the forked child: leave the server's ways behind, then run the CLI. Never returns."""

    def command() -> int:
        signal.set_wakeup_fd(-1)
        for fd in close_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        log = os.open(str(request["log"]), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        # its own session and process group, as the subprocess path starts it
        processes.own_session(str(request["name"]), str(request["cwd"]), dict(request["env"]))
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        from vpclink import cli

        argv = [str(a) for a in request["argv"]]
        if argv[:2] != ["-m", CLI]:
            raise ValueError(f"not a link command: {argv[:2]}")
        sys.argv = [str(cli.__file__), *argv[2:]]
        return cli.main(argv[2:])

    processes.run_then_leave(command)


def _send(conn: socket.socket, message: Mapping[str, Any]) -> None:
    try:
        conn.sendall((json.dumps(message) + "\n").encode())
    except OSError:
        pass  # it hung up meanwhile: the next select reads the end


def serve(owner: socket.socket, listener: socket.socket) -> None:
    """Import what link commands need, then fork one per request and report its end. A connection's
    commands are killed when it hangs up; when the owner does, all are, and the server exits (with
    ``os._exit``: tearing down an interpreter that has papermill and pandas loaded costs ~0.4 s)."""
    import resource
    import selectors

    from ..importing import without_gc

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # what the imports made stays out of the collector's sight, in the server and in every fork: a
    # collection would touch each object, and a fork would copy every page it touched
    with without_gc(freeze=True):
        warm()
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the selector: reaped below
    running: dict[socket.socket, set[int]] = {owner: set()}
    pending: dict[socket.socket, bytes] = {owner: b""}
    requester: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(owner, selectors.EVENT_READ)
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)

    def reap() -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = requester.pop(pid, None)
            if conn is not None and conn in running:
                running[conn].discard(pid)
                ended = {"exit_code": os.waitstatus_to_exitcode(status), "maxrss": int(usage.ru_maxrss)}
                _send(conn, {"pid": pid, **ended, "cpu": usage.ru_utime + usage.ru_stime})

    def fork(conn: socket.socket, line: bytes) -> None:
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not {"argv", "cwd", "env", "log", "name"} <= request.keys():
                raise ValueError("a request has argv, cwd, env, log and name")
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            _one_thread()
            pid = os.fork()
        except (ValueError, OSError, RuntimeError) as e:
            _send(conn, {"error": f"{type(e).__name__}: {e}"})
            return
        if pid == 0:
            fds = [s.fileno() for s in running] + [listener.fileno(), wake_r, wake_w]
            _become_command(request, [selector.fileno(), *fds])
        running[conn].add(pid)
        requester[pid] = conn
        _send(conn, {"pid": pid})

    owner.sendall(READY)
    while True:
        for key, _events in selector.select():
            if key.fileobj == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                reap()
                continue
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            if conn is listener:
                client, _ = listener.accept()
                running[client], pending[client] = set(), b""
                selector.register(client, selectors.EVENT_READ)
                try:
                    client.sendall(READY)
                except OSError:
                    pass
                continue
            if conn not in running:
                continue
            try:
                data = conn.recv(1 << 16)
            except OSError:
                data = b""
            if not data:  # hung up: its commands go with it
                selector.unregister(conn)
                processes.kill_groups(running.pop(conn))
                del pending[conn]
                if conn is owner:
                    for pids in running.values():  # the fleet command has gone: no command outlives it
                        processes.kill_groups(pids)
                    usage = resource.getrusage(resource.RUSAGE_SELF)
                    _send(owner, {"own_cpu": round(usage.ru_utime + usage.ru_stime, 3)})
                    os._exit(0)
                conn.close()
                continue
            pending[conn] += data
            while b"\n" in pending[conn]:
                line, pending[conn] = pending[conn].split(b"\n", 1)
                fork(conn, line)


def main() -> None:
    fds = [int(fd) for fd in os.environ.pop(FD_ENV).split()]
    serve(socket.socket(fileno=fds[0]), socket.socket(fileno=fds[1]))


if __name__ == "__main__":
    main()
