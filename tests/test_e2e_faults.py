"""A run against an emulator that throttles, then loses the answer to, the first calls of every
mutating action still ends with exactly one link: nothing created twice."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from adversarial_support import lagging_world
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from runbook_support import EXAMPLE, Emulator, assert_one_link, mutating
from vpclink.cli import main
from vpclink.record.run import RunState

# Every action the runbook's run uses to change the cloud.
MUTATING_ACTIONS = (
    "CreateRouterInterface",
    "ModifyRouterInterfaceAttribute",
    "ConnectRouterInterface",
    "CreateRouteEntry",
    "AuthorizeSecurityGroup",
    "RunCommand",
)


@pytest.fixture(params=[3.0, 0.0], ids=["lists-lag-3s", "no-lag"])
def emu(request: pytest.FixtureRequest) -> Emulator:
    """The tutorial world, every step immediate, lists lagging 3 s behind writes (or not at all)."""
    e = Emulator(world=lagging_world(request.param))
    if request.param:
        e.control("clock", {"advance": request.param})  # the accounts' VPCs are older than the lag
    yield e
    e.stop()


def test_throttling_and_lost_answers_on_every_mutating_action_converge_with_no_duplicate(
    emu: Emulator, tmp_path: Path
) -> None:
    rules = []
    for action in MUTATING_ACTIONS:
        for account in ("account-a", "account-b"):
            # the first call is throttled; the retry is applied but its answer never arrives
            rules.append(
                {
                    "name": f"throttle {action} {account}",
                    "action": action,
                    "account": account,
                    "effect": "throttle",
                    "nth": 1,
                    "retry_after_ms": 50,
                }
            )
            rules.append(
                {
                    "name": f"lose {action} {account}",
                    "action": action,
                    "account": account,
                    "effect": "fail_after_commit",
                    "nth": 2,
                }
            )
    emu.faults(rules)

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["run", str(EXAMPLE), "--records", str(tmp_path), "--emulator", emu.url])
    assert code == 0, out.getvalue()

    assert_one_link(emu.state())
    fired = {f["rule"]["name"]: f["fired"] for f in emu.control("faults")["faults"]}
    acted = {(e["action"], e["account"]) for e in mutating(emu.journal())}
    for action, account in acted:
        assert fired[f"throttle {action} {account}"] == 1, (action, account)
        assert fired[f"lose {action} {account}"] == 1, (action, account)
    # both sides create, modify, route, authorize and ping; only the initiator connects
    assert {a for a, _ in acted} == set(MUTATING_ACTIONS)
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    ledger = (run_dir / "ledger.jsonl").read_text()
    assert '"outcome": "retry"' in ledger and "Throttling" in ledger
    assert RunState.load(run_dir).result == "verified"
