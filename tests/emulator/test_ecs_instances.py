"""ECS DescribeRegions and DescribeInstances through the official SDK: shapes and types, filters,
both paging styles and account isolation."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alicloud_emulator.world import default_world, with_timing

from .conftest import Emu, Side, start_emulator
from .ecs_helpers import A_ECS, A_IP, A_SG, A_VPC, B_ECS, call, error_of

A_VSW = "vsw-m5e1tutorialvsw1qd00001"


def instances(side: Side, **filters: Any) -> dict[str, Any]:
    return call(side.ecs, "describe_instances", m.DescribeInstancesRequest(region_id=side.region, **filters))


def ids(body: dict[str, Any]) -> list[str]:
    return [i["InstanceId"] for i in body["Instances"]["Instance"]]


def test_describe_regions_is_the_ecs_shape(a: Side) -> None:
    body = call(a.ecs, "describe_regions", m.DescribeRegionsRequest())
    regions = {r["RegionId"]: r for r in body["Regions"]["Region"]}
    assert {"cn-qingdao", "cn-beijing"} <= set(regions)
    assert regions["cn-beijing"]["RegionEndpoint"] == "ecs.cn-beijing.aliyuncs.com"
    assert regions["cn-qingdao"]["Status"] == "available" and regions["cn-qingdao"]["LocalName"]


def test_describe_instances_shows_what_the_runbook_reads(a: Side) -> None:
    body = instances(a)
    assert (body["TotalCount"], ids(body)) == (1, [A_ECS])
    (inst,) = body["Instances"]["Instance"]
    assert inst["Status"] == "Running" and inst["InstanceNetworkType"] == "vpc"
    assert inst["VpcAttributes"]["VpcId"] == A_VPC and inst["VpcAttributes"]["VSwitchId"] == A_VSW
    assert inst["VpcAttributes"]["PrivateIpAddress"]["IpAddress"] == [A_IP]
    assert inst["SecurityGroupIds"]["SecurityGroupId"] == [A_SG]
    assert inst["EipAddress"]["IpAddress"] == "" and inst["PublicIpAddress"]["IpAddress"] == []
    (nic,) = inst["NetworkInterfaces"]["NetworkInterface"]
    assert nic["Type"] == "Primary" and nic["PrimaryIpAddress"] == A_IP and nic["NetworkInterfaceId"].startswith("eni-")
    assert nic["PrivateIpSets"]["PrivateIpSet"] == [{"PrivateIpAddress": A_IP, "Primary": True}]
    assert instances(a)["Instances"] == body["Instances"], "derived fields must be stable between calls"


def test_instances_of_another_account_are_invisible(a: Side, b: Side) -> None:
    assert ids(instances(b)) == [B_ECS]
    assert ids(instances(b, instance_ids=json.dumps([A_ECS]))) == []
    assert ids(instances(a, instance_ids=json.dumps([A_ECS, B_ECS]))) == [A_ECS]


@pytest.mark.parametrize(
    "filters, found",
    [
        ({"vpc_id": A_VPC}, [A_ECS]),
        ({"vpc_id": "vpc-other"}, []),
        ({"v_switch_id": A_VSW}, [A_ECS]),
        ({"security_group_id": A_SG}, [A_ECS]),
        ({"security_group_id": "sg-x"}, []),
        ({"status": "Running"}, [A_ECS]),
        ({"status": "Stopped"}, []),
        ({"private_ip_addresses": json.dumps([A_IP])}, [A_ECS]),
        ({"private_ip_addresses": json.dumps(["10.0.0.1"])}, []),
        ({"instance_name": "EC*"}, [A_ECS]),
        ({"instance_name": "web*"}, []),
        ({"zone_id": "cn-qingdao-b"}, [A_ECS]),
    ],
)
def test_describe_instances_filters(a: Side, filters: dict[str, Any], found: list[str]) -> None:
    assert ids(instances(a, **filters)) == found


@pytest.mark.parametrize(
    "filters, field, code, status",
    [
        ({"instance_ids": "i-1,i-2"}, "InstanceIds", "InvalidParameter", 400),
        ({"instance_ids": json.dumps([1, 2])}, "InstanceIds", "InvalidParameter", 400),
        ({"private_ip_addresses": "{}"}, "PrivateIpAddresses", "InvalidParameter", 400),
        # the codes the API metadata documents for DescribeInstances' Status and InstanceNetworkType
        ({"status": "running"}, "Status", "InvalidStatus.NotFound", 404),
        ({"instance_network_type": "vlan"}, "InstanceNetworkType", "InvalidNetworkType.NotFound", 404),
        ({"max_results": 101}, "MaxResults", "InvalidParameter", 400),
        ({"next_token": "garbage"}, "NextToken", "InvalidParameter.NextToken", 400),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    a: Side, filters: dict[str, Any], field: str, code: str, status: int
) -> None:
    e = error_of(a.ecs, "describe_instances", m.DescribeInstancesRequest(region_id=a.region, **filters))
    assert (e.code, e.status_code) == (code, status) and field in e.data["Message"], e.message


def test_region_is_required(a: Side) -> None:
    e = error_of(a.ecs, "describe_instances", m.DescribeInstancesRequest())
    assert (e.code, e.status_code) == ("MissingParameter", 400) and "RegionId" in e.data["Message"]


@pytest.fixture
def five_instances() -> Emu:
    world = with_timing(copy.deepcopy(default_world()), scale=0)
    vpc1 = world["vpcs"][0]
    for n in range(2, 6):
        vpc1["instances"].append(
            {
                "id": f"i-m5e1tutorialecs{n}qd00001",
                "name": f"ECS{n}",
                "vswitch": A_VSW,
                "private_ip": f"192.168.1.{10 + n}",
                "security_groups": [A_SG],
                "status": "Stopped" if n == 5 else "Running",
            }
        )
    e = start_emulator(world)
    yield e
    e.server.stop()


def test_next_token_paging(five_instances: Emu) -> None:
    a = five_instances.side("account-a", "cn-qingdao")
    seen, token, pages = [], None, 0
    while True:
        body = instances(a, max_results=2, next_token=token)
        seen += ids(body)
        pages += 1
        token = body["NextToken"]
        if not token:
            break
    assert pages == 3 and len(seen) == 5 and len(set(seen)) == 5
    first = instances(a, max_results=2)
    e = error_of(
        a.ecs,
        "describe_instances",
        m.DescribeInstancesRequest(region_id=a.region, max_results=2, next_token=first["NextToken"], status="Running"),
    )
    assert e.code == "InvalidParameter.NextToken", "a token is bound to the filters it was issued for"


def test_page_number_paging(five_instances: Emu) -> None:
    a = five_instances.side("account-a", "cn-qingdao")
    body = instances(a, page_number=3, page_size=2)
    assert (body["TotalCount"], body["PageNumber"], body["PageSize"], len(ids(body))) == (5, 3, 2, 1)
    assert len(ids(instances(a, status="Running"))) == 4


def test_dry_run_validates_and_answers_dry_run_operation(a: Side) -> None:
    e = error_of(a.ecs, "describe_instances", m.DescribeInstancesRequest(region_id=a.region, dry_run=True))
    assert (e.code, e.status_code) == ("DryRunOperation", 400)
    e = error_of(a.ecs, "describe_instances", m.DescribeInstancesRequest(region_id=a.region, dry_run=True, status="up"))
    assert e.code == "InvalidStatus.NotFound", "a dry run still checks the parameters first"
    e = error_of(a.ecs, "describe_security_groups", m.DescribeSecurityGroupsRequest(region_id=a.region, dry_run=True))
    assert e.code == "DryRunOperation"
