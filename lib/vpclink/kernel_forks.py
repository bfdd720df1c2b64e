"""Phase kernels forked from a process that has already imported the runbook library.

A phase kernel spends about two seconds of CPU importing the SDKs, pandas and ``vpclink.notebook``
before its notebook's first cell, and a run starts seven of them (a fleet, seven per link). So a run
starts one *fork server* (``python -m vpclink.kernel_forks KERNEL_DIR``) that imports all that
once; each kernel is then a ``fork()`` of it that goes on as ``ipykernel`` would from its usual
command line. Every notebook still gets a fresh kernel process of its own that never ran any other
notebook's code: nothing is shared but the pages of the imported modules (copy-on-write).

The runner and the fork server talk over a socket pair: one JSON line per kernel to start (its
command line, working directory and environment) answered by one line with its process ID. When
the runner dies, even by ``kill -9``, the fork server reads the end of that socket, kills its kernels
and exits; a kernel whose fork server has gone exits too (``ipykernel`` polls its parent, which
``JPY_PARENT_PID`` names). A forked kernel's command line reads as the fork server's, which names
the run's kernel directory; its process name (``/proc/PID/comm``) is ``vpclink-kN`` for the
connection file ``kN.json``.

Only on Linux, and only for the kernel command line ``python -m ipykernel_launcher`` of this very
interpreter: otherwise, or if the fork server cannot start or has gone, kernels start as jupyter_client
starts them (``kernels.KernelPool`` falls back).

This module is imported by the fork server itself, so it imports nothing heavy at the top.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

# What a phase kernel imports before its notebook runs (IPKernelApp.exec_lines): the runbook library
# and pandas, never the notebook tooling (nbformat, papermill), which is the runner's.
PRELOAD = "import vpclink.notebook, pandas; del vpclink, pandas"
FD_ENV = "VPCLINK_KERNEL_FORKS_FD"
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
    """The runner's handle on its fork server. Not shared between threads without its lock."""

    def __init__(self, kernel_dir: str):
        ours, theirs = socket.socketpair()
        self._lock = threading.Lock()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "vpclink.kernel_forks", kernel_dir],
                stdin=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()],
                # one BLAS thread: a process with threads is not safe to fork, and no kernel needs BLAS
                env={**os.environ, FD_ENV: str(theirs.fileno()), "OPENBLAS_NUM_THREADS": "1"},
                start_new_session=True,  # a Ctrl-C meant for the runner must not reach the kernels
            )
        finally:
            theirs.close()
        self._socket = ours
        self._reader = ours.makefile("rb")
        self._ready = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def _line(self) -> dict[str, Any]:
        line = self._reader.readline()
        if not line:
            raise ForkServerGone(f"the kernel fork server (process {self.pid}) has exited")
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise ForkServerGone(f"the kernel fork server (process {self.pid}) answered {line!r}")
        return answer

    def spawn(self, argv: list[str], cwd: str, env: dict[str, str], name: str) -> int:
        """Fork a kernel running ``argv`` (``python -m ipykernel_launcher ...``); its process ID."""
        request = json.dumps({"argv": argv[3:], "cwd": cwd, "env": env, "name": name}) + "\n"
        with self._lock:
            try:
                if not self._ready:  # the first kernel waits for the server's imports
                    self._line()
                    self._ready = True
                self._socket.sendall(request.encode())
                answer = self._line()
            except OSError as e:
                raise ForkServerGone(f"the kernel fork server (process {self.pid}) is unreachable: {e}") from None
        if "error" in answer:
            raise ForkServerGone(f"the kernel fork server could not fork: {answer['error']}")
        return int(answer["pid"])

    def close(self) -> None:
        """Stop the fork server; it kills the kernels it forked that are still running."""
        self._reader.close()
        self._socket.close()  # the server reads the end and exits
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


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
        import time

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
def _name(name: str) -> None:
    """Set this process's name (``/proc/PID/comm``, 15 bytes) so that a person or a test can tell
    the kernels apart in ``ps``."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, (NAME_PREFIX + name).encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _become_kernel(request: dict[str, Any], server: socket.socket) -> None:
    """In the forked child: leave the server's ways behind, then run ipykernel. Never returns."""
    code = 1
    try:
        server.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()  # its own process group, as jupyter_client starts kernels: signals reach it alone
        _name(str(request["name"]))
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
        # ipykernel exits when its parent, the fork server, goes; it read JPY_PARENT_PID when the
        # fork server imported it, so it is told again on its command line
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        argv = [str(a) for a in request["argv"]] + [f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = [LAUNCHER, *argv]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve(server: socket.socket) -> None:
    """Import what the kernels need, then fork one kernel per request until the runner hangs up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import ipykernel.kernelapp  # noqa: F401  (what every kernel needs, imported once here)

    exec(PRELOAD, {})
    children: set[int] = set()

    def reap(*_: Any) -> None:
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)

    signal.signal(signal.SIGCHLD, reap)
    reader = server.makefile("rb")
    server.sendall(b'{"ready": true}\n')
    for line in reader:
        try:
            request = json.loads(line)
            pid = os.fork()
        except (ValueError, OSError) as e:
            server.sendall((json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n").encode())
            continue
        if pid == 0:
            _become_kernel(request, server)
        children.add(pid)
        server.sendall((json.dumps({"pid": pid}) + "\n").encode())
    # the runner has gone (or closed us): no kernel of its run outlives it
    for pid in list(children):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def main() -> None:
    fd = int(os.environ.pop(FD_ENV))
    serve(socket.socket(fileno=fd))


if __name__ == "__main__":
    main()
