"""The capture shipped in ``tests/data/captures/``, made from the API metadata's own examples.

    python -m tests.parity.example_capture   # rewrites tests/data/captures/metadata-examples.jsonl

Each reply is the metadata's JSON response example of its action (``responseDemo``; an error
reply is the documented error envelope with a code from the action's error table), passed
through the same ``Anonymizer`` a real capture goes through, so the example IDs, UIDs and CIDRs
become placeholders. Requests reuse the examples' own identifiers, so one placeholder follows one
resource through the flow. The examples describe optional features the tutorial world does not
have (tags, IPv6 blocks, secondary CIDRs, NAT and IPv4 gateways): those lists are emptied, as a
capture of a world without them would show, and a security-group rule example that lists every
source kind at once keeps the CIDR source only, the one the flow authorizes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from emulator.conformance import metadata

from .capture import Anonymizer

OUT = Path(__file__).resolve().parents[1] / "data" / "captures" / "metadata-examples.jsonl"
_ABSENT_FEATURES = ("Tags", "Ipv6CidrBlocks", "SecondaryCidrBlocks", "UserCidrs", "NatGatewayIds", "GatewayIds")
_OTHER_SOURCES = (
    "SourceGroupId",
    "SourceGroupName",
    "SourceGroupOwnerAccount",
    "SourcePrefixListId",
    "SourcePrefixListName",
    "Ipv6SourceCidrIp",
    "DestGroupId",
    "DestGroupName",
    "DestGroupOwnerAccount",
    "DestPrefixListId",
    "DestPrefixListName",
    "Ipv6DestCidrIp",
    "DestCidrIp",
    "SourcePortRange",
)


def _demo(product: str, action: str) -> dict[str, Any]:
    demo = metadata.product(product)[action].demo
    if demo is None:
        raise SystemExit(f"{product}.{action} has no JSON response example in the vendored metadata")
    return _without_absent_features(copy.deepcopy(demo))


def _without_absent_features(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            if key in _ABSENT_FEATURES and isinstance(sub, dict):
                out[key] = {k: [] for k in sub}
            else:
                out[key] = _without_absent_features(sub)
        return out
    if isinstance(value, list):
        return [_without_absent_features(v) for v in value]
    return value


def _error(product: str, action: str, code: str) -> tuple[int, dict[str, Any]]:
    """The documented error envelope for ``code`` of ``action``."""
    status = next(e.status for e in metadata.product(product)[action].errors if e.code == code)
    return status, {
        "RequestId": "7E3B1F1A-0000-4000-8000-000000000000",
        "HostId": f"{product.lower()}.aliyuncs.com",
        "Code": code,
        "Message": "(the documented message)",
        "Recommend": "https://api.aliyun.com/troubleshoot",
    }


def calls() -> list[dict[str, Any]]:
    vpcs = _demo("Vpc", "DescribeVpcs")
    vpcs["Vpcs"]["Vpc"] = vpcs["Vpcs"]["Vpc"][:1]
    vpcs["TotalCount"] = 1
    vpc = vpcs["Vpcs"]["Vpc"][0]
    region, vpc_id, router = vpc["RegionId"], vpc["VpcId"], vpc["VRouterId"]
    tables = _demo("Vpc", "DescribeRouteTableList")
    table = tables["RouterTableList"]["RouterTableListType"][0]
    table.update(VpcId=vpc_id, RouterId=router, RouteTableId=vpc["RouterTableIds"]["RouterTableIds"][0])
    created = _demo("Vpc", "CreateRouterInterface")
    ri = created["RouterInterfaceId"]
    group = _demo("Ecs", "DescribeSecurityGroupAttribute")
    group["VpcId"] = vpc_id
    rule = group["Permissions"]["Permission"][0]
    for key in _OTHER_SOURCES:
        rule[key] = ""
    sg = group["SecurityGroupId"]
    allow = {k: rule[k] for k in ("IpProtocol", "PortRange", "SourceCidrIp", "Policy", "Priority", "Description")}
    flow: list[tuple[str, str, dict[str, Any], int, dict[str, Any]]] = [
        ("Vpc", "DescribeVpcs", {"RegionId": region, "VpcId": vpc_id}, 200, vpcs),
        ("Vpc", "DescribeRouteTableList", {"RegionId": region, "VpcId": vpc_id}, 200, tables),
        (
            "Vpc",
            "CreateRouterInterface",
            {
                "RegionId": region,
                "Role": "InitiatingSide",
                "RouterType": "VRouter",
                "RouterId": router,
                "Spec": "Mini.2",
                "OppositeRegionId": "cn-beijing",
                "InstanceChargeType": "PrePaid",
                "PricingCycle": "Month",
                "Period": 1,
                "AutoPay": True,
            },
            200,
            created,
        ),
        (
            "Vpc",
            "ConnectRouterInterface",
            {"RegionId": region, "RouterInterfaceId": ri},
            *_error("Vpc", "ConnectRouterInterface", "IncorrectOppositeInterfaceInfo.NotSet"),
        ),
        (
            "Vpc",
            "DeleteRouterInterface",
            {"RegionId": region, "RouterInterfaceId": ri},
            200,
            _demo("Vpc", "DeleteRouterInterface"),
        ),
        (
            "Ecs",
            "AuthorizeSecurityGroup",
            {"RegionId": region, "SecurityGroupId": sg, "Permissions": [allow]},
            200,
            _demo("Ecs", "AuthorizeSecurityGroup"),
        ),
        ("Ecs", "DescribeSecurityGroupAttribute", {"RegionId": region, "SecurityGroupId": sg}, 200, group),
    ]
    anon = Anonymizer()
    return [
        anon.call(n, 0.0, "A", product, action, region, request, status, body)
        for n, (product, action, request, status, body) in enumerate(flow, start=1)
    ]


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in calls()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
