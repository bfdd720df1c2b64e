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

import asyncio
import json
import os
import queue
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .importing import skip_iri_grammar

skip_iri_grammar()  # before papermill's imports: the runner's process does without it

from jupyter_client.asynchronous import AsyncKernelClient  # noqa: E402
from jupyter_client.connect import KernelConnectionInfo  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from jupyter_client.provisioning import LocalProvisioner  # noqa: E402
from jupyter_core.utils import ensure_event_loop, run_sync  # noqa: E402
from nbformat import v4 as nbformat_v4  # noqa: E402
from papermill.clientwrap import PapermillNotebookClient  # noqa: E402
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines  # noqa: E402
from papermill.iorw import papermill_io  # noqa: E402
from papermill.log import logger  # noqa: E402

from . import kernel_forks, scratch  # noqa: E402
from .kernel_forks import FORKS_ENV, PRELOAD, ForkedProcess, ForkServerGone, KernelForks  # noqa: E402
from .notebook.settings import RUNNER_ENV  # noqa: E402
from .record.notebook_records import METADATA_KEY  # noqa: E402
from .record.render_worker import RenderWorker  # noqa: E402
from .record.run import write_file  # noqa: E402

KERNEL = "python3"
KILLED_WITHIN = 1.0  # seconds a killed kernel is waited for here; jupyter_client waits on after that
# A phase kernel keeps no IPython history: it would write every cell it runs, parameters included,
# into the user's history database (one file shared by every kernel of every run, a fleet's too).
KERNEL_OPTIONS = ("--HistoryManager.enabled=False",)
ENGINE = "vpclink-prestarted"
WELCOME = "iopub_welcome"  # what ipykernel 7 publishes when a client's IOPub subscription reaches it
__all__ = ["ENGINE", "KERNEL", "PRELOAD", "KernelPool", "Prestarted", "PrestartedEngine", "register_engine"]


class FewerSaves(NotebookExecutionManager):  # type: ignore[misc]
    """papermill's bookkeeping of a notebook being executed, saving it less often and more cheaply.

    papermill writes the whole notebook at every cell's start and end: it validates it against the
    notebook schema, deep-copies it to split its strings into lines, and indents its JSON (which
    Python encodes in pure Python): about 3 ms a write, some 330 writes for a link's seven notebooks.
    Here the notebook is written as each code cell starts, with every cell before it as it ended:
    a cell's end is not written on its own, since the next code cell's start follows at once and
    carries it (as do papermill's writes as the notebook ends, and its autosave during a long cell). A
    markdown cell is not written on its own either: executing one changes nothing but its papermill
    timestamps. The writes while the notebook runs are compact JSON, unchecked: a valid notebook all
    the same, which JupyterLab opens. The notebook's last write is papermill's own, checked and in the
    usual layout: for a notebook that ran to its end, the one papermill's ``execute_notebook`` makes
    after the engine (the engine's own is skipped: ``papermill_writes_next``); else the engine's. So a
    run killed mid-cell leaves a record of how far it got: the cells done, and the one that was running.

    The writes while the notebook runs go to disk from a thread of their own, in order: the thread that
    relays the kernel's messages only encodes the notebook (about 1.5 ms a write on disk, 0.1 s a
    run). Each replaces the file whole, as the run's other records are written (``record.run.
    write_file``): whoever opens the notebook meanwhile never reads half of it. Papermill's writes as
    the notebook ends wait for them, and a write that failed fails there."""

    _skip_save = False
    _writer: ThreadPoolExecutor | None = None
    _writes: list[Future[Any]]
    # Set when the notebook ran to its end: papermill writes it whole right after the engine returns
    # (``execute_notebook``'s last step, or its error report), so the engine's own last write is skipped.
    papermill_writes_next = False

    def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        with self._saved(cell.get("cell_type") == "code"):
            super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        with self._saved(False):
            super().cell_complete(cell, cell_index, **kwargs)

    @contextmanager
    def _saved(self, save: bool) -> Iterator[None]:
        """papermill's bookkeeping of a cell inside, with its save or without it."""
        self._skip_save = not save
        try:
            yield
        finally:
            self._skip_save = False

    def save(self, **kwargs: Any) -> None:
        if self._skip_save:
            return
        if self.end_time is not None or not self.output_path:  # the run has ended: papermill's checked write
            self._written()  # before it: no earlier write may land after the last one
            if not self.papermill_writes_next:
                super().save(**kwargs)
            return
        try:
            text = json.dumps(self.nb, ensure_ascii=False, sort_keys=True)
        except TypeError:  # a value JSON cannot hold as is (bytes): nbformat's writer encodes it
            text = nbformat_v4.writes(self.nb)
        if self._writer is None:
            self._writer, self._writes = ThreadPoolExecutor(1, thread_name_prefix="vpclink-save"), []
        self._writes.append(self._writer.submit(_write, text, str(self.output_path)))
        self.last_save_time = self.now()

    def _written(self) -> None:
        """Wait for the writes handed to the writer thread; raise the first that failed."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.shutdown(wait=True)
        for write in self._writes:
            write.result()


def _write(text: str, path: str) -> None:
    if "://" in path:  # papermill's other stores (its I/O handlers)
        papermill_io.write(text, path)
    else:
        write_file(Path(path), text.encode("utf-8"))


class PrestartedEngine(NBClientEngine):
    """papermill's nbclient engine for a kernel that is already running (``km``): papermill shuts
    it down and closes its client at the end, as it does for the kernels it starts itself. The
    notebook is saved as :class:`FewerSaves` says. ``software`` (a keyword of papermill's
    ``execute_notebook``): what ran it, put into the notebook's metadata (``metadata.vpclink.software``)
    before its first write, so that every write of it says so."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        software = kwargs.pop("software", None)
        if software is not None:
            nb.metadata.setdefault(METADATA_KEY, {})["software"] = software
        # papermill's Engine.execute_notebook, with FewerSaves for its NotebookExecutionManager
        nb_man = FewerSaves(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            nb_man.papermill_writes_next = True  # it returned: papermill writes the notebook next
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

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
        kernel: Prestarted = kwargs.pop("kernel")
        client = PapermillNotebookClient(
            nb_man,
            km=kernel.km,
            kernel_name=kernel_name,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            shutdown_kernel="immediate",
        )
        try:
            run_sync(kernel.ready)(start_timeout)
        except BaseException:  # as nbclient does when its own client cannot start: no kernel is left
            kernel.discard()
            raise
        client.kc = kernel.kc  # nbclient starts no client of its own, and stops this one at the end
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
    endpoints: tuple[str, ...] = ()  # the API endpoints the kernel's notebook will call (an emulator's)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        if self.forks is None or not kernel_forks.forkable(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        cwd, env = str(kwargs.get("cwd") or os.getcwd()), dict(kwargs.get("env") or os.environ)
        name = Path(getattr(self.parent, "connection_file", "") or "kernel").stem
        try:
            pid = self.forks.spawn(cmd, cwd, env, name, self.endpoints)
        except ForkServerGone:
            self.forks = None
            return await super().launch_kernel(cmd, **kwargs)
        # jupyter_client uses only the Popen methods ForkedProcess has (poll, wait, send_signal, kill)
        self.process = ForkedProcess(pid)  # type: ignore[assignment]
        self.pid, self.pgid, self.cwd = pid, pid, cwd
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        """Kill the kernel and return once it is gone. jupyter_client then checks that it is gone every
        0.1 s: at least 0.1 s at the end of each notebook, although a killed kernel is gone within
        milliseconds. Waiting here in steps that small, its first check finds it gone."""
        await super().kill(restart=restart)
        deadline = time.monotonic() + KILLED_WITHIN
        while self.process is not None and self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.002)


@dataclass
class Prestarted:
    """A kernel started ahead of its notebook, and a client whose channels connected to it then.

    Before the first cell, the client must know that the kernel answers and that the kernel's IOPub
    messages reach it (a subscription takes a moment to be in place; output published before that
    is lost). jupyter_client's ``wait_for_ready`` makes sure of both, then drains IOPub until it has
    been quiet for 0.2 s: 0.2 s of waiting before every notebook, 1.4 s for a link. :meth:`ready`
    waits instead for the IOPub status that closes its own request, and no longer.

    A kernel that has just started may publish that status before the client's subscription has
    reached it, and the status is lost. ipykernel 7 says when a subscription has arrived (an
    ``iopub_welcome`` message, JEP 65): from then on nothing is lost, so the request is sent again
    at once instead of after a 0.5 s wait (which struck 1 to 2 of the 7 notebooks of a run, once the
    notebooks got short enough for the next kernel to be asked before it had heard its client)."""

    km: AsyncKernelManager
    kc: AsyncKernelClient

    async def ready(self, timeout: float) -> None:
        """Return once the kernel has answered a ``kernel_info_request`` on the shell channel and its
        closing ``idle`` status has come through IOPub; ``RuntimeError`` (jupyter_client's words) if
        the kernel dies or does not answer within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        await self._drop_queued()
        while True:
            msg_id = self.kc.kernel_info()
            try:
                reply = await self._reply(msg_id, min(1.0, _left(deadline)))
                self.kc._handle_kernel_info_reply(reply)  # the protocol version the kernel speaks
                # a kernel whose IOPub this client does not hear yet: ask again, as jupyter_client does,
                # at once when the kernel says that the subscription has just arrived
                if await self._idle(msg_id, min(0.5, _left(deadline))):
                    return
            except queue.Empty:
                pass
            if not await self.km.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _drop_queued(self) -> None:
        """Drop what IOPub brought before anything was asked (the kernel's ``starting`` status, and
        its welcome when the subscription arrived long ago, which :meth:`_idle` must not take for
        one that has just arrived)."""
        while True:
            try:
                await self.kc.iopub_channel.get_msg(timeout=0)
            except queue.Empty:
                return

    async def _reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            msg = await self.kc.shell_channel.get_msg(timeout=max(0.0, end - time.monotonic()))
            if msg["parent_header"].get("msg_id") == msg_id:
                return dict(msg)

    async def _idle(self, msg_id: str, timeout: float) -> bool:
        """True when the ``idle`` status of ``msg_id`` comes, False when the kernel's welcome to this
        client's subscription comes first (that status may have gone before it)."""
        end = time.monotonic() + timeout
        while True:
            msg = await self.kc.iopub_channel.get_msg(timeout=max(0.0, end - time.monotonic()))
            if msg["msg_type"] == WELCOME:
                return False
            content, parent = msg.get("content") or {}, msg["parent_header"].get("msg_id")
            if parent == msg_id and msg["msg_type"] == "status" and content.get("execution_state") == "idle":
                return True

    def discard(self) -> None:
        """Stop the client's channels and the kernel (a kernel that will not run a notebook)."""
        self.kc.stop_channels()
        run_sync(self.km.shutdown_kernel)(now=True)


def _loop_for_tasks() -> asyncio.AbstractEventLoop | None:
    """The event loop that papermill will run the next notebook on in this thread (jupyter_core's
    ``run_sync``), or None if a loop is running in this thread already: ``run_sync`` then runs each
    call on a loop of another thread, and a task left on this one would never run."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return ensure_event_loop()
    return None


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


class KernelPool:
    """Hands out one fresh kernel per notebook, starting the next while the current one runs.

    The next kernel's start is a task on this thread's event loop, the loop papermill runs each
    notebook on: it goes on while the current notebook's cells wait for their kernel, instead of
    holding up the runner between two notebooks.

    Kernels talk to the runner over Unix sockets in a private directory (mode 0700): no TCP port on
    this machine for anyone else to try."""

    def __init__(self, cwd: str | Path, *, forked: bool | None = None, endpoints: Sequence[str] = ()):
        self.cwd = str(cwd)
        self.endpoints = tuple(endpoints)  # what the notebooks call: the fork server readies their sessions
        self._spare: asyncio.Task[Prestarted] | Prestarted | None = None
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

    async def _start(self) -> Prestarted:
        self._count += 1
        base = os.path.join(self._kernel_dir(), f"k{self._count}")
        # Absolute socket paths: the kernel runs in the notebooks' directory, the runner elsewhere.
        km = AsyncKernelManager(kernel_name=KERNEL, transport="ipc", ip=f"{base}-ipc", connection_file=f"{base}.json")
        if self._forks is not None:
            km.kernel_id = str(uuid.uuid4())
            provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
            provisioner.forks, provisioner.endpoints = self._forks, self.endpoints
            km.provisioner = provisioner
        await km.start_kernel(
            extra_arguments=[f"--IPKernelApp.exec_lines={PRELOAD}", *KERNEL_OPTIONS],
            cwd=self.cwd,
            env={**os.environ, RUNNER_ENV: "1"},
        )
        kc = km.client()
        kc.start_channels()  # connects now; the engine checks that the kernel is ready when its notebook runs
        return Prestarted(km, kc)

    def _claim_spare(self) -> Prestarted | None:
        """The kernel started for this notebook (its start finished now if the last notebook was too
        short for it), unless it died meanwhile (killed?)."""
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        kernel = spare if isinstance(spare, Prestarted) else ensure_event_loop().run_until_complete(spare)
        if not run_sync(kernel.km.is_alive)():
            kernel.kc.stop_channels()
            run_sync(kernel.km.cleanup_resources)()
            return None
        return kernel

    def take(self, *, more: bool) -> Prestarted:
        """A kernel for the next notebook; with ``more``, the one after it starts while it runs."""
        kernel = self._claim_spare() or run_sync(self._start)()
        if more:
            loop = _loop_for_tasks()
            self._spare = loop.create_task(self._start()) if loop else run_sync(self._start)()
        return kernel

    def render_worker(self) -> RenderWorker | None:
        """An HTML render worker forked by this pool's fork server (``record.render_worker``), or
        None where there is no fork server or it cannot fork one."""
        if self._forks is None:
            return None
        try:
            return self._forks.render_worker()
        except ForkServerGone:
            return None

    def close(self) -> None:
        """Shut down the kernel started for a notebook that will not run; remove the sockets."""
        spare, self._spare = self._spare, None
        if isinstance(spare, asyncio.Task):
            try:
                spare = ensure_event_loop().run_until_complete(spare)
            except Exception:
                spare = None  # it never started: nothing to stop
        if spare is not None:
            spare.discard()
        if self._forks is not None:
            self._forks.close()
            self._forks = None
        if self._dir is not None:
            scratch.release(self._dir)
            self._dir = None
