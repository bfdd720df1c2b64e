"""``vpclink teardown FLEET_RUN_DIR --dry-run``: what tearing the fleet down would remove, link by link,
changing nothing.

First, how the teardown would run the links under ``--max-concurrency`` and ``--max-errors`` (which
first, which as others end, when it would stop starting them). Then each link's own ``teardown
LINK_RUN_DIR --dry-run`` (a link with no run directory: ``teardown params/<link>.yaml --dry-run``,
which finds by its tags whatever an earlier run may have made) runs in a subprocess, one link after
another, and its plan is printed under the link's name. No mutating call is
made and the fleet's records are not written: ``fleet.json`` and ``index.html`` keep saying what the
last real command did. Each link's dry run keeps its plan in a ``-plan`` directory of its own beside the
link's records, as a single link's does; the fleet's resume and teardown never take one of those.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .model import Fleet
from .rate import RateControl, Threshold
from .run import LINKS_DIR, PARAMS_DIR, FleetOptions, find_link_run, load_fleet_dir

EXIT_OK, EXIT_FAILED = 0, 1
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
LINK_TIMEOUT_S = 1800  # a plan reads; this only bounds a link whose command hangs


def preview_teardown(run_dir: str | Path, options: FleetOptions) -> int:
    """Print what ``teardown FLEET_RUN_DIR`` would remove for every link; exit 0 when every link's dry
    run succeeded (``FleetError`` for a directory that is not a fleet's)."""
    path = Path(run_dir).resolve()
    fleet = load_fleet_dir(path)
    log = options.log
    log(f"vpclink teardown (dry run): fleet {fleet.name}, {len(fleet.links)} link(s); records: {path}")
    # The dry runs go one after another (they only read); the teardown itself would go as this says.
    rate = RateControl(
        _link_names(fleet),
        Threshold.parse(options.max_concurrency, "--max-concurrency"),
        Threshold.parse(options.max_errors, "--max-errors"),
    )
    for line in rate.describe("vpclink teardown of this directory with these options would tear down"):
        log(f"  {line}")
    failed = [name for name in _link_names(fleet) if not _preview_link(path, name, options, log)]
    if failed:
        log(f"  the dry run failed for {', '.join(failed)} (see above); nothing was changed")
        return EXIT_FAILED
    log("  nothing was changed; `vpclink teardown` of this directory would remove what is listed above")
    return EXIT_OK


def _link_names(fleet: Fleet) -> list[str]:
    return [link.name for link in fleet.links]


def _preview_link(fleet_dir: Path, name: str, options: FleetOptions, log: Callable[[str], None]) -> bool:
    link_dir = find_link_run(fleet_dir / LINKS_DIR, name)
    if link_dir is not None:
        source = [str(link_dir)]
    else:
        params_file = fleet_dir / PARAMS_DIR / f"{_SAFE.sub('-', name)}.yaml"
        if not params_file.is_file():
            log(f"  {name}: never started (no run directory, no parameter file): nothing to remove")
            return True
        source = [str(params_file), "--records", str(fleet_dir / LINKS_DIR)]
    argv = [sys.executable, "-m", "vpclink.cli", "teardown", *source, "--dry-run", *options.target_args]
    log(f"  {name}:")
    try:
        proc = subprocess.run(
            argv,
            cwd=fleet_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=LINK_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        log(f"    its dry run did not finish within {LINK_TIMEOUT_S} s")
        return False
    for line in (proc.stdout + proc.stderr).splitlines():
        log(f"    {line}")
    return proc.returncode == 0
