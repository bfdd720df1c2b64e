"""What the command's process and the two fork servers (``kernel_forks``, ``fleet.link_forks``) share:
naming a process, killing process groups, making a forked child a process of its own, and ending a
process without the interpreter's teardown.

Imported by the fork servers before their imports: nothing heavy here.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import NoReturn


def name(text: str) -> None:
    """Set this process's name (``/proc/PID/comm``, 15 bytes) so that a person or a test can tell the
    forked processes apart in ``ps``; nothing happens where that cannot be done."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, text.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def kill_groups(pids: Iterable[int]) -> None:
    """SIGKILL each process's group (each was made a session leader), or the process alone when it has
    not made its group yet (just forked); gone already is fine."""
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def own_session(process_name: str, cwd: str, env: Mapping[str, str]) -> None:
    """In a forked child: the default signal handlings back, a session and process group of its own
    (signals meant for the fork server do not reach it, and its group can be killed whole), its name,
    its working directory and exactly the environment it was asked for."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.setsid()
    name(process_name)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})


def run_then_leave(body: Callable[[], int | None]) -> NoReturn:
    """Run a forked child's ``body`` and end the process with its exit code, whatever happens: a
    forked child must never return into its fork server's loop. An exception is printed, exit 1."""
    code = 1
    try:
        code = body() or 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        leave(code)


def leave(code: int) -> NoReturn:
    """Flush what this process printed and logged, then exit without the interpreter's teardown: once a
    command or a forked process is done, its files are closed, and unloading papermill, pandas and the
    SDKs would only cost about 0.4 s more."""
    try:
        logging.shutdown()
    except Exception:
        pass  # a handler that cannot flush must not keep the process from ending
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass  # a closed pipe: nothing more can reach it
    os._exit(code)
