"""What ran: the vpclink version, the commit of the checkout it ran from, and the SDK versions.

``run.json``, each phase's entry in it and each executed notebook's metadata carry this stamp, so a
reviewer can tell exactly which code sent the calls a record shows. The commit (and whether the work
tree had uncommitted changes) is known only when vpclink runs from a git checkout; an installed wheel
records its version alone.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

# The distributions whose versions decide what is sent to the cloud.
SDKS = (
    "alibabacloud-vpc20160428",
    "alibabacloud-ecs20140526",
    "alibabacloud-sts20150401",
    "alibabacloud-vpcpeer20220101",  # the VPC peering backend (issue 11)
    "alibabacloud-tea-openapi",
    "alibabacloud-credentials",
)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _checkout() -> Path | None:
    """The root of the git checkout this package is imported from, if it is one."""
    root = Path(__file__).resolve().parents[3]  # lib/vpclink/record/provenance.py -> the checkout
    return root if (root / ".git").exists() and (root / "lib" / "vpclink").is_dir() else None


def _git(root: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run([git, "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@functools.cache
def software() -> dict[str, Any]:
    """The stamp: ``{"vpclink": "0.1.0", "commit": "…" | None, "dirty": bool | None, "sdks": {…}}``."""
    from .. import __version__

    stamp: dict[str, Any] = {"vpclink": _version("vpclink") or __version__, "commit": None, "dirty": None}
    root = _checkout()
    if root is not None:
        head = _git(root, "rev-parse", "HEAD")
        if head:
            stamp["commit"] = head.strip()
            status = _git(root, "status", "--porcelain", "--untracked-files=no")
            stamp["dirty"] = None if status is None else bool(status.strip())
    stamp["sdks"] = {dist: _version(dist) for dist in SDKS}
    return stamp


def describe(stamp: dict[str, Any]) -> str:
    """One line for a notebook or a log: ``vpclink 0.1.0 (commit 1a2b3c4d, uncommitted changes)``."""
    where = ""
    if stamp.get("commit"):
        where = f" (commit {stamp['commit'][:12]}{', uncommitted changes' if stamp.get('dirty') else ''})"
    sdks = ", ".join(f"{k.removeprefix('alibabacloud-')} {v}" for k, v in (stamp.get("sdks") or {}).items() if v)
    return f"vpclink {stamp.get('vpclink')}{where}; SDKs: {sdks}"
