"""Replay of captures against the emulator (``pytest -m parity --capture-dir DIR``), and the capture
format's own guarantees: no credential is ever kept, identifying values become placeholders, and
the replay reports differences of shape, code and state sequence."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .capture import Anonymizer, CaptureError, read
from .example_capture import OUT, calls
from .replay import Replay

pytestmark = pytest.mark.parity


def _replay(calls_: list[dict[str, Any]], world: dict[str, Any] | None = None) -> list[str]:
    replay = Replay(calls_, world)
    try:
        return [str(d) for d in replay.run()]
    finally:
        replay.close()


def test_capture_replays_without_differences(capture_file: Path, request: pytest.FixtureRequest) -> None:
    """Each captured call, sent again to a fresh emulator, answers with the captured status, code,
    shape and state sequence (``docs/parity.md``, "Capture format")."""
    world_file = request.config.getoption("--capture-world")
    world = yaml.safe_load(Path(world_file).read_text(encoding="utf-8")) if world_file else None
    differences = _replay(read(capture_file), world)
    assert not differences, f"{capture_file.name}: {len(differences)} difference(s):\n" + "\n".join(differences)


def test_the_shipped_capture_is_what_its_generator_makes() -> None:
    """``python -m tests.parity.example_capture`` regenerates it from the vendored metadata."""
    shipped = [json.loads(line) for line in OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert shipped == calls()


def _shipped() -> list[dict[str, Any]]:
    return read(OUT)


@pytest.mark.parametrize(
    "change, kind",
    [
        (lambda c: c[0]["response"]["Vpcs"]["Vpc"][0].__setitem__("Status", {"$enum": "Pending"}), "state"),
        (lambda c: c[0]["response"]["Vpcs"]["Vpc"][0].__setitem__("ClassicLink", "$boolean"), "missing"),
        (lambda c: c[0]["response"].__setitem__("TotalCount", "$string"), "type"),
        (lambda c: c[3].__setitem__("error_code", "IncorrectRIStatus"), "code"),
        (lambda c: c[4].__setitem__("status", 404), "status"),
        (
            lambda c: c[1]["response"]["RouterTableList"]["RouterTableListType"][0].__setitem__(
                "VpcId", {"$id": "{{vrt:1}}"}
            ),
            "identity",
        ),
    ],
)
def test_the_replay_reports_each_kind_of_difference(change: Any, kind: str) -> None:
    tampered = copy.deepcopy(_shipped())
    change(tampered)
    differences = _replay(tampered)
    assert any(f": {kind} " in d for d in differences), differences


def test_a_poll_compares_the_sequence_of_states_not_the_number_of_polls(tmp_path: Path) -> None:
    """Waiting on a route entry: the cloud answered Pending three times, then Available; the emulator
    (2 s to settle in the tutorial world) answers Pending, then Available. Same sequence, no
    difference; a capture that never saw Pending is one."""
    route = {"RegionId": "cn-qingdao", "RouteTableId": "{{vtb:1}}", "RouteEntryId": "{{rte:1}}"}

    def poll(seq: int, t: float, status: str) -> dict[str, Any]:
        entry = {"RouteEntryId": {"$id": "{{rte:1}}"}, "Status": {"$enum": status}}
        return _line(seq, t, "DescribeRouteEntryList", route, {"RouteEntrys": {"RouteEntry": [entry]}})

    create = _line(
        1,
        0.0,
        "CreateRouteEntry",
        {
            "RegionId": "cn-qingdao",
            "RouteTableId": "{{vtb:1}}",
            "DestinationCidrBlock": "10.9.0.0/16",
            "NextHopType": "Instance",
            "NextHopId": "{{i:1}}",
        },
        {"RouteEntryId": {"$id": "{{rte:1}}"}, "RequestId": "$string"},
    )
    waited = [
        create,
        poll(2, 0.5, "Pending"),
        poll(3, 1.0, "Pending"),
        poll(4, 1.5, "Pending"),
        poll(5, 3.0, "Available"),
    ]
    world = _tutorial_world()
    assert _partial(_replay(waited, world)) == []
    never_pending = [create, poll(2, 0.5, "Available"), poll(3, 3.0, "Available")]
    assert any(": state " in d for d in _partial(_replay(never_pending, world)))


def _partial(differences: list[str]) -> list[str]:
    """These hand-made replies list only some fields: ignore the ones the emulator adds."""
    return [d for d in differences if ": extra " not in d]


def _tutorial_world() -> dict[str, Any]:
    from alicloud_emulator.world import default_world

    return default_world()  # with its demo delays: a route entry is Pending for 2 s


def _line(seq: int, t: float, action: str, request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "vpclink-capture/1",
        "seq": seq,
        "elapsed_s": t,
        "account": "A",
        "product": "Vpc",
        "version": "2016-04-28",
        "action": action,
        "region": "cn-qingdao",
        "request": request,
        "status": 200,
        "error_code": None,
        "response": response,
    }


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "not JSON"),
        ('{"format": "other/1"}', "seq is missing"),
        (json.dumps(dict(_line(1, 0, "DescribeVpcs", {}, {}), format="other/2")), "this replay reads"),
        (json.dumps(_line(1, 0, "DescribeVpcs", {"AccessKeyId": "LTAI5t"}, {})), "must not be captured"),
        (json.dumps(dict(_line(1, 0, "DescribeVpcs", {}, {}), account="account-a")), "label"),
        (json.dumps(_line(2, 0, "DescribeVpcs", {}, {})), "seq must count"),
    ],
)
def test_a_malformed_capture_is_refused_naming_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(CaptureError, match=message):
        read(path)


def test_a_capture_line_keeps_no_credential_and_no_identifier() -> None:
    """The writer's contract: protocol and credential parameters never enter a capture; IDs, UIDs,
    IPs and CIDRs become placeholders wherever they occur, one value one placeholder."""
    uid, ri, peer_ri = 1589430122237715, "ri-m5e1abcdef0123456789", "ri-2ze9abcdef0123456789"
    line = Anonymizer().call(
        1,
        0.25,
        "A",
        "Vpc",
        "ModifyRouterInterfaceAttribute",
        "cn-qingdao",
        {
            "AccessKeyId": "LTAI5tEmuAccountA7Qx2Lk",
            "Signature": "c2lnbmF0dXJl",
            "SignatureNonce": "4c3a",
            "SecurityToken": "CAIS-sts-token",
            "RegionId": "cn-qingdao",
            "RouterInterfaceId": ri,
            "OppositeInterfaceId": peer_ri,
            "OppositeInterfaceOwnerId": uid,
            "Description": f"to 172.16.0.0/16 and 172.16.1.10 via {peer_ri} of {uid}",
            "ClientToken": "vpclink-link-initiator",
        },
        200,
        {"RequestId": "A1B2", "AccessKeySecret": "emuSecretA9f3KqZr7TnW2pXyV4bC8dL1m", "Status": "Idle"},
    )
    text = json.dumps(line)
    for leaked in ("LTAI5t", "c2lnbmF0dXJl", "CAIS", "emuSecret", "vpclink-link", str(uid), "172.16", "m5e1", "2ze9"):
        assert leaked not in text, leaked
    request = line["request"]
    assert request["RouterInterfaceId"] == "{{ri:1}}" and request["OppositeInterfaceId"] == "{{ri:2}}"
    assert request["OppositeInterfaceOwnerId"] == "{{uid:1}}"
    assert request["Description"] == "to {{cidr:1}} and {{ip:1}} via {{ri:2}} of {{uid:1}}"
    assert request["ClientToken"] == "{{token:1}}" and request["RegionId"] == "cn-qingdao"
    assert line["response"] == {"RequestId": "$string", "Status": {"$enum": "Idle"}}
    assert (line["status"], line["error_code"], line["elapsed_s"]) == (200, None, 0.25)
