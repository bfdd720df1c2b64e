"""The phase facade's two-operator cells, driven without a kernel: ``ask_peer`` (settled, a form, or a
wait for the other operator), ``use_peer`` (checked against the parameter file, merged, recorded),
``export_card``, and the ``run.json`` a notebook keeps by itself when an analyst runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from runbook_support import EXAMPLE, Emulator, run_cells, side_profiles
from vpclink import phases
from vpclink.notebook import NotebookParameterError, PhaseNotebook, Settings, display
from vpclink.peer import card as peercard
from vpclink.peer.form import PeerValuesMissing
from vpclink.phases.base import WaitingForPeer
from vpclink.record.notebook_records import CARD_MIME, IDENTITIES_MIME, PEER_MIME, STEPS_MIME
from vpclink.record.run import RunState

A_UID, B_UID = "1637243907412983", "1589430122237715"
LINK = "tutorial-qingdao-beijing"


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Everything the cells display (markdown, tables, machine-readable records)."""
    items: list[Any] = []
    monkeypatch.setattr(display, "_display", lambda *objs, raw=False: items.extend(objs))
    return items


def records(shown: list[Any], mime: str) -> list[Any]:
    return [o[mime] for o in shown if isinstance(o, dict) and mime in o]


def markdown(shown: list[Any]) -> str:
    return "\n".join(o["text/markdown"] for o in shown if isinstance(o, dict) and "text/markdown" in o)


@pytest.fixture
def emu() -> Any:
    e = Emulator()
    yield e
    e.stop()


def phase(name: str, emu: Emulator | None = None, inputs: dict[str, Any] | None = None, **kw: Any) -> PhaseNotebook:
    target = {"target": "emulator", "endpoint": emu.url.split("://", 1)[1]} if emu else {}
    values = {k: str(v) if isinstance(v, Path) else v for k, v in kw.items()}
    return PhaseNotebook(Settings.read(name, params_file=str(EXAMPLE), **target, **values), inputs)


@pytest.fixture
def initiator_side(emu: Emulator, tmp_path: Path) -> dict[str, Any]:
    """Account A's operator, alone: preflight and the initiator, recorded in its own run directory."""
    profiles = side_profiles(emu, tmp_path / "a-profiles.json", ("initiator",))
    run_dir = tmp_path / "a-run"
    for name in ("preflight", "initiator"):
        run_cells(phase(name, emu, side="initiator", profiles_file=profiles, run_dir=run_dir, apply=True))
    return {"run_dir": run_dir, "card": run_dir / peercard.file_name(LINK, "initiator"), "profiles": profiles}


def test_one_operator_is_asked_nothing_and_sends_no_card(shown: list[Any]) -> None:
    p = phase("acceptor")
    assert p.ask_peer() is None
    p.use_peer(None)
    assert p.export_card() is None
    text = markdown(shown)
    assert "One operator holds both accounts' profiles" in text and "no peer card to send" in text
    assert records(shown, PEER_MIME) == []


def test_an_offline_plan_of_one_side_settles_with_what_is_known(shown: list[Any], capsys: Any) -> None:
    p = phase("acceptor", side="acceptor")
    form = p.ask_peer()
    assert form is not None and form.widget is None  # no form, no error: nothing is called offline
    p.use_peer(form)
    assert p.inputs["initiator_region"] == "cn-qingdao" and p.inputs["initiator_account_uid"] == A_UID
    assert "initiator_router_interface_id" not in p.inputs
    assert "initiator's values from the parameters" in capsys.readouterr().out
    steps = p.plan()
    assert set(steps["side"]) == {"acceptor"}
    assert records(shown, PEER_MIME)[0]["source"] == "parameters"


def test_a_phase_of_the_other_side_does_nothing_here(shown: list[Any]) -> None:
    p = phase("initiator", side="acceptor")
    assert p.settings.acting == () and p.ask_peer() is None
    p.use_peer(None)
    assert p.plan().empty
    p.apply()
    assert "the initiator's operator runs this phase" in markdown(shown)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"side": "both"}, "side = 'both'"),
        ({"peer_card": "card.json"}, "peer_card: a peer card is for two operators"),
        ({"interactive": "yes"}, "interactive = 'yes'"),
        ({"side": "acceptor", "peer_card": "missing.peercard.json"}, "peer_card: missing.peercard.json does not exist"),
    ],
)
def test_bad_notebook_parameters_are_named(changes: dict, words: str) -> None:
    with pytest.raises(NotebookParameterError, match=words.replace("(", r"\(")):
        phase("acceptor", **changes)


def test_in_batch_a_missing_peer_value_waits_naming_each_parameter_and_the_next_steps(
    emu: Emulator, tmp_path: Path
) -> None:
    profiles = side_profiles(emu, tmp_path / "b.json", ("acceptor",))
    run_dir = tmp_path / "b-run"
    p = phase("acceptor", emu, side="acceptor", profiles_file=profiles, run_dir=run_dir, interactive=False, apply=True)
    with pytest.raises(WaitingForPeer) as e:
        p.ask_peer()
    text = str(e.value)
    for key in ("initiator_vrouter_id", "initiator_router_interface_id"):
        assert f"  {key}: required" in text
    assert "initiator_region" not in text and "initiator_account_uid" not in text  # the parameter file has them
    assert "the initiator's operator runs their side up to the initiator phase" in text
    assert f"vpclink run --resume {run_dir} --peer-card {LINK}-initiator.peercard.json" in text


def test_a_bad_value_given_as_a_parameter_is_an_error_not_a_wait(emu: Emulator, tmp_path: Path) -> None:
    profiles = side_profiles(emu, tmp_path / "b.json", ("acceptor",))
    p = phase(
        "acceptor",
        emu,
        side="acceptor",
        profiles_file=profiles,
        interactive=False,
        inputs={"initiator_router_interface_id": "ri-BAD"},
    )
    with pytest.raises(PeerValuesMissing) as e:
        p.ask_peer()
    assert not isinstance(e.value, WaitingForPeer)
    assert "initiator_router_interface_id" in {err.field for err in e.value.errors}


def test_the_acceptor_side_takes_the_initiators_card_and_records_it(
    emu: Emulator, tmp_path: Path, initiator_side: dict, shown: list[Any]
) -> None:
    a_card = peercard.read(initiator_side["card"])
    assert a_card.phases_done == ("preflight", "initiator") and a_card.router_interface_id
    profiles = side_profiles(emu, tmp_path / "b.json", ("acceptor",))
    run_dir = tmp_path / "b-run"
    for name in ("preflight", "acceptor"):
        run_cells(
            phase(
                name,
                emu,
                side="acceptor",
                profiles_file=profiles,
                run_dir=run_dir,
                apply=True,
                peer_card=initiator_side["card"],
            )
        )

    # the acceptor was created in account B, pointing at A's interface, VRouter and account
    b = emu.state()["account-b"]["router_interface"]
    assert [
        (ri["Role"], ri["OppositeInterfaceId"], ri["OppositeRouterId"], str(ri["OppositeInterfaceOwnerId"])) for ri in b
    ] == [("AcceptingSide", a_card.router_interface_id, a_card.vrouter_id, A_UID)]
    # the record names the card (file and digest) and the values taken from it
    used = records(shown, PEER_MIME)[-1]
    assert used["source"] == "peer card" and used["side"] == "acceptor"
    assert used["values"]["initiator_router_interface_id"] == a_card.router_interface_id
    assert used["card"]["sha256"] == peercard.file_digest(initiator_side["card"])
    assert used["card"]["phases_done"] == ["preflight", "initiator"]
    # run.json, kept by the notebooks themselves (no runner): the same material as a batch run
    run = RunState.load(run_dir)
    assert run.side == "acceptor" and run.result == "ok" and (run_dir / "params.yaml").exists()
    assert (
        run.identities == {"acceptor": run.identities["acceptor"]} and run.identities["acceptor"]["AccountId"] == B_UID
    )
    acceptor = run.phase("acceptor")
    assert acceptor.status == "ok" and acceptor.started and acceptor.ended
    assert acceptor.outputs["acceptor_router_interface_id"] == b[0]["RouterInterfaceId"]
    assert acceptor.peer["card"]["sha256"] == used["card"]["sha256"]
    assert [s["step"] for s in acceptor.steps] == ["peer values", "plan", "apply", "verify", "peer card"]
    assert acceptor.card["file"] == peercard.file_name(LINK, "acceptor")
    assert [c["sha256"] for c in run.peer_cards] == [used["card"]["sha256"]]
    assert [p.status for p in run.phases] == ["ok", "skipped", "ok", "pending", "pending", "pending", "pending"]
    # every call in B's ledger is B's, and the account came from preflight's STS answer only
    ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
    assert {(e["side"], e["account_uid"]) for e in ledger} == {("acceptor", B_UID)}
    assert [e["phase"] for e in ledger if e["action"] == "GetCallerIdentity"] == ["preflight"]
    # B's card for A: its interface, and the phases done
    b_card = peercard.read(run_dir / peercard.file_name(LINK, "acceptor"))
    assert b_card.router_interface_id == b[0]["RouterInterfaceId"] and b_card.phases_done == ("preflight", "acceptor")
    assert records(shown, CARD_MIME)[-1]["file"] == peercard.file_name(LINK, "acceptor")
    assert records(shown, STEPS_MIME)[-1]["steps"][-1]["step"] == "peer card"
    assert records(shown, IDENTITIES_MIME) == [{"acceptor": run.identities["acceptor"]}]


def test_a_card_that_disagrees_with_the_parameter_file_is_refused_naming_the_parameter(tmp_path: Path) -> None:
    card = peercard.PeerCard(
        link=LINK,
        role="initiator",
        account_uid=A_UID,
        region="cn-hangzhou",
        vpc_id="vpc-m5e1tutorialvpc1qd00001",
        vpc_cidr="192.168.0.0/16",
        vrouter_id="vrt-m5e1tutorialvrt1qd00001",
        created="2026-01-02T03:04:05Z",
    )
    path = peercard.write(card, tmp_path)
    with pytest.raises(peercard.PeerCardError) as e:  # at once, as the notebook starts: not at a later cell
        phase("acceptor", side="acceptor", peer_card=path)
    assert [err.field for err in e.value.errors] == ["region"]
    assert "the parameter file says cn-qingdao (initiator.region)" in str(e.value)


def test_a_form_is_used_only_once_confirmed_and_checked_against_the_parameter_file(
    emu: Emulator, tmp_path: Path
) -> None:
    profiles = side_profiles(emu, tmp_path / "b.json", ("acceptor",))
    p = phase("acceptor", emu, side="acceptor", profiles_file=profiles, interactive=True)
    form = p.ask_peer()
    assert form is not None and form.widget is not None
    assert form.inputs["region"].value == "cn-qingdao"  # prefilled from the parameter file
    with pytest.raises(PeerValuesMissing, match="initiator_router_interface_id"):
        p.use_peer(form)  # "Run All" stops here until Confirm
    form.inputs["vrouter_id"].value = "vrt-m5e1tutorialvrt1qd00001"
    form.inputs["router_interface_id"].value = "ri-m5e1tutorialri1qd000001"
    form.inputs["region"].value = "cn-hangzhou"
    # refused in the form, beside the field, never "Confirmed" with a region the parameters contradict
    assert "the parameter file says cn-qingdao (initiator.region)" in form.messages["region"].value
    form.confirm_button.click()
    assert form.confirmed is None and "Not confirmed" in form.status.value
    with pytest.raises(PeerValuesMissing, match=r"initiator_region: the parameter file says cn-qingdao"):
        p.use_peer(form)
    form.inputs["region"].value = "cn-qingdao"
    assert form.messages["region"].value == ""
    form.confirm_button.click()
    p.use_peer(form)
    assert p.ctx.inputs["initiator_router_interface_id"] == "ri-m5e1tutorialri1qd000001"


def test_a_run_directory_of_another_side_is_refused(emu: Emulator, tmp_path: Path, initiator_side: dict) -> None:
    with pytest.raises(NotebookParameterError, match="side: this run has 'initiator'"):
        phase(
            "preflight",
            emu,
            side="acceptor",
            run_dir=initiator_side["run_dir"],
            profiles_file=side_profiles(emu, tmp_path / "b.json", ("acceptor",)),
        )


def test_the_exported_card_holds_no_secret(emu: Emulator, initiator_side: dict) -> None:
    text = initiator_side["card"].read_text()
    accounts = emu.control("accounts")["accounts"]
    assert not any(a[k] in text for a in accounts for k in ("access_key_id", "access_key_secret"))
    assert set(json.loads(text)) <= {
        "vpclink_peer_card",
        "link",
        "role",
        "account_uid",
        "region",
        "vpc_id",
        "vpc_cidr",
        "vrouter_id",
        "router_interface_id",
        "security_group_id",
        "instance_ip",
        "peer_connection_id",
        "created",
        "phases_done",
        "checks",
    }


def test_a_run_begun_cell_by_cell_continues_in_batch_from_its_records(emu: Emulator, tmp_path: Path) -> None:
    """An analyst runs preflight and the initiator in JupyterLab with run_dir set; ``vpclink run
    --resume`` takes the run over from its records alone and finishes it."""
    import contextlib
    import io

    from vpclink.cli import main

    profiles = side_profiles(emu, tmp_path / "both.json", ("initiator", "acceptor"))
    run_dir = tmp_path / "by-hand"
    for name in ("preflight", "initiator"):
        run_cells(phase(name, emu, profiles_file=profiles, run_dir=run_dir, apply=True))
    run = RunState.load(run_dir)
    assert [(p.name, p.status) for p in run.phases[:3]] == [
        ("preflight", "ok"),
        ("initiator", "ok"),
        ("acceptor", "pending"),
    ]
    assert run.identities["initiator"]["AccountId"] == A_UID and run.emulator == emu.url

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["run", "--resume", str(run_dir)])
    assert code == 0, out.getvalue()
    assert "01_initiator         ok (from the records, not run again)" in out.getvalue()
    run = RunState.load(run_dir)
    assert run.result == "verified" and all(p.status == "ok" for p in run.phases)
    assert [s["step"] for s in run.phase("initiator").steps] == ["plan", "apply", "verify"]
    ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
    assert {e["phase"] for e in ledger} == {
        "preflight",
        "initiator",
        "acceptor",
        "connect",
        "routes",
        "security_groups",
        "verify",
    }
    assert all(e["account_uid"] == {"initiator": A_UID, "acceptor": B_UID}[e["side"]] for e in ledger)


def test_one_side_produces_its_own_outputs_and_those_of_the_link() -> None:
    verify, preflight, connect = phases.get("verify"), phases.get("preflight"), phases.get("connect")
    assert verify.outputs_for("acceptor") == (
        "ping_acceptor_to_initiator",
        "verified",
        "ping_acceptor_to_initiator_output",
    )
    assert preflight.outputs_for("initiator") == (
        "initiator_account_uid",
        "initiator_vrouter_id",
        "initiator_route_table_id",
        "initiator_instance_ip",
    )
    assert connect.outputs_for("acceptor") == ("connection_status",)
    assert verify.outputs_for(None) == verify.output_keys


@pytest.mark.parametrize(
    "phase, side, missing, words",
    [
        # the acceptor's interface needs the initiator's: they run up to the phase that creates it
        ("acceptor", "acceptor", ["vrouter_id", "router_interface_id"], "runs their side up to the initiator phase ("),
        # connect: the acceptor's part comes first and needs this side's card
        ("connect", "initiator", ["router_interface_id"], "up to the connect phase with a.peercard.json ("),
        # a value the discovery phase finds: nothing more
        ("verify", "acceptor", ["instance_ip"], "up to the preflight phase (vpclink run link.yaml --side initiator)"),
    ],
)
def test_what_the_other_operator_must_do_follows_from_the_declarations(
    phase: str, side: str, missing: list[str], words: str
) -> None:
    from vpclink.params import load
    from vpclink.peer.exchange import next_for_peer

    assert words in next_for_peer(load(EXAMPLE), phase, side, missing, "a.peercard.json", params_file="link.yaml")
