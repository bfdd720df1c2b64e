"""Kernels for the phase notebooks: a fresh one per notebook, each started ahead of time.

Starting a kernel and importing the runbook library in it takes about a second, more than most
phases take to run. So while one notebook runs, the kernel for the next one starts and imports
``vpclink.notebook`` (``IPKernelApp.exec_lines``, which leaves no name behind and no execution
count). Every kernel still runs exactly one notebook: nothing is shared between phases.

papermill's own engine shuts down only the kernels it starts, so the kernels started here are run
through :class:`PrestartedEngine`, which hands papermill the kernel and has it shut the kernel
down and close its client when the notebook ends.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from . import scratch
from .notebook.settings import RUNNER_ENV

KERNEL = "python3"
ENGINE = "vpclink-prestarted"
PRELOAD = "import vpclink.notebook, pandas; del vpclink, pandas"


class PrestartedEngine(NBClientEngine):
    """papermill's nbclient engine for a kernel that is already running (``km``): papermill shuts
    it down and closes its client at the end, as it does for the kernels it starts itself."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        km = kwargs.pop("km")
        client = PapermillNotebookClient(
            nb_man,
            km=km,
            kernel_name=kernel_name,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            shutdown_kernel="immediate",
        )
        return client.execute(cleanup_kc=True)


def register_engine() -> str:
    """Make :class:`PrestartedEngine` known to papermill (idempotent); returns its name."""
    papermill_engines.register(ENGINE, PrestartedEngine)
    return ENGINE


class KernelPool:
    """Hands out one fresh kernel per notebook, starting the next while the current one runs.

    Kernels talk to the runner over Unix sockets in a private directory (mode 0700): no TCP port on
    this machine for anyone else to try."""

    def __init__(self, cwd: str | Path):
        self.cwd = str(cwd)
        self._spare: AsyncKernelManager | None = None
        self._dir: str | None = None  # the kernels' sockets and connection files, private to this run
        self._count = 0

    def _start(self) -> AsyncKernelManager:
        if self._dir is None:
            self._dir = scratch.private_dir("kernels")
        self._count += 1
        base = os.path.join(self._dir, f"k{self._count}")
        # Absolute socket paths: the kernel runs in the notebooks' directory, the runner elsewhere.
        km = AsyncKernelManager(kernel_name=KERNEL, transport="ipc", ip=f"{base}-ipc", connection_file=f"{base}.json")
        run_sync(km.start_kernel)(
            extra_arguments=[f"--IPKernelApp.exec_lines={PRELOAD}"], cwd=self.cwd, env={**os.environ, RUNNER_ENV: "1"}
        )
        return km

    def take(self, *, more: bool) -> AsyncKernelManager:
        """A kernel for the next notebook; with ``more``, start the one after it now."""
        km, self._spare = self._spare, None
        if km is not None and not run_sync(km.is_alive)():
            run_sync(km.cleanup_resources)()  # the spare died (killed?): start another
            km = None
        km = km if km is not None else self._start()
        self._spare = self._start() if more else None
        return km

    def close(self) -> None:
        """Shut down the kernel started for a notebook that will not run; remove the sockets."""
        spare, self._spare = self._spare, None
        if spare is not None:
            run_sync(spare.shutdown_kernel)(now=True)
        if self._dir is not None:
            scratch.release(self._dir)
            self._dir = None
