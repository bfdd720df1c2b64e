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
        "Priority": "1",
        "NicType": "intranet",
        "Description": "peer ping",
        "SourceGroupId": "",
        "SourceGroupOwnerAccount": "",
    }
    assert ping_rule["SecurityGroupRuleId"].startswith("sgr-") and ping_rule["CreateTime"].endswith("Z")
    assert (ssh["IpProtocol"], ssh["Policy"], ssh["Priority"], ssh["SourceCidrIp"]) == (
        "TCP",
        "Drop",
        "100",
        "10.0.0.1",
    )
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
        "5",
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
        # the codes the API metadata documents for these (sic: "Discription")
        (icmp(description="x" * 513), "InvalidSecurityGroupDiscription.Malformed", 400, "Description"),
        (
            Perm(ip_protocol="TCP", port_range="22/22", source_port_range="0/9", source_cidr_ip=B_CIDR),
            "InvalidSourcePortRange.Malformed",
            400,
            "SourcePortRange",
        ),
        (icmp(ipv_6source_cidr_ip="10.0.0.0/8"), "InvalidParam.Ipv6SourceCidrIp", 400, "Ipv6SourceCidrIp"),
    ],
)
def test_each_invalid_rule_is_refused_naming_the_field(a: Side, perm: Perm, code: str, status: int, field: str) -> None:
    message = refused(a, code, status, icmp("10.9.0.0/16"), perm)
    assert f"Permissions.2.{field}" in message or (field == "NicType" and "NicType" in message), message
    assert rules(a) == [], "a refused request must create none of its rules"


def test_both_rule_forms_at_once_are_refused(a: Side) -> None:
    """InvalidParam.Permissions: "Permissions cannot coexist with other parameters" (API metadata)."""
    message = refused(
        a, "InvalidParam.Permissions", 400, icmp(), ip_protocol="TCP", port_range="22/22", source_cidr_ip=B_CIDR
    )
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
    assert (rule["Priority"], rule["Description"]) == ("1", ""), "an identical rule must not change the first one"
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
    assert e.code == "InvalidParam.Permissions" and "SecurityGroupRuleId" in e.data["Message"]  # documented code


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
    """Both tutorial VPCs in cn-qingdao, the emulator following today's ECS reference (the default)."""
    e = start_emulator(one_region_world())
    yield e
    e.server.stop()


@pytest.fixture
def tutorial_region() -> Emu:
    """Both tutorial VPCs in cn-qingdao, with the tutorial's security-group reference rule."""
    e = start_emulator(dict(one_region_world(), behaviour={"security_group_reference": "tutorial"}))
    yield e
    e.server.stop()


MISMATCH = "Specified security group and source group are not in the same VPC."


def test_current_reference_refuses_another_accounts_group_even_when_linked(same_region: Emu) -> None:
    """Today's AuthorizeSecurityGroup reference: a VPC security group may name only a group "in the
    same VPC" (https://help.aliyun.com/en/ecs/api-authorizesecuritygroup); instances of different
    VPCs are reached by CIDR (https://www.alibabacloud.com/help/tc/doc-detail/25475.htm). So even
    over Active router interfaces in one region, another account's group is InvalidSourceGroupId.Mismatch."""
    a, b = same_region.side("account-a", "cn-qingdao"), same_region.side("account-b", "cn-qingdao")
    link_through_vpc_api(a, b)
    assert refused(a, "InvalidSourceGroupId.Mismatch", 400, group_rule(B_SG, int(b.uid))) == MISMATCH
    assert refused(b, "InvalidSourceGroupId.Mismatch", 400, group_rule(A_SG, int(a.uid)), sg=B_SG) == MISMATCH
    assert rules(a) == [] and rules(b, sg=B_SG) == []
    authorize(a, icmp(B_CIDR))  # the way that works: the peer's CIDR block
    assert [r["SourceCidrIp"] for r in rules(a)] == [B_CIDR]


def _answers(side: Side, perms: list[Perm]) -> list[tuple[str, int, str]]:
    out = []
    for perm in perms:
        e = error_of(
            side.ecs,
            "authorize_security_group",
            m.AuthorizeSecurityGroupRequest(region_id=side.region, security_group_id=A_SG, permissions=[perm]),
        )
        out.append((e.code, e.status_code, e.data["Message"]))
    return out


def _foreign_sources(b: Side) -> list[Perm]:
    """B's real group, a group that does not exist, A's own group named as B's, and B's group named
    as owned by an account that does not exist; by UID and by account name."""
    fake_uid = 9999999999999999

    def by_name(sg: str, name: str) -> Perm:
        return Perm(ip_protocol="ICMP", port_range="-1/-1", source_group_id=sg, source_group_owner_account=name)

    return [
        group_rule(B_SG, int(b.uid)),
        group_rule("sg-doesnotexist0000000000", int(b.uid)),
        group_rule(A_SG, int(b.uid)),
        group_rule(B_SG, fake_uid),
        by_name(B_SG, "account-b"),
        by_name("sg-doesnotexist0000000000", "account-b"),
        by_name(B_SG, "no-such-account"),
    ]


@pytest.mark.parametrize("mode", ["current", "tutorial"])
def test_another_accounts_group_reads_like_a_missing_one(mode: str) -> None:
    """No existence oracle: with another owner, a real group and a made-up one get the same code,
    status and message, whether the owner is named by UID or by account name, and no message
    carries a UID the caller did not send (an account name is never resolved in a message)."""
    world = dict(one_region_world(), behaviour={"security_group_reference": mode})
    emu = start_emulator(world)
    try:
        a, b = emu.side("account-a", "cn-qingdao"), emu.side("account-b", "cn-qingdao")
        if mode == "current":  # linked or not, nothing of another account is ever usable
            write_link(store_of(emu), a.uid, b.uid, b_region="cn-qingdao")
        perms = _foreign_sources(b)
        answers = _answers(a, perms)
        by_uid, by_name = answers[:4], answers[4:]

        def neutral(answer: tuple[str, int, str], sg: str) -> tuple[str, int, str]:
            return answer[0], answer[1], answer[2].replace(sg, "SG").replace(b.uid, "OWNER").replace("9" * 16, "OWNER")

        ids = [B_SG, "sg-doesnotexist0000000000", A_SG, B_SG]
        assert len({neutral(x, sg) for x, sg in zip(by_uid, ids, strict=True)}) == 1, by_uid
        assert by_uid[0][:2] == ("InvalidSourceGroupId.Mismatch", 400)
        if mode == "current":  # no lookup at all: the documented message, word for word
            assert {x[2] for x in answers} == {MISMATCH}
        assert not any(b.uid in message for _, _, message in by_name), by_name
        names = [("account-b", B_SG), ("account-b", "sg-doesnotexist0000000000"), ("no-such-account", B_SG)]
        assert (
            len(
                {
                    (c, st, msg.replace(name, "OWNER").replace(sg, "SG"))
                    for (c, st, msg), (name, sg) in zip(by_name, names, strict=True)
                }
            )
            == 1
        ), by_name
        assert rules(a) == []
    finally:
        emu.server.stop()


def test_tutorial_reference_gives_one_answer_for_unusable_and_missing_groups(tutorial_region: Emu) -> None:
    """Over Active interfaces the tutorial rule looks the group up; a group that is B's but in a VPC
    the link does not join, and one that does not exist, still get one answer."""
    a, b = tutorial_region.side("account-a", "cn-qingdao"), tutorial_region.side("account-b", "cn-qingdao")
    write_link(store_of(tutorial_region), a.uid, b.uid, b_region="cn-qingdao")
    store = store_of(tutorial_region)
    with store.transaction() as tx:  # a second VPC of B in the region, with a group, joined to nothing
        tx.insert(
            "vpc",
            "vpc-2ze2unlinkedvpc0000001",
            b.uid,
            "cn-qingdao",
            {"VpcId": "vpc-2ze2unlinkedvpc0000001", "VRouterId": "vrt-2ze2unlinked000001", "RegionId": "cn-qingdao"},
        )
        tx.insert(
            "security_group",
            "sg-2ze2unlinkedsg000000001",
            b.uid,
            "cn-qingdao",
            {"SecurityGroupId": "sg-2ze2unlinkedsg000000001", "VpcId": "vpc-2ze2unlinkedvpc0000001"},
        )
    answers = _answers(
        a, [group_rule("sg-2ze2unlinkedsg000000001", int(b.uid)), group_rule("sg-2ze2nosuchgroup00000001", int(b.uid))]
    )
    assert answers[0][:2] == answers[1][:2] == ("InvalidSourceGroupId.Mismatch", 400)
    assert answers[0][2].replace("sg-2ze2unlinkedsg000000001", "SG") == answers[1][2].replace(
        "sg-2ze2nosuchgroup00000001", "SG"
    )


def test_tutorial_reference_allows_a_linked_accounts_group_in_one_region(tutorial_region: Emu) -> None:
    """The tutorial ("Interconnect two VPCs under different accounts", an older page) names the peer's
    security group and account ID for a link in one region; with ``behaviour.security_group_reference:
    tutorial`` the emulator allows it once Active router interfaces join the two VPCs."""
    a, b = tutorial_region.side("account-a", "cn-qingdao"), tutorial_region.side("account-b", "cn-qingdao")
    message = refused(a, "InvalidSourceGroupId.Mismatch", 400, group_rule(B_SG, int(b.uid)))
    assert B_SG in message and "Active" in message
    write_link(store_of(tutorial_region), a.uid, b.uid, b_region="cn-qingdao")
    authorize(a, group_rule(B_SG, int(b.uid)))
    authorize(
        b, Perm(ip_protocol="ICMP", port_range="-1/-1", source_group_id=A_SG, source_group_owner_account=a.uid), sg=B_SG
    )
    (mine,), (theirs,) = rules(a), rules(b, sg=B_SG)
    assert (mine["SourceGroupId"], mine["SourceGroupOwnerAccount"]) == (B_SG, b.uid)
    assert (theirs["SourceGroupId"], theirs["SourceGroupOwnerAccount"]) == (A_SG, a.uid)
    groups = call(a.ecs, "describe_security_groups", m.DescribeSecurityGroupsRequest(region_id=a.region))
    assert groups["SecurityGroups"]["SecurityGroup"][0]["GroupToGroupRuleCount"] == 1


def test_tutorial_reference_refuses_while_interfaces_are_not_active(tutorial_region: Emu) -> None:
    a, b = tutorial_region.side("account-a", "cn-qingdao"), tutorial_region.side("account-b", "cn-qingdao")
    write_link(store_of(tutorial_region), a.uid, b.uid, b_region="cn-qingdao", b_status="Inactive")
    refused(a, "InvalidSourceGroupId.Mismatch", 400, group_rule(B_SG, int(b.uid)))


def test_tutorial_reference_refuses_across_regions() -> None:
    emu = start_emulator(
        dict(with_timing(copy.deepcopy(default_world()), scale=0), behaviour={"security_group_reference": "tutorial"})
    )
    try:
        a, b = emu.side("account-a", "cn-qingdao"), emu.side("account-b", "cn-beijing")
        write_link(store_of(emu), a.uid, b.uid)  # connected, but VPC1 is in cn-qingdao and VPC2 in cn-beijing
        refused(a, "InvalidSourceGroupId.Mismatch", 400, group_rule(B_SG, int(b.uid)))
    finally:
        emu.server.stop()


def test_tutorial_reference_after_connecting_through_the_vpc_api(tutorial_region: Emu) -> None:
    a, b = tutorial_region.side("account-a", "cn-qingdao"), tutorial_region.side("account-b", "cn-qingdao")
    ri_a, _ = link_through_vpc_api(a, b)
    authorize(a, group_rule(B_SG, int(b.uid)))
    assert rules(a)[0]["SourceGroupOwnerAccount"] == b.uid
    a.vpc.deactivate_router_interface(vm.DeactivateRouterInterfaceRequest(region_id=a.region, router_interface_id=ri_a))
    refused(b, "InvalidSourceGroupId.Mismatch", 400, group_rule(A_SG, int(a.uid)), sg=B_SG)
