"""Scratch directories of a killed run (its profiles file holds emulator keys) are removed by the next run."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from vpclink import scratch


def test_a_dead_process_directory_is_swept_and_a_live_one_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    leftover = tmp_path / f"vpclink-profiles-{dead_pid}-abc123"
    leftover.mkdir()
    (leftover / "config.json").write_text("{}")
    mine = tmp_path / f"vpclink-profiles-{os.getpid()}-def456"
    mine.mkdir()
    other_kind = tmp_path / f"vpclink-kernels-{dead_pid}-ghi789"
    other_kind.mkdir()

    fresh = scratch.private_dir("profiles", root=str(tmp_path))

    assert not leftover.exists()
    assert mine.exists() and other_kind.exists()
    assert os.path.basename(fresh).startswith(f"vpclink-profiles-{os.getpid()}-")
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o700
