"""The HTML renderings of a run in a process of their own (``vpclink.record.render_worker``), forked by
the run's kernel fork server: what it writes, what it says when it cannot, that it goes with its
runner, and that a runner whose worker has gone renders in its own process, never losing a record."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import nbformat
import pytest
from runbook_support import wait_until
from test_runner import PARAMS, new_run, notebooks, target  # noqa: F401  (notebooks: a fixture)
from vpclink import phases
from vpclink.kernel_forks import alive
from vpclink.kernels import KernelPool
from vpclink.record.render_worker import RENDER_NICE, RenderFailed, RenderWorker
from vpclink.runner import Runner


def _executed(path: Path, text: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A phase\n\nWhat it does."),
        nbformat.v4.new_code_cell("phase.apply()", outputs=[nbformat.v4.new_output("stream", text=text)]),
    ]
    nbformat.write(nb, str(path))
    return path


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


@pytest.fixture
def pool(tmp_path: Path):
    pool = KernelPool(tmp_path, forked=True)
    yield pool
    pool.close()


def test_the_worker_renders_in_a_child_of_the_fork_server_at_a_lower_priority(tmp_path: Path, pool) -> None:
    worker = pool.render_worker()
    assert isinstance(worker, RenderWorker)
    notebook = _executed(tmp_path / "00_preflight.ipynb", "created ri-12345\n")
    html = worker.render(notebook)
    assert html == notebook.with_suffix(".html")
    page = html.read_text()
    assert "created ri-12345" in page and "What it does." in page and page.lstrip().startswith("<!DOCTYPE html>")
    with open(f"/proc/{worker.pid}/comm") as f:
        assert f.read().strip() == "vpclink-html"
    stat = _stat(worker.pid)
    assert int(stat[1]) != os.getpid()  # the fork server's child, not the runner's
    assert int(stat[16]) - os.getpriority(os.PRIO_PROCESS, 0) == RENDER_NICE  # nice: below the kernels
    pool.close()  # the runner's end: the worker goes with its kernels
    wait_until(lambda: not alive(worker.pid), 30, "the render worker to end with its runner's pool")


def test_a_notebook_the_worker_cannot_render_is_named_and_the_next_is_rendered(tmp_path: Path, pool) -> None:
    worker = pool.render_worker()
    assert worker is not None
    broken = tmp_path / "01_initiator.ipynb"
    broken.write_text("{ not a notebook")
    with pytest.raises(RenderFailed, match=r"01_initiator\.ipynb"):
        worker.render(broken)
    assert worker.render(_executed(tmp_path / "02_acceptor.ipynb", "ok\n")).exists()


def test_a_worker_that_has_gone_is_a_connection_error(tmp_path: Path, pool) -> None:
    worker = pool.render_worker()
    assert worker is not None
    os.kill(worker.pid, signal.SIGKILL)
    wait_until(lambda: not alive(worker.pid), 30, "the render worker to die")
    with pytest.raises(ConnectionError):
        worker.render(_executed(tmp_path / "00_preflight.ipynb", "x\n"))


def test_without_a_fork_server_there_is_no_worker(tmp_path: Path) -> None:
    pool = KernelPool(tmp_path, forked=False)
    try:
        assert pool.render_worker() is None
    finally:
        pool.close()


def test_a_run_whose_worker_died_renders_every_notebook_in_its_own_process(
    notebooks: Path,  # noqa: F811  (the stand-in phase notebooks of test_runner)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = KernelPool.render_worker
    dead: list[int] = []

    def died_at_once(self: KernelPool) -> RenderWorker | None:
        worker = started(self)
        assert worker is not None
        os.kill(worker.pid, signal.SIGKILL)
        wait_until(lambda: not alive(worker.pid), 30, "the render worker to die")
        dead.append(worker.pid)
        return worker

    monkeypatch.setattr(KernelPool, "render_worker", died_at_once)
    (tmp_path / "allow").touch()
    lines: list[str] = []
    runner = Runner(target(), notebooks_dir=notebooks, log=lines.append)
    todo = ["preflight", "initiator"]
    run_dir, _ = new_run(tmp_path / "runs", runner, planned=todo, selected=todo)
    (run_dir / "allow").touch()
    result = runner.execute(run_dir, todo, PARAMS)
    assert result.exit_code == 0, result.message
    assert dead  # the run did ask for a worker, which was dead before its first rendering
    assert not [line for line in lines if "rendering failed" in line], lines
    for name in todo:
        assert (run_dir / phases.get(name).notebook).with_suffix(".html").exists()
