"""ECS security groups through the official SDK: shapes, rule validation, idempotent rules, revoke
semantics, account isolation and cross-account source groups in one region."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_vpc20160428 import models as vm
from alicloud_emulator.world import default_world, with_timing

from .conftest import Emu, Side, start_emulator
from .ecs_helpers import (
    A_CIDR,
    A_SG,
    A_VPC,
    B_CIDR,
    B_SG,
    B_VPC,
    call,
    error_of,
    link_through_vpc_api,
    one_region_world,
    store_of,
    write_link,
)

Perm = m.AuthorizeSecurityGroupRequestPermissions


def authorize(side: Side, *perms: Perm, sg: str = A_SG, **flat: Any) -> dict[str, Any]:
    return call(
        side.ecs,
        "authorize_security_group",
        m.AuthorizeSecurityGroupRequest(
            region_id=side.region, security_group_id=sg, permissions=list(perms) or None, **flat
        ),
    )


def rules(side: Side, sg: str = A_SG, **extra: Any) -> list[dict[str, Any]]:
    body = call(
        side.ecs,
        "describe_security_group_attribute",
        m.DescribeSecurityGroupAttributeRequest(region_id=side.region, security_group_id=sg, **extra),
    )
    return body["Permissions"]["Permission"]


def icmp(cidr: str = B_CIDR, **kw: Any) -> Perm:
    return Perm(
        ip_protocol=kw.pop("ip_protocol", "ICMP"), port_range=kw.pop("port_range", "-1/-1"), source_cidr_ip=cidr, **kw
    )


def refused(side: Side, code: str, status: int, *perms: Perm, sg: str = A_SG, **flat: Any) -> str:
    e = error_of(
        side.ecs,
        "authorize_security_group",
        m.AuthorizeSecurityGroupRequest(
            region_id=side.region, security_group_id=sg, permissions=list(perms) or None, **flat
        ),
    )
    assert (e.code, e.status_code) == (code, status), e.message
    return e.data["Message"]


# -- reads ------------------------------------------------------------------------------------------
def test_describe_security_groups_lists_the_callers_groups(a: Side, b: Side) -> None:
    authorize(a, icmp())
    body = call(a.ecs, "describe_security_groups", m.DescribeSecurityGroupsRequest(region_id=a.region))
    (group,) = body["SecurityGroups"]["SecurityGroup"]
    assert group["SecurityGroupId"] == A_SG and group["VpcId"] == A_VPC and group["SecurityGroupName"] == "SG1"
    assert (group["RuleCount"], group["EcsCount"], group["GroupToGroupRuleCount"]) == (1, 1, 0)
    assert (body["TotalCount"], body["RegionId"]) == (1, a.region)
    theirs = call(b.ecs, "describe_security_groups", m.DescribeSecurityGroupsRequest(region_id=b.region))
    assert [g["SecurityGroupId"] for g in theirs["SecurityGroups"]["SecurityGroup"]] == [B_SG]


@pytest.mark.parametrize(
    "filters, found",
    [
        ({"vpc_id": A_VPC}, [A_SG]),
        ({"vpc_id": B_VPC}, []),
        ({"security_group_ids": json.dumps([A_SG])}, [A_SG]),
        ({"security_group_ids": json.dumps([B_SG])}, []),
        ({"security_group_name": "SG1"}, [A_SG]),
        ({"network_type": "classic"}, []),
    ],
)
def test_describe_security_groups_filters(a: Side, filters: dict[str, Any], found: list[str]) -> None:
    body = call(a.ecs, "describe_security_groups", m.DescribeSecurityGroupsRequest(region_id=a.region, **filters))
    assert [g["SecurityGroupId"] for g in body["SecurityGroups"]["SecurityGroup"]] == found


def test_describe_attribute_shape_and_direction(a: Side) -> None:
    assert rules(a) == []
    authorize(
        a,
        icmp(description="peer ping"),
        Perm(ip_protocol="tcp", port_range="22/22", source_cidr_ip="10.0.0.1", policy="drop", priority="100"),
    )
    ping_rule, ssh = rules(a)
    assert {
        k: ping_rule[k]
        for k in (
            "Direction",
            "IpProtocol",
            "PortRange",
            "SourceCidrIp",
            "Policy",
            "Priority",
            "NicType",
            "Description",
            "SourceGroupId",
            "SourceGroupOwnerAccount",
        )
    } == {
        "Direction": "ingress",
        "IpProtocol": "ICMP",
        "PortRange": "-1/-1",
        "SourceCidrIp": B_CIDR,
        "Policy": "Accept",
        "Priority": 1,
        "NicType": "intranet",
        "Description": "peer ping",
        "SourceGroupId": "",
        "SourceGroupOwnerAccount": "",
    }
    assert ping_rule["SecurityGroupRuleId"].startswith("sgr-") and ping_rule["CreateTime"].endswith("Z")
    assert (ssh["IpProtocol"], ssh["Policy"], ssh["Priority"], ssh["SourceCidrIp"]) == ("TCP", "Drop", 100, "10.0.0.1")
    body = call(
        a.ecs,
        "describe_security_group_attribute",
        m.DescribeSecurityGroupAttributeRequest(region_id=a.region, security_group_id=A_SG),
    )
    assert (body["VpcId"], body["InnerAccessPolicy"], body["SecurityGroupName"], body["RegionId"]) == (
        A_VPC,
        "Accept",
        "SG1",
        a.region,
    )
    assert len(rules(a, direction="ingress")) == 2 and rules(a, direction="egress") == []
    e = error_of(
        a.ecs,
        "describe_security_group_attribute",
        m.DescribeSecurityGroupAttributeRequest(region_id=a.region, security_group_id=A_SG, direction="inbound"),
    )
    assert "Direction" in e.data["Message"] and "ingress" in e.data["Message"]


def test_describe_attribute_pages_with_next_token(a: Side) -> None:
    authorize(a, *[Perm(ip_protocol="TCP", port_range=f"{p}/{p}", source_cidr_ip=B_CIDR) for p in range(1, 13)])
    first = call(
        a.ecs,
        "describe_security_group_attribute",
        m.DescribeSecurityGroupAttributeRequest(region_id=a.region, security_group_id=A_SG, max_results=10),
    )
    assert len(first["Permissions"]["Permission"]) == 10 and first["NextToken"]
    rest = call(
        a.ecs,
        "describe_security_group_attribute",
        m.DescribeSecurityGroupAttributeRequest(
            region_id=a.region, security_group_id=A_SG, max_results=10, next_token=first["NextToken"]
        ),
    )
    assert [r["PortRange"] for r in rest["Permissions"]["Permission"]] == ["11/11", "12/12"] and rest["NextToken"] == ""


def test_groups_of_other_accounts_and_regions_do_not_exist(emu: Emu, a: Side, b: Side) -> None:
    for side, sg in ((b, A_SG), (a, "sg-doesnotexist0000000000")):
        e = error_of(
            side.ecs,
            "describe_security_group_attribute",
            m.DescribeSecurityGroupAttributeRequest(region_id=side.region, security_group_id=sg),
        )
        assert (e.code, e.status_code) == ("InvalidSecurityGroupId.NotFound", 404)
        refused(side, "InvalidSecurityGroupId.NotFound", 404, icmp(), sg=sg)
    a_elsewhere = emu.side("account-a", "cn-beijing")
    refused(a_elsewhere, "InvalidSecurityGroupId.NotFound", 404, icmp())
    e = error_of(
        b.ecs,
        "revoke_security_group",
        m.RevokeSecurityGroupRequest(region_id=b.region, security_group_id=A_SG, security_group_rule_id=["sgr-x"]),
    )
    assert e.code == "InvalidSecurityGroupId.NotFound"


# -- authorize --------------------------------------------------------------------------------------
def test_deprecated_flat_form_is_accepted(a: Side) -> None:
    authorize(
        a,
        ip_protocol="tcp",
        port_range="22/22",
        source_cidr_ip="10.0.0.0/8",
        policy="accept",
        priority="5",
        description="ssh",
        nic_type="intranet",
    )
    (rule,) = rules(a)
    assert (rule["IpProtocol"], rule["PortRange"], rule["SourceCidrIp"], rule["Priority"], rule["Description"]) == (
        "TCP",
        "22/22",
        "10.0.0.0/8",
        5,
        "ssh",
    )


@pytest.mark.parametrize(
    "perm, code, status, field",
    [
        (
            Perm(ip_protocol="icmpx", port_range="-1/-1", source_cidr_ip=B_CIDR),
            "InvalidIpProtocol.ValueNotSupported",
            400,
            "IpProtocol",
        ),
        (Perm(port_range="-1/-1", source_cidr_ip=B_CIDR), "MissingParameter", 400, "IpProtocol"),
        (Perm(ip_protocol="ICMP", source_cidr_ip=B_CIDR), "MissingParameter", 400, "PortRange"),
        (Perm(ip_protocol="ICMP", port_range="22/22", source_cidr_ip=B_CIDR), "OperationDenied", 400, "PortRange"),
        (Perm(ip_protocol="GRE", port_range="1/65535", source_cidr_ip=B_CIDR), "OperationDenied", 400, "PortRange"),
        (Perm(ip_protocol="ALL", port_range="1/1", source_cidr_ip=B_CIDR), "OperationDenied", 400, "PortRange"),
        (Perm(ip_protocol="TCP", port_range="-1/-1", source_cidr_ip=B_CIDR), "OperationDenied", 400, "PortRange"),
        (
            Perm(ip_protocol="TCP", port_range="80", source_cidr_ip=B_CIDR),
            "InvalidPortRange.Malformed",
            400,
            "PortRange",
        ),
        (
            Perm(ip_protocol="UDP", port_range="0/53", source_cidr_ip=B_CIDR),
            "InvalidPortRange.Malformed",
            400,
            "PortRange",
        ),
        (
            Perm(ip_protocol="TCP", port_range="90/80", source_cidr_ip=B_CIDR),
            "InvalidPortRange.Malformed",
            400,
            "PortRange",
        ),
        (
            Perm(ip_protocol="TCP", port_range="1/70000", source_cidr_ip=B_CIDR),
            "InvalidPortRange.Malformed",
            400,
            "PortRange",
        ),
        (icmp("172.16.0.0/33"), "InvalidSourceCidrIp.Malformed", 400, "SourceCidrIp"),
        (icmp("peer-vpc"), "InvalidSourceCidrIp.Malformed", 400, "SourceCidrIp"),
        (icmp("fd00::/8"), "InvalidSourceCidrIp.Malformed", 400, "SourceCidrIp"),
        (Perm(ip_protocol="ICMP", port_range="-1/-1"), "MissingParameter", 403, "SourceCidrIp"),
        (icmp(policy="allow"), "InvalidPolicy.Malformed", 400, "Policy"),
        (icmp(priority="0"), "InvalidPriority.ValueNotSupported", 400, "Priority"),
        (icmp(priority="101"), "InvalidPriority.ValueNotSupported", 400, "Priority"),
        (icmp(priority="high"), "InvalidPriority.Malformed", 400, "Priority"),
        (icmp(nic_type="internet"), "InvalidNicType.ValueNotSupported", 400, "NicType"),
        (
            Perm(ip_protocol="ICMP", port_range="-1/-1", source_group_id=A_SG, nic_type="internet"),
            "InvalidSourceGroupId.Mismatch",
            403,
            "NicType",
        ),
        (
            Perm(ip_protocol="ICMP", port_range="-1/-1", source_prefix_list_id="pl-1"),
            "InvalidPrefixListId.NotFound",
            404,
            "SourcePrefixListId",
        ),
        (icmp(description="x" * 513), "InvalidParameter", 400, "Description"),
    ],
)
def test_each_invalid_rule_is_refused_naming_the_field(a: Side, perm: Perm, code: str, status: int, field: str) -> None:
    message = refused(a, code, status, icmp("10.9.0.0/16"), perm)
    assert f"Permissions.2.{field}" in message or (field == "NicType" and "NicType" in message), message
    assert rules(a) == [], "a refused request must create none of its rules"


def test_both_rule_forms_at_once_are_refused(a: Side) -> None:
    message = refused(a, "InvalidParameter", 400, icmp(), ip_protocol="TCP", port_range="22/22", source_cidr_ip=B_CIDR)
    assert "Permissions" in message and "IpProtocol" in message


def test_identical_rule_is_accepted_once(a: Side) -> None:
    authorize(a, icmp("10.0.0.1"))
    for same in (
        icmp("10.0.0.1"),
        icmp("10.0.0.1/32"),
        icmp("10.0.0.1", ip_protocol="icmp", policy="ACCEPT"),
        icmp("10.0.0.1", priority="7", description="again"),
    ):
        authorize(a, same)
    (rule,) = rules(a)
    assert (rule["Priority"], rule["Description"]) == (1, ""), "an identical rule must not change the first one"
    authorize(a, icmp("10.0.0.1", policy="drop"), icmp("10.0.0.1"), icmp("10.0.0.1"))
    assert [r["Policy"] for r in rules(a)] == ["Accept", "Drop"]


def test_source_cidr_wins_over_source_group(a: Side) -> None:
    authorize(
        a,
        Perm(
            ip_protocol="ICMP",
            port_range="-1/-1",
            source_cidr_ip=B_CIDR,
            source_group_id="sg-doesnotexist0000000000",
            source_group_owner_id=1589430122237715,
        ),
    )
    (rule,) = rules(a)
    assert (rule["SourceCidrIp"], rule["SourceGroupId"], rule["SourceGroupOwnerAccount"]) == (B_CIDR, "", "")


def test_client_token_replays_the_first_call(a: Side) -> None:
    req = m.AuthorizeSecurityGroupRequest(
        region_id=a.region, security_group_id=A_SG, client_token="tok-1", permissions=[icmp()]
    )
    a.ecs.authorize_security_group(req)
    (rule,) = rules(a)
    a.ecs.revoke_security_group(
        m.RevokeSecurityGroupRequest(
            region_id=a.region, security_group_id=A_SG, security_group_rule_id=[rule["SecurityGroupRuleId"]]
        )
    )
    a.ecs.authorize_security_group(req)  # a replay: the answer of the first call, and no new rule
    assert rules(a) == []
    e = error_of(
        a.ecs,
        "authorize_security_group",
        m.AuthorizeSecurityGroupRequest(
            region_id=a.region, security_group_id=A_SG, client_token="tok-1", permissions=[icmp(A_CIDR)]
        ),
    )
    assert e.code == "IdempotentParameterMismatch"


# -- revoke -----------------------------------------------------------------------------------------
def as_revoke(perm: Perm) -> m.RevokeSecurityGroupRequestPermissions:
    """The revoke model takes the same fields as the authorize one."""
    return m.RevokeSecurityGroupRequestPermissions(**{k: v for k, v in vars(perm).items() if v is not None})


def revoke(side: Side, *perms: Perm, sg: str = A_SG, **kw: Any) -> None:
    call(
        side.ecs,
        "revoke_security_group",
        m.RevokeSecurityGroupRequest(
            region_id=side.region, security_group_id=sg, permissions=[as_revoke(p) for p in perms] or None, **kw
        ),
    )


def test_revoke_by_permissions(a: Side) -> None:
    authorize(a, icmp(), icmp(A_CIDR))
    revoke(a, icmp("10.0.0.0/8"))  # matches nothing: succeeds, revokes nothing
    assert len(rules(a)) == 2
    revoke(a, icmp(B_CIDR, ip_protocol="icmp", priority="50"))  # same rule whatever its priority
    assert [r["SourceCidrIp"] for r in rules(a)] == [A_CIDR]


def test_revoke_by_rule_id(a: Side) -> None:
    authorize(a, icmp(), icmp(A_CIDR))
    first, second = (r["SecurityGroupRuleId"] for r in rules(a))
    e = error_of(
        a.ecs,
        "revoke_security_group",
        m.RevokeSecurityGroupRequest(
            region_id=a.region, security_group_id=A_SG, security_group_rule_id=[first, "sgr-doesnotexist00000000"]
        ),
    )
    assert (e.code, e.status_code) == (
        "InvalidParam.SecurityGroupRuleId",
        400,
    ) and "sgr-doesnotexist00000000" in e.data["Message"]
    assert len(rules(a)) == 2, "a refused revoke removes nothing"
    revoke(a, security_group_rule_id=[first])
    assert [r["SecurityGroupRuleId"] for r in rules(a)] == [second]


def test_revoke_needs_exactly_one_form(a: Side) -> None:
    e = error_of(
        a.ecs, "revoke_security_group", m.RevokeSecurityGroupRequest(region_id=a.region, security_group_id=A_SG)
    )
    assert e.code == "MissingParameter" and "SecurityGroupRuleId" in e.data["Message"]
    e = error_of(
        a.ecs,
        "revoke_security_group",
        m.RevokeSecurityGroupRequest(
            region_id=a.region,
            security_group_id=A_SG,
            security_group_rule_id=["sgr-1"],
            permissions=[
                m.RevokeSecurityGroupRequestPermissions(ip_protocol="ICMP", port_range="-1/-1", source_cidr_ip=B_CIDR)
            ],
        ),
    )
    assert e.code == "InvalidParameter" and "SecurityGroupRuleId" in e.data["Message"]


# -- source groups ----------------------------------------------------------------------------------
def group_rule(sg: str, owner: int | None = None) -> Perm:
    return Perm(ip_protocol="ICMP", port_range="-1/-1", source_group_id=sg, source_group_owner_id=owner)


@pytest.fixture
def own_groups() -> Emu:
    """Account A with a second group in VPC1 and a second VPC with its own group."""
    world = with_timing(copy.deepcopy(default_world()), scale=0)
    world["vpcs"][0]["security_groups"].append({"id": "sg-m5e1tutorialsg3qd000001", "name": "SG3"})
    world["vpcs"].append(
        {
            "account": "account-a",
            "region": "cn-qingdao",
            "name": "VPC3",
            "id": "vpc-m5e1tutorialvpc3qd00001",
            "cidr": "10.3.0.0/16",
            "vswitches": [{"id": "vsw-m5e1vpc3", "zone": "cn-qingdao-b", "cidr": "10.3.1.0/24"}],
            "security_groups": [{"id": "sg-m5e1tutorialsg4qd000001", "name": "SG4"}],
        }
    )
    e = start_emulator(world)
    yield e
    e.server.stop()


def test_own_source_group_must_be_in_the_same_vpc(own_groups: Emu) -> None:
    a = own_groups.side("account-a", "cn-qingdao")
    authorize(a, group_rule("sg-m5e1tutorialsg3qd000001"))
    (rule,) = rules(a)
    assert (rule["SourceGroupId"], rule["SourceGroupName"], rule["SourceGroupOwnerAccount"], rule["SourceCidrIp"]) == (
        "sg-m5e1tutorialsg3qd000001",
        "SG3",
        a.uid,
        "",
    )
    message = refused(a, "InvalidSourceGroupId.Mismatch", 400, group_rule("sg-m5e1tutorialsg4qd000001"))
    assert message == "Specified security group and source group are not in the same VPC."
    refused(a, "InvalidSourceGroupId.NotFound", 404, group_rule("sg-doesnotexist0000000000"))
    refused(a, "InvalidParamter.Conflict", 403, group_rule(A_SG))


@pytest.fixture
def same_region() -> Emu:
    e = start_emulator(one_region_world())
    yield e
    e.server.stop()


def test_cross_account_group_needs_connected_vpcs_in_one_region(same_region: Emu) -> None:
    a, b = same_region.side("account-a", "cn-qingdao"), same_region.side("account-b", "cn-qingdao")
    message = refused(a, "InvalidSourceGroupId.Mismatch", 400, group_rule(B_SG, int(b.uid)))
    assert message == "Specified security group and source group are not in the same VPC."
    write_link(store_of(same_region), a.uid, b.uid, b_region="cn-qingdao")
    authorize(a, group_rule(B_SG, int(b.uid)))
    authorize(
        b, Perm(ip_protocol="ICMP", port_range="-1/-1", source_group_id=A_SG, source_group_owner_account=a.uid), sg=B_SG
    )
    (mine,), (theirs,) = rules(a), rules(b, sg=B_SG)
    assert (mine["SourceGroupId"], mine["SourceGroupOwnerAccount"]) == (B_SG, b.uid)
    assert (theirs["SourceGroupId"], theirs["SourceGroupOwnerAccount"]) == (A_SG, a.uid)
    groups = call(a.ecs, "describe_security_groups", m.DescribeSecurityGroupsRequest(region_id=a.region))
    assert groups["SecurityGroups"]["SecurityGroup"][0]["GroupToGroupRuleCount"] == 1


@pytest.mark.parametrize(
    "sg, owner, code, status",
    [
        (A_SG, "b", "InvalidSourceGroupId.NotFound", 404),  # a group of A named as B's
        ("sg-doesnotexist0000000000", "b", "InvalidSourceGroupId.NotFound", 404),
        (B_SG, 9999999999999999, "InvalidSourceGroupId.NotFound", 404),  # no such account
    ],
)
def test_cross_account_group_must_exist_for_its_owner(
    same_region: Emu, sg: str, owner: Any, code: str, status: int
) -> None:
    a, b = same_region.side("account-a", "cn-qingdao"), same_region.side("account-b", "cn-qingdao")
    write_link(store_of(same_region), a.uid, b.uid, b_region="cn-qingdao")
    refused(a, code, status, group_rule(sg, int(b.uid) if owner == "b" else owner))


def test_cross_account_group_refused_while_interfaces_are_not_active(same_region: Emu) -> None:
    a, b = same_region.side("account-a", "cn-qingdao"), same_region.side("account-b", "cn-qingdao")
    write_link(store_of(same_region), a.uid, b.uid, b_region="cn-qingdao", b_status="Inactive")
    refused(a, "InvalidSourceGroupId.Mismatch", 400, group_rule(B_SG, int(b.uid)))


def test_cross_account_group_refused_across_regions(emu: Emu, a: Side, b: Side) -> None:
    write_link(store_of(emu), a.uid, b.uid)  # connected, but VPC1 is in cn-qingdao and VPC2 in cn-beijing
    refused(a, "InvalidSourceGroupId.Mismatch", 400, group_rule(B_SG, int(b.uid)))


def test_cross_account_group_after_connecting_through_the_vpc_api(same_region: Emu) -> None:
    a, b = same_region.side("account-a", "cn-qingdao"), same_region.side("account-b", "cn-qingdao")
    ri_a, _ = link_through_vpc_api(a, b)
    authorize(a, group_rule(B_SG, int(b.uid)))
    assert rules(a)[0]["SourceGroupOwnerAccount"] == b.uid
    a.vpc.deactivate_router_interface(vm.DeactivateRouterInterfaceRequest(region_id=a.region, router_interface_id=ri_a))
    refused(b, "InvalidSourceGroupId.Mismatch", 400, group_rule(A_SG, int(a.uid)), sg=B_SG)
