"""The ``vpclink`` command's process: what happens around :func:`vpclink.cli.main`.

What a person would wait for, and the CLI cannot do from inside:

* **The kernel fork server starts first.** A command that runs phase notebooks (``run``, ``plan``,
  ``teardown``) needs the fork server of ``kernel_forks``, whose imports (the SDKs, pandas, ipykernel)
  take about a second. Started here, before the CLI's own imports, the two import at once on two
  cores instead of one after the other. The runner finds it as a fleet's links find theirs
  (``kernel_forks.FORKS_ENV``); a command that is already a fleet's link uses the fleet's. (A fleet's
  own command starts one too before it knows it runs a fleet, which starts its shared servers: that
  one stays idle.)
* **Imports without the garbage collector** (``importing.without_gc``): about a quarter less
  time importing the CLI, the SDKs and papermill.
* **No interpreter teardown.** Once the command has returned, everything it wrote is closed (records,
  the embedded emulator's database) and its kernels are stopped; tearing down the modules of papermill,
  pandas and the SDKs would only cost about 0.4 s more. The streams are flushed and the process exits.

An exception that escapes the CLI is left to Python as usual (its traceback, exit code 1).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from . import kernel_forks, scratch
from .importing import without_gc
from .processes import leave

RUNS_NOTEBOOKS = frozenset({"run", "plan", "teardown"})


def main() -> NoReturn:
    """The console script ``vpclink`` and ``python -m vpclink``."""
    argv = sys.argv[1:]
    with early_kernels(argv) as runs_notebooks:
        with without_gc(freeze=True):
            from .cli import main as cli_main

            if runs_notebooks:
                from . import kernels  # noqa: F401  (papermill and jupyter_client, which the run loads)
        code = cli_main(argv)
    leave(code)


@contextmanager
def early_kernels(argv: Sequence[str]) -> Iterator[bool]:
    """Start the kernel fork server now if the command will run notebooks (what it yields), and stop
    it at the end. A fleet's link finds its fleet's server in its environment already."""
    runs_notebooks = bool(argv) and argv[0] in RUNS_NOTEBOOKS and not {"-h", "--help"} & set(argv)
    if not runs_notebooks or kernel_forks.FORKS_ENV in os.environ or not kernel_forks.supported():
        yield runs_notebooks
        return
    directory = scratch.private_dir("kernels")
    try:
        forks = kernel_forks.KernelForks.start(directory, shared=True)
    except OSError:  # no process to spare: the runner starts kernels the usual way
        scratch.release(directory)
        yield runs_notebooks
        return
    os.environ[kernel_forks.FORKS_ENV] = forks.address
    try:
        yield runs_notebooks
    finally:
        del os.environ[kernel_forks.FORKS_ENV]
        forks.close()
        scratch.release(directory)
