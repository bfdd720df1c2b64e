"""vpclink's per-user state on this machine: where it lives, the lock of a link's side, and what the
runs of a link on this machine created.

**Where.** ``$VPCLINK_STATE_DIR``, else ``$XDG_STATE_HOME/vpclink``, else ``~/.local/state/vpclink``
(the XDG Base Directory rule for state that outlives a run but is not worth a backup), created 0700.
Every records directory of the user shares it: two runs of one link from two terminals, or two
operators rehearsing with two records folders, meet here.

**The lock.** A run holds the lock of (link, side) while it looks for one of that side's resources
and creates it when missing, and while it removes them: without it, two runs that both look before
either creates would each create one (a check-then-act race). The key is the link's name and the
side's account scope (role, region, VPC), so two links never wait for each other. It is a
``filelock`` lock (``flock`` on POSIX): the kernel releases it when its holder dies, even by
``kill -9``, so a crashed run never blocks the next one. The holder writes who it is beside the lock,
so that a run that waits can say for whom. Across machines the ClientTokens keep creates single
(``phases.base.PhaseContext.token``); the lock only saves a second run on the same machine from
doing the work twice.

**The register.** Under the lock, a run notes the IDs it created and the ClientToken generation it
used, per step (``Register``). A second run on this machine reads them instead of a list that may lag
(so it says "already there", not "created", about the first run's interface), and teardown from
parameters alone knows what to delete by ID. The register is a hint that makes things faster and
truer, never the only source: every ID in it is checked against the cloud before use.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

STATE_ENV = "VPCLINK_STATE_DIR"
LOCKS = "locks"
REGISTER = "links"


class LockTimeout(RuntimeError):
    """Another run held the lock of a link's side for longer than this run would wait."""


def state_home() -> Path:
    """The per-user state directory (created 0700; see the module docstring)."""
    explicit = os.environ.get(STATE_ENV)
    if explicit:
        home = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_STATE_HOME")
        base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
        home = base / "vpclink"
    return private_dir(home)


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner can enter (0700), created when missing."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user; set {STATE_ENV} to a directory of your own")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def side_key(link: str, role: str, region: str, vpc_id: str) -> str:
    """The file stem of a link's side: readable, and unique per (link, role, region, VPC)."""
    digest = hashlib.sha256(f"{link}\n{role}\n{region}\n{vpc_id}".encode()).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", link)[:64]
    return f"{safe}.{role}.{digest}"


class SideLock:
    """The lock of one side of one link, reentrant within the run (thread) that holds it."""

    def __init__(self, key: str, *, run_id: str, home: Path | None = None):
        directory = private_dir((home or state_home()) / LOCKS)
        self.path = directory / f"{key}.lock"
        self.holder_file = directory / f"{key}.holder"
        self.run_id = run_id
        self._lock = FileLock(str(self.path), mode=0o600)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it (may be stale once the holder is gone)."""
        try:
            data = json.loads(self.holder_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "another vpclink run"
        if not isinstance(data, dict):
            return "another vpclink run"
        return f"run {data.get('run', '?')} (process {data.get('pid', '?')} on {data.get('host', '?')})"

    @contextmanager
    def hold(self, timeout: float, waiting: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the lock for the block; wait up to ``timeout`` seconds for another holder (telling
        ``waiting`` once whom it waits for), then ``LockTimeout``."""
        outer = self._lock.is_locked
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            if waiting is not None:
                waiting(self.holder())
            try:
                self._lock.acquire(timeout=timeout, poll_interval=0.05)
            except Timeout:
                raise LockTimeout(
                    f"{self.holder()} has held {self.path} for more than {timeout:g} s; wait for it to "
                    "finish, or stop it (a stopped run releases the lock at once)"
                ) from None
        try:
            if not outer:
                _write_private(
                    self.holder_file,
                    {"run": self.run_id, "pid": os.getpid(), "host": socket.gethostname(), "since": time.time()},
                )
            yield
        finally:
            self._lock.release()


class Register:
    """What the runs of one side of a link on this machine created, per step (see the module
    docstring). Read and written under that side's :class:`SideLock`."""

    def __init__(self, key: str, home: Path | None = None):
        self.path = private_dir((home or state_home()) / REGISTER) / f"{key}.json"
        self._guard = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, step: str) -> dict[str, Any]:
        """``{"id": ..., "generation": n, "run": ...}`` of the step's last create, or {}."""
        entry = self._read().get(step)
        return entry if isinstance(entry, dict) else {}

    def ids(self) -> dict[str, str]:
        """Every step's resource ID still noted."""
        return {k: str(v["id"]) for k, v in self._read().items() if isinstance(v, dict) and v.get("id")}

    def note(self, step: str, resource_id: str, generation: int, run_id: str) -> None:
        self._update(step, {"id": resource_id, "generation": generation, "run": run_id, "at": time.time()})

    def gone(self, step: str) -> None:
        """The step's resource was deleted: its generation is spent, the next create takes the next."""
        entry = self.get(step)
        if entry:
            self._update(step, {"id": "", "generation": int(entry.get("generation", 0)) + 1, "run": entry.get("run")})

    def _update(self, step: str, entry: dict[str, Any]) -> None:
        with self._guard:
            data = self._read()
            data[step] = entry
            _write_private(self.path, data)


def _write_private(path: Path, data: Any) -> None:
    """Write JSON atomically, readable by its owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)
