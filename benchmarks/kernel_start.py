"""What each phase kernel pays before its notebook runs: the preload against the preload that also
imports nbformat, as every kernel did before the record module imported it lazily.

A run of one link starts a kernel per phase and side (16 for the example), so a second of imports per
kernel is most of a run's time on a 2-core machine. nbformat pulls in jsonschema and, where
JupyterLab is installed, its format checkers (``rfc3987_syntax`` builds a grammar at import).

Printed: the median CPU time (user + system, in a fresh interpreter) of each, over ``--repeat`` runs
alternated so that both see the same machine, and their ratio. Measured on a busy 2-core machine
with the project's development environment (``--repeat 3``): 2.45 s against 4.81 s, 0.51x.

Usage: ``python benchmarks/kernel_start.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys

from vpclink.kernels import PRELOAD

CASES = {
    "kernel preload (today)": PRELOAD,
    "baseline: preload + nbformat (before)": f"{PRELOAD}; import nbformat",
}


def cpu_seconds(code: str) -> float:
    """User plus system CPU seconds of a fresh interpreter running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeat):
        for name, code in CASES.items():
            times[name].append(cpu_seconds(code))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"  {name:<40} {value:6.2f} s CPU")
    today, before = medians.values()
    print(f"  ratio today / before: {today / before:.2f} x")


if __name__ == "__main__":
    main()
