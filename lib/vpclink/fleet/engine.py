"""The engine that runs a fleet's links: Dask distributed, behind one small interface.

``Engine()`` starts a local Dask cluster on this machine (worker processes, a few threads each, no
dashboard, loopback only) and stops it on ``close``; ``Engine("tcp://HOST:PORT")`` uses an existing
cluster (``dask scheduler`` / ``dask worker``) and leaves it running. Nothing else changes: the same
task runs a link either way, as a subprocess of the worker (``run.run_link``), so a worker only needs
vpclink installed and the fleet's run directory at the same path (one machine, or a shared disk).

A task whose worker died is rerun by Dask on another worker (the scheduler's ``allowed-failures``);
past that, ``Engine.died(error)`` tells the caller, which may submit it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # distributed is imported when an engine starts: a single link never pays for it
    from distributed import Client, Future, LocalCluster

T = TypeVar("T")

DEFAULT_THREADS_PER_WORKER = 4  # a link's task mostly waits on its subprocess
# Worker processes of the local cluster: two, so that one dying does not lose every link in flight;
# more would only cost memory, since the links run in subprocesses of their own.
DEFAULT_WORKERS = 2


class EngineError(RuntimeError):
    """The engine could not start or reach its cluster."""


class Engine:
    """Submit link tasks to Dask; ``with Engine(...) as engine:`` closes what it started."""

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        workers: int | None = None,
        threads_per_worker: int = DEFAULT_THREADS_PER_WORKER,
        host: str = "127.0.0.1",
        timeout_s: float = 30.0,  # how long to try reaching an existing scheduler
    ):
        from distributed import Client, LocalCluster

        self.scheduler = scheduler
        self._cluster: LocalCluster | None = None
        try:
            if scheduler:
                self._client = Client(scheduler, timeout=f"{timeout_s}s", set_as_default=False)
            else:
                self._cluster = LocalCluster(
                    n_workers=workers or DEFAULT_WORKERS,
                    threads_per_worker=threads_per_worker,
                    processes=True,
                    host=host,
                    # no dashboard; its health endpoint on a free loopback port, not 8787 (often taken)
                    dashboard_address="127.0.0.1:0",
                    scheduler_kwargs={"dashboard": False},
                    memory_limit=0,  # the links' memory is their subprocesses', not the worker's
                    silence_logs=logging.ERROR,
                )
                self._client = Client(self._cluster, set_as_default=False)
        except (OSError, TimeoutError) as e:
            if self._cluster is not None:
                self._cluster.close()
            where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
            raise EngineError(f"cannot use {where}: {e}") from None

    @property
    def where(self) -> str:
        """Where the links run, for the record."""
        return self.scheduler or "local"

    def slots(self) -> int:
        """How many tasks the cluster runs at once now (its workers' threads)."""
        info = self._client.scheduler_info()
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())

    def submit(self, fn: Callable[..., T], *args: Any, key: str) -> Future:
        """Run ``fn(*args)`` on a worker; ``key`` names the task (unique per submission)."""
        return self._client.submit(fn, *args, key=key, pure=False)

    def as_completed(self, futures: Iterable[Future] = ()) -> AsCompleted:
        return AsCompleted(self._client, futures)

    @staticmethod
    def died(error: BaseException) -> bool:
        """Whether a task's error says its worker died (rather than the task failing)."""
        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker

        return isinstance(error, (KilledWorker, CommClosedError))

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsCompleted:
    """Futures in the order they finish; more may be added while iterating."""

    def __init__(self, client: Client, futures: Iterable[Future] = ()):
        from distributed import as_completed as dask_as_completed

        self._inner = dask_as_completed(list(futures), loop=client.loop)

    def add(self, future: Future) -> None:
        self._inner.add(future)

    def __iter__(self) -> Iterator[Future]:
        return iter(self._inner)
