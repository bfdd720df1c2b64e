"""Private scratch directories (profiles files, kernel sockets) that a killed run does not leave behind.

Each directory's name carries the PID of the process that made it; making a new one first removes
those whose process is gone (a ``kill -9`` gives the owner no chance to clean up).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

_OWNED = re.compile(r"^vpclink-(?P<kind>[a-z]+)-(?P<pid>\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process: not ours to judge
    return True


def sweep(kind: str, root: str | None = None) -> list[str]:
    """Remove ``kind`` directories whose owning process has exited; returns what was removed."""
    removed = []
    base = Path(root or tempfile.gettempdir())
    for entry in base.glob(f"vpclink-{kind}-*"):
        m = _OWNED.match(entry.name)
        if m and m["kind"] == kind and entry.is_dir() and not _alive(int(m["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry))
    return removed


def private_dir(kind: str, root: str | None = None) -> str:
    """A new directory only this user can read (mode 0700), named for this process."""
    sweep(kind, root)
    return tempfile.mkdtemp(prefix=f"vpclink-{kind}-{os.getpid()}-", dir=root)
