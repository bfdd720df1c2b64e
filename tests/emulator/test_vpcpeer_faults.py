"""Faults and the journal on every mutating VpcPeer action (they come through the dispatcher like the
other products'): an error before the handler changes nothing; a response lost after the commit
leaves the change in, and the retry with the same ClientToken converges to exactly one change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_vpcpeer20220101 import models as pm

from .conftest import Emu, start_emulator
from .vpcpeer_helpers import QD, A, B, create, get, listed, peer_client, peer_world, peered


@pytest.fixture
def emu() -> Emu:
    e = start_emulator(peer_world())
    yield e
    e.server.stop()


def requested(emu: Emu) -> str:
    return create(peer_client(emu, A), accepting_uid=emu.account(B)["uid"])


def tagged(emu: Emu) -> str:
    pcc = peered(emu)
    peer_client(emu, A).tag_resources(
        pm.TagResourcesRequest(
            region_id=QD,
            resource_type="PeerConnection",
            resource_id=[pcc],
            tag=[pm.TagResourcesRequestTag(key="k", value="v")],
        )
    )
    return pcc


def tags(emu: Emu, pcc: str) -> list[dict[str, str]]:
    return get(peer_client(emu, A), pcc)["Tags"]


def connections(emu: Emu) -> list[dict[str, Any]]:
    return listed(peer_client(emu, A))["VpcPeerConnects"]


@dataclass(frozen=True)
class Case:
    action: str
    account: str
    setup: Callable[[Emu], str]  # the connection the action works on ("" for Create)
    request: Callable[[Emu, str, str | None], Any]  # (emu, connection, client token) -> SDK request
    done: Callable[[Emu, str], bool]  # whether the change is in


CASES = [
    Case(
        "CreateVpcPeerConnection",
        A,
        lambda emu: "",
        lambda emu, pcc, token: pm.CreateVpcPeerConnectionRequest(
            region_id=QD,
            vpc_id="vpc-m5e1tutorialvpc1qd00001",
            accepting_ali_uid=int(emu.account(B)["uid"]),
            accepting_region_id="cn-beijing",
            accepting_vpc_id="vpc-2ze2tutorialvpc2bj00001",
            client_token=token,
        ),
        lambda emu, pcc: len(connections(emu)) == 1,
    ),
    Case(
        "AcceptVpcPeerConnection",
        B,
        requested,
        lambda emu, pcc, token: pm.AcceptVpcPeerConnectionRequest(instance_id=pcc, client_token=token),
        lambda emu, pcc: get(peer_client(emu, A), pcc)["Status"] == "Activated",
    ),
    Case(
        "RejectVpcPeerConnection",
        B,
        requested,
        lambda emu, pcc, token: pm.RejectVpcPeerConnectionRequest(instance_id=pcc, client_token=token),
        lambda emu, pcc: get(peer_client(emu, A), pcc)["Status"] == "Rejected",
    ),
    Case(
        "ModifyVpcPeerConnection",
        A,
        peered,
        lambda emu, pcc, token: pm.ModifyVpcPeerConnectionRequest(instance_id=pcc, name="renamed", client_token=token),
        lambda emu, pcc: get(peer_client(emu, A), pcc)["Name"] == "renamed",
    ),
    Case(
        "DeleteVpcPeerConnection",
        A,
        peered,
        lambda emu, pcc, token: pm.DeleteVpcPeerConnectionRequest(instance_id=pcc, client_token=token),
        lambda emu, pcc: connections(emu) == [],
    ),
    Case(
        "TagResources",
        A,
        peered,
        lambda emu, pcc, token: pm.TagResourcesRequest(
            region_id=QD,
            resource_type="PeerConnection",
            resource_id=[pcc],
            tag=[pm.TagResourcesRequestTag(key="k", value="v")],
            client_token=token,
        ),
        lambda emu, pcc: tags(emu, pcc) == [{"Key": "k", "Value": "v"}],
    ),
    Case(
        "UnTagResources",
        A,
        tagged,
        lambda emu, pcc, token: pm.UnTagResourcesRequest(
            region_id=QD, resource_type="PeerConnection", resource_id=[pcc], tag_key=["k"], client_token=token
        ),
        lambda emu, pcc: tags(emu, pcc) == [],
    ),
    Case(
        "MoveResourceGroup",
        A,
        peered,
        lambda emu, pcc, token: pm.MoveResourceGroupRequest(
            region_id=QD, resource_id=pcc, resource_type="PeerConnection", new_resource_group_id="rg-acfmfaults01"
        ),
        lambda emu, pcc: get(peer_client(emu, A), pcc)["ResourceGroupId"] == "rg-acfmfaults01",
    ),
]


def send(emu: Emu, case: Case, pcc: str, token: str | None) -> Any:
    client = peer_client(emu, case.account)
    method = "".join(f"_{c.lower()}" if c.isupper() else c for c in case.action).lstrip("_")
    return getattr(client, method)(case.request(emu, pcc, token))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.action)
def test_an_error_before_the_handler_changes_nothing(emu: Emu, case: Case) -> None:
    pcc = case.setup(emu)
    emu.faults(
        {
            "action": case.action,
            "product": "VpcPeer",
            "effect": "error",
            "code": "ServiceUnavailable",
            "status": 503,
            "times": 1,
        }
    )
    with pytest.raises(AlibabaCloudException) as caught:
        send(emu, case, pcc, None)
    assert (caught.value.code, caught.value.status_code) == ("ServiceUnavailable", 503)
    assert not case.done(emu, pcc)
    entry = emu.journal(action=case.action)[-1]
    assert (entry["product"], entry["version"], entry["status"], entry["error_code"]) == (
        "VpcPeer",
        "2022-01-01",
        503,
        "ServiceUnavailable",
    )
    assert entry["fault"].endswith("error")
    send(emu, case, pcc, None)
    assert case.done(emu, pcc)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.action)
def test_a_response_lost_after_the_commit_converges_on_retry(emu: Emu, case: Case) -> None:
    pcc = case.setup(emu)
    emu.faults(
        {"action": case.action, "effect": "fail_after_commit", "code": "ServiceUnavailable", "status": 503, "times": 1}
    )
    token = f"faults-{case.action}"
    with pytest.raises(AlibabaCloudException):
        send(emu, case, pcc, token)
    assert case.done(emu, pcc), "the change is in although the client saw a failure"
    entry = emu.journal(action=case.action)[-1]
    assert entry["committed"] is True and (entry["status"], entry["error_code"]) == (503, "ServiceUnavailable")
    again = send(emu, case, pcc, token)  # the retry, as a client would send it
    assert case.done(emu, pcc)
    if case.action == "CreateVpcPeerConnection":
        (only,) = connections(emu)
        assert again.body.instance_id == only["InstanceId"], "the same ClientToken gives the first connection back"
    if case.action != "MoveResourceGroup":  # it takes no ClientToken
        assert emu.journal(action=case.action)[-1].get("idempotent_replay") is True


def test_a_fault_can_select_the_product(emu: Emu) -> None:
    """``product: Vpc`` does not hit the VpcPeer TagResources, the action of the same name."""
    emu.faults({"action": "TagResources", "product": "Vpc", "effect": "error", "code": "Nope", "status": 500})
    pcc = peered(emu)
    send(emu, CASES[5], pcc, None)
    assert tags(emu, pcc) == [{"Key": "k", "Value": "v"}]
    assert "fault" not in emu.journal(action="TagResources")[-1]


def test_the_journal_keeps_the_parameters_and_no_secret(emu: Emu) -> None:
    pcc = peered(emu)
    (entry,) = emu.journal(action="AcceptVpcPeerConnection")
    assert (entry["params"], entry["account"], entry["product"]) == ({"InstanceId": pcc}, B, "VpcPeer")
    text = str(emu.journal())
    for name in (A, B):
        assert emu.account(name)["access_key_secret"] not in text
