"""Helpers for the ECS and Cloud Assistant tests: strict shape checks against the SDK models,
worlds derived from the tutorial one, and the documented VPC records of a peering."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_models
from alicloud_emulator.store import Store
from alicloud_emulator.world import default_world, with_timing

from .conftest import Emu, Side, roundtrip

A_VPC, A_VRT, A_VTB = "vpc-m5e1tutorialvpc1qd00001", "vrt-m5e1tutorialvrt1qd00001", "vtb-m5e1tutorialvtb1qd00001"
B_VPC, B_VRT, B_VTB = "vpc-2ze2tutorialvpc2bj00001", "vrt-2ze2tutorialvrt2bj00001", "vtb-2ze2tutorialvtb2bj00001"
A_SG, B_SG = "sg-m5e1tutorialsg1qd000001", "sg-2ze2tutorialsg2bj000001"
A_ECS, B_ECS = "i-m5e1tutorialecs1qd00001", "i-2ze2tutorialecs2bj00001"
A_IP, B_IP = "192.168.1.10", "172.16.1.10"
A_CIDR, B_CIDR = "192.168.0.0/16", "172.16.0.0/16"


def shape(body_cls: type, body: dict[str, Any]) -> dict[str, Any]:
    """The SDK keeps every key with its declared type (``roundtrip``); a rule's ``Priority`` is a
    string, as the SDK model, the API metadata's schema and its response example say. Returns
    ``body``."""
    roundtrip(body_cls, body)
    return body


def call(client: EcsClient, method: str, request: Any) -> dict[str, Any]:
    """``client.<method>(request)`` through the official SDK; returns the raw JSON body the
    emulator sent (not the model's view of it, which would hide unknown keys), shape-checked."""
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
    assert isinstance(body.pop("RequestId", None), str)
    shape(type(response.body), dict(body, RequestId="x"))
    return body


def error_of(client: EcsClient, method: str, request: Any) -> ClientException:
    """The ClientException an SDK call raises (the test fails if it succeeds)."""
    with pytest.raises(ClientException) as caught:
        getattr(client, method)(request)
    return caught.value


def one_region_world(**timing: float) -> dict[str, Any]:
    """The tutorial world with VPC2 moved to VPC1's region (cn-qingdao), all steps immediate."""
    world = copy.deepcopy(default_world())
    vpc2 = world["vpcs"][1]
    vpc2["region"] = "cn-qingdao"
    vpc2["vswitches"][0]["zone"] = "cn-qingdao-c"
    return with_timing(world, scale=0, **timing)


def instant_world(**changes: Any) -> dict[str, Any]:
    """The tutorial world, all steps immediate, with instance fields overridden by instance ID:
    ``instant_world(**{A_ECS: {"status": "Stopped"}})``."""
    world = with_timing(copy.deepcopy(default_world()), scale=0)
    for vpc in world["vpcs"]:
        for inst in vpc.get("instances") or []:
            inst.update(changes.get(inst["id"], {}))
    return world


def store_of(emu: Emu) -> Store:
    return emu.server.app.store


def write_link(
    store: Store,
    a_uid: str,
    b_uid: str,
    *,
    a_region: str = "cn-qingdao",
    b_region: str = "cn-beijing",
    a_status: str = "Active",
    b_status: str = "Active",
    route_a: bool = True,
    route_b: bool = True,
    a_route_cidr: str = B_CIDR,
    b_route_cidr: str = A_CIDR,
    route_status: str = "Available",
) -> tuple[str, str]:
    """A connected pair of router interfaces between VPC1 (A) and VPC2 (B) and a route each way, as
    the VPC product records them (``products/__init__.py``). Returns the two interface IDs."""
    ri_a, ri_b = "ri-m5e1tutoriallinkaqd0001", "ri-2ze2tutoriallinkbbj0001"
    with store.transaction() as tx:
        for ri, uid, region, vrt, vpc, status, role, peer, peer_uid, peer_region, peer_vrt, peer_vpc in (
            (ri_a, a_uid, a_region, A_VRT, A_VPC, a_status, "InitiatingSide", ri_b, b_uid, b_region, B_VRT, B_VPC),
            (ri_b, b_uid, b_region, B_VRT, B_VPC, b_status, "AcceptingSide", ri_a, a_uid, a_region, A_VRT, A_VPC),
        ):
            tx.insert(
                "router_interface",
                ri,
                uid,
                region,
                {
                    "RouterInterfaceId": ri,
                    "Name": "",
                    "Description": "",
                    "Role": role,
                    "RouterId": vrt,
                    "RouterType": "VRouter",
                    "VpcInstanceId": vpc,
                    "Spec": "Mini.2" if role == "InitiatingSide" else "Negative",
                    "Bandwidth": 2,
                    "Status": status,
                    "BusinessStatus": "Normal",
                    "ChargeType": "AfterPay",
                    "OppositeInterfaceId": peer,
                    "OppositeRouterId": peer_vrt,
                    "OppositeRouterType": "VRouter",
                    "OppositeRegionId": peer_region,
                    "OppositeInterfaceOwnerId": peer_uid,
                    "OppositeVpcInstanceId": peer_vpc,
                },
            )
        for wanted, uid, region, vtb, cidr, ri in (
            (route_a, a_uid, a_region, A_VTB, a_route_cidr, ri_a),
            (route_b, b_uid, b_region, B_VTB, b_route_cidr, ri_b),
        ):
            if wanted:
                rte = tx.new_id("rte-")
                tx.insert(
                    "route_entry",
                    rte,
                    uid,
                    region,
                    {
                        "RouteEntryId": rte,
                        "RouteTableId": vtb,
                        "DestinationCidrBlock": cidr,
                        "Type": "Custom",
                        "Status": route_status,
                        "NextHopType": "RouterInterface",
                        "NextHopId": ri,
                        "RouteEntryName": "",
                        "Description": "",
                        "Origin": "CustomCreate",
                        "GmtModified": "",
                    },
                )
    return ri_a, ri_b


def allow_icmp(side: Side, sg: str, cidr: str) -> None:
    side.ecs.authorize_security_group(
        ecs_models.AuthorizeSecurityGroupRequest(
            region_id=side.region,
            security_group_id=sg,
            permissions=[
                ecs_models.AuthorizeSecurityGroupRequestPermissions(
                    ip_protocol="ICMP", port_range="-1/-1", source_cidr_ip=cidr
                )
            ],
        )
    )


def run(side: Side, instance_id: str, script: str, **extra: Any) -> str:
    """RunCommand on one instance; returns the InvokeId."""
    body = call(
        side.ecs,
        "run_command",
        ecs_models.RunCommandRequest(
            region_id=side.region,
            type=extra.pop("type", "RunShellScript"),
            instance_id=[instance_id],
            command_content=script,
            **extra,
        ),
    )
    return body["InvokeId"]


def result(side: Side, invoke_id: str) -> dict[str, Any]:
    """The one per-instance result of an invocation, shape-checked, with ``Output`` decoded
    from the default Base64."""
    body = call(
        side.ecs,
        "describe_invocation_results",
        ecs_models.DescribeInvocationResultsRequest(region_id=side.region, invoke_id=invoke_id),
    )
    (item,) = body["Invocation"]["InvocationResults"]["InvocationResult"]
    return dict(item, Output=base64.b64decode(item["Output"]).decode("utf-8"))


def ping(side: Side, instance_id: str, ip: str) -> dict[str, Any]:
    """``ping -c 4 -W 2 ip`` from an instance, finished (steps are immediate in these worlds)."""
    return result(side, run(side, instance_id, f"ping -c 4 -W 2 {ip}"))


def link_through_vpc_api(a: Side, b: Side) -> tuple[str, str]:
    """The runbook's VPC phases through the official VPC SDK: A's initiator, B's acceptor, each
    pointing at the other, A connects, then a route each way. Returns the two interface IDs."""

    def create(side: Side, role: str, spec: str, router: str, peer: Side, peer_router: str) -> str:
        return side.vpc.create_router_interface(
            vpc_models.CreateRouterInterfaceRequest(
                region_id=side.region,
                role=role,
                router_type="VRouter",
                router_id=router,
                spec=spec,
                opposite_region_id=peer.region,
                opposite_router_type="VRouter",
                opposite_router_id=peer_router,
                opposite_interface_owner_id=peer.uid,
                instance_charge_type="PostPaid",
            )
        ).body.router_interface_id

    ri_a = create(a, "InitiatingSide", "Mini.2", A_VRT, b, B_VRT)
    ri_b = create(b, "AcceptingSide", "Negative", B_VRT, a, A_VRT)
    for side, ri, peer, peer_ri, peer_router in ((b, ri_b, a, ri_a, A_VRT), (a, ri_a, b, ri_b, B_VRT)):
        side.vpc.modify_router_interface_attribute(
            vpc_models.ModifyRouterInterfaceAttributeRequest(
                region_id=side.region,
                router_interface_id=ri,
                opposite_interface_id=peer_ri,
                opposite_router_id=peer_router,
                opposite_router_type="VRouter",
                opposite_interface_owner_id=int(peer.uid),
            )
        )
    a.vpc.connect_router_interface(
        vpc_models.ConnectRouterInterfaceRequest(region_id=a.region, router_interface_id=ri_a)
    )
    for side, table, cidr, ri in ((a, A_VTB, B_CIDR, ri_a), (b, B_VTB, A_CIDR, ri_b)):
        side.vpc.create_route_entry(
            vpc_models.CreateRouteEntryRequest(
                region_id=side.region,
                route_table_id=table,
                destination_cidr_block=cidr,
                next_hop_type="RouterInterface",
                next_hop_id=ri,
            )
        )
    return ri_a, ri_b
