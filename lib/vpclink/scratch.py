"""Private scratch directories (profiles files, kernel sockets, generated notebooks) that a killed run
does not leave behind, and that another live run never loses.

Each directory holds a lock file that its process keeps locked (``flock``) for as long as it lives:
the kernel releases the lock when the process ends, however it ends (``kill -9`` included). Making a
new directory first sweeps the old ones, removing a directory only when it belongs to this user and
its lock can be taken, i.e. its owner is provably gone. A PID says nothing of the sort (PIDs are
reused, and a process in another PID namespace sharing the temporary directory has PIDs of its own).

A directory is created under a name the sweep does not match, locked, then renamed into place, so no
sweep ever sees a directory whose lock is not held yet. Directories without a lock file (older
versions) are left alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

LOCK = ".owner.lock"

# The lock files this process holds, by directory: open for as long as the process lives or the
# directory exists (closing the descriptor would release the lock).
_HELD: dict[str, int] = {}


def _owner_gone(directory: Path) -> bool:
    """Whether ``directory``'s owner has ended: its lock file exists and can be locked."""
    try:
        fd = os.open(directory / LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False  # no lock file (an older version's directory, or not ours): not provably gone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held: its owner is alive
    finally:
        os.close(fd)  # releases the lock we may have taken
    return True


def sweep(kind: str, root: str | None = None) -> list[str]:
    """Remove this user's ``kind`` directories whose owner has ended; returns what was removed."""
    removed = []
    base = Path(root or tempfile.gettempdir())
    uid = os.getuid()
    for entry in base.glob(f"vpclink-{kind}-*"):
        try:
            info = entry.lstat()
        except OSError:
            continue
        if not entry.is_dir() or entry.is_symlink() or info.st_uid != uid or str(entry) in _HELD:
            continue
        if _owner_gone(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry))
    _forget_removed()
    return removed


def _forget_removed() -> None:
    """Close the lock files of this process's directories that are gone (removed when done)."""
    for path, fd in list(_HELD.items()):
        if not os.path.isdir(path):
            os.close(fd)
            del _HELD[path]


def private_dir(kind: str, root: str | None = None) -> str:
    """A new directory only this user can read (mode 0700), locked by this process for its lifetime."""
    sweep(kind, root)
    staging = tempfile.mkdtemp(prefix=f".vpclink-{kind}-new-", dir=root)
    fd = os.open(os.path.join(staging, LOCK), os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    final = tempfile.mkdtemp(prefix=f"vpclink-{kind}-{os.getpid()}-", dir=root)
    os.rmdir(final)  # a unique name; the locked directory takes it
    os.rename(staging, final)
    _HELD[final] = fd
    return final


def release(directory: str) -> None:
    """Remove one of this process's directories and release its lock."""
    shutil.rmtree(directory, ignore_errors=True)
    fd = _HELD.pop(directory, None)
    if fd is not None:
        os.close(fd)
