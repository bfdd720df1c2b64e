"""Scratch directories: a killed run's are removed by the next run; a live run's never are, whatever
its PID says; another user's are never touched."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from vpclink import scratch

HOLDER = """
import sys
from vpclink import scratch
print(scratch.private_dir("profiles", root=sys.argv[1]), flush=True)
sys.stdin.read()  # lives until the test closes its stdin (or kills it)
"""


def holder(root: Path) -> tuple[subprocess.Popen[str], Path]:
    """Another vpclink process holding a scratch directory."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def wait_exit(proc: subprocess.Popen[str]) -> None:
    proc.wait(timeout=60)


def test_a_live_owners_directory_is_kept_and_a_killed_ones_removed(tmp_path: Path) -> None:
    proc, held = holder(tmp_path)
    try:
        (held / "config.json").write_text("{}")
        assert scratch.sweep("profiles", root=str(tmp_path)) == []
        fresh = scratch.private_dir("profiles", root=str(tmp_path))
        assert held.exists() and (held / "config.json").exists()
        assert Path(fresh).name.startswith(f"vpclink-profiles-{os.getpid()}-")
        assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o700
    finally:
        proc.send_signal(signal.SIGKILL)
        wait_exit(proc)
    assert scratch.sweep("profiles", root=str(tmp_path)) == [str(held)]
    assert not held.exists() and Path(fresh).exists()  # ours is alive
    scratch.release(fresh)
    assert not Path(fresh).exists()


def test_a_live_owner_is_trusted_even_when_its_pid_looks_dead(tmp_path: Path) -> None:
    """The name's PID is not evidence: a directory named for a dead PID but locked by a live
    process (another PID namespace, a reused PID) stays."""
    proc, held = holder(tmp_path)
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        renamed = held.with_name(f"vpclink-profiles-{int(dead.stdout)}-renamed")
        held.rename(renamed)
        assert scratch.sweep("profiles", root=str(tmp_path)) == []
        assert renamed.exists()
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        wait_exit(proc)
    assert scratch.sweep("profiles", root=str(tmp_path)) == [str(renamed)]


def test_unlocked_other_kinds_and_other_users_directories_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, held = holder(tmp_path)
    proc.stdin.close()  # type: ignore[union-attr]
    wait_exit(proc)
    legacy = tmp_path / "vpclink-profiles-1-legacy"  # no lock file: nothing proves its owner gone
    legacy.mkdir()
    other_kind = tmp_path / "vpclink-kernels-1-abc"
    other_kind.mkdir()
    (other_kind / scratch.LOCK).write_text("")
    monkeypatch.setattr(os, "getuid", lambda: os.geteuid() + 4242)  # as if another user swept
    assert scratch.sweep("profiles", root=str(tmp_path)) == []
    monkeypatch.undo()
    assert scratch.sweep("profiles", root=str(tmp_path)) == [str(held)]
    assert legacy.exists() and other_kind.exists()


MAKER = """
import sys
from vpclink import scratch
for _ in range(int(sys.argv[2])):
    print(scratch.private_dir("kernels", root=sys.argv[1]), flush=True)
sys.stdin.read()
"""


def test_directories_another_process_is_making_are_never_swept(tmp_path: Path) -> None:
    """Directories appear under their final name already locked: sweeps running all the while
    remove none of the directories a live process makes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", MAKER, str(tmp_path), "300"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdin is not None
    made: list[Path] = []
    reader = threading.Thread(target=lambda: made.extend(Path(line.strip()) for line in proc.stdout))  # type: ignore[union-attr]
    reader.start()
    swept: list[str] = []
    while len(made) < 300 and proc.poll() is None:
        swept += scratch.sweep("kernels", root=str(tmp_path))
    try:
        assert swept == [] and len(made) == 300 and all(p.is_dir() for p in made)
    finally:
        proc.stdin.close()
        wait_exit(proc)
        reader.join()
    assert sorted(scratch.sweep("kernels", root=str(tmp_path))) == sorted(str(p) for p in made)
