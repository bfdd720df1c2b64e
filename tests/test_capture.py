"""Captures written by vpclink itself (``Cloud(capture=...)``): a whole run's calls, in the documented
format (``docs/parity.md``, "Capture format"), replayed against a fresh emulator without a difference,
with no credential and no identifying value in them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parity.capture import Anonymizer as ReferenceAnonymizer
from parity.capture import read
from parity.replay import differences_of_a_run
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)
from vpclink.capture import CaptureWriter
from vpclink.phases import RUN, get


def _captured_run(rig: Rig, directory: Path, run_id: str = "run-1") -> Path:
    """Every phase of a run, each with its own Cloud (as each notebook has), into one capture file."""
    writer = None
    for phase in (*RUN, "teardown"):
        writer = CaptureWriter(directory, run_id)
        out = get(phase).apply(rig.ctx(phase, run_id=run_id, capture=writer))
        rig.outputs.update(out)
    assert writer is not None
    return writer.path


def test_a_captured_run_replays_against_a_fresh_emulator_without_a_difference(rig: Rig, tmp_path: Path) -> None:
    path = _captured_run(rig, tmp_path / "captures")
    assert rig.outputs["verified"] is True and rig.outputs["teardown_complete"] is True
    calls = read(path)  # the reference reader validates every line
    actions = {c["action"] for c in calls}
    assert {"CreateRouterInterface", "ConnectRouterInterface", "CreateRouteEntry", "AuthorizeSecurityGroup"} <= actions
    assert {"RunCommand", "DeleteRouterInterface", "GetCallerIdentity"} <= actions
    assert {c["account"] for c in calls} == {"A", "B"}
    errors = [c for c in calls if c["status"] >= 400]
    assert errors and all(c["error_code"] for c in errors)  # teardown's "not found" confirmations
    assert differences_of_a_run(calls) == []


def test_capture_lines_are_the_reference_anonymizers_lines(rig: Rig, tmp_path: Path) -> None:
    """The library's writer and the format's reference implementation agree line by line."""
    ri = "ri-m5e1abcdefgh12345678"
    writer = CaptureWriter(tmp_path, "one")
    reference = ReferenceAnonymizer()
    request = {
        "RegionId": "cn-qingdao",
        "RouterId": "vrt-m5e1tutorialvrt1qd00001",
        "OppositeInterfaceOwnerId": 1589430122237715,
        "Description": f"vpclink link x initiator side, next to {ri} at 192.168.1.10 in 192.168.0.0/16",
        "ClientToken": "vpclink-0123456789abcdef",
        "Permissions": [{"SourceCidrIp": "172.16.0.0/16", "Description": "ok"}],
    }
    body = {"RequestId": "ABC", "RouterInterfaceId": ri, "Status": "Idle", "Bandwidth": 2, "Ok": True, "Gone": None}
    line = writer.record(
        role="initiator",
        product="vpc",
        action="CreateRouterInterface",
        region="cn-qingdao",
        request=request,
        status=200,
        body=body,
        now=5.0,
    )
    expected = reference.call(1, 0.0, "A", "Vpc", "CreateRouterInterface", "cn-qingdao", request, 200, body)
    assert line == expected
    error = {"RequestId": "DEF", "Code": "InvalidInstanceId.NotFound", "Message": f"{ri} is gone"}
    second = writer.record(
        role="acceptor",
        product="vpc",
        action="DeleteRouterInterface",
        region="cn-beijing",
        request={"RouterInterfaceId": ri},
        status=404,
        body=error,
        now=7.5,
    )
    assert second == reference.call(
        2, 2.5, "B", "Vpc", "DeleteRouterInterface", "cn-beijing", {"RouterInterfaceId": ri}, 404, error
    )
    assert [c["seq"] for c in read(writer.path)] == [1, 2]


def test_a_capture_never_holds_a_credential_or_an_identifying_value(rig: Rig, tmp_path: Path) -> None:
    path = _captured_run(rig, tmp_path / "captures")
    text = path.read_text(encoding="utf-8")
    for secret in rig.secrets():
        assert secret not in text
    state = rig.state()
    ids = {
        r[k]
        for types in state.values()
        for items in types.values()
        for r in items
        for k in ("RouterInterfaceId", "RouteEntryId", "VpcId", "SecurityGroupId", "InstanceId")
        if isinstance(r, dict) and r.get(k)
    }
    assert ids and not [i for i in ids if i in text]
    for uid in ("1637243907412983", "1589430122237715", "192.168.1.10", "172.16.0.0/16"):
        assert uid not in text
    # the anonymizer's table (which holds the real values) is kept in the private state, not beside it
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_line_that_would_hold_a_credential_is_refused(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "leak", secrets=("SuperSecretValue123",))
    with pytest.raises(ValueError, match="credential"):
        writer.record(
            role="initiator",
            product="ecs",
            action="RunCommand",
            region="cn-qingdao",
            request={"CommandContent": "echo SuperSecretValue123"},
            status=200,
            body={},
        )
    assert not writer.path.exists() or "SuperSecret" not in writer.path.read_text()


def test_a_capture_continues_across_the_phases_of_a_run(rig: Rig, tmp_path: Path) -> None:
    """Each phase writes with its own writer (its own process in a run): seq and placeholders continue."""
    path = _captured_run(rig, tmp_path / "captures")
    calls = [json.loads(line) for line in path.read_text().splitlines()]
    assert [c["seq"] for c in calls] == list(range(1, len(calls) + 1))
    elapsed = [c["elapsed_s"] for c in calls]
    assert elapsed == sorted(elapsed)
    created = next(c for c in calls if c["action"] == "CreateRouterInterface" and c["account"] == "A")
    ri = created["response"]["RouterInterfaceId"]["$id"]
    deleted = [c for c in calls if c["action"] == "DeleteRouterInterface" and c["account"] == "A"]
    assert deleted and all(c["request"]["RouterInterfaceId"] == ri for c in deleted)
