"""The fleet's engine on an existing Dask cluster (``--scheduler tcp://HOST:PORT``): a real ``dask
scheduler`` and two ``dask worker`` processes on loopback, started and stopped by the test. Tasks run
in the workers' processes, and closing the engine leaves the cluster running (it is not the engine's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from vpclink.fleet.engine import Engine, EngineError

DASK = [sys.executable, "-m"]
SCHEDULER_ARGS = ["--host", "127.0.0.1", "--port", "0", "--dashboard-address", ":0"]
WORKER_ARGS = ["--nthreads", "2", "--no-nanny", "--host", "127.0.0.1"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """A scheduler and two workers; yields the scheduler's address once both workers joined."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "VPCLINK_ENGINE_TEST": "worker"}
    procs = [
        subprocess.Popen(
            [*DASK, "distributed.cli.dask_scheduler", *SCHEDULER_ARGS, "--scheduler-file", str(scheduler_file)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        from distributed import Client

        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [*DASK, "distributed.cli.dask_worker", *WORKER_ARGS, "--scheduler-file", str(scheduler_file)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with Client(scheduler_file=str(scheduler_file), timeout="120s") as client:
            client.wait_for_workers(2, timeout=120)
            address = json.loads(scheduler_file.read_text())["address"]
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)  # a bound, not a pause: a worker may linger after its scheduler
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_links_run_on_an_existing_cluster_which_the_engine_leaves_running(cluster: str) -> None:
    with Engine(cluster) as engine:
        assert engine.where == cluster and engine.slots() == 4
        # functions a worker can import (a task travels by reference, as run.run_link does)
        pids = [engine.submit(os.getpid, key=f"pid-{i}") for i in range(4)]
        envs = [engine.submit(os.getenv, "VPCLINK_ENGINE_TEST", key=f"env-{i}") for i in range(2)]
        pending = engine.as_completed(pids)
        for f in envs:
            pending.add(f)
        done = list(pending)
        assert len(done) == 6
        assert {f.result() for f in envs} == {"worker"}
        assert os.getpid() not in {f.result() for f in pids}
    with Engine(cluster) as again:  # the cluster is still there
        assert again.slots() == 4


def test_a_scheduler_that_does_not_answer_is_reported() -> None:
    with pytest.raises(EngineError) as e:
        Engine("tcp://127.0.0.1:9", timeout_s=1)
    assert "tcp://127.0.0.1:9" in str(e.value)
