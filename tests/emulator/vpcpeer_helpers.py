"""Helpers for the VpcPeer 2022-01-01 tests: worlds with a third account and more VPCs, the official
``alibabacloud-vpcpeer20220101`` client, and every response checked against its SDK model."""

from __future__ import annotations

import copy
import typing
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpcpeer20220101 import models as pm
from alibabacloud_vpcpeer20220101.client import Client as PeerClient
from alicloud_emulator.world import default_world, with_timing
from Tea.model import TeaModel

from .conftest import Emu

A, B, C = "account-a", "account-b", "account-c"
C_UID = "1098765432101234"
QD, BJ = "cn-qingdao", "cn-beijing"
VPC1, VPC2 = "vpc-m5e1tutorialvpc1qd00001", "vpc-2ze2tutorialvpc2bj00001"
VTB1, VTB2 = "vtb-m5e1tutorialvtb1qd00001", "vtb-2ze2tutorialvtb2bj00001"
VPC3, VTB3 = "vpc-m5e3peervpc3qd00000001", "vtb-m5e3peervtb3qd00000001"  # A's second VPC, in cn-qingdao
VPC4 = "vpc-m5e4peervpc4qd00000001"  # C's VPC, in cn-qingdao
ECS1, ECS2, ECS3 = "i-m5e1tutorialecs1qd00001", "i-2ze2tutorialecs2bj00001", "i-m5e3peerecs3qd000000001"
IP1, IP2, IP3 = "192.168.1.10", "172.16.1.10", "10.3.1.10"
SG1, SG2, SG3 = "sg-m5e1tutorialsg1qd000001", "sg-2ze2tutorialsg2bj000001", "sg-m5e3peersg3qd0000000001"
CIDR1, CIDR2, CIDR3 = "192.168.0.0/16", "172.16.0.0/16", "10.3.0.0/16"


def peer_world(scale: float | None = 0, more_vpcs_of_a: int = 0, **timing: float) -> dict[str, Any]:
    """The tutorial world (A's VPC1 in cn-qingdao, B's VPC2 in cn-beijing) plus A's VPC3 with an
    instance in cn-qingdao, a third account C with VPC4 in cn-qingdao, and ``more_vpcs_of_a``
    bare VPCs of A in cn-qingdao (``vpc-m5e9extra<n>``). ``scale=0``: every step immediate;
    ``None``: the built-in delays."""
    world = copy.deepcopy(default_world())
    world["accounts"].append(
        {"name": C, "uid": C_UID, "access_key_id": "LTAI5tEmuAccountC4Kp9Rz", "access_key_secret": "emuSecretC7h2Lq"}
    )
    world["vpcs"].append(
        {
            "account": A,
            "region": QD,
            "name": "VPC3",
            "id": VPC3,
            "route_table_id": VTB3,
            "cidr": CIDR3,
            "vswitches": [{"id": "vsw-m5e3peervsw3qd00000001", "zone": "cn-qingdao-c", "cidr": "10.3.1.0/24"}],
            "security_groups": [{"id": SG3}],
            "instances": [
                {"id": ECS3, "vswitch": "vsw-m5e3peervsw3qd00000001", "private_ip": IP3, "security_groups": [SG3]}
            ],
        }
    )
    world["vpcs"].append({"account": C, "region": QD, "name": "VPC4", "id": VPC4, "cidr": "10.4.0.0/16"})
    for n in range(more_vpcs_of_a):
        world["vpcs"].append(
            {"account": A, "region": QD, "id": f"vpc-m5e9extra{n:04d}", "cidr": f"10.{100 + n}.0.0/16"}
        )
    return with_timing(world, scale=scale, **timing)


def peer_client(emu: Emu, account: str, **config: Any) -> PeerClient:
    """The official VpcPeer client of ``account``, pointed at the emulator (one central endpoint)."""
    return PeerClient(emu.config(account, QD, **config))


def call(client: PeerClient, method: str, request: Any) -> dict[str, Any]:
    """``client.<method>(request)``; the raw JSON body the emulator sent, checked against the
    SDK's response model (every key kept, every value of the declared type)."""
    raw: list[dict[str, Any]] = []
    sdk_call_api = client.call_api

    def capture(params: Any, req: Any, runtime: Any) -> Any:
        answer = sdk_call_api(params, req, runtime)
        raw.append(copy.deepcopy(answer["body"]))
        return answer

    client.call_api = capture  # shadows the method on this instance only
    try:
        response = getattr(client, method)(request)
    finally:
        del client.call_api
    body = raw[-1]
    roundtrip(type(response.body), body)
    assert isinstance(body.pop("RequestId", None), str)
    return body


def error(client: PeerClient, method: str, request: Any) -> ClientException:
    with pytest.raises(ClientException) as caught:
        getattr(client, method)(request)
    return caught.value


def roundtrip(body_cls: type, body: dict[str, Any]) -> None:
    """``Body().from_map(b).to_map() == b`` and each value of the type the model declares (these
    models are ``TeaModel``s: ``from_map`` copies values without converting them)."""
    model = body_cls().from_map(copy.deepcopy(body))
    again = model.to_map()
    assert again == body, f"the SDK model changed the body: {again} != {body}"
    wrong = _type_errors(model, body_cls.__name__)
    assert not wrong, "values of another JSON type than the SDK model's:\n" + "\n".join(wrong)


def _type_errors(model: Any, where: str) -> list[str]:
    out: list[str] = []
    for attr, hint in typing.get_type_hints(type(model).__init__).items():
        if attr != "return":
            out += _value_errors(getattr(model, attr, None), hint, f"{where}.{attr}")
    return out


def _value_errors(value: Any, hint: Any, where: str) -> list[str]:
    if value is None:
        return []
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [e for i, v in enumerate(value) for e in _value_errors(v, args[0] if args else Any, f"{where}[{i}]")]
    if origin is dict:
        return [] if isinstance(value, dict) else [f"{where}: {value!r} is not an object"]
    if isinstance(hint, type) and issubclass(hint, TeaModel):
        return _type_errors(value, where) if isinstance(value, hint) else [f"{where}: {value!r} is not {hint.__name__}"]
    expected = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}.get(hint)
    if expected is None:
        return []
    ok = isinstance(value, expected) and (hint is bool or not isinstance(value, bool))
    return [] if ok else [f"{where}: {value!r} is {type(value).__name__}, the SDK declares {hint.__name__}"]


def create(client: PeerClient, vpc: str = VPC1, accepting_vpc: str = VPC2, **fields: Any) -> str:
    """CreateVpcPeerConnection from A's side by default (VPC1 to B's VPC2 in cn-beijing)."""
    uid = fields.pop("accepting_uid")
    request = pm.CreateVpcPeerConnectionRequest(
        region_id=fields.pop("region_id", QD),
        vpc_id=vpc,
        accepting_ali_uid=int(uid),
        accepting_region_id=fields.pop("accepting_region_id", BJ),
        accepting_vpc_id=accepting_vpc,
        **fields,
    )
    return str(call(client, "create_vpc_peer_connection", request)["InstanceId"])


def get(client: PeerClient, pcc: str) -> dict[str, Any]:
    return call(client, "get_vpc_peer_connection_attribute", pm.GetVpcPeerConnectionAttributeRequest(instance_id=pcc))


def listed(client: PeerClient, **filters: Any) -> dict[str, Any]:
    return call(client, "list_vpc_peer_connections", pm.ListVpcPeerConnectionsRequest(**filters))


def accept(client: PeerClient, pcc: str, **fields: Any) -> None:
    call(client, "accept_vpc_peer_connection", pm.AcceptVpcPeerConnectionRequest(instance_id=pcc, **fields))


def peered(emu: Emu, requester: str = A, accepter: str = B, **fields: Any) -> str:
    """A connection from ``requester`` to ``accepter`` (VPC1 to VPC2 by default), accepted when
    cross-account; Activated in an instant world."""
    uid = emu.account(accepter)["uid"]
    pcc = create(peer_client(emu, requester), accepting_uid=uid, **fields)
    if accepter != requester:
        accept(peer_client(emu, accepter), pcc)
    return pcc
