"""ECS security groups: DescribeSecurityGroups, DescribeSecurityGroupAttribute,
AuthorizeSecurityGroup and RevokeSecurityGroup (inbound rules).

Every lookup is scoped to the caller's account and the request's region, so another account's
``sg-`` reads exactly like one that does not exist.

A rule's source group (``SourceGroupId``, owned by ``SourceGroupOwnerId``/``SourceGroupOwnerAccount``
or else by the caller) follows one of two references, chosen by the world's
``behaviour.security_group_reference``:

* ``current`` (the default): today's ECS reference. "For mutual access between security groups of
  the VPC type, you can allow or deny another security group in the same VPC access to your
  security group" (AuthorizeSecurityGroup, https://help.aliyun.com/en/ecs/api-authorizesecuritygroup;
  cross-account group authorization is described for the classic network only); instances in
  different VPCs are reached through their CIDR blocks
  (https://www.alibabacloud.com/help/tc/doc-detail/25475.htm). A source group of the caller's own
  account must be in the group's VPC; any other owner is ``InvalidSourceGroupId.Mismatch`` ("not in
  the same VPC").
* ``tutorial``: the older tutorial page ("Interconnect two VPCs under different accounts") lets a
  rule name the peer account's group in the same region. Another account's group is allowed when it
  is in that region and a VPC of its owner is joined to the group's VPC by router interfaces in the
  ``Active`` state.

No existence oracle (issue "an existence oracle"): whether another account's group exists must not
be learnt from the answer. So in ``current`` mode another owner's group is never looked up: the
answer depends only on what the caller sent. In ``tutorial`` mode it is looked up only once the
caller's own VPC is known to be linked to a VPC of the named owner, and "exists but not usable" and
"does not exist" get one answer, byte for byte (same code, status and message, the message naming
only the ID and owner as the caller wrote them; an account name is never resolved to a UID in a
message). A missing group of the caller's own account is ``InvalidSourceGroupId.NotFound``: the
caller may know what it owns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import Context
from ..errors import INVALID_PARAMETER, invalid, missing
from ..params import Params
from ..reachability import Network, linked
from ..timefmt import iso
from . import ecs_errors as err
from . import security_group_rules as rules
from .dry_run import stop_if_dry_run
from .ecs_paging import Limits, paginate
from .tags import tag_filter, tagged

CURRENT, TUTORIAL = "current", "tutorial"

MAX_RULES_PER_GROUP = 200
# A basic security group holds at most this many private IPs (what AvailableInstanceAmount counts down).
GROUP_CAPACITY = 2000


def _group(ctx: Context, p: Params, region: str) -> dict[str, Any]:
    sg_id = p.text("SecurityGroupId", required=True)
    group = ctx.tx.get("security_group", sg_id, account=ctx.uid)
    if group is None or group["_region"] != region:
        raise err.security_group_not_found(sg_id, region)
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
    single = p.text("SecurityGroupId")
    if single is not None:
        wanted.append(single)
    network_type = p.text("NetworkType", choices=("vpc", "classic"), code=INVALID_PARAMETER)
    tags = tag_filter(p, max_items=20)
    group_type = p.text("SecurityGroupType", choices=("normal", "enterprise"), code=err.SECURITY_GROUP_TYPE)
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
            or not tagged(g, tags)
        ):
            continue
        groups.append(g)
    page, paging = paginate(p, groups, filters, Limits(max_results_max=100, page_size_max=100))
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
    direction = p.text("Direction", default="all", choices=("ingress", "egress", "all"), code=INVALID_PARAMETER)
    nic = p.text("NicType")
    if nic is not None and nic.lower() != "intranet":
        raise err.nic_type_unsupported("NicType", nic)
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
        # Priority is a string (metadata); rules stored before that was so hold an int
        Permissions={"Permission": [dict(r, Priority=str(r.get("Priority", 1))) for r in page]},
    )


# -- writes -----------------------------------------------------------------------------------------
def _reference_mode(ctx: Context) -> str:
    return str((ctx.world.get("behaviour") or {}).get("security_group_reference", CURRENT))


def _check_source_group(ctx: Context, group: dict[str, Any], rule: dict[str, Any], where: str, sent: str) -> None:
    """Refuse a source group the rule may not name (module docstring: the two references and the
    rule against an existence oracle); fill in its name when it is the caller's own. ``sent`` is
    the owner as the caller wrote it (empty for the caller)."""
    source_id, owner = rule["SourceGroupId"], rule["SourceGroupOwnerAccount"]
    if owner == ctx.uid:
        if source_id == group["SecurityGroupId"]:
            raise err.source_is_the_group(where, source_id)
        source = ctx.tx.get("security_group", source_id, account=ctx.uid)
        if source is None or source["_region"] != group["_region"]:
            raise err.source_group_not_found(where, source_id)
        if source["VpcId"] != group["VpcId"]:
            raise err.source_group_mismatch()
        rule["SourceGroupName"] = source.get("SecurityGroupName", "")
        return
    if _reference_mode(ctx) != TUTORIAL:
        raise err.source_group_mismatch()  # another account's group is never in this VPC
    refusal = err.source_group_not_linked(where, source_id, sent)
    net = Network.read(ctx.tx)
    mine = next((v for v in net.vpcs if v["VpcId"] == group["VpcId"] and v["_account"] == ctx.uid), None)
    peers = [
        v
        for v in net.vpcs
        if v["_account"] == owner and v["_region"] == group["_region"] and mine is not None and linked(net, mine, v)
    ]
    if not peers:
        raise refusal
    source = ctx.tx.get("security_group", source_id, account=owner)
    if source is None or source["_region"] != group["_region"] or all(v["VpcId"] != source["VpcId"] for v in peers):
        raise refusal


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
            sent = str(fields.get("SourceGroupOwnerId") or fields.get("SourceGroupOwnerAccount") or "")
            _check_source_group(ctx, group, rule, where, sent)
        if rule in known:  # an identical rule: the call succeeds and creates nothing
            continue
        if len(current) >= MAX_RULES_PER_GROUP:
            raise err.too_many_rules(MAX_RULES_PER_GROUP, group["SecurityGroupId"])
        current.append(dict(rule, SecurityGroupRuleId=ctx.tx.new_id("sgr-"), CreateTime=iso(ctx.now)))
        known.add(rule)
    if len(current) != len(group.get("Rules") or []):
        ctx.tx.put(dict(group, Rules=current))
    return {}


def revoke_security_group(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    group = _group(ctx, p, region)
    rule_ids = [str(x) for x in p.sequence("SecurityGroupRuleId")]
    if len(rule_ids) > 100:
        raise err.too_many_rule_ids(100, len(rule_ids))
    given = rules.permissions_of(p)
    current = list(group.get("Rules") or [])
    if rule_ids and given:
        raise err.permissions_conflict("revoke either by SecurityGroupRuleId.N or by Permissions.N.*, not both")
    if rule_ids:
        present = {r["SecurityGroupRuleId"] for r in current}
        unknown = [r for r in rule_ids if r not in present]
        if unknown:
            raise err.unknown_rule_ids(", ".join(unknown), group["SecurityGroupId"])
        kept = [r for r in current if r["SecurityGroupRuleId"] not in rule_ids]
    elif given:
        # Rules that match nothing are not an error: the call succeeds and revokes nothing.
        gone = rules.RuleIndex([rules.parse(where, fields, ctx.uid, _owner_uid(ctx)) for where, fields in given])
        kept = [r for r in current if r not in gone]
    else:
        raise err.nothing_to_revoke()
    if len(kept) != len(current):
        ctx.tx.put(dict(group, Rules=kept))
    return {}


# Errors raised while parsing a rule (security_group_rules.parse), shared by both writes.
RULE_ERRORS = (
    err.permissions_conflict,
    err.rule_field_missing,
    err.rule_without_source,
    err.protocol_unsupported,
    err.protocol_and_ports,
    err.port_range_malformed,
    err.source_port_range_malformed,
    err.source_cidr_malformed,
    err.dest_cidr_malformed,
    err.ipv6_source_malformed,
    err.ipv6_dest_malformed,
    err.source_ip_conflict,
    err.prefix_list_not_found,
    err.policy_malformed,
    err.priority_malformed,
    err.priority_unsupported,
    err.source_group_nic_type,
    err.nic_type_unsupported,
    err.rule_description_malformed,
)
