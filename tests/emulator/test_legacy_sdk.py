"""The legacy ``aliyun-python-sdk-core`` ``AcsClient`` with the ``aliyunsdkvpc``/``aliyunsdkecs``
request classes, pointed at the emulator: a second, independent client (HMAC-SHA1 query
signature, its own flattening) drives the whole cross-account flow."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import RpcRequest
from aliyunsdkecs.request.v20140526.AuthorizeSecurityGroupRequest import AuthorizeSecurityGroupRequest
from aliyunsdkecs.request.v20140526.DescribeInstancesRequest import DescribeInstancesRequest
from aliyunsdkecs.request.v20140526.DescribeInvocationResultsRequest import DescribeInvocationResultsRequest
from aliyunsdkecs.request.v20140526.RunCommandRequest import RunCommandRequest
from aliyunsdkvpc.request.v20160428.ConnectRouterInterfaceRequest import ConnectRouterInterfaceRequest
from aliyunsdkvpc.request.v20160428.CreateRouteEntryRequest import CreateRouteEntryRequest
from aliyunsdkvpc.request.v20160428.CreateRouterInterfaceRequest import CreateRouterInterfaceRequest
from aliyunsdkvpc.request.v20160428.DescribeRouteEntryListRequest import DescribeRouteEntryListRequest
from aliyunsdkvpc.request.v20160428.DescribeRouterInterfacesRequest import DescribeRouterInterfacesRequest
from aliyunsdkvpc.request.v20160428.DescribeVpcsRequest import DescribeVpcsRequest
from aliyunsdkvpc.request.v20160428.ModifyRouterInterfaceAttributeRequest import ModifyRouterInterfaceAttributeRequest

from .support import SG_A, SG_B, VRT_A, VRT_B, legacy_call, legacy_client

VTB_A, VTB_B = "vtb-m5e1tutorialvtb1qd00001", "vtb-2ze2tutorialvtb2bj00001"
ECS_A, ECS_B = "i-m5e1tutorialecs1qd00001", "i-2ze2tutorialecs2bj00001"


class Legacy:
    """One account's legacy client, sending typed request classes to the emulator."""

    def __init__(self, emu, name: str, region: str):
        self.account = emu.account(name)
        self.client: AcsClient = legacy_client(self.account, region)
        self.endpoint = emu.endpoint

    def __call__(self, request: RpcRequest, **params: Any) -> dict[str, Any]:
        request.set_endpoint(self.endpoint)
        request.set_protocol_type("http")
        for key, value in params.items():
            getattr(request, f"set_{key}")(value)
        return json.loads(self.client.do_action_with_exception(request))


@pytest.fixture
def la(emu):
    return Legacy(emu, "account-a", "cn-qingdao")


@pytest.fixture
def lb(emu):
    return Legacy(emu, "account-b", "cn-beijing")


def test_the_whole_cross_account_flow_with_the_legacy_clients(emu, la, lb):
    ri_a = la(
        CreateRouterInterfaceRequest(),
        Role="InitiatingSide",
        RouterType="VRouter",
        RouterId=VRT_A,
        Spec="Mini.2",
        OppositeRegionId="cn-beijing",
        Name="to-vpc2",
    )["RouterInterfaceId"]
    ri_b = lb(
        CreateRouterInterfaceRequest(),
        Role="AcceptingSide",
        RouterType="VRouter",
        RouterId=VRT_B,
        Spec="Negative",
        OppositeRegionId="cn-qingdao",
    )["RouterInterfaceId"]
    lb(
        ModifyRouterInterfaceAttributeRequest(),
        RouterInterfaceId=ri_b,
        OppositeInterfaceId=ri_a,
        OppositeRouterId=VRT_A,
        OppositeRouterType="VRouter",
        OppositeInterfaceOwnerId=la.account["uid"],
    )
    la(
        ModifyRouterInterfaceAttributeRequest(),
        RouterInterfaceId=ri_a,
        OppositeInterfaceId=ri_b,
        OppositeRouterId=VRT_B,
        OppositeRouterType="VRouter",
        OppositeInterfaceOwnerId=lb.account["uid"],
    )
    la(ConnectRouterInterfaceRequest(), RouterInterfaceId=ri_a)
    for side, ri in ((la, ri_a), (lb, ri_b)):
        found = side(DescribeRouterInterfacesRequest(), Filters=[{"Key": "RouterInterfaceId", "Value": [ri]}])[
            "RouterInterfaceSet"
        ]["RouterInterfaceType"]
        assert [(r["RouterInterfaceId"], r["Status"]) for r in found] == [(ri, "Active")]

    for side, table, peer_cidr, ri in ((la, VTB_A, "172.16.0.0/16", ri_a), (lb, VTB_B, "192.168.0.0/16", ri_b)):
        side(
            CreateRouteEntryRequest(),
            RouteTableId=table,
            DestinationCidrBlock=peer_cidr,
            NextHopType="RouterInterface",
            NextHopId=ri,
        )
        entries = side(DescribeRouteEntryListRequest(), RouteTableId=table, DestinationCidrBlock=peer_cidr)[
            "RouteEntrys"
        ]["RouteEntry"]
        assert [(e["NextHops"]["NextHop"][0]["NextHopId"], e["Status"]) for e in entries] == [(ri, "Available")]

    for side, group, peer_cidr in ((la, SG_A, "172.16.0.0/16"), (lb, SG_B, "192.168.0.0/16")):
        side(
            AuthorizeSecurityGroupRequest(),
            SecurityGroupId=group,
            Permissions=[{"IpProtocol": "ICMP", "PortRange": "-1/-1", "SourceCidrIp": peer_cidr}],
        )

    for side, instance, peer_ip in ((la, ECS_A, "172.16.1.10"), (lb, ECS_B, "192.168.1.10")):
        invoke = side(
            RunCommandRequest(), Type="RunShellScript", CommandContent=f"ping -c 3 {peer_ip}", InstanceIds=[instance]
        )["InvokeId"]
        result = side(DescribeInvocationResultsRequest(), InvokeId=invoke)["Invocation"]["InvocationResults"][
            "InvocationResult"
        ][0]
        output = base64.b64decode(result["Output"]).decode()
        assert result["ExitCode"] == 0 and "0% packet loss" in output, output

    calls = emu.journal()
    assert {e["account"] for e in calls} == {"account-a", "account-b"}
    assert all(e["status"] == 200 for e in calls)


def test_legacy_lists_and_json_lists_arrive_intact(emu, la):
    body = la(DescribeInstancesRequest(), InstanceIds=json.dumps([ECS_A, ECS_B]))
    assert [i["InstanceId"] for i in body["Instances"]["Instance"]] == [ECS_A]
    vpcs = la(DescribeVpcsRequest(), VpcName="VPC1")["Vpcs"]["Vpc"]
    assert [v["VpcId"] for v in vpcs] == ["vpc-m5e1tutorialvpc1qd00001"]


def test_legacy_errors_carry_code_status_and_request_id(emu, lb):
    with pytest.raises(ServerException) as info:
        lb(ConnectRouterInterfaceRequest(), RouterInterfaceId="ri-doesnotexist000000000")
    e = info.value
    assert e.get_http_status() == 404 and e.get_error_code().endswith("NotFound")
    assert e.get_request_id() == emu.journal()[-1]["request_id"]


def test_legacy_common_request_reaches_sts(emu):
    acct = emu.account("account-b")
    body = legacy_call(legacy_client(acct, "cn-beijing"), emu.endpoint, "sts", "GetCallerIdentity")
    assert body["AccountId"] == acct["uid"]
