"""Two operators, one account each, on one emulator: ``vpclink run PARAMS --side ...`` as in the
tutorial. A creates the initiator and sends its card; B creates the acceptor with A's IDs, adds the
initiator and sends its card; A adds the acceptor and connects; each routes and opens its security
group; either verifies. Each command gets a credential profiles file with its own account only (the
``--emulator`` path writes just that side's profile), and its records stand on their own."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from runbook_support import EXAMPLE, Emulator, assert_one_link, without_history
from vpclink import embedded
from vpclink.cli import main
from vpclink.params import load
from vpclink.peer import card as peercard
from vpclink.profiles import AkProfile, write_profiles
from vpclink.record.run import RunState
from vpclink.targets import TargetError, alibabacloud

LINK = "tutorial-qingdao-beijing"
UIDS = {"initiator": "1637243907412983", "acceptor": "1589430122237715"}
ACCOUNTS = {"initiator": "account-a", "acceptor": "account-b"}


def vpclink(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


class Operators:
    """Both operators' commands against one emulator, with what each command sent to it."""

    def __init__(self, emu: Emulator, base: Path):
        self.emu = emu
        self.records = {"initiator": base / "a-records", "acceptor": base / "b-records"}
        self.runs: dict[str, Path] = {}
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []  # (side, journal entries of its command)
        self.initial = emu.state()

    def run(self, side: str, *argv: str) -> tuple[int, str]:
        seq = self.emu.last_seq()
        if side in self.runs:
            code, out = vpclink("run", "--resume", str(self.runs[side]), "--emulator", self.emu.url, *argv)
        else:
            code, out = vpclink(
                "run",
                str(EXAMPLE),
                "--records",
                str(self.records[side]),
                "--emulator",
                self.emu.url,
                "--side",
                side,
                *argv,
            )
            self.runs[side] = next(p for p in self.records[side].iterdir() if p.is_dir() and not p.name.startswith("."))
        self.calls.append((side, self.emu.journal(since=seq)))
        return code, out

    def card(self, side: str) -> Path:
        return self.runs[side] / peercard.file_name(LINK, side)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Any:
    emu = Emulator()
    ops = Operators(emu, tmp_path_factory.mktemp("operators"))
    steps: dict[str, tuple[int, str]] = {}
    steps["A runs"] = ops.run("initiator")
    a_card_1 = peercard.read(ops.card("initiator"))
    steps["B runs with A's card"] = ops.run("acceptor", "--peer-card", str(ops.card("initiator")))
    b_card_1 = ops.card("acceptor").read_bytes()
    steps["A resumes with B's card"] = ops.run("initiator", "--peer-card", str(ops.card("acceptor")))
    steps["B resumes"] = ops.run("acceptor")
    steps["A resumes with B's newer card"] = ops.run("initiator", "--peer-card", str(ops.card("acceptor")))
    yield ops, steps, a_card_1, b_card_1
    emu.stop()


def test_the_steps_interleave_as_in_the_tutorial_and_the_link_verifies(flow: Any) -> None:
    ops, steps, a_card_1, _ = flow
    code, out = steps["A runs"]
    assert code == 3, out  # waiting for the other operator
    assert "01_initiator         ok" in out and "02_acceptor          -- the other operator's phase" in out
    assert "03_connect           WAITING" in out
    assert "acceptor_router_interface_id: required" in out
    # their part of connect comes first ("Add Initiator"), and needs this side's card
    assert "the acceptor's operator runs their side up to the connect phase with" in out
    assert f"--peer-card {peercard.file_name(LINK, 'initiator')}" in out
    their = peercard.file_name(LINK, "acceptor")  # the file the other operator sends: no placeholder
    assert f"vpclink run --resume {ops.runs['initiator'].resolve()} --peer-card {their}" in out
    assert f"(vpclink run {EXAMPLE} --side acceptor --peer-card" in out  # the parameter file, named
    assert a_card_1.router_interface_id and a_card_1.phases_done == ("preflight", "initiator")

    code, out = steps["B runs with A's card"]
    assert code == 3, out
    assert (
        "02_acceptor          ok" in out and "03_connect           ok" in out and "04_routes            WAITING" in out
    )
    assert "the initiator's operator has not connected the link yet" in out
    assert f"vpclink run --resume {ops.runs['acceptor'].resolve()}\n" in out  # no new card needed

    code, out = steps["A resumes with B's card"]
    assert code == 3, out
    assert (
        "03_connect           ok" in out and "05_security_groups   ok" in out and "06_verify            WAITING" in out
    )
    assert "has not done the routes and security_groups phase(s) yet" in out

    code, out = steps["B resumes"]
    assert code == 0, out
    assert "ping acceptor -> initiator: ok" in out
    # one direction, and said so: never "the link verifies" after this side's ping alone
    assert "result: verified one way" in out and "the link verifies" not in out
    assert "the initiator's direction is the initiator's to verify" in out

    code, out = steps["A resumes with B's newer card"]
    assert code == 0, out
    assert "ping initiator -> acceptor: ok" in out
    # B's newer card carries B's own ping: the initiator's record shows the whole link
    assert "result: verified (" in out and "ping acceptor -> initiator: ok (the acceptor's, from their card" in out
    assert_one_link(ops.emu.state())


def test_each_side_calls_as_its_own_account_only(flow: Any) -> None:
    ops, *_ = flow
    for side, entries in ops.calls:
        assert entries, side
        assert {e["account"] for e in entries} == {ACCOUNTS[side]}, side
        assert {str(e["account_uid"]) for e in entries} == {UIDS[side]}, side
    for side, run_dir in ops.runs.items():
        ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
        assert ledger and all(e["side"] == side and e["account_uid"] == UIDS[side] for e in ledger), side
        # the account is asked of STS once, in preflight; later phases take it from the records
        assert [e["phase"] for e in ledger if e["action"] == "GetCallerIdentity"] == ["preflight"], side


def test_each_sides_records_name_the_peer_card_and_the_values_confirmed(flow: Any) -> None:
    ops, _, a_card_1, b_card_1 = flow
    b = RunState.load(ops.runs["acceptor"])
    assert b.side == "acceptor" and b.result == "verified one way"
    b_index = (ops.runs["acceptor"] / "index.html").read_text()
    assert "the initiator&#x27;s direction is the initiator&#x27;s to verify" in b_index
    assert [(c["source"], c["sha256"]) for c in b.peer_cards] == [
        (peercard.file_name(LINK, "initiator"), b.peer_cards[0]["sha256"])
    ]
    kept = ops.runs["acceptor"] / b.peer_cards[0]["file"]  # the card as received, kept in the records
    assert peercard.file_digest(kept) == b.peer_cards[0]["sha256"] and peercard.read(kept) == a_card_1
    acceptor = b.phase("acceptor")
    assert acceptor.peer["source"] == "peer card" and acceptor.peer["card"]["sha256"] == b.peer_cards[0]["sha256"]
    assert acceptor.peer["values"]["initiator_router_interface_id"] == a_card_1.router_interface_id
    assert acceptor.peer["confirmed_at"] and [s["step"] for s in acceptor.steps][:3] == ["peer values", "plan", "apply"]
    assert b.phase("initiator").status == "skipped"
    assert set(b.outputs) >= {"acceptor_router_interface_id", "acceptor_route_entry_ids", "verified"}
    assert not any(k.startswith("initiator_") for k in b.outputs)  # nothing of A's but what the card said

    a = RunState.load(ops.runs["initiator"])
    assert a.side == "initiator" and a.result == "verified"
    assert [c["file"] for c in a.peer_cards] == [
        f"peer-cards/1-{peercard.file_name(LINK, 'acceptor')}",
        f"peer-cards/2-{peercard.file_name(LINK, 'acceptor')}",
    ]  # two cards, two names
    assert a.shown_values()["ping_acceptor_to_initiator"] == "ok"  # the picture draws both directions
    first, newer = a.peer_cards
    assert peercard.file_digest(ops.runs["initiator"] / first["file"]) == hashlib.sha256(b_card_1).hexdigest()
    assert a.phase("connect").peer["card"]["sha256"] == first["sha256"]
    assert a.phase("verify").peer["card"]["sha256"] == newer["sha256"]
    assert "security_groups" in newer["phases_done"] and "security_groups" not in first["phases_done"]
    assert a.phase("verify").attempts and a.phase("verify").attempts[0]["status"] == "waiting"
    index = (ops.runs["initiator"] / "index.html").read_text()
    assert "initiator side only" in index and first["sha256"][:12] in index


def test_the_runs_refuse_mixed_up_cards_and_sides(flow: Any, tmp_path: Path) -> None:
    ops, *_ = flow
    code, out = vpclink(
        "run",
        "--resume",
        str(ops.runs["acceptor"]),
        "--emulator",
        ops.emu.url,
        "--peer-card",
        str(ops.card("acceptor")),
    )
    assert code == 2 and "this is the acceptor's card; this side needs the initiator's" in out  # B's own card
    code, out = vpclink("run", "--resume", str(ops.runs["acceptor"]), "--side", "initiator")
    assert code == 2 and "--side initiator: this run is the acceptor side's" in out
    code, out = vpclink("run", str(EXAMPLE), "--records", str(tmp_path), "--peer-card", str(ops.card("acceptor")))
    assert code == 2 and "--peer-card: a peer card is for two operators" in out


def test_one_side_needs_only_its_own_profile(flow: Any, tmp_path: Path) -> None:
    ops, *_ = flow
    params = load(EXAMPLE)
    with embedded.attach(ops.emu.url, params, side="acceptor") as target:
        written = json.loads(Path(target.profiles_file).read_text())
        assert [p["name"] for p in written["profiles"]] == ["vpclink-b"]
    only_a = write_profiles(tmp_path / "config.json", [AkProfile("vpclink-a", "LTAI5tExampleOnlyA01", "x" * 30)])
    assert [s.label for s in alibabacloud(params, str(only_a), side="initiator").secrets] == [
        "access_key_id of profile vpclink-a",
        "access_key_secret of profile vpclink-a",
    ]
    with pytest.raises(TargetError, match="profile 'vpclink-b' is not in"):
        alibabacloud(params, str(only_a))


def test_each_operator_tears_down_its_own_side(flow: Any) -> None:
    ops, *_ = flow
    for side in ("initiator", "acceptor"):
        seq = ops.emu.last_seq()
        code, out = vpclink("teardown", str(ops.runs[side]), "--emulator", ops.emu.url)
        assert code == 0, out
        assert {e["account"] for e in ops.emu.journal(since=seq)} == {ACCOUNTS[side]}
        left = ops.emu.state()[ACCOUNTS[side]]
        assert left.get("router_interface", []) == []
    assert without_history(ops.emu.state()) == without_history(ops.initial)


def test_two_records_folders_on_one_machine_share_the_embedded_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two operators rehearsing on one machine, each with a records folder of their own and the default
    target: both commands reach one emulator, so B's acceptor points at the interface A created."""
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(tmp_path / "state"))  # this machine's user state
    a_records, b_records = tmp_path / "a-records", tmp_path / "b-records"
    code, out = vpclink("run", str(EXAMPLE), "--records", str(a_records), "--side", "initiator", "--to", "initiator")
    assert code == 0, out
    (a_run,) = [p for p in a_records.iterdir() if p.is_dir()]
    a_card = a_run / peercard.file_name(LINK, "initiator")
    code, out = vpclink(
        "run", str(EXAMPLE), "--records", str(b_records), "--side", "acceptor", "--to", "acceptor",
        "--peer-card", str(a_card),
    )  # fmt: skip
    assert code == 0, out
    (b_run,) = [p for p in b_records.iterdir() if p.is_dir()]
    a_ri = RunState.load(a_run).outputs["initiator_router_interface_id"]
    b_ri = RunState.load(b_run).outputs["acceptor_router_interface_id"]
    assert a_ri != b_ri
    cloud = Emulator(db=str(embedded.state_dir() / embedded.STATE_DB))
    try:
        state = cloud.state()
    finally:
        cloud.stop()
    (acceptor,) = state["account-b"]["router_interface"]
    assert (acceptor["RouterInterfaceId"], acceptor["OppositeInterfaceId"]) == (b_ri, a_ri)
    assert [ri["RouterInterfaceId"] for ri in state["account-a"]["router_interface"]] == [a_ri]
    # B's own card given back to B (a card whose IDs are B's own) is refused at once, naming why
    b_card = b_run / peercard.file_name(LINK, "acceptor")
    code, out = vpclink("run", "--resume", str(b_run), "--peer-card", str(b_card))
    assert code == 2 and "this side needs the initiator's" in out
