"""Kernels for the phase notebooks: a fresh one per notebook, each started ahead of time.

Starting a kernel and importing the runbook library in it takes about two seconds of CPU, more than
most phases take to run. So each kernel is forked from a process that imported all that once
(``kernel_forks``, on Linux; elsewhere kernels start the usual way), and while one notebook runs,
the kernel for the next one is started and imports ``vpclink.notebook`` (``IPKernelApp.exec_lines``,
which leaves no name behind and no execution count). Every kernel still runs exactly one notebook:
nothing is shared between phases.

papermill's own engine shuts down only the kernels it starts, so the kernels started here are run
through :class:`PrestartedEngine`, which hands papermill the kernel and has it shut the kernel
down and close its client when the notebook ends.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

# papermill validates notebooks with jsonschema, whose import also builds the grammar of an optional
# IRI format checker (rfc3987_syntax, installed with JupyterLab): about 1.5 s of CPU at every run's
# start, for a format that no notebook schema uses. The runner's process does without it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from jupyter_client.connect import KernelConnectionInfo  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from jupyter_client.provisioning import LocalProvisioner  # noqa: E402
from jupyter_core.utils import run_sync  # noqa: E402
from papermill.clientwrap import PapermillNotebookClient  # noqa: E402
from papermill.engines import NBClientEngine, papermill_engines  # noqa: E402
from papermill.log import logger  # noqa: E402

from . import kernel_forks, scratch  # noqa: E402
from .kernel_forks import FORKS_ENV, PRELOAD, ForkedProcess, ForkServerGone, KernelForks  # noqa: E402
from .notebook.settings import RUNNER_ENV  # noqa: E402

KERNEL = "python3"
ENGINE = "vpclink-prestarted"
__all__ = ["ENGINE", "KERNEL", "PRELOAD", "KernelPool", "PrestartedEngine", "register_engine"]


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


class ForkedProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner, but the kernel process is forked by the run's fork server
    (``kernel_forks``); a command line the fork server cannot stand in for, or a fork server that
    has gone, starts the kernel the usual way."""

    forks: KernelForks | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        if self.forks is None or not kernel_forks.forkable(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        cwd, env = str(kwargs.get("cwd") or os.getcwd()), dict(kwargs.get("env") or os.environ)
        name = Path(getattr(self.parent, "connection_file", "") or "kernel").stem
        try:
            pid = self.forks.spawn(cmd, cwd, env, name)
        except ForkServerGone:
            self.forks = None
            return await super().launch_kernel(cmd, **kwargs)
        # jupyter_client uses only the Popen methods ForkedProcess has (poll, wait, send_signal, kill)
        self.process = ForkedProcess(pid)  # type: ignore[assignment]
        self.pid, self.pgid, self.cwd = pid, pid, cwd
        return self.connection_info


class KernelPool:
    """Hands out one fresh kernel per notebook, starting the next while the current one runs.

    Kernels talk to the runner over Unix sockets in a private directory (mode 0700): no TCP port on
    this machine for anyone else to try."""

    def __init__(self, cwd: str | Path, *, forked: bool | None = None):
        self.cwd = str(cwd)
        self._spare: AsyncKernelManager | None = None
        self._dir: str | None = None  # the kernels' sockets and connection files, private to this run
        self._count = 0
        self._forks: KernelForks | None = None
        if kernel_forks.supported() if forked is None else forked:
            self._forks = self._fork_server()

    def _fork_server(self) -> KernelForks | None:
        """The fleet's shared fork server if this runner is one of its links, else one of its own,
        started now so that its imports overlap the runner's own work before the first phase."""
        shared = os.environ.get(FORKS_ENV)
        if shared:
            try:
                return KernelForks.connect(shared)
            except ForkServerGone:
                pass  # e.g. a link on another machine than the fleet's command
        try:
            return KernelForks.start(self._kernel_dir())
        except OSError:
            return None  # no process to spare (EAGAIN, ENOMEM): kernels start the usual way

    def _kernel_dir(self) -> str:
        if self._dir is None:
            self._dir = scratch.private_dir("kernels")
        return self._dir

    def _start(self) -> AsyncKernelManager:
        self._count += 1
        base = os.path.join(self._kernel_dir(), f"k{self._count}")
        # Absolute socket paths: the kernel runs in the notebooks' directory, the runner elsewhere.
        km = AsyncKernelManager(kernel_name=KERNEL, transport="ipc", ip=f"{base}-ipc", connection_file=f"{base}.json")
        if self._forks is not None:
            km.kernel_id = str(uuid.uuid4())
            provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
            provisioner.forks = self._forks
            km.provisioner = provisioner
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
        if self._forks is not None:
            self._forks.close()
            self._forks = None
        if self._dir is not None:
            scratch.release(self._dir)
            self._dir = None
