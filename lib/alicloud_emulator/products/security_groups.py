"""ECS security groups: DescribeSecurityGroups, DescribeSecurityGroupAttribute,
AuthorizeSecurityGroup and RevokeSecurityGroup (inbound rules).

Every lookup is scoped to the caller's account and the request's region, so another account's
``sg-`` reads exactly like one that does not exist. A rule may name a source group of another
account (``SourceGroupId`` + ``SourceGroupOwnerId``) only when that group exists in that account,
in the same region, and the two groups' VPCs are joined by connected router interfaces (the
tutorial's "peer security group plus peer account ID in one region"); a source group of the
caller's own account must be in the same VPC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import Action, Context
from ..errors import ApiError, invalid, missing
from ..params import Params
from ..reachability import Network, linked
from ..timefmt import iso
from . import security_group_rules as rules
from .dry_run import stop_if_dry_run
from .ecs_paging import Limits, paginate

MAX_RULES_PER_GROUP = 200
# A basic security group holds at most this many private IPs (what AvailableInstanceAmount counts down).
GROUP_CAPACITY = 2000


def _group(ctx: Context, p: Params, region: str) -> dict[str, Any]:
    sg_id = p.text("SecurityGroupId", required=True)
    group = ctx.tx.get("security_group", sg_id, account=ctx.uid)
    if group is None or group["_region"] != region:
        raise ApiError(
            "InvalidSecurityGroupId.NotFound",
            f'The specified SecurityGroupId "{sg_id}" does not exist in region {region} for this account.',
            404,
        )
    return group


def _owner_uid(ctx: Context) -> Callable[[str], str | None]:
    """Resolves an account given by name or UID to its UID (``None`` for no such account)."""

    def resolve(name_or_uid: str) -> str | None:
        acct = next((a for a in ctx.accounts if name_or_uid in (a.name, a.uid)), None)
        return acct.uid if acct else None

    return resolve


# -- reads ------------------------------------------------------------------------------------------
def describe_security_groups(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    wanted = [str(x) for x in p.json_list("SecurityGroupIds")]
    if len(wanted) > 100:
        raise invalid("SecurityGroupIds", f"at most 100 IDs, got {len(wanted)}")
    if p.has("SecurityGroupId"):
        wanted.append(p.text("SecurityGroupId"))
    network_type = p.text("NetworkType", choices=("vpc", "classic"))
    group_type = p.text("SecurityGroupType", choices=("normal", "enterprise"))
    filters = {
        "ids": wanted,
        "vpc": p.text("VpcId"),
        "name": p.text("SecurityGroupName"),
        "type": group_type,
        "net": network_type,
    }
    stop_if_dry_run(p)
    instances = ctx.tx.find("instance", account=ctx.uid, region=region)
    groups = []
    for g in ctx.tx.find("security_group", account=ctx.uid, region=region):
        if (
            (wanted and g["SecurityGroupId"] not in wanted)
            or network_type == "classic"
            or (filters["vpc"] and g["VpcId"] != filters["vpc"])
            or (filters["name"] and g["SecurityGroupName"] != filters["name"])
            or (group_type and g.get("SecurityGroupType", "normal") != group_type)
        ):
            continue
        groups.append(g)
    page, paging = paginate(p, groups, filters, Limits(max_results_max=100, page_size_max=50))
    out = []
    for g in page:
        ecs_count = sum(1 for i in instances if g["SecurityGroupId"] in (i.get("SecurityGroupIds") or []))
        group_rules = g.get("Rules") or []
        out.append(
            {
                "SecurityGroupId": g["SecurityGroupId"],
                "SecurityGroupName": g.get("SecurityGroupName", ""),
                "SecurityGroupType": g.get("SecurityGroupType", "normal"),
                "VpcId": g["VpcId"],
                "Description": g.get("Description", ""),
                "CreationTime": g.get("CreationTime", ""),
                "ResourceGroupId": "",
                "RuleCount": len(group_rules),
                "GroupToGroupRuleCount": sum(1 for r in group_rules if r.get("SourceGroupId")),
                "EcsCount": ecs_count,
                "AvailableInstanceAmount": GROUP_CAPACITY - ecs_count,
                "ServiceManaged": False,
                "Tags": {"Tag": []},
            }
        )
    return dict(paging, RegionId=region, SecurityGroups={"SecurityGroup": out})


def describe_security_group_attribute(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    group = _group(ctx, p, region)
    direction = p.text("Direction", default="all", choices=("ingress", "egress", "all"))
    nic = p.text("NicType")
    if nic is not None and nic.lower() != "intranet":
        raise ApiError(
            "InvalidNicType.ValueNotSupported",
            f'The specified NicType "{nic}" is not supported; a VPC security group takes only intranet.',
        )
    selected = [r for r in group.get("Rules") or [] if direction == "all" or r["Direction"] == direction]
    page, paging = paginate(
        p,
        selected,
        {"sg": group["SecurityGroupId"], "direction": direction},
        Limits(max_results_default=500, max_results_min=10, max_results_max=1000),
        tokens_only=True,
    )
    return dict(
        paging,
        RegionId=region,
        SecurityGroupId=group["SecurityGroupId"],
        SecurityGroupName=group.get("SecurityGroupName", ""),
        Description=group.get("Description", ""),
        VpcId=group["VpcId"],
        InnerAccessPolicy=group.get("InnerAccessPolicy", "Accept"),
        Permissions={"Permission": page},
    )


# -- writes -----------------------------------------------------------------------------------------
def _check_source_group(ctx: Context, group: dict[str, Any], rule: dict[str, Any], where: str) -> None:
    """Refuse a source group that does not exist for its owner or cannot be reached from ``group``;
    fill in its name when it is the caller's own."""
    source_id, owner = rule["SourceGroupId"], rule["SourceGroupOwnerAccount"]
    if source_id == group["SecurityGroupId"] and owner == ctx.uid:
        raise ApiError(
            "InvalidParamter.Conflict",
            f"The specified SecurityGroupId should be different from the "
            f"SourceGroupId ({where}SourceGroupId is {source_id}).",
            403,
        )
    source = ctx.tx.get("security_group", source_id, account=owner)
    if source is None:
        whose = "this account" if owner == ctx.uid else f"account {owner}"
        raise ApiError(
            "InvalidSourceGroupId.NotFound",
            f"The SourceGroupId provided does not exist in our records: "
            f"{where}SourceGroupId {source_id} is not a security group of {whose}.",
            404,
        )
    mismatch = ApiError(
        "InvalidSourceGroupId.Mismatch", "Specified security group and source group are not in the same VPC."
    )
    if owner == ctx.uid:
        if source["VpcId"] != group["VpcId"] or source["_region"] != group["_region"]:
            raise mismatch
        rule["SourceGroupName"] = source.get("SecurityGroupName", "")
        return
    if source["_region"] != group["_region"]:
        raise mismatch
    net = Network.read(ctx.tx)
    mine = next((v for v in net.vpcs if v["VpcId"] == group["VpcId"] and v["_account"] == ctx.uid), None)
    theirs = next((v for v in net.vpcs if v["VpcId"] == source["VpcId"] and v["_account"] == owner), None)
    if mine is None or theirs is None or not linked(net, mine, theirs):
        raise mismatch


def authorize_security_group(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    group = _group(ctx, p, region)
    given = rules.permissions_of(p)
    if not given:
        raise missing("Permissions.1.IpProtocol")
    current = list(group.get("Rules") or [])
    known = rules.RuleIndex(current)
    for where, fields in given:
        rule = rules.parse(where, fields, ctx.uid, _owner_uid(ctx))
        if rule["SourceGroupId"]:
            _check_source_group(ctx, group, rule, where)
        if rule in known:  # an identical rule: the call succeeds and creates nothing
            continue
        if len(current) >= MAX_RULES_PER_GROUP:
            raise ApiError(
                "AuthorizationLimitExceed",
                f"The limit of authorization records in the security group "
                f"reaches ({MAX_RULES_PER_GROUP} rules in {group['SecurityGroupId']}).",
                403,
            )
        current.append(dict(rule, SecurityGroupRuleId=ctx.tx.new_id("sgr-"), CreateTime=iso(ctx.now)))
        known.add(rule)
    if len(current) != len(group.get("Rules") or []):
        ctx.tx.put(dict(group, Rules=current))
    return {}


def revoke_security_group(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    group = _group(ctx, p, region)
    rule_ids = [str(x) for x in p.sequence("SecurityGroupRuleId")]
    given = rules.permissions_of(p)
    current = list(group.get("Rules") or [])
    if rule_ids and given:
        raise invalid("SecurityGroupRuleId", "revoke either by SecurityGroupRuleId.N or by Permissions.N.*, not both")
    if rule_ids:
        if len(rule_ids) > 100:
            raise invalid("SecurityGroupRuleId", f"at most 100 IDs, got {len(rule_ids)}")
        present = {r["SecurityGroupRuleId"] for r in current}
        unknown = [r for r in rule_ids if r not in present]
        if unknown:
            raise ApiError(
                "InvalidParam.SecurityGroupRuleId",
                f"The specified SecurityGroupRuleId "
                f"{', '.join(unknown)} does not exist in security group {group['SecurityGroupId']}.",
            )
        kept = [r for r in current if r["SecurityGroupRuleId"] not in rule_ids]
    elif given:
        # Rules that match nothing are not an error: the call succeeds and revokes nothing.
        gone = rules.RuleIndex([rules.parse(where, fields, ctx.uid, _owner_uid(ctx)) for where, fields in given])
        kept = [r for r in current if r not in gone]
    else:
        raise ApiError(
            "MissingParameter",
            'The input parameter "SecurityGroupRuleId.N" or "Permissions.N" that '
            "is mandatory for processing this request is not supplied.",
        )
    if len(kept) != len(current):
        ctx.tx.put(dict(group, Rules=kept))
    return {}


ACTIONS = {
    "DescribeSecurityGroups": Action(describe_security_groups),
    "DescribeSecurityGroupAttribute": Action(describe_security_group_attribute),
    "AuthorizeSecurityGroup": Action(authorize_security_group, mutating=True),
    "RevokeSecurityGroup": Action(revoke_security_group, mutating=True),
}
