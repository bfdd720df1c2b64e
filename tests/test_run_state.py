"""``run.json`` has one owner: ``RunState`` creates runs, computes their result and inputs, and every
writer (the runner, a kernel's recorder) changes it through ``RunState.edit``, so writers at the same
moment, in threads or in processes, never lose an update."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from runbook_support import EXAMPLE
from vpclink import phases
from vpclink.params import load
from vpclink.record.run import RunState, RunStateError

PARAMS = load(EXAMPLE)
WRITES = 25


def new_run(tmp_path: Path, **kw) -> Path:
    run_dir, _ = RunState.create(tmp_path / "runs", EXAMPLE, PARAMS, target="emulator", **kw)
    return run_dir


def add_steps(run_dir: Path, writer: str, n: int) -> None:
    for i in range(n):
        with RunState.edit(run_dir) as state:
            state.phase("preflight").steps.append({"step": f"{writer}-{i}"})


def steps(run_dir: Path) -> list[str]:
    return [s["step"] for s in RunState.load(run_dir).phase("preflight").steps]


def test_a_new_run_lists_its_phases_and_pins_what_ran(tmp_path: Path) -> None:
    run_dir = new_run(tmp_path, selected=["preflight", "initiator"], side="acceptor")
    state = RunState.load(run_dir)
    assert [(p.name, p.notebook, p.status) for p in state.phases[:3]] == [
        ("preflight", "00_preflight.ipynb", "pending"),
        ("initiator", "01_initiator.ipynb", "skipped"),  # the other operator's phase
        ("acceptor", "02_acceptor.ipynb", "skipped"),  # not selected
    ]
    assert state.side == "acceptor" and (run_dir / "params.yaml").read_bytes() == EXAMPLE.read_bytes()
    software = state.software
    assert software["vpclink"] and set(software["sdks"]) >= {"alibabacloud-vpc20160428", "alibabacloud-credentials"}
    assert software["commit"] is None or len(software["commit"]) == 40
    with pytest.raises(RunStateError, match="already holds a run"):
        RunState.create(tmp_path, EXAMPLE, PARAMS, target="emulator", run_dir=run_dir)


def test_concurrent_writers_in_threads_lose_no_update(tmp_path: Path) -> None:
    run_dir = new_run(tmp_path)
    writers = [threading.Thread(target=add_steps, args=(run_dir, f"t{n}", WRITES)) for n in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    assert sorted(steps(run_dir)) == sorted(f"t{n}-{i}" for n in range(4) for i in range(WRITES))


def test_concurrent_writers_in_processes_lose_no_update(tmp_path: Path) -> None:
    """A runner and the kernels of analysts' notebooks are separate processes writing one run.json."""
    run_dir = new_run(tmp_path)
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from vpclink.record.run import RunState
        run_dir, writer = Path(sys.argv[1]), sys.argv[2]
        for i in range({WRITES}):
            with RunState.edit(run_dir) as state:
                state.phase("preflight").steps.append({{"step": f"{{writer}}-{{i}}"}})
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(run_dir), f"p{n}"]) for n in range(3)]
    add_steps(run_dir, "main", WRITES)  # and this process at the same time
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    expected = [f"{w}-{i}" for w in ("p0", "p1", "p2", "main") for i in range(WRITES)]
    assert sorted(steps(run_dir)) == sorted(expected)
    assert not list(run_dir.glob(".run.json.*.tmp"))  # every replacement was whole


def test_a_failed_edit_writes_nothing(tmp_path: Path) -> None:
    run_dir = new_run(tmp_path)
    before = (run_dir / "run.json").read_text()
    with pytest.raises(KeyError), RunState.edit(run_dir) as state:
        state.result = "changed"
        state.phase("no such phase")
    assert (run_dir / "run.json").read_text() == before


def test_the_result_is_computed_from_the_phases_declarations(tmp_path: Path) -> None:
    run_dir = new_run(tmp_path)
    with RunState.edit(run_dir) as state:
        for p in state.phases:
            p.status = "ok"
        state.phase("verify").outputs = {"verified": True}
    state = RunState.load(run_dir)
    assert (state.outcome().result, state.outcome().message) == ("verified", "the link verifies")
    assert state.outcome(["preflight", "initiator"]).result == "ok"
    assert "the verify phase did not run" in state.outcome(["preflight", "initiator"]).message
    with RunState.edit(run_dir) as state:
        state.phase("routes").status, state.phase("routes").error = "failed", "CloudError: boom"
    outcome = RunState.load(run_dir).outcome()
    assert (outcome.result, outcome.phase, outcome.message) == ("failed", "routes", "routes failed: CloudError: boom")


def test_a_phases_inputs_are_the_earlier_outputs_it_declares(tmp_path: Path) -> None:
    run_dir = new_run(tmp_path)
    with RunState.edit(run_dir) as state:
        state.phase("preflight").status = "ok"
        state.phase("preflight").outputs = {"initiator_vrouter_id": "vrt-1", "initiator_instance_ip": ""}
    inputs = RunState.load(run_dir).inputs_for("initiator")
    assert inputs == {"initiator_vrouter_id": "vrt-1"}
    assert set(inputs) <= set(phases.get("initiator").input_keys)


def test_an_older_record_spelling_one_operator_as_empty_reads_as_none(tmp_path: Path) -> None:
    run_dir = new_run(tmp_path)
    text = (run_dir / "run.json").read_text().replace('"side": null', '"side": ""')
    (run_dir / "run.json").write_text(text)
    assert RunState.load(run_dir).side is None


@pytest.mark.parametrize("count", [2, 2**70], ids=["usual", "an integer past 64 bits"])
def test_run_json_holds_every_value_as_written(tmp_path: Path, count: int) -> None:
    import json

    run_dir = new_run(tmp_path)
    step = {"step": "wait", "detail": "Zürich → 北京", "seconds": 1.5, "count": count}
    with RunState.edit(run_dir) as state:
        state.phase("preflight").steps.append(step)
    text = (run_dir / "run.json").read_text(encoding="utf-8")
    assert text.endswith("}\n") and '\n  "run_id": ' in text  # indented, for people reading it
    again = RunState.load(run_dir)
    assert again.phase("preflight").steps[-1] == step
    assert json.loads(text) == json.loads(json.dumps(again.to_dict()))
