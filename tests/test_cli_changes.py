"""What an operator sees before and after a change: the plan of a whole run on a fresh cloud, the
confirmation asked before changes (on a terminal; ``--yes``; refused without a terminal), the records'
"created 8 resources in 2 accounts" against a rerun's "changed nothing", and a teardown that shows what
it would remove (``--dry-run``, changing nothing) and lists what it removed.

The emulator runs in this process with immediate asynchronous steps; ``--confirm`` makes the CLI ask on
the emulator exactly as it asks before any change on the real cloud."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from runbook_support import EXAMPLE, Emulator, link_resources, mutating, succeeded
from vpclink import phases
from vpclink.cli import main
from vpclink.record.run import RunState

A_UID, B_UID = "1637243907412983", "1589430122237715"


class Terminal(io.StringIO):
    """Standard input as a terminal with the answers typed in advance."""

    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def vpclink(*argv: str, stdin: io.StringIO | None = None) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = stdin if stdin is not None else Pipe("")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        sys.stdin = saved
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Any:
    state = tmp_path_factory.mktemp("vpclink-state")
    saved = os.environ.get("VPCLINK_STATE_DIR")
    os.environ["VPCLINK_STATE_DIR"] = str(state)  # the locks of this module's runs, nobody else's
    emu = Emulator()
    yield emu, tmp_path_factory.mktemp("records")
    emu.stop()
    if saved is None:
        os.environ.pop("VPCLINK_STATE_DIR", None)
    else:
        os.environ["VPCLINK_STATE_DIR"] = saved


def run_dirs(records: Path) -> list[Path]:
    return sorted(p for p in records.iterdir() if p.is_dir() and (p / "run.json").exists())


def changes_since(emu: Emulator, seq: int) -> list[dict[str, Any]]:
    return succeeded(mutating(emu.journal(since=seq)))


def tree_digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def flow(cloud: Any) -> dict[str, Any]:
    """The commands in order, on one emulator that starts with no link: each step's exit code, output,
    the run directory it made and the cloud's changes it caused."""
    emu, records = cloud
    steps: dict[str, Any] = {}

    def step(name: str, *argv: str, stdin: io.StringIO | None = None) -> None:
        seq, before = emu.last_seq(), set(run_dirs(records))
        code, out = vpclink(*argv, "--emulator", emu.url, stdin=stdin)
        made = sorted(set(run_dirs(records)) - before)
        steps[name] = {"code": code, "out": out, "dirs": made, "changes": changes_since(emu, seq)}

    base = ("--records", str(records))
    step("plan on a fresh cloud", "plan", str(EXAMPLE), *base)
    step("run, not confirmed", "run", str(EXAMPLE), *base, "--confirm", stdin=Terminal("no\n"))
    step("run, confirmed", "run", str(EXAMPLE), *base, "--confirm", stdin=Terminal("yes\n"))
    step("run again", "run", str(EXAMPLE), *base)
    first = steps["run, confirmed"]["dirs"][0]
    steps["first index"] = (first / "index.html").read_text()
    steps["state before teardown"] = link_resources(emu.state())
    digest = tree_digest(first)
    step("teardown dry run", "teardown", str(first), "--dry-run")
    steps["first run changed"] = sorted(
        k for k, v in {**digest, **tree_digest(first)}.items() if "-plan/" not in k and digest.get(k) != v
    )
    steps["state after dry run"] = link_resources(emu.state())
    step("teardown, confirmed", "teardown", str(first), "--confirm", stdin=Terminal("yes\n"))
    return steps


def test_a_plan_on_a_fresh_cloud_names_every_step_and_exits_0(flow: dict[str, Any]) -> None:
    plan = flow["plan on a fresh cloud"]
    assert plan["code"] == 0, plan["out"]
    assert plan["changes"] == []
    out = plan["out"]
    for name in phases.RUN:
        assert f"\n  {name}:\n" in out, name
    assert "create   initiator  CreateRouterInterface" in out and "create   acceptor   CreateRouteEntry" in out
    assert "<initiator router interface, created in 01_initiator>" in out  # what an earlier step will create
    assert f"initiator: account {A_UID}" in out and f"acceptor: account {B_UID}" in out
    assert "the plan: create 8, change 3" in out
    assert "resume" not in out


def test_without_a_terminal_a_change_that_must_be_confirmed_is_refused_before_anything(
    cloud: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, _ = cloud
    seq = emu.last_seq()
    code, out = vpclink("run", str(EXAMPLE), "--records", str(tmp_path), "--emulator", emu.url, "--confirm")
    assert code == 2 and "--yes" in out and "no terminal" in out
    code, out = vpclink("teardown", str(EXAMPLE), "--records", str(tmp_path), "--emulator", emu.url, "--confirm")
    assert code == 2 and "--yes" in out
    assert emu.journal(since=seq) == [] and list(tmp_path.iterdir()) == []
    # the real cloud: refused the same way, before even reading the credential profiles
    monkeypatch.setenv("HOME", str(tmp_path))
    for command in (["run", str(EXAMPLE)], ["teardown", str(EXAMPLE)]):
        code, out = vpclink(*command, "--records", str(tmp_path / "runs"), "--target", "alibabacloud")
        assert code == 2 and "--yes" in out and "Alibaba Cloud" in out and "config.json" not in out
    assert not (tmp_path / "runs").exists()


def test_a_plan_not_confirmed_changes_nothing_and_says_so(flow: dict[str, Any]) -> None:
    stopped = flow["run, not confirmed"]
    assert stopped["code"] == 1, stopped["out"]
    assert "Type yes to go ahead" in stopped["out"] and "not confirmed: nothing was changed" in stopped["out"]
    assert stopped["changes"] == []
    (run_dir,) = stopped["dirs"]
    state = RunState.load(run_dir)
    assert state.result == "not confirmed" and {p.status for p in state.phases} == {"skipped"}
    (plan_dir,) = [p for p in run_dir.iterdir() if p.name.endswith("-plan")]
    assert RunState.load(plan_dir).dry_run and "create   initiator  CreateRouterInterface" in stopped["out"]


def test_a_confirmed_first_run_says_what_it_created(flow: dict[str, Any]) -> None:
    first = flow["run, confirmed"]
    assert first["code"] == 0, first["out"]
    out = first["out"]
    applying = out.index("confirmed; applying:")
    assert out.index("Type yes to go ahead") < applying and "01_initiator         ok" in out[applying:]
    assert "changes: created 8 resources, changed 2 resources in 2 accounts" in out
    state = RunState.load(first["dirs"][0])
    created = [o for o in state.step_outcomes() if o["outcome"] == "created"]
    assert len(created) == 8 and all(o["resource_id"] for o in created)
    interface = next(o for o in created if o["phase"] == "initiator")
    assert interface["resource_id"] == state.outputs["initiator_router_interface_id"]
    index = flow["first index"]
    assert "Created 8 resources, changed 2 resources in 2 accounts." in index
    name = "vpclink-tutorial-qingdao-beijing-initiator"
    assert f"<b>created</b> · initiator · router interface {name} <code>{interface['resource_id']}</code>" in index


def test_a_rerun_says_it_changed_nothing(flow: dict[str, Any]) -> None:
    again = flow["run again"]
    assert again["code"] == 0, again["out"]
    assert again["changes"] and all(c["action"] == "RunCommand" for c in again["changes"])  # the pings only
    assert "changes: changed nothing (11 resources already there)" in again["out"]
    state = RunState.load(again["dirs"][0])
    assert state.changes_summary().startswith("changed nothing")
    assert "Changed nothing (11 resources already there)." in (again["dirs"][0] / "index.html").read_text()


def test_teardown_dry_run_shows_what_would_go_and_changes_nothing(flow: dict[str, Any]) -> None:
    dry = flow["teardown dry run"]
    assert dry["code"] == 0, dry["out"]
    assert dry["changes"] == [] and flow["state after dry run"] == flow["state before teardown"]
    assert flow["first run changed"] == []
    first = RunState.load(flow["run, confirmed"]["dirs"][0])
    assert first.outputs["initiator_router_interface_id"] in dry["out"]
    assert "delete" in dry["out"] and "nothing was changed; this would remove the above" in dry["out"]


def test_a_confirmed_teardown_lists_what_it_removed(flow: dict[str, Any]) -> None:
    done = flow["teardown, confirmed"]
    assert done["code"] == 0, done["out"]
    out = done["out"]
    assert out.index("Type yes to go ahead") < out.index("confirmed; removing:")
    first = RunState.load(flow["run, confirmed"]["dirs"][0])
    removed = out[out.index("  removed:") :]
    for key in ("initiator_router_interface_id", "acceptor_router_interface_id"):
        assert "deleted" in removed and first.outputs[key] in removed, key
    assert any(c["action"] == "DeleteRouterInterface" for c in done["changes"])


def test_the_prompt_on_a_real_terminal(cloud: Any, tmp_path: Path) -> None:
    """A pseudo-terminal as standard input: the command asks, waits for the answer, and stops on "no"."""
    emu, _ = cloud
    leader, follower = os.openpty()
    env = {**os.environ, "VPCLINK_STATE_DIR": os.environ["VPCLINK_STATE_DIR"]}
    command = [sys.executable, "-m", "vpclink.cli", "run", str(EXAMPLE), "--records", str(tmp_path)]
    proc = subprocess.Popen(
        [*command, "--emulator", emu.url, "--confirm"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    os.close(follower)
    seen: list[bytes] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: proc.stdout.read1(4096), b"")))  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + 240
    while b"Type yes to go ahead" not in b"".join(seen) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b"Type yes to go ahead" in b"".join(seen), b"".join(seen).decode()
    seq = emu.last_seq()
    os.write(leader, b"no\n")
    assert proc.wait(timeout=60) == 1
    reader.join()
    os.close(leader)
    assert b"not confirmed: nothing was changed" in b"".join(seen)
    assert changes_since(emu, seq) == []


def test_every_record_file_has_one_mode(flow: dict[str, Any]) -> None:
    """0600 for every file a run writes (executed notebooks, HTML, run.json, ledger, params, cards) and
    0700 for its directories: the records name accounts, VPCs and IPs."""
    run_dir = flow["run again"]["dirs"][0]
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"run.json", "ledger.jsonl", "params.yaml", "index.html", "01_initiator.ipynb"}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o600"}
    assert {oct(p.stat().st_mode & 0o777) for p in [run_dir, *run_dir.rglob("*")] if p.is_dir()} == {"0o700"}
