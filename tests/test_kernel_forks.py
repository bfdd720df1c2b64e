"""Phase kernels forked from the run's fork server (``vpclink.kernel_forks``), as the runner gets them
from ``KernelPool``: each notebook still has a fresh kernel of its own, in the notebooks' directory,
with the runner's environment, the runbook library already imported and the notebook tooling not;
closing the pool leaves no process behind; a fork server that has gone is replaced by the usual way
of starting kernels, never by a failed run."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import papermill
import pytest
from runbook_support import wait_until
from vpclink.kernel_forks import ForkServerGone, KernelForks, alive
from vpclink.kernels import KERNEL, KernelPool, register_engine
from vpclink.notebook.settings import RUNNER_ENV

PROBE = """
import json, logging, os, sys
from importlib import resources
from vpclink import fields, params
from vpclink.notebook.display import _full_frame
marker_before = "marker" in globals()
marker = 1
modules, checks = set(sys.modules), fields._adapter.cache_info().misses
table = _full_frame()({"step": ["create"], "resource": ["ri-1"]})
repr(table), table._repr_html_()
with resources.as_file(resources.files("vpclink") / "examples" / "example.yaml") as path:
    params.load(path)
first_use = {"modules": sorted(set(sys.modules) - modules), "checks": fields._adapter.cache_info().misses - checks}
log = logging.getLogger("IPKernelApp")
print(json.dumps({
    "first_use": first_use, "debug": log.isEnabledFor(logging.DEBUG), "warning": log.isEnabledFor(logging.WARNING),
    "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
    "runner_env": os.environ.get("VPCLINK_RUNNER"), "probe_env": os.environ.get("VPCLINK_TEST_PROBE"),
    "marker_before": marker_before,
    "loaded": sorted(m for m in ("vpclink.notebook", "pandas", "nbformat", "jsonschema", "papermill")
                     if m in sys.modules),
    "name": open("/proc/self/comm").read().strip(),
    "stamped": __import__("vpclink.record.provenance").record.provenance.software.cache_info().currsize,
    "sessions": sorted(__import__("darabonba.core").core.DaraCore._sessions),
}))
"""


def _probe_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(PROBE)]
    nbformat.write(nb, str(path))
    return path


def _run(source: Path, out: Path, kernel: object) -> dict:
    papermill.execute_notebook(
        str(source), str(out), kernel_name=KERNEL, engine_name=register_engine(), kernel=kernel, progress_bar=False
    )
    cell = nbformat.read(str(out), as_version=4).cells[0]
    return json.loads("".join(o["text"] for o in cell.outputs if o.get("name") == "stdout"))


def _two_notebooks(workdir: Path, tmp_path: Path, endpoints: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """The probe notebook run twice from one pool, as a run's phases are: (first, second) probes."""
    source = workdir / "probe.ipynb"
    pool = KernelPool(workdir, forked=True, endpoints=endpoints)
    try:
        first = _run(source, tmp_path / "one.ipynb", pool.take(more=True))
        second = _run(source, tmp_path / "two.ipynb", pool.take(more=False))
    finally:
        pool.close()
    return first, second


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The notebooks' directory, holding the probe notebook."""
    (tmp_path / "notebooks").mkdir()
    _probe_notebook(tmp_path / "notebooks" / "probe.ipynb")
    return tmp_path / "notebooks"


def test_each_notebook_gets_a_fresh_forked_kernel_with_the_runners_environment(tmp_path, workdir, monkeypatch) -> None:
    monkeypatch.setenv("VPCLINK_TEST_PROBE", "from-the-runner")
    first, second = _two_notebooks(workdir, tmp_path)
    assert first["pid"] != second["pid"] and os.getpid() not in (first["ppid"], second["ppid"])
    assert first["ppid"] == second["ppid"]  # both are children of the run's fork server
    assert (first["name"], second["name"]) == ("vpclink-k1", "vpclink-k2")
    for seen in (first, second):
        assert seen["cwd"] == str(workdir)
        assert seen["runner_env"] == "1" and seen["probe_env"] == "from-the-runner"
        assert seen["marker_before"] is False  # no name from another notebook
        assert seen["loaded"] == ["pandas", "vpclink.notebook"]  # the runbook library, not the notebook tooling
    # what software ran (git and package metadata) was worked out once, by the fork server as the first
    # kernel started: the later kernels do not run git again, each as its notebook starts
    assert second["stamped"] == 1
    # closed: the fork server and every kernel it forked are gone
    assert not alive(first["ppid"]) and not alive(first["pid"]) and not alive(second["pid"])
    assert first["sessions"] == second["sessions"] == []  # no endpoint named: no SDK session made ahead
    # what the cells do first (a table, the parameter file) was done once by the fork server, not per kernel
    assert first["first_use"] == {"modules": [], "checks": 0}, "see kernel_forks.CELL_MODULES"
    # ipykernel's debug lines are not made at all (traitlets made each, then dropped it); warnings are
    assert (first["debug"], first["warning"]) == (False, True)


def test_kernels_find_the_sdk_session_of_the_runs_endpoint_made_by_the_fork_server(tmp_path, workdir) -> None:
    # the session a call to the endpoint uses (tests/test_sdk_sessions.py), made once before the first fork
    first, second = _two_notebooks(workdir, tmp_path, endpoints=("127.0.0.1:9",))
    assert len(first["sessions"]) == 1 and "127.0.0.1:9" in first["sessions"][0]
    assert second["sessions"] == first["sessions"]


def test_a_fork_server_that_died_is_replaced_by_kernels_started_the_usual_way(tmp_path, workdir) -> None:
    source = workdir / "probe.ipynb"
    pool = KernelPool(workdir, forked=True)
    try:
        first = _run(source, tmp_path / "one.ipynb", pool.take(more=False))
        os.kill(first["ppid"], signal.SIGKILL)  # the fork server
        second = _run(source, tmp_path / "two.ipynb", pool.take(more=False))
    finally:
        pool.close()
    assert second["ppid"] == os.getpid()  # started by jupyter_client, as without a fork server
    assert second["marker_before"] is False and second["cwd"] == str(workdir) and second["runner_env"] == "1"
    assert not alive(second["pid"])


def test_without_forking_kernels_start_as_jupyter_client_starts_them(tmp_path, workdir) -> None:
    source = workdir / "probe.ipynb"
    pool = KernelPool(workdir, forked=False)
    try:
        seen = _run(source, tmp_path / "one.ipynb", pool.take(more=False))
    finally:
        pool.close()
    assert seen["ppid"] == os.getpid() and seen["runner_env"] == "1" and RUNNER_ENV == "VPCLINK_RUNNER"
    assert seen["loaded"] == ["pandas", "vpclink.notebook"]


def test_a_shared_fork_server_kills_a_runners_kernels_when_that_runner_hangs_up(tmp_path) -> None:
    """A fleet's links share one fork server: one link's runner ending (or dying) takes its kernels
    with it and leaves the other links' kernels running; the fleet's end takes them all."""
    owner = KernelForks.start(str(tmp_path), shared=True)
    one, other = KernelForks.connect(owner.address), KernelForks.connect(owner.address)

    def kernel(forks: KernelForks, name: str) -> int:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", str(tmp_path / f"{name}.json")]
        return forks.spawn(argv, str(tmp_path), dict(os.environ), name)

    try:
        mine, theirs = kernel(one, "k1"), kernel(other, "k2")
        assert alive(mine) and alive(theirs)
        one.close()
        wait_until(lambda: not alive(mine), 30, "the kernel of the runner that hung up to be killed")
        assert alive(theirs)
    finally:
        assert other.close() == 0.0  # a connected handle owns no process
        cpu = owner.close()
    wait_until(lambda: not alive(theirs), 30, "the fleet's end to kill the remaining kernel")
    assert cpu > 0.5  # the fleet's record counts the server's imports and its kernels (fleet.json)
    with pytest.raises(ForkServerGone):
        KernelForks.connect(owner.address)


def test_a_fork_server_that_cannot_start_leaves_kernels_to_start_the_usual_way(tmp_path, workdir, monkeypatch) -> None:
    def no_process(cls: type, kernel_dir: str, *, shared: bool = False) -> KernelForks:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(KernelForks, "start", classmethod(no_process))
    pool = KernelPool(workdir, forked=True)
    try:
        seen = _run(workdir / "probe.ipynb", tmp_path / "one.ipynb", pool.take(more=False))
    finally:
        pool.close()
    assert seen["ppid"] == os.getpid() and seen["marker_before"] is False and seen["runner_env"] == "1"


def test_a_phase_kernel_keeps_no_ipython_history(tmp_path, workdir) -> None:
    """A phase kernel would otherwise write every cell it runs, parameters included, into the user's
    IPython history database, shared by every kernel of every run."""
    source = workdir / "history.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("print(get_ipython().history_manager.enabled)")]
    nbformat.write(nb, str(source))
    pool = KernelPool(workdir, forked=True)
    try:
        papermill.execute_notebook(
            str(source),
            str(tmp_path / "out.ipynb"),
            kernel_name=KERNEL,
            engine_name=register_engine(),
            kernel=pool.take(more=False),
            progress_bar=False,
        )
    finally:
        pool.close()
    outputs = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4).cells[0].outputs
    assert [o["text"].strip() for o in outputs] == ["False"]


def test_a_kernel_that_died_before_its_notebook_fails_the_notebook_as_a_dead_kernel(tmp_path, workdir) -> None:
    """The engine checks that the kernel answers before the first cell: a dead one fails the notebook
    with the words a fleet retries on (``fleet.run.KERNEL_DIED``), and leaves no process behind."""
    from vpclink.fleet.run import KERNEL_DIED

    pool = KernelPool(workdir, forked=True)
    try:
        kernel = pool.take(more=False)
        pid = kernel.km.provisioner.pid
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid), 30, "the kernel to die")
        with pytest.raises(Exception) as failed:
            _run(workdir / "probe.ipynb", tmp_path / "one.ipynb", kernel)
    finally:
        pool.close()
    assert KERNEL_DIED.search(str(failed.value)), failed.value


def test_a_notebook_on_disk_while_it_runs_is_valid_and_shows_the_cells_done(tmp_path, workdir) -> None:
    """The notebook is written as each code cell starts (not for markdown cells), compact and
    unchecked while it runs, each write replacing the file whole: a record read or killed mid-cell is a
    valid notebook with every finished cell's output, and the cell it stopped in marked running. Its
    last write is papermill's usual layout."""
    flag = tmp_path / "second-cell-started"
    source = workdir / "slow.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("print('first cell done')"),
        nbformat.v4.new_markdown_cell("## Then a cell that does not end by itself"),
        nbformat.v4.new_code_cell(f"import time\nopen({str(flag)!r}, 'w').close()\ntime.sleep(600)"),
    ]
    nbformat.write(nb, str(source))
    out = tmp_path / "out.ipynb"
    pool = KernelPool(workdir, forked=True)
    outcome: list[BaseException | None] = []
    try:
        kernel = pool.take(more=False)

        def execute() -> None:
            try:
                _run_notebook(source, out, kernel)
                outcome.append(None)
            except BaseException as e:  # the kernel is killed below: papermill says so
                outcome.append(e)

        runner = threading.Thread(target=execute)
        runner.start()

        def running_second_cell() -> bool:
            if not flag.exists() or not out.exists():
                return False
            cells = json.loads(out.read_text())["cells"]
            return cells[2]["metadata"]["papermill"]["status"] == "running"

        wait_until(running_second_cell, 60, "the second code cell to be running, on disk")
        text = out.read_text()
        on_disk = nbformat.reads(text, as_version=4)
        nbformat.validate(on_disk)  # raises if it is not a valid notebook
        assert "first cell done" in on_disk.cells[0].outputs[0]["text"]
        assert [c.metadata.papermill["status"] for c in on_disk.cells] == ["completed", "completed", "running"]
        assert oct(out.stat().st_mode & 0o777) == "0o600"  # as every record file: its owner's only
        os.kill(kernel.km.provisioner.pid, signal.SIGKILL)
        runner.join(120)
    finally:
        pool.close()
    assert outcome and outcome[0] is not None  # the notebook failed with its kernel
    final = out.read_text()
    assert final.startswith("{\n") and nbformat.reads(final, as_version=4).cells[0].outputs


def _run_notebook(source: Path, out: Path, kernel: object) -> None:
    papermill.execute_notebook(
        str(source), str(out), kernel_name=KERNEL, engine_name=register_engine(), kernel=kernel, progress_bar=False
    )


def test_kernels_are_handed_out_from_inside_a_running_event_loop_too(tmp_path, workdir) -> None:
    """A run started where an event loop is running in the thread (a notebook's own kernel, a browser
    driver): the next kernel is then started before it is needed, not left as a task of a loop that
    papermill does not run."""

    async def inside() -> tuple[dict, dict]:
        return _two_notebooks(workdir, tmp_path)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        first, second = asyncio.run(inside())
    else:  # a loop left running in this thread by an earlier test (a browser driver's): the same case
        first, second = _two_notebooks(workdir, tmp_path)
    assert first["pid"] != second["pid"] and not first["marker_before"] and not second["marker_before"]
    assert not alive(first["pid"]) and not alive(second["pid"])


KERNEL_START = """
import json, os, sys
from vpclink import kernel_forks
from vpclink.kernels import KERNEL_OPTIONS

kernel_forks.preload()
directory = os.getcwd()  # the test's own temporary directory
out = os.path.join(directory, "new.json")
pid = os.fork()
if pid == 0:  # as a forked kernel starts, short of serving
    from ipykernel.kernelapp import IPKernelApp

    before = set(sys.modules)
    IPKernelApp.instance().initialize(
        ["-f", os.path.join(directory, "k.json"), "--transport=ipc", "--ip=" + os.path.join(directory, "ipc"),
         "--IPKernelApp.exec_lines=" + kernel_forks.PRELOAD, *KERNEL_OPTIONS]
    )
    with open(out, "w") as f:
        json.dump(sorted(set(sys.modules) - before), f)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print(json.dumps({"status": status, "new": json.load(open(out))}))
"""


def test_a_forked_kernel_imports_nothing_as_it_starts(tmp_path) -> None:
    # Each kernel's start would otherwise import ipykernel's debugger (debugpy) and the rest for itself.
    done = subprocess.run(
        [sys.executable, "-c", KERNEL_START], capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["status"] == 0
    assert seen["new"] == [], f"add these to kernel_forks.KERNEL_MODULES: {seen['new']}"
    assert "Debugger warning" not in done.stderr  # the fork server's stderr is the command's
