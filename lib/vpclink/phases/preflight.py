"""Preflight (accounts A and B, read-only): check the parameters against both clouds.

Who each credential profile signs in as (STS GetCallerIdentity; the two must be different
accounts and match ``account_uid`` when given), the VPC (exists, CIDR as declared, its VRouter),
its system route table, its vSwitches (no route destination may fall inside one), the ECS instance
(Running, in the VPC, in the security group) and the security group (exists, in the VPC). Every
mismatch is reported at once, each naming its parameter field, before anything is changed.
The notebook's text is ``PHASE`` at the end of this module.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alibabacloud_vpc20160428 import models as vpc

from ..params import ROLES, FieldError, LinkParams, Role
from . import lookup
from .base import Output, ParameterMismatch, Phase, PhaseContext, Step, Steps

if TYPE_CHECKING:
    from ..record.picture import LinkView

SIDES: tuple[Role, ...] = ("initiator", "acceptor")


@dataclass
class Facts:
    """What preflight found on one side."""

    role: Role
    account_uid: str = ""
    arn: str = ""
    vpc_cidr: str = ""
    vrouter_id: str = ""
    route_table_id: str = ""
    vswitch_cidrs: list[str] = field(default_factory=list)
    instance_ip: str = ""
    instance_status: str = ""
    security_group_vpc: str = ""
    errors: list[FieldError] = field(default_factory=list)


def _inspect_side(ctx: PhaseContext, role: Role) -> Facts:
    side = ctx.params.side(role)
    f = Facts(role)
    ident = ctx.cloud.identity(role)
    f.account_uid, f.arn = str(ident.get("AccountId", "")), str(ident.get("Arn", ""))
    if side.account_uid and str(side.account_uid) != f.account_uid:
        f.errors.append(
            FieldError(
                f"{role}.account_uid",
                f"is {side.account_uid}, but profile {side.profile!r} signs in as account {f.account_uid}",
            )
        )

    found = lookup.describe_vpc(ctx, role)
    if found is None:
        f.errors.append(
            FieldError(f"{role}.vpc_id", f"{side.vpc_id} is not a VPC of account {f.account_uid} in {side.region}")
        )
    else:
        f.vpc_cidr, f.vrouter_id = str(found.get("CidrBlock", "")), str(found.get("VRouterId", ""))
        if not lookup.same_cidr(f.vpc_cidr, side.vpc_cidr):
            f.errors.append(
                FieldError(f"{role}.vpc_cidr", f"is {side.vpc_cidr}, but {side.vpc_id} has the CIDR block {f.vpc_cidr}")
            )
        table = lookup.system_route_table(ctx, role)
        if table is None:
            f.errors.append(FieldError(f"{role}.vpc_id", f"{side.vpc_id} has no system route table"))
        else:
            f.route_table_id = str(table["RouteTableId"])
        f.vswitch_cidrs = _vswitch_cidrs(ctx, role)
        f.errors += _route_conflicts(ctx, role, f.vswitch_cidrs)

    if side.instance_id:
        _check_instance(ctx, role, f)

    group = lookup.security_group(ctx, role)
    if group is None:
        f.errors.append(
            FieldError(
                f"{role}.security_group_id",
                f"{side.security_group_id} is not a security group of account {f.account_uid} in {side.region}",
            )
        )
    else:
        f.security_group_vpc = str(group.get("VpcId", ""))
        if f.security_group_vpc != side.vpc_id:
            f.errors.append(
                FieldError(
                    f"{role}.security_group_id",
                    f"{side.security_group_id} belongs to {f.security_group_vpc or 'no VPC'}, not to {side.vpc_id}",
                )
            )
    return f


def _vswitch_cidrs(ctx: PhaseContext, role: Role) -> list[str]:
    side = ctx.params.side(role)
    cidrs: list[str] = []
    page = 1
    while True:
        req = vpc.DescribeVSwitchesRequest(
            region_id=side.region, vpc_id=side.vpc_id, page_number=page, page_size=lookup.PAGE
        )
        body = ctx.cloud.call(role, "vpc", "DescribeVSwitches", req, mutating=False)
        found = lookup.items(body, "VSwitches", "VSwitch")
        cidrs += [str(s.get("CidrBlock")) for s in found]
        if len(found) < lookup.PAGE or len(cidrs) >= int(body.get("TotalCount") or 0):
            return cidrs
        page += 1


def _check_instance(ctx: PhaseContext, role: Role, f: Facts) -> None:
    side = ctx.params.side(role)
    inst = lookup.instance(ctx, role, str(side.instance_id))
    where = f"{role}.instance_id"
    if inst is None:
        f.errors.append(
            FieldError(where, f"{side.instance_id} is not an ECS instance of account {f.account_uid} in {side.region}")
        )
        return
    f.instance_status = str(inst.get("Status", ""))
    f.instance_ip = lookup.private_ip(inst) or ""
    in_vpc = (inst.get("VpcAttributes") or {}).get("VpcId")
    groups = [str(g) for g in lookup.items(inst, "SecurityGroupIds", "SecurityGroupId")]
    if f.instance_status != "Running":
        f.errors.append(FieldError(where, f"{side.instance_id} is {f.instance_status}; the ping test needs it Running"))
    if in_vpc != side.vpc_id:
        f.errors.append(FieldError(where, f"{side.instance_id} is in {in_vpc or 'no VPC'}, not in {side.vpc_id}"))
    if side.security_group_id not in groups:
        f.errors.append(
            FieldError(
                where,
                f"{side.instance_id} is not in security group {side.security_group_id} "
                f"(its groups: {', '.join(groups) or 'none'})",
            )
        )
    if not f.instance_ip:
        f.errors.append(FieldError(where, f"{side.instance_id} has no private IP address"))


def _inside(
    net: ipaddress.IPv4Network | ipaddress.IPv6Network, sub: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    if isinstance(net, ipaddress.IPv4Network) and isinstance(sub, ipaddress.IPv4Network):
        return net.subnet_of(sub)
    if isinstance(net, ipaddress.IPv6Network) and isinstance(sub, ipaddress.IPv6Network):
        return net.subnet_of(sub)
    return False


def _route_conflicts(ctx: PhaseContext, role: Role, vswitch_cidrs: list[str]) -> list[FieldError]:
    """The API refuses a route whose destination equals or lies inside a vSwitch of the VPC."""
    out = []
    for i, dest in enumerate(ctx.params.routes.get(role, ())):
        net = ipaddress.ip_network(dest, strict=False)
        for cidr in vswitch_cidrs:
            if _inside(net, ipaddress.ip_network(cidr, strict=False)):
                out.append(
                    FieldError(
                        f"routes.{role}[{i}]",
                        f"{dest} lies inside vSwitch CIDR {cidr} of "
                        f"{ctx.params.side(role).vpc_id}; route the peer's CIDR",
                    )
                )
    return out


def _inspect(ctx: PhaseContext) -> dict[Role, Facts]:
    facts = {role: _inspect_side(ctx, role) for role in ctx.acting(SIDES)}
    if len(facts) == 2:
        a, b = facts["initiator"], facts["acceptor"]
        if a.account_uid and a.account_uid == b.account_uid:
            b.errors.append(
                FieldError(
                    "acceptor.profile",
                    f"profiles {ctx.params.initiator.profile!r} and "
                    f"{ctx.params.acceptor.profile!r} both sign in as account {a.account_uid}; "
                    "the acceptor must be another Alibaba Cloud account",
                )
            )
    for role, f in facts.items():  # one operator: the other account is known only by its declared UID
        peer = ctx.params.peer(role)
        if len(facts) == 1 and f.account_uid and f.account_uid == peer.account_uid:
            f.errors.append(
                FieldError(
                    f"{role}.profile",
                    f"profile {ctx.params.side(role).profile!r} signs in as "
                    f"account {f.account_uid}, which the parameters give as the "
                    f"{peer.role}'s; the two sides must be different accounts",
                )
            )
    return facts


def offline(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        s = p.side(role)
        uid = f" must be {s.account_uid}" if s.account_uid else ""
        steps += [
            Step(role, "GetCallerIdentity", f"profile {s.profile}", "check", f"account UID{uid}; the run's identity"),
            Step(
                role, "DescribeVpcs", s.vpc_id, "check", f"exists in {s.region} with CIDR {s.vpc_cidr}; its VRouter ID"
            ),
            Step(role, "DescribeRouteTableList", f"system route table of {s.vpc_id}", "check", "its route table ID"),
            Step(role, "DescribeVSwitches", f"vSwitches of {s.vpc_id}", "check", f"none holds {p.peer(role).vpc_cidr}"),
            Step(role, "DescribeSecurityGroupAttribute", s.security_group_id, "check", f"belongs to {s.vpc_id}"),
        ]
        if s.instance_id:
            steps.append(
                Step(role, "DescribeInstances", s.instance_id, "check", "Running; its private IP for the ping test")
            )
    return steps


def plan(ctx: PhaseContext) -> list[Step]:
    facts = _inspect(ctx)
    steps = []
    for role, f in facts.items():
        side = ctx.params.side(role)
        problems = "; ".join(f"{e.field}: {e.message}" for e in f.errors)
        checks = [
            ("GetCallerIdentity", f"account of profile {side.profile}", f"account {f.account_uid}"),
            ("DescribeVpcs", f"VPC {side.vpc_id}", f"{f.vpc_cidr} via {f.vrouter_id}" if f.vrouter_id else "not found"),
            ("DescribeRouteTableList", "system route table", f.route_table_id or "not found"),
            ("DescribeVSwitches", "vSwitches", ", ".join(f.vswitch_cidrs) or "none"),
        ]
        if side.instance_id:
            checks.append(
                (
                    "DescribeInstances",
                    f"ECS instance {side.instance_id}",
                    f"{f.instance_status or 'not found'} {f.instance_ip}".strip(),
                )
            )
        checks.append(
            (
                "DescribeSecurityGroupAttribute",
                f"security group {side.security_group_id}",
                f"in {f.security_group_vpc}" if f.security_group_vpc else "not found",
            )
        )
        steps += [Step(role, action, target, "check", detail) for action, target, detail in checks]
        if problems:
            steps.append(Step(role, "-", "parameters", "check", f"mismatch: {problems}"))
    return steps


def apply(ctx: PhaseContext) -> dict[str, Any]:
    facts = _inspect(ctx)
    errors = [e for f in facts.values() for e in f.errors]
    if errors:
        raise ParameterMismatch(errors)
    ctx.results["facts"] = facts  # verify shows these: this phase changes nothing, so a re-read would agree
    out: dict[str, Any] = {}
    for role, f in facts.items():
        side = ctx.params.side(role)
        ctx.outcome(role, "GetCallerIdentity", f"profile {side.profile}", "checked", f.account_uid, f.arn)
        ctx.outcome(
            role, "DescribeVpcs", f"VPC {side.vpc_id}", "checked", side.vpc_id, f"{f.vpc_cidr} via {f.vrouter_id}"
        )
        out.update(
            {
                f"{role}_account_uid": f.account_uid,
                f"{role}_vrouter_id": f.vrouter_id,
                f"{role}_route_table_id": f.route_table_id,
                f"{role}_instance_ip": f.instance_ip,
            }
        )
    return out


def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    rows = []
    for role, f in (ctx.results.get("facts") or _inspect(ctx)).items():
        side = ctx.params.side(role)
        rows.append(
            {
                "side": role,
                "account_uid": f.account_uid,
                "arn": f.arn,
                "region": side.region,
                "vpc_id": side.vpc_id,
                "vpc_cidr": f.vpc_cidr,
                "vrouter_id": f.vrouter_id,
                "route_table_id": f.route_table_id,
                "vswitch_cidrs": ", ".join(f.vswitch_cidrs),
                "instance_id": side.instance_id or "",
                "instance_ip": f.instance_ip,
                "security_group_id": side.security_group_id,
                "problems": "; ".join(f"{e.field}: {e.message}" for e in f.errors),
            }
        )
    return rows


def show(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    """Each side's account as STS named it, and its ECS instance with the IP found."""
    for role in ROLES:
        side, found = view.side(role), params.side(role)
        side.account_uid = str(outputs.get(f"{role}_account_uid") or side.account_uid)
        if found.instance_id:
            ip = outputs.get(f"{role}_instance_ip")
            side.instance = f"ECS {found.instance_id}{' · ' + ip if ip else ''}"


STEPS = Steps(
    console="""(the tutorial's prerequisites): in each account, open *VPC > VPCs* and note the VPC's
ID, CIDR block and *vRouter* ID; note the account ID (*Account Center*); check that the two VPCs' CIDR
blocks do not overlap, and that each ECS instance is running in its VPC and security group.""",
    api="""for account A (initiator, VPC1) and account B (acceptor, VPC2):
`sts:GetCallerIdentity` (who each credential profile is; the two must be different accounts, and match
`account_uid` when given), `vpc:DescribeVpcs` (the VPC exists with the declared CIDR; its VRouter ID),
`vpc:DescribeRouteTableList` (the system route table), `vpc:DescribeVSwitches`, `ecs:DescribeInstances`
(the instance's private IP for the ping test) and `ecs:DescribeSecurityGroupAttribute`.""",
    offline=offline,
    plan=plan,
    apply=apply,
    verify=verify,
)


PHASE = Phase(
    name="preflight",
    number="00",
    title="Preflight: check both accounts and find what the link needs",
    summary="""Before anything is created, this phase reads both accounts and checks the parameter file against them.
It changes nothing.""",
    why="""the router interfaces need each side's VRouter ID and account UID; the routes need each route
table; the ping needs each instance's IP. Every mismatch is reported at once, naming its parameter field.
The identities found here are recorded as the run's identity stamp.""",
    why_heading="Why",
    kind="discover",
    sides=SIDES,
    inputs=(),
    outputs=(
        Output("initiator_account_uid", "account A's UID"),
        Output("acceptor_account_uid", "account B's UID"),
        Output("initiator_vrouter_id", "VPC1's VRouter ID"),
        Output("acceptor_vrouter_id", "VPC2's VRouter ID"),
        Output("initiator_route_table_id", "VPC1's system route table"),
        Output("acceptor_route_table_id", "VPC2's system route table"),
        Output("initiator_instance_ip", "ECS1's private IP"),
        Output("acceptor_instance_ip", "ECS2's private IP"),
    ),
    # The peering backend takes the same steps: they do not depend on how the two VPCs are joined.
    steps={"router_interface": STEPS, "vpc_peer": STEPS},
    show=show,
)
