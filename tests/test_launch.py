"""The ``vpclink`` command's process (``vpclink.launch``): it exits without the interpreter's teardown,
so everything the command printed must still reach a pipe whole and its exit code must hold; and a
command that runs notebooks starts the kernel fork server before its own imports, which the run then
uses, and which is gone when the command ends."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from runbook_support import wait_until
from vpclink import kernel_forks
from vpclink.cli import examples
from vpclink.kernel_forks import ForkServerGone, KernelForks, alive
from vpclink.launch import early_kernels

VPCLINK = [sys.executable, "-m", "vpclink"]


def test_what_the_command_prints_reaches_a_pipe_whole() -> None:
    # buffered output on a pipe: only a flush before the process ends gets it there
    done = subprocess.run([*VPCLINK, "example", "fleet-example"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == examples()["fleet-example"] and len(done.stdout) > 4096


def test_the_exit_code_and_the_error_hold(tmp_path) -> None:
    bad = tmp_path / "link.yaml"
    bad.write_text("link: {name: x}\n")
    done = subprocess.run([*VPCLINK, "check", str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "initiator" in done.stderr  # the field it names


@pytest.mark.skipif(not kernel_forks.supported(), reason="kernels are forked on Linux only")
def test_a_command_that_runs_notebooks_has_its_fork_server_from_the_start(monkeypatch) -> None:
    monkeypatch.delenv(kernel_forks.FORKS_ENV, raising=False)
    with early_kernels(["run", "link.yaml"]) as runs_notebooks:
        assert runs_notebooks
        address = os.environ[kernel_forks.FORKS_ENV]
        runner = KernelForks.connect(address)  # as the run's KernelPool connects to it
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", os.path.join(os.path.dirname(address), "k1.json")]
        kernel = runner.spawn(argv, os.getcwd(), dict(os.environ), "k1")
        assert alive(kernel)
        runner.close()
    assert kernel_forks.FORKS_ENV not in os.environ
    wait_until(lambda: not alive(kernel), 30, "the command's end to stop its kernels")
    with pytest.raises(ForkServerGone):
        KernelForks.connect(address)


def test_other_commands_and_a_fleets_links_start_no_fork_server(monkeypatch) -> None:
    monkeypatch.delenv(kernel_forks.FORKS_ENV, raising=False)
    for argv in (["check", "link.yaml"], ["run", "--help"], []):
        with early_kernels(argv):
            assert kernel_forks.FORKS_ENV not in os.environ
    monkeypatch.setenv(kernel_forks.FORKS_ENV, "/the/fleets/forks.sock")
    with early_kernels(["run", "link.yaml"]) as runs_notebooks:
        assert runs_notebooks and os.environ[kernel_forks.FORKS_ENV] == "/the/fleets/forks.sock"
