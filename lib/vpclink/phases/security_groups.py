"""Security groups (accounts A and B): let the peer's traffic in.

Console terms: ECS > Security Groups > the group > Add Rule, inbound, "Allow", the protocol and
ports of each rule, source the peer VPC's CIDR block (across regions) or the peer's security group
and account (``mode: group``, one region only).
API: AuthorizeSecurityGroup with ``Permissions.N`` for the rules not present yet (read with
DescribeSecurityGroupAttribute; the API returns protocols and policies in upper case, so rules
are compared case-insensitively), then the rules' IDs are read back.

**Which mode works where.** ``mode: cidr`` (the peer VPC's CIDR as the source) works in every
case. ``mode: group`` (the peer's security group plus the peer's account) is the tutorial's option
for one region, but today's ECS reference lets a VPC security group name only groups *in the same
VPC* (AuthorizeSecurityGroup, ``InvalidSourceGroupId.Mismatch``: "Specified security group and
source group are not in the same VPC"; https://help.aliyun.com/en/ecs/api-authorizesecuritygroup),
and the two VPCs of a link are never the same VPC. So the cloud refuses it; the phase then stops
before changing anything, names the restriction and ``mode: cidr`` as the way on, and never falls
back by itself to the wider CIDR rule.

A rule is identified by its content: direction, protocol, port range, source and policy. The rules
vpclink adds carry the description ``vpclink link <link> <side> side`` so that teardown removes
only those, never an identical rule somebody added by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alibabacloud_ecs20140526 import models as ecs

from ..cloud import CloudError
from ..params import Role, Rule
from ..waits import wait_for
from . import lookup
from .base import PhaseContext, PhaseError, Step, marker, peer_role, reads_only

NAME = "security_groups"
SIDES: tuple[Role, ...] = ("initiator", "acceptor")
INPUTS: tuple[str, ...] = ("initiator_account_uid", "acceptor_account_uid")
OUTPUTS: tuple[str, ...] = ("initiator_rule_ids", "acceptor_rule_ids")

# What AuthorizeSecurityGroup answers when it will not take the peer's group as a source.
GROUP_REFUSED = frozenset({"InvalidSourceGroupId.Mismatch", "InvalidSourceGroupId.NotFound"})
REFERENCE_PAGE = "https://help.aliyun.com/en/ecs/api-authorizesecuritygroup"

# Seconds for authorized rules to show up in DescribeSecurityGroupAttribute.
VISIBLE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Permission:
    """One ingress rule as vpclink wants it."""

    protocol: str  # lower case: icmp, tcp, udp, all
    port_range: str
    source_cidr: str | None = None
    source_group: str | None = None
    source_owner: str | None = None
    description: str = ""

    def label(self) -> str:
        source = self.source_cidr or f"{self.source_group} of account {self.source_owner}"
        return f"{self.protocol.upper()} {self.port_range} from {source}"

    def matches(self, rule: dict[str, Any]) -> bool:
        """Whether an existing rule (DescribeSecurityGroupAttribute) has this content."""
        if str(rule.get("Direction", "ingress")).lower() != "ingress":
            return False
        if (
            str(rule.get("IpProtocol", "")).lower() != self.protocol
            or str(rule.get("PortRange", "")) != self.port_range
        ):
            return False
        if str(rule.get("Policy", "accept")).lower() != "accept":
            return False
        if self.source_cidr:
            return not rule.get("SourceGroupId") and lookup.same_cidr(rule.get("SourceCidrIp"), self.source_cidr)
        owner = str(rule.get("SourceGroupOwnerAccount") or rule.get("SourceGroupOwnerId") or "")
        return (
            not rule.get("SourceCidrIp")
            and str(rule.get("SourceGroupId", "")).lower() == str(self.source_group).lower()
            and owner in ("", str(self.source_owner))
        )

    def request(self) -> ecs.AuthorizeSecurityGroupRequestPermissions:
        return ecs.AuthorizeSecurityGroupRequestPermissions(
            ip_protocol=self.protocol.upper(),
            port_range=self.port_range,
            source_cidr_ip=self.source_cidr,
            source_group_id=self.source_group,
            source_group_owner_id=int(self.source_owner) if self.source_owner else None,
            policy="accept",
            priority="1",
            nic_type="intranet",
            description=self.description or None,
        )


class GroupReferenceRefused(PhaseError):
    """``mode: group`` refused by the cloud: the message says why and what to do instead."""

    def __init__(self, ctx: PhaseContext, role: Role, error: CloudError):
        peer = ctx.params.side(peer_role(role))
        self.error = error
        super().__init__(
            f"{role}: AuthorizeSecurityGroup refused {peer.security_group_id} (the peer's security group) as a "
            f"source: {error.code}: {error.message} (request ID {error.request_id}). Today's ECS API reference "
            f"allows a VPC security group to name only groups in the same VPC ({REFERENCE_PAGE}); the tutorial's "
            "'peer security group plus peer account' option comes from an older page. Nothing was changed in this "
            "phase. Set security_groups.mode: cidr in the parameter file (the peer VPC's CIDR block as the "
            "source) and resume the run."
        )


def rule_description(ctx: PhaseContext, role: Role, rule: Rule) -> str:
    base = f"{marker(ctx.params)} {role} side"
    return f"{base}: {rule.description}" if rule.description else base


def is_ours(ctx: PhaseContext, role: Role, existing: dict[str, Any]) -> bool:
    return str(existing.get("Description", "")).startswith(f"{marker(ctx.params)} {role} side")


def desired(ctx: PhaseContext, role: Role) -> list[Permission]:
    """The ingress rules ``role``'s group needs, in parameter order."""
    peer = ctx.params.side(peer_role(role))
    group_mode = ctx.params.security_groups.mode == "group"
    owner = lookup.account_uid(ctx, peer_role(role)) if group_mode else None
    return [
        Permission(
            protocol=r.protocol.lower(),
            port_range=r.port_range,
            source_cidr=None if group_mode else peer.vpc_cidr,
            source_group=peer.security_group_id if group_mode else None,
            source_owner=owner,
            description=rule_description(ctx, role, r),
        )
        for r in ctx.params.security_groups.rules
    ]


def _rules(ctx: PhaseContext, role: Role) -> list[dict[str, Any]]:
    group = lookup.security_group(ctx, role)
    if group is None:
        side = ctx.params.side(role)
        raise PhaseError(f"{role}.security_group_id: {side.security_group_id} does not exist in {side.region}")
    return lookup.items(group, "Permissions", "Permission")


def _find(perm: Permission, rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in rules if perm.matches(r)), None)


@reads_only
def plan(ctx: PhaseContext) -> list[Step]:
    steps = []
    for role in ctx.acting(SIDES):
        rules = _rules(ctx, role)
        target = f"security group {ctx.params.side(role).security_group_id}"
        for perm in desired(ctx, role):
            found = _find(perm, rules)
            steps.append(
                Step(
                    role,
                    "AuthorizeSecurityGroup",
                    target,
                    "exists" if found else "create",
                    f"{perm.label()}: {found.get('SecurityGroupRuleId')}" if found else perm.label(),
                )
            )
    return steps


def apply(ctx: PhaseContext) -> dict[str, Any]:
    return {f"{role}_rule_ids": _ensure(ctx, role) for role in ctx.acting(SIDES)}


def _ensure(ctx: PhaseContext, role: Role) -> list[str]:
    side = ctx.params.side(role)
    perms = desired(ctx, role)
    current = _rules(ctx, role)
    missing = [p for p in perms if _find(p, current) is None]
    if missing:
        step = "authorize " + "; ".join(sorted(p.label() for p in missing))
        req = ecs.AuthorizeSecurityGroupRequest(
            region_id=side.region,
            security_group_id=side.security_group_id,
            permissions=[p.request() for p in missing],
            client_token=ctx.token(role, step),
        )
        try:
            ctx.cloud.call(role, "ecs", "AuthorizeSecurityGroup", req, mutating=True)
        except CloudError as e:
            if ctx.params.security_groups.mode == "group" and e.code in GROUP_REFUSED:
                raise GroupReferenceRefused(ctx, role, e) from e
            raise

    rules = [] if missing else current

    def visible() -> str:
        rules[:] = _rules(ctx, role)
        return "present" if all(_find(p, rules) for p in perms) else "not all present"

    if missing:
        wait_for(
            visible,
            what="the new rules of security group",
            resource_id=side.security_group_id,
            expected=("present",),
            timeout=VISIBLE_TIMEOUT,
            progress=ctx.progress,
            clock=ctx.cloud.clock,
            goal="visible",
        )
    # verify shows the rules as read here, after the change: reading them again would show the same
    ctx.results.setdefault("rules", {})[role] = list(rules)
    return [str(_find(p, rules)["SecurityGroupRuleId"]) for p in perms]  # type: ignore[index]


@reads_only
def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    rows = []
    for role in ctx.acting(SIDES):
        rules = ctx.results.get("rules", {}).get(role)
        rules = rules if rules is not None else _rules(ctx, role)
        for perm in desired(ctx, role):
            found = _find(perm, rules) or {}
            rows.append(
                {
                    "side": role,
                    "security_group_id": ctx.params.side(role).security_group_id,
                    "rule": perm.label(),
                    "rule_id": found.get("SecurityGroupRuleId", ""),
                    "status": "present" if found else "missing",
                    "added_by_vpclink": bool(found) and is_ours(ctx, role, found),
                }
            )
    return rows
