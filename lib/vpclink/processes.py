"""What the command's process and the two fork servers (``kernel_forks``, ``fleet.link_forks``) share:
naming a process, killing process groups, and ending a process without the interpreter's teardown.

Imported by the fork servers before their imports: nothing heavy here.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterable
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
