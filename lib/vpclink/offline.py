"""The plan of each phase from the parameters alone, with no API call.

This is what a notebook shows with its default parameters (``target = ""``): the calls the phase
would make against an empty cloud. It cannot know what already exists; a plan against a target
(``phases.<name>.plan``) reads the cloud first and says which steps are already done.
"""

from __future__ import annotations

from .params import ROLES, LinkParams
from .phases.base import Step, ri_name

NOTE = "Offline plan from the parameters only: nothing was read from the cloud, so steps already done still show."


def _preflight(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        s = p.side(role)
        steps += [
            Step(
                role,
                "GetCallerIdentity",
                f"profile {s.profile}",
                "check",
                f"account UID{' must be ' + s.account_uid if s.account_uid else ''}; recorded as the run's identity",
            ),
            Step(
                role,
                "DescribeVpcs",
                s.vpc_id,
                "check",
                f"exists in {s.region} with CIDR {s.vpc_cidr}; gives the VRouter ID",
            ),
            Step(
                role, "DescribeRouteTableList", f"system route table of {s.vpc_id}", "check", "gives the route table ID"
            ),
            Step(
                role,
                "DescribeVSwitches",
                f"vSwitches of {s.vpc_id}",
                "check",
                f"no overlap with the peer's {p.peer(role).vpc_cidr}",
            ),
            Step(role, "DescribeSecurityGroupAttribute", s.security_group_id, "check", f"belongs to {s.vpc_id}"),
        ]
        if s.instance_id:
            steps.append(
                Step(
                    role, "DescribeInstances", s.instance_id, "check", "Running; gives its private IP for the ping test"
                )
            )
    return steps


def _interface(p: LinkParams, role: str) -> list[Step]:
    peer = p.peer(role)
    spec, side_role = (p.spec, "InitiatingSide") if role == "initiator" else ("Negative", "AcceptingSide")
    return [
        Step(
            role,
            "DescribeRouterInterfaces",
            f"router interface {ri_name(p, role)}",
            "check",
            "found by ID or by name: created only if missing",
        ),
        Step(
            role,
            "CreateRouterInterface",
            f"router interface {ri_name(p, role)}",
            "create",
            f"Role={side_role}, Spec={spec}, opposite VRouter in {peer.region}, ClientToken from the run ID",
        ),
        Step(
            role,
            "DescribeRouterInterfaces",
            f"router interface {ri_name(p, role)}",
            "wait",
            f"until Idle (at most {p.timeouts.router_interface:g} s)",
        ),
    ]


def _connect(p: LinkParams) -> list[Step]:
    return [
        Step(
            "acceptor",
            "ModifyRouterInterfaceAttribute",
            f"router interface {ri_name(p, 'acceptor')}",
            "modify",
            "console: Add Initiator (opposite interface, VRouter and account UID of A)",
        ),
        Step(
            "initiator",
            "ModifyRouterInterfaceAttribute",
            f"router interface {ri_name(p, 'initiator')}",
            "modify",
            "console: Add Acceptor (opposite interface, VRouter and account UID of B)",
        ),
        Step(
            "initiator",
            "ConnectRouterInterface",
            f"router interface {ri_name(p, 'initiator')}",
            "connect",
            "console: Initiate Connection",
        ),
        Step(
            "initiator",
            "DescribeRouterInterfaces",
            f"router interface {ri_name(p, 'initiator')}",
            "wait",
            "until Active",
        ),
        Step(
            "acceptor", "DescribeRouterInterfaces", f"router interface {ri_name(p, 'acceptor')}", "wait", "until Active"
        ),
    ]


def _routes(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        for dest in p.routes.get(role, ()):
            steps += [
                Step(
                    role,
                    "CreateRouteEntry",
                    f"route to {dest} in the route table of {p.side(role).vpc_id}",
                    "create",
                    f"next hop: router interface {ri_name(p, role)}",
                ),
                Step(
                    role,
                    "DescribeRouteEntryList",
                    f"route to {dest}",
                    "wait",
                    f"until Available (at most {p.timeouts.route_entry:g} s)",
                ),
            ]
    return steps


def _security_groups(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        s, peer = p.side(role), p.peer(role)
        source = (
            f"from {peer.vpc_cidr}"
            if p.security_groups.mode == "cidr"
            else f"from {peer.security_group_id} of the peer account"
        )
        for rule in p.security_groups.rules:
            steps.append(
                Step(
                    role,
                    "AuthorizeSecurityGroup",
                    f"{s.security_group_id}",
                    "create",
                    f"ingress {rule.protocol.upper()} {rule.port_range} {source}",
                )
            )
    return steps


def _verify(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        s, peer = p.side(role), p.peer(role)
        if not (s.instance_id and peer.instance_id):
            steps.append(Step(role, "RunCommand", "ping", "skip", "no instance_id on both sides: no ping test"))
            continue
        steps += [
            Step(
                role,
                "RunCommand",
                s.instance_id,
                "create",
                f"Cloud Assistant: ping -c {p.verify.ping_count} the private IP of {peer.instance_id}",
            ),
            Step(
                role,
                "DescribeInvocationResults",
                s.instance_id,
                "wait",
                f"until the command finishes (at most {p.timeouts.command:g} s); ok = exit code 0",
            ),
        ]
    return steps


def _teardown(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        steps.append(
            Step(
                role,
                "RevokeSecurityGroup",
                p.side(role).security_group_id,
                "delete",
                "the rules this link added (found by content)",
            )
        )
    for role in ROLES:
        for dest in p.routes.get(role, ()):
            steps.append(Step(role, "DeleteRouteEntry", f"route to {dest}", "delete", "then wait until it is gone"))
    for role in ROLES:
        steps.append(
            Step(
                role,
                "DeactivateRouterInterface",
                f"router interface {ri_name(p, role)}",
                "modify",
                "if Active; then wait for Inactive",
            )
        )
    for role in ROLES:
        steps.append(
            Step(
                role,
                "DeleteRouterInterface",
                f"router interface {ri_name(p, role)}",
                "delete",
                "then wait until it is gone",
            )
        )
    return steps


def plan(phase: str, params: LinkParams) -> list[Step]:
    """The steps ``phase`` would take on a cloud where the link does not exist yet."""
    builders = {
        "preflight": _preflight,
        "initiator": lambda p: _interface(p, "initiator"),
        "acceptor": lambda p: _interface(p, "acceptor"),
        "connect": _connect,
        "routes": _routes,
        "security_groups": _security_groups,
        "verify": _verify,
        "teardown": _teardown,
    }
    if phase not in builders:
        raise ValueError(f"phase {phase!r}: expected one of {', '.join(builders)}")
    return builders[phase](params)
