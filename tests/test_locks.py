"""The lock of a link's side and this machine's register of what runs created (``vpclink.locks``)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from vpclink.locks import LockTimeout, Register, SideLock, side_key, state_home

KEY = side_key("demo", "initiator", "cn-qingdao", "vpc-m5e1tutorialvpc1qd00001")


def test_a_held_lock_makes_another_run_wait_and_names_the_holder() -> None:
    first, second = SideLock(KEY, run_id="run-A"), SideLock(KEY, run_id="run-B")
    told: list[str] = []
    with first.hold(timeout=1):
        with first.hold(timeout=1):  # the holder may take it again (nested steps of one run)
            pass
        with pytest.raises(LockTimeout, match="run run-A"), second.hold(timeout=0.2, waiting=told.append):
            pass
    assert told and "run run-A" in told[0] and str(os.getpid()) in told[0]
    with second.hold(timeout=1):  # released: the next run goes ahead at once
        assert second.held


def test_a_holder_killed_with_sigkill_releases_the_lock(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = (
        "import sys, pathlib; from vpclink.locks import SideLock\n"
        f"lock = SideLock({KEY!r}, run_id='doomed')\n"
        "with lock.hold(timeout=5):\n"
        f"    pathlib.Path({str(ready)!r}).write_text('held')\n"
        "    sys.stdin.read()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the child never took the lock"
            time.sleep(0.02)
        with pytest.raises(LockTimeout, match="doomed"), SideLock(KEY, run_id="me").hold(timeout=0.2):
            pass
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        with SideLock(KEY, run_id="me").hold(timeout=5):  # the kernel released it with the process
            pass
    finally:
        if child.poll() is None:
            child.kill()


def test_the_register_notes_ids_and_spends_a_generation_per_teardown() -> None:
    register = Register(KEY)
    assert register.get("create-router-interface") == {}
    register.note("create-router-interface", "ri-aaaaaaaaaaaa", 0, "run-1")
    assert Register(KEY).get("create-router-interface")["id"] == "ri-aaaaaaaaaaaa"  # shared on this machine
    register.gone("create-router-interface")
    entry = register.get("create-router-interface")
    assert entry["id"] == "" and entry["generation"] == 1
    assert register.ids() == {}
    mode = stat.S_IMODE(register.path.stat().st_mode)
    assert mode == 0o600 and stat.S_IMODE(state_home().stat().st_mode) == 0o700


def test_a_corrupt_register_is_only_a_missing_hint() -> None:
    register = Register(KEY)
    register.path.write_text("{not json")
    assert register.get("anything") == {} and register.ids() == {}
    register.note("x", "ri-bbbbbbbbbbbb", 2, "run-2")
    assert register.get("x")["generation"] == 2


def test_keys_differ_per_link_side_and_vpc() -> None:
    keys = {
        side_key("demo", "initiator", "cn-qingdao", "vpc-1"),
        side_key("demo", "acceptor", "cn-qingdao", "vpc-1"),
        side_key("demo", "initiator", "cn-qingdao", "vpc-2"),
        side_key("other", "initiator", "cn-qingdao", "vpc-1"),
        side_key("../etc/passwd", "initiator", "cn-qingdao", "vpc-1"),
    }
    assert len(keys) == 5 and all("/" not in k for k in keys)
