"""End to end, as a user runs it: `vpclink run params/example.yaml` with the default target (the
embedded emulator), a second run, a plan, and a teardown, all over one records directory.

The embedded emulator's state (in the per-user state directory, private to this module here) is
seeded first with a world whose asynchronous steps are immediate, so the CLI's default path runs
unchanged but fast (the CLI itself keeps the demo delays). Its lists lag 3 s behind its writes, as
the embedded emulator's do by default and the cloud's do. The same CLI path without lag runs in
``test_e2e_faults.py`` and ``test_concurrent_runs.py``, which take both.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import nbformat
import pytest
from runbook_support import EXAMPLE, Emulator, assert_one_link, mutating, succeeded, without_history
from vpclink import embedded, phases
from vpclink.cli import main
from vpclink.params import load
from vpclink.record.notebook_records import PLAN_MIME, read_record
from vpclink.record.run import RunState
from vpclink.record.secret_scan import scan_for_secrets
from vpclink.targets import Secret


def vpclink(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


class Cloud:
    """The embedded emulator's state between CLI commands, read through its database."""

    def __init__(self, records: Path):
        self.db = str(embedded.state_dir() / embedded.STATE_DB)

    def __enter__(self) -> Emulator:
        self.emu = Emulator(db=self.db)
        return self.emu

    def __exit__(self, *exc: object) -> None:
        self.emu.stop()


@pytest.fixture(scope="module", params=[3.0], ids=["lists-lag-3s"])
def module_state(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """This module's own vpclink state (the embedded emulator, locks), and the read lag of its world."""
    return tmp_path_factory.mktemp("vpclink-state"), float(request.param)


@pytest.fixture(autouse=True)
def shared_state(module_state: tuple[Path, float], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test of the module sees one embedded emulator, as the commands of one user do."""
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(module_state[0]))


@pytest.fixture(scope="module")
def records(module_state: tuple[Path, float], tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = tmp_path_factory.mktemp("records")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VPCLINK_STATE_DIR", str(module_state[0]))
        embedded.start(load(EXAMPLE), rec, timing_scale=0, read_lag=module_state[1]).close()
    return rec


@pytest.fixture(scope="module")
def initial(records: Path, module_state: tuple[Path, float]) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VPCLINK_STATE_DIR", str(module_state[0]))
        with Cloud(records) as cloud:
            assert cloud.control("behaviour")["behaviour"]["read_lag"]["seconds"] == module_state[1]
            return {"state": cloud.state(), "seq": cloud.last_seq(), "secrets": cloud.secrets()}


@pytest.fixture(scope="module")
def first_run(records: Path, initial: dict, module_state: tuple[Path, float]) -> tuple[int, str, Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VPCLINK_STATE_DIR", str(module_state[0]))
        code, out = vpclink("run", str(EXAMPLE), "--records", str(records))
    run_dirs = sorted(p for p in records.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(run_dirs) == 1, out
    return code, out, run_dirs[0]


def test_example_run_verifies_and_prints_a_summary(first_run: tuple[int, str, Path]) -> None:
    code, out, run_dir = first_run
    assert code == 0, out
    for name in phases.RUN:
        assert f"{phases.get(name).notebook} " in out and "ok" in out
    assert "ping initiator -> acceptor: ok; acceptor -> initiator: ok" in out
    assert "result: verified" in out
    assert f"records: {run_dir / 'index.html'}" in out


def test_the_records_show_every_phase_its_inputs_and_the_identities(first_run: tuple[int, str, Path]) -> None:
    _, _out, run_dir = first_run
    state = RunState.load(run_dir)
    assert state.result == "verified"
    assert [p.name for p in state.phases] == list(phases.RUN)
    assert all(p.status == "ok" and p.started and p.ended for p in state.phases), state.phases
    assert state.outputs["verified"] is True and state.outputs["connection_status"] == "Active"
    assert state.identities["initiator"]["AccountId"] == "1637243907412983"
    assert state.identities["acceptor"]["AccountId"] == "1589430122237715"
    for p in state.phases:
        assert (run_dir / p.notebook).exists() and (run_dir / p.notebook).with_suffix(".html").exists()
    # each notebook received the earlier outputs it declares, visibly, in its injected cell
    connect = state.phase("connect")
    ri = state.phase("initiator").outputs["initiator_router_interface_id"]
    assert connect.inputs["initiator_router_interface_id"] == ri
    nb = nbformat.read(str(run_dir / connect.notebook), as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'initiator_router_interface_id = "{ri}"' in injected.source
    assert "apply = True" in injected.source
    # what ran: the version, the checkout's commit and the SDKs, in run.json and in each notebook
    assert state.software["vpclink"] and state.software["sdks"]["alibabacloud-vpc20160428"]
    assert nb.metadata["vpclink"]["software"] == connect.software == state.software
    # the ledger holds every call, with its phase, side and request ID
    ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
    assert {e["phase"] for e in ledger} == set(phases.RUN)
    assert all(e["request_id"] for e in ledger if e["outcome"] == "ok")
    uids = {"initiator": "1637243907412983", "acceptor": "1589430122237715"}
    # every line names the acting account; STS is asked once per side, in preflight, never again
    assert all(e["account_uid"] == uids[e["side"]] for e in ledger), [e for e in ledger if not e["account_uid"]]
    assert sorted((e["phase"], e["side"]) for e in ledger if e["action"] == "GetCallerIdentity") == [
        ("preflight", "acceptor"),
        ("preflight", "initiator"),
    ]
    index = (run_dir / "index.html").read_text()
    assert "<svg" in index and "connection: Active" in index and "ping A → B: ok" in index
    assert all(f'href="{p.notebook}"' in index for p in state.phases)


def test_no_record_file_contains_a_secret(first_run: tuple[int, str, Path], initial: dict) -> None:
    _, _, run_dir = first_run
    secrets = [Secret(f"secret {i}", s) for i, s in enumerate(initial["secrets"])]
    assert scan_for_secrets(run_dir, secrets) == []
    # the scan finds a secret where there is one
    (run_dir / "leak.txt").write_text(f"oops {initial['secrets'][1]}")
    try:
        assert [h.file for h in scan_for_secrets(run_dir, secrets)] == ["leak.txt"]
    finally:
        (run_dir / "leak.txt").unlink()


def test_a_second_run_creates_nothing(records: Path, first_run: tuple[int, str, Path]) -> None:
    with Cloud(records) as cloud:
        before, seq = cloud.state(), cloud.last_seq()
    code, out = vpclink("run", str(EXAMPLE), "--records", str(records))
    assert code == 0, out
    with Cloud(records) as cloud:
        after = cloud.state()
        changes = succeeded(mutating(cloud.journal(since=seq)))
    assert_one_link(after)
    assert without_history(after) == without_history(before)
    assert {e["action"] for e in changes} == {"RunCommand"}, changes  # only the ping test acts again
    second = max(p for p in records.iterdir() if p.is_dir() and not p.name.startswith("."))
    plan = read_record(second / "01_initiator.ipynb", PLAN_MIME)
    assert [s["intent"] for s in plan["steps"] if s["action"] == "CreateRouterInterface"] == ["exists"]


def test_a_partial_run_from_and_to_a_phase_starts_with_preflight(
    records: Path, first_run: tuple[int, str, Path]
) -> None:
    code, out = vpclink("run", str(EXAMPLE), "--records", str(records), "--from", "routes", "--to", "security_groups")
    assert code == 0, out
    assert "phases up to security_groups done; the verify phase did not run" in out
    latest = max(p for p in records.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [(p.name, p.status) for p in RunState.load(latest).phases] == [
        ("preflight", "ok"),
        ("initiator", "skipped"),
        ("acceptor", "skipped"),
        ("connect", "skipped"),
        ("routes", "ok"),
        ("security_groups", "ok"),
        ("verify", "skipped"),
    ]
    with Cloud(records) as cloud:
        assert_one_link(cloud.state())


def test_plan_makes_no_mutating_call(records: Path, first_run: tuple[int, str, Path]) -> None:
    with Cloud(records) as cloud:
        seq = cloud.last_seq()
    code, out = vpclink("plan", str(EXAMPLE), "--records", str(records))
    assert code == 0, out
    assert "exists   initiator  CreateRouterInterface" in out
    with Cloud(records) as cloud:
        assert mutating(cloud.journal(since=seq)) == []


def test_teardown_leaves_both_accounts_as_they_were_and_converges(
    records: Path, first_run: tuple[int, str, Path], initial: dict
) -> None:
    _, _, run_dir = first_run
    code, out = vpclink("teardown", str(run_dir), "--records", str(records))
    assert code == 0, out
    assert RunState.load(run_dir).phase("teardown").status == "ok"
    with Cloud(records) as cloud:
        assert without_history(cloud.state()) == without_history(initial["state"])
        seq = cloud.last_seq()
    code, out = vpclink("teardown", str(EXAMPLE), "--records", str(records))
    assert code == 0, out
    with Cloud(records) as cloud:
        assert succeeded(mutating(cloud.journal(since=seq))) == []
        assert without_history(cloud.state()) == without_history(initial["state"])
