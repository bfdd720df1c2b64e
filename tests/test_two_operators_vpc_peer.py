"""Two operators on the peering backend, one account each, on one emulator (``vpclink run --side``):
A requests the peering and sends its card, which carries the connection's ID; B accepts it with that
card, waits until it is Activated, routes and opens its group; A resumes, routes, opens its group
and verifies. One peering in the end, each side's records on their own."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from runbook_support import ROOT, Emulator, mutating, succeeded
from vpclink.peer import card as peercard

PEERING = ROOT / "params" / "example-peering.yaml"
LINK = "tutorial-peering"
ACCOUNTS = {"initiator": "account-a", "acceptor": "account-b"}


def vpclink(*argv: str) -> tuple[int, str]:
    from vpclink.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


class Operators:
    def __init__(self, emu: Emulator, base: Path):
        self.emu = emu
        self.records = {"initiator": base / "a-records", "acceptor": base / "b-records"}
        self.runs: dict[str, Path] = {}
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def run(self, side: str, *argv: str) -> tuple[int, str]:
        seq = self.emu.last_seq()
        if side in self.runs:
            code, out = vpclink("run", "--resume", str(self.runs[side]), "--emulator", self.emu.url, *argv)
        else:
            code, out = vpclink(
                "run", str(PEERING), "--records", str(self.records[side]), "--emulator", self.emu.url, "--side", side,
                *argv,
            )  # fmt: skip
            self.runs[side] = next(p for p in self.records[side].iterdir() if p.is_dir() and not p.name.startswith("."))
        self.calls.append((side, self.emu.journal(since=seq)))
        return code, out

    def card(self, side: str) -> Path:
        return self.runs[side] / peercard.file_name(LINK, side)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> Any:
    monkeypatch_module.setenv("VPCLINK_STATE_DIR", str(tmp_path_factory.mktemp("vpclink-state")))
    emu = Emulator()
    ops = Operators(emu, tmp_path_factory.mktemp("operators"))
    steps = {"A runs": ops.run("initiator")}
    steps["B runs with A's card"] = ops.run("acceptor", "--peer-card", str(ops.card("initiator")))
    steps["A resumes with B's card"] = ops.run("initiator", "--peer-card", str(ops.card("acceptor")))
    yield ops, steps
    emu.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_a_requests_b_accepts_with_a_s_card_and_the_link_verifies(flow: Any) -> None:
    ops, steps = flow
    code, out = steps["A runs"]
    assert code == 3, out  # waiting for the other operator
    assert "01_initiator         ok" in out and "02_acceptor          -- the other operator's phase" in out
    assert "03_connect           WAITING" in out and "has not accepted it yet" in out
    card = peercard.read(ops.card("initiator"))
    assert card.peer_connection_id and card.peer_connection_id.startswith("pcc-")

    code, out = steps["B runs with A's card"]
    assert code == 3, out  # A's routes and rules are not there yet
    assert "02_acceptor          ok" in out and "03_connect           ok" in out and "04_routes            ok" in out
    assert "06_verify            WAITING" in out

    code, out = steps["A resumes with B's card"]
    assert code == 0, out
    assert "ping initiator -> acceptor: ok" in out


def test_each_operator_acted_only_in_its_own_account_and_one_peering_was_made(flow: Any) -> None:
    ops, _ = flow
    uids = {a["name"]: a["uid"] for a in ops.emu.control("accounts")["accounts"]}
    for side, entries in ops.calls:
        assert {e.get("account") or e.get("uid") for e in entries} <= {ACCOUNTS[side], uids[ACCOUNTS[side]]}, side
    changes = [(side, e["action"]) for side, entries in ops.calls for e in succeeded(mutating(entries))]
    assert changes.count(("initiator", "CreateVpcPeerConnection")) == 1, changes
    assert changes.count(("acceptor", "AcceptVpcPeerConnection")) == 1, changes
    peerings = [p for t in ops.emu.state().values() for p in t.get("vpc_peer", [])]
    assert len(peerings) == 1 and peerings[0]["Status"] == "Activated"
    assert peerings[0]["InstanceId"] == peercard.read(ops.card("initiator")).peer_connection_id
