"""A run directory is untrusted input: whatever ``run.json`` or the files around it hold, ``vpclink run
--resume``, ``teardown RUN_DIR`` and ``notebook --run`` refuse it with a message and exit 2, never a
traceback, and never write outside it (every path the record names is confined to the directory)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from runbook_support import EXAMPLE
from vpclink.cli import main
from vpclink.params import load
from vpclink.record.run import RUN_FILE, RunState, RunStateError

PARAMS = load(EXAMPLE)
NOWHERE = "http://127.0.0.1:9"  # nothing answers: a refusal must come before any call


def vpclink(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run whose preflight is done and whose initiator failed once, as a resume finds it."""
    directory, _ = RunState.create(tmp_path / "runs", EXAMPLE, PARAMS, target="emulator", emulator=NOWHERE)
    with RunState.edit(directory) as state:
        state.phase("preflight").status = "ok"
        state.phase("preflight").outputs = {"initiator_vrouter_id": "vrt-m5e1tutorialvrt1qd00001"}
        state.phase("initiator").status = "failed"
    return directory


def edit_json(run_dir: Path, change: Callable[[dict], None]) -> None:
    data = json.loads((run_dir / RUN_FILE).read_text())
    change(data)
    (run_dir / RUN_FILE).write_text(json.dumps(data))


def everything(root: Path) -> dict[str, bytes | None]:
    return {str(p): (p.read_bytes() if p.is_file() and not p.is_fifo() else None) for p in sorted(root.rglob("*"))}


def set_phase(key: str, value: object, index: int = 1) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["phases"][index][key] = value

    return change


OUTSIDE = "../../outside.ipynb"
HOSTILE_RECORDS: dict[str, tuple[Callable[[dict], None], str]] = {
    "notebook path out of the directory": (set_phase("notebook", OUTSIDE), "phases[1].notebook"),
    "absolute notebook path": (set_phase("notebook", "/tmp/x.ipynb"), "phases[1].notebook"),
    "attempt out of the directory": (
        set_phase("attempts", [{"status": "failed", "notebook": OUTSIDE}]),
        "phases[1].attempts[0].notebook",
    ),
    "peer card out of the directory": (
        lambda d: d.update(peer_cards=[{"file": "../../../etc/passwd", "sha256": "x"}]),
        "peer_cards[0].file",
    ),
    "unknown phase": (set_phase("name", "launch"), "unknown phase 'launch'"),
    "phases not a list": (lambda d: d.update(phases="preflight"), "phases: must be a list"),
    "outputs not a mapping": (set_phase("outputs", ["ri-1"], 0), "phases[0].outputs: Input should be a valid dict"),
    "a number for the run ID": (lambda d: d.update(run_id=12), "run_id"),
    "an unknown status": (set_phase("status", "done"), "phases[1].status"),
    "a side that is no side": (lambda d: d.update(side="both"), "side = 'both'"),
    "required fields missing": (lambda d: d.pop("run_id"), "run_id"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_RECORDS))
def test_a_crafted_run_json_is_refused_with_exit_2_before_anything_is_written(run_dir: Path, case: str) -> None:
    change, words = HOSTILE_RECORDS[case]
    edit_json(run_dir, change)
    root = run_dir.parents[1]
    before = everything(root)
    for argv in (
        ["run", "--resume", str(run_dir), "--emulator", NOWHERE],
        ["teardown", str(run_dir), "--emulator", NOWHERE],
        ["notebook", str(EXAMPLE), "initiator", "--run", str(run_dir)],
    ):
        code, out = vpclink(*argv)
        assert code == 2, (argv, out)
        assert words in out and "Traceback" not in out, out
    assert everything(root) == before


def write_bytes(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda run_dir: (run_dir / name).write_bytes(content)


def fifo(name: str) -> Callable[[Path], None]:
    def make(run_dir: Path) -> None:
        (run_dir / name).unlink(missing_ok=True)
        os.mkfifo(run_dir / name)

    return make


def link(name: str, to: str) -> Callable[[Path], None]:
    def make(run_dir: Path) -> None:
        (run_dir / name).unlink(missing_ok=True)
        (run_dir / name).symlink_to(to)

    return make


HOSTILE_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "deep JSON": (write_bytes(RUN_FILE, b"[" * 100_000 + b"]" * 100_000), "nests more than"),
    "not UTF-8": (write_bytes(RUN_FILE, b'{"run_id": "\xff\xfe"}'), "is not UTF-8"),
    "not JSON": (write_bytes(RUN_FILE, b"{run_id: 1"), "is not valid JSON"),
    "not an object": (write_bytes(RUN_FILE, b"[1, 2]"), "its content must be a JSON object"),
    "huge": (write_bytes(RUN_FILE, b" " * (17 << 20)), "a run record is at most 16.0 MB"),
    "a FIFO for run.json": (fifo(RUN_FILE), "named pipe"),
    "a FIFO for the ledger": (fifo("ledger.jsonl"), "ledger.jsonl is not a regular file"),
    "run.json a link": (link(RUN_FILE, "../elsewhere.json"), "symbolic link"),
    "the lock a link": (link(".run.json.lock", "../../victim.txt"), "symbolic link"),
    "an executed notebook a link": (link("01_initiator.ipynb", "../../victim.txt"), "01_initiator.ipynb is a symbolic"),
    "the ledger a link": (link("ledger.jsonl", "../../victim.txt"), "ledger.jsonl is a symbolic link"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_a_hostile_run_directory_is_refused_with_exit_2_and_nothing_outside_changes(run_dir: Path, case: str) -> None:
    make, words = HOSTILE_FILES[case]
    root = run_dir.parents[1]
    victim = root / "victim.txt"
    victim.write_text("not yours to change\n")
    (run_dir.parent / "elsewhere.json").write_text((run_dir / RUN_FILE).read_text())
    make(run_dir)
    before = everything(root)
    for argv in (
        ["run", "--resume", str(run_dir), "--emulator", NOWHERE],
        ["teardown", str(run_dir), "--emulator", NOWHERE],
    ):
        code, out = vpclink(*argv)
        assert code == 2, (argv, out)
        assert words in out and "Traceback" not in out, out
    assert everything(root) == before
    assert victim.read_text() == "not yours to change\n"


def test_the_record_names_only_files_of_its_own_directory(run_dir: Path) -> None:
    state = RunState.load(run_dir)
    assert [p.notebook for p in state.phases][:2] == ["00_preflight.ipynb", "01_initiator.ipynb"]
    with pytest.raises(RunStateError, match=r"the initiator phase's notebook is 01_initiator\.ipynb"):
        edit_json(run_dir, set_phase("notebook", "00_preflight.ipynb"))  # another phase's file
        RunState.load(run_dir)


def test_record_files_and_directories_are_private(run_dir: Path) -> None:
    """One mode for every record file: 0600 (the records name accounts, VPCs and IPs; sharing them is
    the user's choice), and 0700 for the run directory."""
    assert os.stat(run_dir).st_mode & 0o777 == 0o700
    for name in (RUN_FILE, "params.yaml"):
        assert os.stat(run_dir / name).st_mode & 0o777 == 0o600, name
