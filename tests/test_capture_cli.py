"""`vpclink run ... --capture DIR` as the first person with real accounts would use it (issue 7.2),
here on an emulator: every phase's calls land in one capture file of the run, with no credential in
it, and `pytest -m parity --capture-dir DIR`'s replay finds no difference against a fresh emulator.

The emulator answers at once and without read lag here, as the replay's fresh emulator does: the
capture's polls must meet the same answers on both (a lagging world would make the replay's state
sequence differ by design, not because the capture is wrong)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from parity.capture import read
from parity.replay import differences_of_a_run
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import EXAMPLE, Emulator
from vpclink.cli import main
from vpclink.record.run import RunState
from vpclink.record.secret_scan import scan_for_secrets
from vpclink.targets import Secret


def vpclink(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_a_run_and_its_teardown_captured_from_the_cli_replay_without_a_difference(tmp_path: Path) -> None:
    captures, records = tmp_path / "captures", tmp_path / "runs"
    emu = Emulator()
    try:
        secrets = emu.secrets()
        code, out = vpclink(
            "run", str(EXAMPLE), "--emulator", emu.url, "--records", str(records), "--capture", str(captures)
        )
        assert code == 0 and "result: verified" in out, out
        (run_dir,) = [p for p in records.iterdir() if p.is_dir() and not p.name.startswith(".")]
        code, out = vpclink("teardown", str(run_dir), "--capture", str(captures))
        assert code == 0, out
    finally:
        emu.stop()

    files = sorted(captures.glob("*.jsonl"))
    assert len(files) == 1, files  # one file per run: every phase, and the teardown, continue it
    assert files[0].stem == RunState.load(run_dir).run_id
    assert not scan_for_secrets(captures, [Secret("emulator key", s) for s in secrets])
    calls = read(files[0])  # the format's reference reader validates every line
    actions = {c["action"] for c in calls}
    assert {"GetCallerIdentity", "CreateRouterInterface", "ConnectRouterInterface", "CreateRouteEntry"} <= actions
    assert {"AuthorizeSecurityGroup", "RunCommand", "DeleteRouteEntry", "DeleteRouterInterface"} <= actions
    assert differences_of_a_run(calls) == []


def test_a_capture_needs_somewhere_to_write(tmp_path: Path) -> None:
    """A capture directory that cannot be made is refused before any call, naming the option."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    emu = Emulator()
    try:
        code, out = vpclink(
            "run", str(EXAMPLE), "--emulator", emu.url, "--records", str(tmp_path / "runs"), "--capture", str(blocker)
        )
        calls = emu.journal()
    finally:
        emu.stop()
    assert code == 2 and "--capture" in out and str(blocker) in out, out
    assert calls == []
