"""One valid request per implemented action, in the tutorial world, with the set-up it needs.

Each probe of ``probes.py`` changes one thing in its action's baseline (drops a required parameter,
puts a value outside an enum, goes one over a limit), so the baseline must succeed as it is: then a
refusal is caused by the one change. Array parameters that a probe grows are seeded here with a
valid first item where a made-up one would be refused for another reason first.

A new action gets a baseline here, or the conformance test fails naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .sdk import Session

A, B = "account-a", "account-b"
QD, BJ = "cn-qingdao", "cn-beijing"
VPC1, VRT1, VTB1, VSW1 = (
    "vpc-m5e1tutorialvpc1qd00001",
    "vrt-m5e1tutorialvrt1qd00001",
    "vtb-m5e1tutorialvtb1qd00001",
    "vsw-m5e1tutorialvsw1qd00001",
)
VRT2 = "vrt-2ze2tutorialvrt2bj00001"
VPC2 = "vpc-2ze2tutorialvpc2bj00001"
SG1, ECS1 = "sg-m5e1tutorialsg1qd000001", "i-m5e1tutorialecs1qd00001"
VPC2_CIDR = "172.16.0.0/16"
ICMP_FROM_VPC2 = {"IpProtocol": "ICMP", "PortRange": "-1/-1", "SourceCidrIp": VPC2_CIDR}


@dataclass(frozen=True)
class Baseline:
    """How to make a valid request of one action: ``setup`` prepares the world and returns the
    parameters; the request is sent as ``account`` in ``region``."""

    setup: Callable[[Session], dict[str, Any]]
    account: str = A
    region: str = QD


def _ok(s: Session, product: str, action: str, params: dict[str, Any], account: str = A, region: str = QD) -> Any:
    reply = s.send(product, action, params, account, region)
    if not reply.ok:
        raise AssertionError(f"baseline set-up {action} failed: {reply.status} {reply.code} {reply.message}")
    return reply.body


def _interface(s: Session, account: str, region: str, role: str, router: str, opposite_region: str) -> str:
    body = _ok(
        s,
        "Vpc",
        "CreateRouterInterface",
        {
            "RegionId": region,
            "Role": role,
            "RouterType": "VRouter",
            "RouterId": router,
            "Spec": "Large.1" if role == "InitiatingSide" else "Negative",
            "OppositeRegionId": opposite_region,
        },
        account,
        region,
    )
    return str(body["RouterInterfaceId"])


def _point(s: Session, account: str, region: str, ri: str, peer: str, peer_router: str, peer_account: str) -> None:
    _ok(
        s,
        "Vpc",
        "ModifyRouterInterfaceAttribute",
        {
            "RegionId": region,
            "RouterInterfaceId": ri,
            "OppositeInterfaceId": peer,
            "OppositeRouterId": peer_router,
            "OppositeRouterType": "VRouter",
            "OppositeInterfaceOwnerId": s.uid(peer_account),
        },
        account,
        region,
    )


def pair(s: Session) -> tuple[str, str]:
    """A's initiator and B's acceptor, naming each other, both Idle."""
    ri_a = _interface(s, A, QD, "InitiatingSide", VRT1, BJ)
    ri_b = _interface(s, B, BJ, "AcceptingSide", VRT2, QD)
    _point(s, B, BJ, ri_b, ri_a, VRT1, A)
    _point(s, A, QD, ri_a, ri_b, VRT2, B)
    return ri_a, ri_b


def connected(s: Session) -> tuple[str, str]:
    ri_a, ri_b = pair(s)
    _ok(s, "Vpc", "ConnectRouterInterface", {"RegionId": QD, "RouterInterfaceId": ri_a})
    return ri_a, ri_b


def routed(s: Session) -> tuple[str, str]:
    """A connected pair and A's route to VPC2 through it; returns (interface, route entry)."""
    ri_a, _ = connected(s)
    body = _ok(
        s,
        "Vpc",
        "CreateRouteEntry",
        {
            "RegionId": QD,
            "RouteTableId": VTB1,
            "DestinationCidrBlock": VPC2_CIDR,
            "NextHopType": "RouterInterface",
            "NextHopId": ri_a,
        },
    )
    return ri_a, str(body["RouteEntryId"])


def _run(s: Session) -> str:
    body = _ok(
        s,
        "Ecs",
        "RunCommand",
        {"RegionId": QD, "Type": "RunShellScript", "CommandContent": "echo conformance", "InstanceId": [ECS1]},
    )
    return str(body["InvokeId"])


def _rule(s: Session) -> None:
    _ok(s, "Ecs", "AuthorizeSecurityGroup", {"RegionId": QD, "SecurityGroupId": SG1, "Permissions": [ICMP_FROM_VPC2]})


def _after(prepare: Callable[[Session], object], params: dict[str, Any]) -> Callable[[Session], dict[str, Any]]:
    """A set-up that runs ``prepare`` and then asks with ``params``."""

    def setup(s: Session) -> dict[str, Any]:
        prepare(s)
        return params

    return setup


def peering(s: Session) -> str:
    """A's cross-account, cross-region peering request to B's VPC2 (Accepting: every step is immediate)."""
    body = _ok(
        s,
        "VpcPeer",
        "CreateVpcPeerConnection",
        {
            "RegionId": QD,
            "VpcId": VPC1,
            "AcceptingAliUid": int(s.uid(B)),
            "AcceptingRegionId": BJ,
            "AcceptingVpcId": VPC2,
            "Name": "conformance",
            "Tag": [{"Key": "link", "Value": "conformance"}],
        },
    )
    return str(body["InstanceId"])


def accepted(s: Session) -> str:
    pcc = peering(s)
    _ok(s, "VpcPeer", "AcceptVpcPeerConnection", {"InstanceId": pcc}, B, BJ)
    return pcc


def _deactivated(s: Session) -> str:
    ri_a, _ = connected(s)
    _ok(s, "Vpc", "DeactivateRouterInterface", {"RegionId": QD, "RouterInterfaceId": ri_a})
    return ri_a


BASELINES: dict[tuple[str, str], Baseline] = {
    # -- VPC -------------------------------------------------------------------------------------
    ("Vpc", "DescribeRegions"): Baseline(lambda s: {}),
    ("Vpc", "DescribeVpcs"): Baseline(lambda s: {"RegionId": QD}),
    ("Vpc", "DescribeVpcAttribute"): Baseline(lambda s: {"RegionId": QD, "VpcId": VPC1}),
    ("Vpc", "DescribeVSwitches"): Baseline(lambda s: {"RegionId": QD, "VpcId": VPC1}),
    ("Vpc", "DescribeRouteTableList"): Baseline(lambda s: {"RegionId": QD, "VpcId": VPC1}),
    ("Vpc", "DescribeRouteTables"): Baseline(_after(routed, {"RegionId": QD, "RouteTableId": VTB1})),
    ("Vpc", "DescribeVRouters"): Baseline(lambda s: {"RegionId": QD}),
    ("Vpc", "DescribeRouteEntryList"): Baseline(
        _after(routed, {"RegionId": QD, "RouteTableId": VTB1, "DestCidrBlockList": [VPC2_CIDR]})
    ),
    ("Vpc", "CreateRouteEntry"): Baseline(
        lambda s: {
            "RegionId": QD,
            "RouteTableId": VTB1,
            "DestinationCidrBlock": VPC2_CIDR,
            "NextHopType": "RouterInterface",
            "NextHopId": connected(s)[0],
        }
    ),
    ("Vpc", "DeleteRouteEntry"): Baseline(lambda s: {"RegionId": QD, "RouteEntryId": routed(s)[1]}),
    ("Vpc", "ModifyRouteEntry"): Baseline(
        lambda s: {"RegionId": QD, "RouteEntryId": routed(s)[1], "RouteEntryName": "renamed", "Description": "moved"}
    ),
    ("Vpc", "CreateRouterInterface"): Baseline(
        lambda s: {
            "RegionId": QD,
            "Role": "InitiatingSide",
            "RouterType": "VRouter",
            "RouterId": VRT1,
            "Spec": "Mini.2",
            "OppositeRegionId": BJ,
            "Tags": [{"Key": "link", "Value": "conformance"}],
        }
    ),
    ("Vpc", "DescribeRouterInterfaces"): Baseline(
        _after(connected, {"RegionId": QD, "Filter": [{"Key": "Status", "Value": ["Active"]}]})
    ),
    ("Vpc", "DescribeRouterInterfaceAttribute"): Baseline(lambda s: {"RegionId": QD, "InstanceId": connected(s)[0]}),
    ("Vpc", "ModifyRouterInterfaceAttribute"): Baseline(
        lambda s: {"RegionId": QD, "RouterInterfaceId": pair(s)[0], "Name": "conformance"}
    ),
    ("Vpc", "ModifyRouterInterfaceSpec"): Baseline(
        lambda s: {"RegionId": QD, "RouterInterfaceId": connected(s)[0], "Spec": "Middle.1"}
    ),
    ("Vpc", "ConnectRouterInterface"): Baseline(lambda s: {"RegionId": QD, "RouterInterfaceId": pair(s)[0]}),
    ("Vpc", "ActivateRouterInterface"): Baseline(lambda s: {"RegionId": QD, "RouterInterfaceId": _deactivated(s)}),
    ("Vpc", "DeactivateRouterInterface"): Baseline(lambda s: {"RegionId": QD, "RouterInterfaceId": connected(s)[0]}),
    ("Vpc", "DeleteRouterInterface"): Baseline(
        lambda s: {"RegionId": QD, "RouterInterfaceId": _interface(s, A, QD, "InitiatingSide", VRT1, BJ)}
    ),
    # -- ECS -------------------------------------------------------------------------------------
    ("Ecs", "DescribeRegions"): Baseline(lambda s: {}),
    ("Ecs", "DescribeSecurityGroups"): Baseline(lambda s: {"RegionId": QD}),
    ("Ecs", "DescribeSecurityGroupAttribute"): Baseline(_after(_rule, {"RegionId": QD, "SecurityGroupId": SG1})),
    ("Ecs", "AuthorizeSecurityGroup"): Baseline(
        lambda s: {"RegionId": QD, "SecurityGroupId": SG1, "Permissions": [ICMP_FROM_VPC2]}
    ),
    ("Ecs", "RevokeSecurityGroup"): Baseline(
        _after(_rule, {"RegionId": QD, "SecurityGroupId": SG1, "Permissions": [ICMP_FROM_VPC2]})
    ),
    ("Ecs", "DescribeInstances"): Baseline(lambda s: {"RegionId": QD}),
    ("Ecs", "RunCommand"): Baseline(
        lambda s: {"RegionId": QD, "Type": "RunShellScript", "CommandContent": "echo hi", "InstanceId": [ECS1]}
    ),
    ("Ecs", "DescribeInvocations"): Baseline(_after(_run, {"RegionId": QD, "IncludeOutput": True})),
    ("Ecs", "DescribeInvocationResults"): Baseline(lambda s: {"RegionId": QD, "InvokeId": _run(s)}),
    # -- STS -------------------------------------------------------------------------------------
    ("Sts", "GetCallerIdentity"): Baseline(lambda s: {}),
    # -- VpcPeer -----------------------------------------------------------------------------------
    ("VpcPeer", "CreateVpcPeerConnection"): Baseline(
        lambda s: {
            "RegionId": QD,
            "VpcId": VPC1,
            "AcceptingAliUid": int(s.uid(B)),
            "AcceptingRegionId": BJ,
            "AcceptingVpcId": VPC2,
            "Bandwidth": 100,
            "Tag": [{"Key": "link", "Value": "conformance"}],
        }
    ),
    ("VpcPeer", "AcceptVpcPeerConnection"): Baseline(lambda s: {"InstanceId": peering(s)}, B, BJ),
    ("VpcPeer", "RejectVpcPeerConnection"): Baseline(lambda s: {"InstanceId": peering(s)}, B, BJ),
    ("VpcPeer", "ModifyVpcPeerConnection"): Baseline(
        lambda s: {"InstanceId": accepted(s), "Name": "renamed", "Bandwidth": 200}
    ),
    ("VpcPeer", "DeleteVpcPeerConnection"): Baseline(lambda s: {"InstanceId": accepted(s)}),
    ("VpcPeer", "GetVpcPeerConnectionAttribute"): Baseline(lambda s: {"InstanceId": peering(s)}),
    ("VpcPeer", "ListVpcPeerConnections"): Baseline(_after(peering, {"RegionId": QD, "VpcId": [VPC1]})),
    ("VpcPeer", "TagResources"): Baseline(
        lambda s: {
            "RegionId": QD,
            "ResourceType": "PeerConnection",
            "ResourceId": [peering(s)],
            "Tag": [{"Key": "owner", "Value": "netops"}],
        }
    ),
    ("VpcPeer", "UnTagResources"): Baseline(
        lambda s: {"RegionId": QD, "ResourceType": "PeerConnection", "ResourceId": [peering(s)], "TagKey": ["link"]}
    ),
    ("VpcPeer", "ListTagResources"): Baseline(
        lambda s: {"RegionId": QD, "ResourceType": "PeerConnection", "ResourceId": [peering(s)]}
    ),
    ("VpcPeer", "MoveResourceGroup"): Baseline(
        lambda s: {
            "RegionId": QD,
            "ResourceType": "PeerConnection",
            "ResourceId": peering(s),
            "NewResourceGroupId": "rg-acfmconformance",
        }
    ),
    # account A's RAM user assumes the role that account B's trust policy grants it (the built-in world)
    ("Sts", "AssumeRole"): Baseline(
        lambda s: {"RoleArn": f"acs:ram::{s.uid(B)}:role/vpclink-operator", "RoleSessionName": "conformance"}
    ),
}
