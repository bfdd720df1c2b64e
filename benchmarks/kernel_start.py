"""What a run's phase kernels cost before their notebooks run: forked from the run's fork server
(``vpclink.kernel_forks``, the default on Linux) against started the usual way by jupyter_client
(the baseline, what every run did before).

One link runs seven phase notebooks, each in a fresh kernel that imports the runbook library
(``PRELOAD``: the SDKs, pandas, ``vpclink.notebook``) before its first cell; a fleet does that per
link. Each case is a fresh interpreter that takes ``--kernels`` kernels from a ``KernelPool`` one
after the other as the runner does (the next one started while the current one is in use), waits
until each answers, and closes the pool.

Printed, as medians over ``--repeat`` runs alternated so that both cases see the same machine: the
wall time until every kernel had answered, the CPU seconds of the whole process tree (the pool's
process, the fork server and every kernel: user + system, from ``wait4``), and the ratios forked /
usual.

Measured on a shared 2-core machine while other jobs ran (load average 7-9; ``--repeat 2``, 7
kernels): forked 16.1 s wall and 5.7 s CPU, the usual way 39.6 s wall and 17.1 s CPU: 0.41x the wall
time, 0.33x the CPU. (Earlier, dropping nbformat from the preload had made each kernel about 2x
cheaper: 2.45 s against 4.81 s CPU.)

Usage: ``python benchmarks/kernel_start.py [--repeat N] [--kernels N]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TAKE = """
import sys
from jupyter_core.utils import run_sync
from vpclink.kernels import KernelPool

count, forked, cwd = int(sys.argv[1]), sys.argv[2] == "forked", sys.argv[3]
pool = KernelPool(cwd, forked=forked)
try:
    for n in range(count):
        km = pool.take(more=n + 1 < count)
        client = km.client()
        client.start_channels()
        run_sync(client.wait_for_ready)(timeout=120)
        client.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
finally:
    pool.close()
"""

CASES = ("forked", "usual")


def measure(case: str, kernels: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds (the whole process tree) of taking ``kernels`` kernels."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as cwd:
        subprocess.run([sys.executable, "-c", TAKE, str(kernels), case, cwd], check=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kernels", type=int, default=7, help="kernels per run (one link: 7)")
    args = parser.parse_args()
    walls: dict[str, list[float]] = {case: [] for case in CASES}
    cpus: dict[str, list[float]] = {case: [] for case in CASES}
    for _ in range(args.repeat):
        for case in CASES:
            wall, cpu = measure(case, args.kernels)
            walls[case].append(wall)
            cpus[case].append(cpu)
    wall = {case: statistics.median(v) for case, v in walls.items()}
    cpu = {case: statistics.median(v) for case, v in cpus.items()}
    print(f"{args.kernels} phase kernels, one after the other ({args.repeat} run(s) each, medians)")
    print(f"  forked from the fork server:   {wall['forked']:6.2f} s wall {cpu['forked']:6.2f} s CPU")
    print(f"  baseline, started the usual way: {wall['usual']:6.2f} s wall {cpu['usual']:6.2f} s CPU")
    ratios = f"wall {wall['forked'] / wall['usual']:.2f} x, CPU {cpu['forked'] / cpu['usual']:.2f} x"
    print(f"  ratio forked / usual: {ratios}")


if __name__ == "__main__":
    main()
