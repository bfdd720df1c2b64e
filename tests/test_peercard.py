"""Peer cards: exported from a run's outputs, imported from a file or pasted text, validated like the
form, and never carrying a secret."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from phase_support import EXAMPLE
from vpclink.params import LinkParams, Side
from vpclink.peer import card as peercard
from vpclink.peer.card import PeerCard, PeerCardError
from vpclink.peer.values import Local
from vpclink.record.run import RunState

# The emulator's built-in world uses these shapes of credential; a card must refuse them.
ACCESS_KEY_ID = "LTAI5tEmuAccountA7Qx2Lk"
ACCESS_KEY_SECRET = "emuSecretA9f3KqZr7TnW2pXyV4bC8dL1m"

INITIATOR = Side(
    role="initiator",
    profile="vpclink-a",
    region="cn-qingdao",
    vpc_id="vpc-m5e1tutorialvpc1qd00001",
    vpc_cidr="192.168.0.0/16",
    security_group_id="sg-m5e1tutorialsg1qd000001",
    account_uid="1637243907412983",
    instance_id="i-m5e1tutorialecs1qd00001",
)
ACCEPTOR = Side(
    role="acceptor",
    profile="vpclink-b",
    region="cn-beijing",
    vpc_id="vpc-2ze2tutorialvpc2bj00001",
    vpc_cidr="172.16.0.0/16",
    security_group_id="sg-2ze2tutorialsg2bj000001",
)
PARAMS = LinkParams(
    link="tutorial-qingdao-beijing",
    initiator=INITIATOR,
    acceptor=ACCEPTOR,
    bandwidth_mbps=2,
    routes={"initiator": ("172.16.0.0/16",), "acceptor": ("192.168.0.0/16",)},
)
OUTPUTS = {
    "initiator_account_uid": "1637243907412983",
    "acceptor_account_uid": "1589430122237715",
    "initiator_vrouter_id": "vrt-m5e1tutorialvrt1qd00001",
    "acceptor_vrouter_id": "vrt-2ze2tutorialvrt2bj00001",
    "initiator_instance_ip": "192.168.1.10",
    "initiator_router_interface_id": "ri-m5e1tutorialri1qd000001",
}
CREATED = "2026-01-02T03:04:05Z"


def initiator_card() -> PeerCard:
    return peercard.from_outputs(PARAMS, "initiator", OUTPUTS, created=CREATED)


def card_dict(**changes: object) -> dict:
    data = json.loads(initiator_card().to_json())
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def test_export_from_outputs_carries_what_the_acceptor_needs():
    card = initiator_card()
    assert card.values() == {
        "account_uid": "1637243907412983",
        "region": "cn-qingdao",
        "vpc_id": "vpc-m5e1tutorialvpc1qd00001",
        "vpc_cidr": "192.168.0.0/16",
        "vrouter_id": "vrt-m5e1tutorialvrt1qd00001",
        "router_interface_id": "ri-m5e1tutorialri1qd000001",
        "security_group_id": "sg-m5e1tutorialsg1qd000001",
        "instance_ip": "192.168.1.10",
    }
    assert (card.link, card.role, card.created) == ("tutorial-qingdao-beijing", "initiator", CREATED)


def test_write_then_read_round_trips_and_names_the_file(tmp_path):
    card = initiator_card()
    path = peercard.write(card, tmp_path)
    assert path.name == "tutorial-qingdao-beijing-initiator.peercard.json"
    again = peercard.read(
        path,
        expect_role="initiator",
        expect_link="tutorial-qingdao-beijing",
        local=Local(account_uid="1589430122237715", vpc_cidr="172.16.0.0/16"),
    )
    assert again == card
    assert again.fingerprint == card.fingerprint and len(card.fingerprint) == 12
    assert card.fingerprint in card.describe()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


def test_a_card_before_the_router_interface_exists_omits_it():
    outputs = {k: v for k, v in OUTPUTS.items() if k != "initiator_router_interface_id"}
    card = peercard.from_outputs(PARAMS, "initiator", outputs)
    assert card.router_interface_id is None and "router_interface_id" not in card.values()
    assert json.loads(card.to_json())["router_interface_id"] is None


def test_export_before_preflight_names_the_missing_outputs():
    with pytest.raises(PeerCardError) as e:
        peercard.from_outputs(PARAMS, "acceptor", {})
    assert [err.field for err in e.value.errors] == ["acceptor_account_uid", "acceptor_vrouter_id"]
    assert "preflight" in str(e.value)


def recorded_run(tmp_path, done: dict[str, dict], *, dry_run: bool = False):
    """A run directory whose phases in ``done`` are ok with those outputs (the rest pending)."""
    run_dir, _ = RunState.create(tmp_path, EXAMPLE, PARAMS, target="emulator", run_dir=tmp_path, dry_run=dry_run)
    with RunState.edit(run_dir) as state:
        for name, outputs in done.items():
            state.phase(name).status, state.phase(name).outputs = "ok", outputs
    return run_dir


def test_export_from_a_run_directory(tmp_path):
    recorded_run(
        tmp_path, {"preflight": OUTPUTS, "acceptor": {"acceptor_router_interface_id": "ri-2ze2tutorialri2bj000001"}}
    )
    card = peercard.from_run(tmp_path, "acceptor")
    assert card.values() == {
        "account_uid": "1589430122237715",
        "region": "cn-beijing",
        "vpc_id": "vpc-2ze2tutorialvpc2bj00001",
        "vpc_cidr": "172.16.0.0/16",
        "vrouter_id": "vrt-2ze2tutorialvrt2bj00001",
        "router_interface_id": "ri-2ze2tutorialri2bj000001",
        "security_group_id": "sg-2ze2tutorialsg2bj000001",
    }


def test_pasted_yaml_with_an_unquoted_uid_and_spaces_is_accepted():
    text = "\n".join(
        f"{k}: {v}" for k, v in card_dict().items() if v not in (None, {}) and k not in ("account_uid", "region")
    )
    text += "\naccount_uid: 1637243907412983\nregion:   cn-qingdao  \n"
    card = peercard.parse(text, expect_role="initiator")
    assert card.account_uid == "1637243907412983" and card.region == "cn-qingdao"


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"account_uid": "16372439074129"}, "account_uid", "has 14 digits: an Alibaba Cloud account UID is 16 to 19"),
        ({"region": "cn-qindao"}, "region", "did you mean 'cn-qingdao'?"),
        ({"vrouter_id": "sg-m5e1tutorialsg1qd000001"}, "vrouter_id", "is a security group ID, not a VRouter ID"),
        ({"router_interface_id": "ri-M5E1TUTORIAL"}, "router_interface_id", "uppercase"),
        ({"vpc_id": "vpc-1"}, "vpc_id", "8 to 32 lowercase"),
        ({"vpc_cidr": "192.168.1.0/16"}, "vpc_cidr", "host bits set: the network is 192.168.0.0/16"),
        ({"vpc_cidr": "192.168.0.0/30"}, "vpc_cidr", "/8 to /28"),
        ({"vpc_cidr": "100.64.0.0/16"}, "vpc_cidr", "reserved"),
        ({"instance_ip": "10.0.0.1"}, "instance_ip", "not inside the peer VPC CIDR 192.168.0.0/16"),
        ({"instance_ip": "192.168.1"}, "instance_ip", "IPv4 address"),
        ({"role": "both"}, "role", "initiator, acceptor"),
        ({"link": "x"}, "link", "2-64 characters"),
        ({"created": "yesterday"}, "created", "UTC time"),
        ({"vpc_cidr": ...}, "vpc_cidr", "required"),
        ({"account_uid": 1637243907412983.0}, "account_uid", "decimal number"),
        ({"vrouter_id": ["vrt-m5e1tutorialvrt1qd00001"]}, "vrouter_id", "must be a string"),
        ({"peer_name": "bob"}, "peer_name", "unknown key"),
        ({"vpclink_peer_card": 2}, "vpclink_peer_card", "format version"),
        ({"phases_done": ["preflight", "launch"]}, "phases_done", "list of phase names"),
        ({"phases_done": "preflight"}, "phases_done", "list of phase names"),
        ({"checks": {"ping_acceptor_to_initiator": "ok"}}, "checks.ping_acceptor_to_initiator", "not a check result"),
        ({"checks": {"verified": "ok\nand more"}}, "checks.verified", "true, false or a word"),
        ({"checks": ["ok"]}, "checks", "object of check results"),
    ],
)
def test_a_bad_card_is_refused_naming_the_key(changes, field, words):
    with pytest.raises(PeerCardError) as e:
        peercard.parse(json.dumps(card_dict(**changes)), "card.json")
    assert field in {err.field for err in e.value.errors}
    message = next(err.message for err in e.value.errors if err.field == field)
    assert words in message
    assert str(e.value).startswith("card.json: not a valid peer card")


def test_import_checks_the_card_against_the_importing_side():
    text = initiator_card().to_json()
    cases = [
        (dict(expect_role="acceptor"), "role", "this is the initiator's card; this side needs the acceptor's"),
        (dict(expect_link="another-link"), "link", "this run is for 'another-link'"),
        (dict(local=Local(vpc_cidr="192.168.128.0/17")), "vpc_cidr", "overlaps this side's VPC CIDR"),
        (dict(local=Local(account_uid="1637243907412983")), "account_uid", "this side's own account"),
    ]
    for expect, field, words in cases:
        with pytest.raises(PeerCardError) as e:
            peercard.parse(text, **expect)
        assert [(err.field, words in err.message) for err in e.value.errors] == [(field, True)], expect


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "", "just words"])
def test_text_that_is_not_a_card_object_is_refused(text):
    with pytest.raises(PeerCardError) as e:
        peercard.parse(text)
    assert e.value.errors[0].field == "(card)"


@pytest.mark.parametrize("key", ["access_key_secret", "AccessKeyId", "security_token", "password"])
def test_a_card_with_a_credential_key_is_refused_without_repeating_it(key):
    with pytest.raises(PeerCardError) as e:
        peercard.parse(json.dumps(card_dict(**{key: ACCESS_KEY_SECRET})))
    assert [err.field for err in e.value.errors] == [key]
    assert "never carries credentials" in e.value.errors[0].message
    assert ACCESS_KEY_SECRET not in str(e.value)


@pytest.mark.parametrize("field", ["link", "vpc_id", "router_interface_id", "region"])
@pytest.mark.parametrize("secret", [ACCESS_KEY_ID, ACCESS_KEY_SECRET])
def test_a_credential_in_a_value_is_refused_on_reading_and_never_repeated(field, secret):
    with pytest.raises(PeerCardError) as e:
        peercard.parse(json.dumps(card_dict(**{field: secret})))
    assert field in {err.field for err in e.value.errors}
    assert secret not in str(e.value)


@pytest.mark.parametrize("secret", [ACCESS_KEY_ID, ACCESS_KEY_SECRET])
def test_a_card_holding_a_credential_cannot_be_made_so_never_written(tmp_path, secret):
    card = initiator_card()
    for field in ("link", "vpc_id", "security_group_id"):
        with pytest.raises(PeerCardError) as e:
            peercard.write(dataclasses.replace(card, **{field: secret}), tmp_path)
        assert secret not in str(e.value)
    outputs = {**OUTPUTS, "initiator_vrouter_id": secret}
    with pytest.raises(PeerCardError):
        peercard.write(peercard.from_outputs(PARAMS, "initiator", outputs), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_written_card_holds_only_the_documented_keys(tmp_path):
    path = peercard.write(initiator_card(), tmp_path / "a.json")
    assert set(json.loads(path.read_text())) == {
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


def test_a_card_says_which_phases_its_side_has_completed(tmp_path):
    card = peercard.from_outputs(
        PARAMS, "initiator", OUTPUTS, created=CREATED, phases_done=["initiator", "preflight", "teardown"]
    )
    assert card.phases_done == ("preflight", "initiator")  # run order; teardown is no phase of a run
    again = peercard.read(peercard.write(card, tmp_path))
    assert again == card and again.phases_done == ("preflight", "initiator")
    recorded_run(tmp_path / "run", {"preflight": OUTPUTS, "initiator": {}})
    assert peercard.from_run(tmp_path / "run", "initiator").phases_done == ("preflight", "initiator")
    recorded_run(tmp_path / "plan", {"preflight": OUTPUTS, "initiator": {}}, dry_run=True)
    assert peercard.from_run(tmp_path / "plan", "initiator").phases_done == ()  # a plan did nothing


def test_the_file_digest_is_what_sha256sum_shows(tmp_path):
    import hashlib

    path = peercard.write(initiator_card(), tmp_path)
    assert peercard.file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert peercard.file_digest(path).startswith(initiator_card().fingerprint)


# -- a card that cannot be the peer's, and hostile files ------------------------------------------------


def acceptor_local(**known: str) -> Local:
    """What the acceptor's side knows: its own IDs (the run's outputs) and the shared parameter file."""
    from vpclink.peer.exchange import local_view

    return local_view(PARAMS, "acceptor", account_uid="1589430122237715", known=known)


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"region": "cn-hangzhou"}, "region", "the parameter file says cn-qingdao (initiator.region)"),
        ({"vpc_id": "vpc-m5e1another0000001"}, "vpc_id", "the parameter file says vpc-m5e1tutorialvpc1qd00001"),
        ({"account_uid": "1589430122237715"}, "account_uid", "this side's own account"),
        ({"router_interface_id": "ri-2ze2tutorialri2bj000001"}, "router_interface_id", "this side's own router"),
        ({"vrouter_id": "vrt-2ze2tutorialvrt2bj00001"}, "vrouter_id", "share one emulator"),
    ],
)
def test_a_card_whose_values_cannot_be_the_peers_is_refused_at_once(changes, field, words):
    local = acceptor_local(
        acceptor_router_interface_id="ri-2ze2tutorialri2bj000001", acceptor_vrouter_id="vrt-2ze2tutorialvrt2bj00001"
    )
    with pytest.raises(PeerCardError) as e:
        peercard.parse(json.dumps(card_dict(**changes)), "card.json", expect_role="initiator", local=local)
    messages = {err.field: err.message for err in e.value.errors}
    assert words in messages[field], messages
    peercard.parse(json.dumps(card_dict()), "card.json", expect_role="initiator", local=local)  # the right card


def test_a_card_carries_its_sides_check_results_only(tmp_path):
    outputs = {
        **OUTPUTS,
        "ping_initiator_to_acceptor": "ok",
        "ping_initiator_to_acceptor_output": "PING 172.16.1.10\n3 packets transmitted",
        "ping_acceptor_to_initiator": "failed",
        "verified": True,
    }
    card = peercard.from_outputs(PARAMS, "initiator", outputs, created=CREATED)
    assert card.checks == {"ping_initiator_to_acceptor": "ok", "verified": True}
    assert peercard.read(peercard.write(card, tmp_path)).checks == card.checks


def hostile(tmp_path, name: str, content: bytes | None) -> str:
    path = tmp_path / name
    if content is None:
        os.mkfifo(path)
    else:
        path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("fifo.json", None, "named pipe"),
        ("huge.json", b"{" + b" " * (200 * 1024) + b"}", "is 200 KB; a peer card"),
        ("latin1.json", json.dumps({"link": "x"}).encode()[:-1] + b'"\xe9"}', "not UTF-8"),
        ("deep.json", b"[" * 5000 + b"]" * 5000, "nests more than"),
        ("deep.yaml", b"a:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 60)), "nests more than"),
        ("twice.json", b'{"link": "a", "link": "b"}', "repeats the key(s) link"),
        ("types.json", json.dumps({"vpclink_peer_card": 1, 3: 4, "role": ["x"]}).encode(), "must be a string"),
        (
            "bomb.yaml",
            b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n",
            "expands",
        ),
    ],
)
def test_a_hostile_card_file_is_refused_with_a_message(tmp_path, name, content, words):
    path = hostile(tmp_path, name, content)
    with pytest.raises(PeerCardError) as e:
        peercard.read(path)
    assert words in str(e.value), str(e.value)
    assert str(e.value).startswith(path)
