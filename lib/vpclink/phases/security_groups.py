"""Security groups (accounts A and B): let the peer's traffic in.

How, in API terms: AuthorizeSecurityGroup with ``Permissions.N`` for the rules not present yet (read with
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
vpclink adds carry the side's description (``naming.rule_description``) so that teardown removes
only those, never an identical rule somebody added by hand. The notebook's text is ``PHASE`` at the
end of this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alibabacloud_ecs20140526 import models as ecs

from .. import limits, naming
from ..cloud import CloudError
from ..params import ROLES, LinkParams, Role
from ..sides import peer_of
from ..waits import wait_for
from . import lookup
from .base import Output, Phase, PhaseContext, PhaseError, Step, Steps

if TYPE_CHECKING:
    from ..record.picture import LinkView

SIDES: tuple[Role, ...] = ("initiator", "acceptor")

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
        peer = ctx.params.side(peer_of(role))
        self.error = error
        super().__init__(
            f"{role}: AuthorizeSecurityGroup refused {peer.security_group_id} (the peer's security group) as a "
            f"source: {error.code}: {error.message} (request ID {error.request_id}). Today's ECS API reference "
            f"allows a VPC security group to name only groups in the same VPC ({REFERENCE_PAGE}); the tutorial's "
            "'peer security group plus peer account' option comes from an older page. Nothing was changed in this "
            "phase. Set security_groups.mode: cidr in the parameter file (the peer VPC's CIDR block as the "
            "source) and resume the run."
        )


def is_ours(params: LinkParams, role: Role, existing: dict[str, Any]) -> bool:
    return naming.is_ours(str(existing.get("Description", "")), params.link, role)


def desired(ctx: PhaseContext, role: Role) -> list[Permission]:
    """The ingress rules ``role``'s group needs, in parameter order."""
    peer = ctx.params.side(peer_of(role))
    group_mode = ctx.params.security_groups.mode == "group"
    owner = lookup.account_uid(ctx, peer_of(role)) if group_mode else None
    return [
        Permission(
            protocol=r.protocol.lower(),
            port_range=r.port_range,
            source_cidr=None if group_mode else peer.vpc_cidr,
            source_group=peer.security_group_id if group_mode else None,
            source_owner=owner,
            description=naming.rule_description(ctx.params.link, role, r.description or ""),
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


def offline(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        s, peer = p.side(role), p.peer(role)
        source = (
            f"from {peer.vpc_cidr}"
            if p.security_groups.mode == "cidr"
            else f"from {peer.security_group_id} of the peer account"
        )
        for rule in p.security_groups.rules:
            detail = f"ingress {rule.protocol.upper()} {rule.port_range} {source}"
            steps.append(Step(role, "AuthorizeSecurityGroup", f"{s.security_group_id}", "create", detail))
    return steps


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
    target = f"security group {side.security_group_id}"
    with ctx.exclusive(role):
        current = _rules(ctx, role)
        missing = [p for p in perms if _find(p, current) is None]
        # At most 100 permissions per call (limits.PERMISSIONS_PER_CALL). No ClientToken: an identical
        # rule authorized again is a success that adds nothing (the API's own idempotence), so a call
        # repeated after a lost answer, or by another run of the link, never adds a second rule, and a
        # rule revoked by a teardown is authorized again by the next run (a token would replay the old
        # answer and add nothing).
        for batch in limits.batches(missing):
            req = ecs.AuthorizeSecurityGroupRequest(
                region_id=side.region,
                security_group_id=side.security_group_id,
                permissions=[p.request() for p in batch],
            )
            try:
                ctx.cloud.call(role, "ecs", "AuthorizeSecurityGroup", req, mutating=True, idempotent=True)
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
                timeout=max(VISIBLE_TIMEOUT, 2 * ctx.lag_allowance()),
                progress=ctx.progress,
                clock=ctx.cloud.clock,
                goal="visible",
            )
    for perm in perms:
        found = _find(perm, rules) or {}
        was_there = perm not in missing
        ctx.outcome(
            role,
            "AuthorizeSecurityGroup",
            target,
            "already there" if was_there else "created",
            str(found.get("SecurityGroupRuleId", "")),
            perm.label(),
        )
    # verify shows the rules as read here, after the change: reading them again would show the same
    ctx.results.setdefault("rules", {})[role] = list(rules)
    return [str(_find(p, rules)["SecurityGroupRuleId"]) for p in perms]  # type: ignore[index]


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
                    "added_by_vpclink": bool(found) and is_ours(ctx.params, role, found),
                }
            )
    return rows


def show(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    """Each side's rules for the peer, present once this phase recorded them."""
    from ..record.picture import Line, Section

    for role in ROLES:
        peer = params.peer(role)
        source = peer.vpc_cidr if params.security_groups.mode == "cidr" else f"{peer.security_group_id} (peer account)"
        state = "present" if outputs.get(f"{role}_rule_ids") else "planned"
        lines = []
        for rule in params.security_groups.rules:
            ports = "" if rule.port_range in ("-1/-1", "") else f" {rule.port_range}"
            lines.append(Line(f"allow {rule.protocol.upper()}{ports} from {source}", state))
        view.side(role).sections.append(Section(f"Rules of {params.side(role).security_group_id}:", lines))


STEPS = Steps(
    console="""in each account, *ECS > Security Groups*, open the instance's security group,
**Add Rule** (inbound): the protocol (ICMP for ping, and the TCP port of the example), *Authorization
Object* = the peer VPC's CIDR block (`mode: cidr`, which works everywhere). The tutorial also offers,
within one region, the peer's security group and account as the object (`mode: group`): see below
for where that still works.""",
    api="""`ecs:AuthorizeSecurityGroup` with `SecurityGroupId` and `Permissions` (`IpProtocol`,
`PortRange`, `SourceCidrIp`, or `SourceGroupId` with `SourceGroupOwnerId`, `Policy=accept`,
`NicType=intranet`); then `ecs:DescribeSecurityGroupAttribute` to read back the rule IDs.""",
    offline=offline,
    plan=plan,
    apply=apply,
    verify=verify,
)


PHASE = Phase(
    name="security_groups",
    number="05",
    title="Security groups: let the peer VPC in",
    summary="Each side's security group must admit traffic from the other VPC.",
    why="""rules are matched by their content, so running this twice adds no duplicate.
**Which mode works where**: `security_groups.mode: cidr` (the peer VPC's CIDR block as the source)
works in every case, across regions and within one. `mode: group` (the peer's security group and
account) is the tutorial's option for one region, but today's ECS API reference lets a VPC security
group name only groups *in the same VPC*, and the two VPCs of a link never are: the cloud refuses it
(`InvalidSourceGroupId.Mismatch`), and the phase then stops before changing anything and names
`mode: cidr` as the way on. It works only where the tutorial-era behaviour still holds.""",
    kind="change",
    sides=SIDES,
    inputs=("initiator_account_uid", "acceptor_account_uid"),
    outputs=(
        Output("initiator_rule_ids", "rules added to VPC1's security group", list),
        Output("acceptor_rule_ids", "rules added to VPC2's security group", list),
    ),
    # SourceCidrIp; mode: group authorizes the peer's security group in the peer's account instead
    needs=lambda params: (
        ("account_uid", "security_group_id") if params.security_groups.mode == "group" else ("vpc_cidr",)
    ),
    # The peering backend takes the same steps: they do not depend on how the two VPCs are joined.
    steps={"router_interface": STEPS, "vpc_peer": STEPS},
    show=show,
)
