"""Phase kernels forked from a process that has already imported the runbook library.

A phase kernel spends about two seconds of CPU importing the SDKs, pandas and ``vpclink.notebook``
before its notebook's first cell, and a run starts seven of them (a fleet, seven per link). So a run
starts one *fork server* (``python -m vpclink.kernel_forks KERNEL_DIR``) that imports all that
once; each kernel is then a ``fork()`` of it that goes on as ``ipykernel`` would from its usual
command line. Every notebook still gets a fresh kernel process of its own that never ran any other
notebook's code: nothing is shared but the pages of the imported modules (copy-on-write).

The runner and its fork server talk over a socket pair: one JSON line per kernel to start (its
command line, working directory and environment) answered by one line with its process ID. When
the runner dies, even by ``kill -9``, the fork server reads the end of that socket, kills its kernels
and exits; a kernel whose fork server has gone exits too (``ipykernel`` polls its parent, which
``JPY_PARENT_PID`` names). A fleet starts one *shared* fork server for its links' runners (they
find its socket in ``VPCLINK_KERNEL_FORKS``): each runner's kernels are killed when that runner's
connection ends, all of them when the fleet's does. A forked kernel's command line reads as the fork
server's, which names its kernel directory; its process name (``/proc/PID/comm``) is ``vpclink-kN``
for the connection file ``kN.json``, and its working directory is its runner's notebooks.

Only on Linux, and only for the kernel command line ``python -m ipykernel_launcher`` of this very
interpreter: otherwise, or if the fork server cannot start or has gone, kernels start as jupyter_client
starts them (``kernels.KernelPool`` falls back).

This module is imported by the fork server itself, so it imports nothing heavy at the top.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from . import processes
from .importing import without_gc
from .record.render_worker import NAME, RenderWorker

# What a phase kernel imports before its notebook runs (IPKernelApp.exec_lines): the runbook library
# with the SDK clients and the credentials library it loads when it first calls an API, and pandas;
# never the notebook tooling (nbformat, papermill), which is the runner's.
PRELOAD = "import vpclink.notebook, vpclink.cloud, pandas; vpclink.cloud.load_sdks(); del vpclink, pandas"
# What the phases' cells import as they run, in every kernel (the tables' text and HTML, the parameter
# file's reader), and a parameter file read once: the checks of each field type are built on first use.
CELL_MODULES = ("pandas.io.formats.html", "pandas.io.formats.string", "encodings.utf_8_sig")
SAMPLE_PARAMS = "example.yaml"  # of vpclink/examples
# traitlets sets an application's logger to DEBUG and filters at its handler: each kernel made a record
# for every debug line ipykernel logs per message (about 5 a cell) only to drop it. Its own warnings show.
QUIET_LOGGER = {"loggers": {"IPKernelApp": {"level": "WARNING"}}}
# What ipykernel imports as a kernel starts (IPKernelApp.initialize, IPythonKernel.__init__): about 140
# modules, 60 ms of each kernel's start, most of them debugpy's for the debugger every kernel makes.
# tests/test_kernel_forks.py says which are missing when a new ipykernel imports more.
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.utils.wildcard",
    "IPython.extensions.storemagic",
    "tornado.platform.asyncio",
    "faulthandler",
)
FD_ENV = "VPCLINK_KERNEL_FORKS_FD"
FORKS_ENV = "VPCLINK_KERNEL_FORKS"  # a shared fork server's socket, for the runners of a fleet
READY = b'{"ready": true}\n'
NAME_PREFIX = "vpclink-"
LAUNCHER = "ipykernel_launcher"


class ForkServerGone(RuntimeError):
    """The fork server is not running (never started, or died): start kernels the usual way."""


def supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def forkable(argv: list[str]) -> bool:
    """Whether a kernel command line is this interpreter's ``-m ipykernel_launcher``, which a fork
    of this interpreter can stand in for."""
    if len(argv) < 3 or argv[1:3] != ["-m", LAUNCHER]:
        return False
    try:
        return os.path.samefile(argv[0], sys.executable)
    except OSError:
        return False


# -- the runner's side ---------------------------------------------------------------------------
class KernelForks:
    """A runner's handle on a fork server: one it started (and stops with :meth:`close`), or a
    shared one it connected to (``FORKS_ENV``). Not shared between threads without its lock."""

    def __init__(self, sock: socket.socket, *, process: subprocess.Popen[bytes] | None, address: str = ""):
        self._socket = sock
        self._reader = sock.makefile("rb")
        self._process = process
        self._lock = threading.Lock()
        self._ready = False
        self.address = address  # where other runners can connect (a shared server), else ""

    @classmethod
    def start(cls, kernel_dir: str, *, shared: bool = False) -> KernelForks:
        """Start a fork server owned by this process. ``shared``: it also listens on a socket in
        ``kernel_dir`` (mode 0700) for other runners of this user, e.g. the links of a fleet."""
        ours, theirs = socket.socketpair()
        listener, address = None, ""
        if shared:
            address = os.path.join(kernel_dir, "forks.sock")
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(address)
            listener.listen(64)
        fds = [theirs.fileno()] + ([listener.fileno()] if listener else [])
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "vpclink.kernel_forks", kernel_dir],
                stdin=subprocess.DEVNULL,
                pass_fds=fds,
                # one BLAS thread: a process with threads is not safe to fork, and no kernel needs BLAS
                env={**os.environ, FD_ENV: " ".join(map(str, fds)), "OPENBLAS_NUM_THREADS": "1"},
                start_new_session=True,  # a Ctrl-C meant for the runner must not reach the kernels
            )
        finally:
            theirs.close()
            if listener is not None:
                listener.close()
        return cls(ours, process=process, address=address)

    @classmethod
    def connect(cls, address: str) -> KernelForks:
        """Connect to a shared fork server; ``ForkServerGone`` if there is none at ``address``."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(address)
        except OSError as e:
            sock.close()
            raise ForkServerGone(f"no kernel fork server at {address}: {e}") from None
        return cls(sock, process=None, address=address)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _line(self) -> dict[str, Any]:
        line = self._reader.readline()
        if not line:
            raise ForkServerGone("the kernel fork server has exited")
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise ForkServerGone(f"the kernel fork server answered {line!r}")
        return answer

    def spawn(self, argv: list[str], cwd: str, env: dict[str, str], name: str, endpoints: Sequence[str] = ()) -> int:
        """Fork a kernel running ``argv`` (``python -m ipykernel_launcher ...``); its process ID.
        ``endpoints``: the API endpoints its notebook will call (an emulator's), whose SDK sessions
        the server makes before forking (``cloud.warm_sessions``), once for all its kernels."""
        return self._fork({"argv": argv[3:], "cwd": cwd, "env": env, "name": name, "endpoints": list(endpoints)})

    def render_worker(self) -> RenderWorker:
        """Fork an HTML render worker (``record.render_worker``) for this runner, in its working
        directory and environment; the server hands it one end of a new socket pair, this the other."""
        ours, theirs = socket.socketpair()
        try:
            pid = self._fork({"render_worker": True, "cwd": os.getcwd(), "env": dict(os.environ), "name": NAME}, theirs)
        except ForkServerGone:
            ours.close()
            raise
        finally:
            theirs.close()
        return RenderWorker(ours, pid)

    def _fork(self, request: dict[str, Any], handed: socket.socket | None = None) -> int:
        line = (json.dumps(request) + "\n").encode()
        with self._lock:
            try:
                if not self._ready:  # the first request waits for the server's imports
                    self._line()
                    self._ready = True
                if handed is None:
                    self._socket.sendall(line)
                else:  # the socket's descriptor rides with the request's first bytes (SCM_RIGHTS)
                    sent = socket.send_fds(self._socket, [line], [handed.fileno()])
                    self._socket.sendall(line[sent:])
                answer = self._line()
            except OSError as e:
                raise ForkServerGone(f"the kernel fork server is unreachable: {e}") from None
        if "error" in answer:
            raise ForkServerGone(f"the kernel fork server could not fork: {answer['error']}")
        return int(answer["pid"])

    def close(self) -> float:
        """Hang up: the server kills the kernels it forked for this handle that still run, and a
        server this handle started exits. The CPU seconds of a started server and every kernel it
        forked (user + system; 0 for a connected handle): a fleet's kernels are not its links'."""
        self._reader.close()
        self._socket.close()
        process, self._process = self._process, None
        if process is None:
            return 0.0
        deadline = time.monotonic() + 10
        while True:  # wait4, not wait: the rusage of the server and of the kernels it reaped
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        return usage.ru_utime + usage.ru_stime


class ForkedProcess:
    """The part of ``subprocess.Popen`` that jupyter_client's local provisioner uses, for a kernel
    that is the fork server's child (so not ours to ``waitpid``): its state is read from ``/proc``."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not alive(self.pid):
            self.returncode = -signal.SIGKILL  # its exit status went to the fork server, which reaped it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired([str(self.pid)], timeout or 0)
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def alive(pid: int) -> bool:
    """Whether a process exists and has not exited (a zombie has exited)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[-1].split()[0] != b"Z"


# -- the fork server -----------------------------------------------------------------------------
def _become_kernel(request: dict[str, Any], inherited: list[socket.socket]) -> None:
    """In the forked child: leave the server's ways behind, then run ipykernel. Never returns."""

    def kernel() -> None:
        for sock in inherited:
            sock.close()
        # its own process group, as jupyter_client starts kernels: signals reach it alone
        processes.own_session(NAME_PREFIX + str(request["name"]), str(request["cwd"]), dict(request["env"]))
        # ipykernel exits when its parent, the fork server, goes; it read JPY_PARENT_PID when the
        # fork server imported it, so it is told again on its command line
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        argv = [str(a) for a in request["argv"]] + [f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = [LAUNCHER, *argv]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=argv, logging_config=QUIET_LOGGER)

    processes.run_then_leave(kernel)


def _become_render_worker(request: dict[str, Any], inherited: list[socket.socket], channel: socket.socket) -> None:
    """In the forked child: leave the server's ways behind, then render HTML for the runner that asked
    (``record.render_worker``) until it hangs up. Never returns."""

    def worker() -> None:
        for sock in inherited:
            sock.close()
        processes.own_session(NAME_PREFIX + str(request["name"]), str(request["cwd"]), dict(request["env"]))
        from .record.render_worker import serve

        serve(channel)

    processes.run_then_leave(worker)


def _stamp_once() -> None:
    """Work out what software ran (``record.provenance.software``: git and package metadata, about
    50 ms, cached) once here, so that the kernels forked from now on find it done: each phase
    notebook shows it as it starts. The kernels run the code this server loaded, which is what the
    stamp describes."""
    try:
        from .record.provenance import software

        software()
    except Exception:
        pass  # each kernel works it out itself, as it would without this server


def preload() -> None:
    """Import, once, what every kernel imports: ``KERNEL_MODULES`` and ``PRELOAD``. The collector is
    paused meanwhile and what they made is frozen out of its sight (``importing.without_gc``)."""
    # ipykernel's debugger, which each kernel makes as it starts, warns on importing debugpy in an
    # interpreter with frozen modules; ipykernel's own kernelspec sets this variable for that warning
    # (kernelspec.py), and a phase kernel is never debugged
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    with without_gc(freeze=True):
        for module in (*KERNEL_MODULES, *CELL_MODULES):
            importlib.import_module(module)
        exec(PRELOAD, {})
        _read_sample_params()


def _read_sample_params() -> None:
    from importlib import resources

    from .params import ParamsError, load

    try:
        with resources.as_file(resources.files("vpclink") / "examples" / SAMPLE_PARAMS) as path:
            load(path)
    except (OSError, ParamsError):
        pass  # only a head start: each kernel reads its own file anyway


def serve(owner: socket.socket, listener: socket.socket | None) -> None:
    """Import what the kernels need, then fork one kernel per request. Each connection's kernels are
    killed when it hangs up (its runner finished or died); when the owner hangs up, all are, and
    the server exits. One thread only: a process is forked safely only without others."""
    import selectors

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    preload()
    kernels: dict[socket.socket, set[int]] = {owner: set()}  # and render workers
    pending: dict[socket.socket, bytes] = {owner: b""}
    handed: dict[socket.socket, list[socket.socket]] = {owner: []}  # sockets received for render workers

    def reap(*_: Any) -> None:
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for pids in kernels.values():
                pids.discard(pid)

    signal.signal(signal.SIGCHLD, reap)
    selector = selectors.DefaultSelector()
    selector.register(owner, selectors.EVENT_READ)
    if listener is not None:
        selector.register(listener, selectors.EVENT_READ)
    owner.sendall(READY)
    stamped = False
    warmed: set[str] = set()  # the endpoints whose SDK sessions the kernels inherit
    while owner in kernels:
        for key, _events in selector.select():
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            if conn is listener:
                client, _ = listener.accept()
                kernels[client], pending[client], handed[client] = set(), b"", []
                selector.register(client, selectors.EVENT_READ)
                client.sendall(READY)
                continue
            if conn not in kernels:
                continue
            try:
                data, fds, _flags, _address = socket.recv_fds(conn, 1 << 16, 4)
            except OSError:
                data, fds = b"", []
            handed[conn] += [socket.socket(fileno=fd) for fd in fds]
            if not data:  # hung up: its kernels go with it
                selector.unregister(conn)
                processes.kill_groups(kernels.pop(conn))
                del pending[conn]
                for sock in handed.pop(conn):
                    sock.close()
                conn.close()
                continue
            pending[conn] += data
            while b"\n" in pending[conn]:
                line, pending[conn] = pending[conn].split(b"\n", 1)
                channel = None
                try:
                    request = json.loads(line)
                    if request.get("render_worker"):
                        if not handed[conn]:
                            raise ValueError("a render worker was asked for without its socket")
                        channel = handed[conn].pop(0)
                    endpoints = [str(e) for e in request.get("endpoints") or () if str(e) not in warmed]
                    if endpoints:
                        from .cloud import warm_sessions  # loaded by PRELOAD; best effort itself

                        warmed.update(endpoints)
                        warm_sessions(endpoints)
                    pid = os.fork()
                except (ValueError, OSError) as e:
                    if channel is not None:
                        channel.close()
                    conn.sendall((json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n").encode())
                    continue
                if pid == 0:
                    selector.close()
                    others = [*kernels, *([listener] if listener else []), *(s for h in handed.values() for s in h)]
                    if channel is not None:
                        _become_render_worker(request, others, channel)
                    _become_kernel(request, others)
                if channel is not None:
                    channel.close()  # the worker's now
                kernels[conn].add(pid)
                try:
                    conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
                except OSError:
                    pass  # it hung up meanwhile: the next select reads the end
                if not stamped:  # once the first kernel is on its way, not before it
                    stamped = True
                    _stamp_once()
    # the owner has gone: no kernel outlives it; they are reaped so that their CPU counts in the
    # server's (the owner's wait4)
    left = {pid for pids in kernels.values() for pid in pids}
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    processes.kill_groups(left)
    for pid in left:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    # nothing to flush or close: skip the interpreter's teardown of pandas and the SDKs (~0.4 s)
    os._exit(0)


def main() -> None:
    fds = [int(fd) for fd in os.environ.pop(FD_ENV).split()]
    owner = socket.socket(fileno=fds[0])
    listener = socket.socket(fileno=fds[1]) if len(fds) > 1 else None
    serve(owner, listener)


if __name__ == "__main__":
    main()
