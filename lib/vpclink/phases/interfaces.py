"""Creating one side's router interface: the router-interface backend's steps of the two phases
that each create one end of the link (one per side).

The interface is found by ID (an earlier output) or by its name (``naming``); it is created only when
there is none, with a ClientToken that makes a retried create return the same interface. Then the
phase waits until the interface has settled (Idle after creation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alibabacloud_vpc20160428 import models as vpc

from .. import naming
from ..cloud import CloudError
from ..params import LinkParams, Role
from ..retries import STATE_CONFLICTS
from ..sides import peer_of
from ..waits import GONE, WaitTimeout, wait_for
from . import converge, lookup
from .base import STATUS_CODES, MissingInput, PhaseContext, PhaseError, Step, Steps, placeholder

if TYPE_CHECKING:
    from ..record.picture import LinkView

API_ROLE = {"initiator": "InitiatingSide", "acceptor": "AcceptingSide"}
STEP = "create-router-interface"  # the create's step: its ClientToken and this machine's register
SETTLED = ("Idle", "Active", "Inactive")
ACCEPTOR_SPEC = "Negative"


def spec(ctx: PhaseContext, role: Role) -> str:
    return ctx.params.spec if role == "initiator" else ACCEPTOR_SPEC


def peer_interface_id(ctx: PhaseContext, role: Role) -> str | None:
    """The peer's interface ID when known (the acceptor passes the initiator's at creation)."""
    peer = peer_of(role)
    known = ctx.input(f"{peer}_router_interface_id")
    if known:
        return str(known)
    if peer in ctx.cloud.sides:
        ri = lookup.router_interface(ctx, peer)
        return ri["RouterInterfaceId"] if ri else None
    return None


def create_request(ctx: PhaseContext, role: Role, token: str | None = None) -> vpc.CreateRouterInterfaceRequest:
    """The create of ``role``'s interface, with ClientToken ``token``."""
    side, peer = ctx.params.side(role), ctx.params.peer(role)
    opposite_ri = peer_interface_id(ctx, role) if role == "acceptor" else None
    router, owner = _opposite_router(ctx, role)
    return vpc.CreateRouterInterfaceRequest(
        region_id=side.region,
        role=API_ROLE[role],
        router_type="VRouter",
        router_id=lookup.vrouter_id(ctx, role),
        spec=spec(ctx, role),
        opposite_region_id=peer.region,
        opposite_router_type="VRouter" if router else None,
        opposite_router_id=router,
        opposite_interface_owner_id=owner,
        opposite_interface_id=opposite_ri,
        name=naming.router_interface_name(ctx.params.link, role),
        description=naming.router_interface_description(ctx.params.link, role),
        instance_charge_type="PostPaid",
        client_token=token,
    )


def _opposite_router(ctx: PhaseContext, role: Role) -> tuple[str | None, str | None]:
    """The peer's VRouter and account for the create. The acceptor must name them; the initiator,
    created first, may not know them yet when each account has its own operator: a later phase
    adds them ("Add Acceptor"). The API takes the account only together with the router."""
    peer = peer_of(role)
    try:
        return lookup.vrouter_id(ctx, peer), lookup.account_uid(ctx, peer)
    except MissingInput:
        if role == "acceptor":
            raise
        return None, None


def check_found(ctx: PhaseContext, role: Role, ri: dict[str, Any]) -> None:
    """Refuse an interface that cannot be this side's end of the link."""
    problems = []
    if ri.get("Role") != API_ROLE[role]:
        problems.append(f"its role is {ri.get('Role')}, not {API_ROLE[role]}")
    own_router = lookup.vrouter_id(ctx, role)
    if ri.get("RouterId") != own_router:
        problems.append(f"it is on router {ri.get('RouterId')}, not on {own_router} of {ctx.params.side(role).vpc_id}")
    if ri.get("OppositeRegionId") and ri.get("OppositeRegionId") != ctx.params.peer(role).region:
        problems.append(f"it points to region {ri.get('OppositeRegionId')}, not {ctx.params.peer(role).region}")
    if problems:
        raise PhaseError(
            f"router interface {ri.get('RouterInterfaceId')} ({ri.get('Name')}) cannot be the {role} "
            f"end of link {ctx.params.link}: {'; '.join(problems)}. Delete or rename it, or fix the parameters"
        )


def probe(ctx: PhaseContext, role: Role, ri_id: str) -> str:
    """Whether the API knows interface ``ri_id`` now, asked with a write that changes nothing (its
    name set to the name it has): a describe may lag, a write sees the present."""
    req = vpc.ModifyRouterInterfaceAttributeRequest(
        region_id=ctx.params.side(role).region,
        router_interface_id=ri_id,
        name=naming.router_interface_name(ctx.params.link, role),
    )
    try:
        ctx.cloud.call(
            role, "vpc", "ModifyRouterInterfaceAttribute", req, mutating=True, idempotent=True, retry_on=frozenset()
        )
    except CloudError as e:
        if e.code in lookup.RI_NOT_FOUND:
            return GONE
        if e.code in STATUS_CODES or e.code in STATE_CONFLICTS:
            return converge.BUSY
        raise
    return converge.ALIVE


def wait_settled(ctx: PhaseContext, role: Role, ri_id: str) -> str:
    return wait_for(
        lookup.ri_status_poll(ctx, role, ri_id, SETTLED),
        what="router interface",
        resource_id=ri_id,
        expected=SETTLED,
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )


def wait_gone(ctx: PhaseContext, role: Role, ri_id: str) -> None:
    wait_for(
        lambda: lookup.ri_status(ctx, role, ri_id),
        what="router interface",
        resource_id=ri_id,
        expected=(GONE,),
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )


def _target(params: LinkParams, role: Role) -> str:
    return f"router interface {naming.router_interface_name(params.link, role)}"


def offline_side(p: LinkParams, role: Role) -> list[Step]:
    peer = p.peer(role)
    spec_, side_role = (p.spec, API_ROLE[role]) if role == "initiator" else (ACCEPTOR_SPEC, API_ROLE[role])
    return [
        Step(
            role,
            "DescribeRouterInterfaces",
            _target(p, role),
            "check",
            "found by ID or by name: created only if missing",
        ),
        Step(
            role,
            "CreateRouterInterface",
            _target(p, role),
            "create",
            f"Role={side_role}, Spec={spec_}, opposite VRouter in {peer.region}, "
            "ClientToken from the link (the same for every run)",
        ),
        Step(
            role,
            "DescribeRouterInterfaces",
            _target(p, role),
            "wait",
            f"until Idle (at most {p.timeouts.router_interface:g} s)",
        ),
    ]


def plan_side(ctx: PhaseContext, role: Role) -> list[Step]:
    target = _target(ctx.params, role)
    ri = lookup.router_interface(ctx, role)
    if ri is not None and ri.get("Status") != "Deleting":
        return [
            Step(role, "CreateRouterInterface", target, "exists", f"{ri['RouterInterfaceId']} ({ri.get('Status')})")
        ]
    try:
        req = create_request(ctx, role)
        opposite = (
            f"{req.opposite_router_id} in {req.opposite_region_id} (account {req.opposite_interface_owner_id})"
            if req.opposite_router_id
            else f"{req.opposite_region_id} (the peer's VRouter and account are added when it connects)"
        )
        if role == "acceptor":
            peer_ri = req.opposite_interface_id or placeholder("initiator router interface", "initiator")
            opposite += f", opposite interface {peer_ri}"
        detail = f"{req.role} {req.spec} on {req.router_id} to {opposite}, pay-as-you-go"
    except MissingInput as e:
        detail = f"needs {e.key} (an earlier phase's output)"
    steps = []
    if ri is not None:
        steps.append(
            Step(role, "DescribeRouterInterfaces", ri["RouterInterfaceId"], "wait", "being deleted; wait until gone")
        )
    steps += [
        Step(role, "CreateRouterInterface", target, "create", detail),
        Step(role, "DescribeRouterInterfaces", target, "wait", "until Idle"),
    ]
    return steps


def apply_side(ctx: PhaseContext, role: Role) -> str:
    """This side's interface ID, created when missing and settled.

    Under the side's lock: the interface is looked for by ID (an earlier output, this machine's
    register), then by name; when none shows, the create's shared ClientToken finds the one another
    run created, or creates it (``converge.create_once``)."""
    target = _target(ctx.params, role)
    with ctx.exclusive(role):
        ri = lookup.router_interface(ctx, role)
        if ri is not None and ri.get("Status") == "Deleting":
            wait_gone(ctx, role, str(ri["RouterInterfaceId"]))
            ctx.outcome(role, "DescribeRouterInterfaces", target, "waited", str(ri["RouterInterfaceId"]), "gone")
            ri = None
        if ri is not None:
            check_found(ctx, role, ri)
            ri_id = str(ri["RouterInterfaceId"])
            ctx.outcome(role, "CreateRouterInterface", target, "already there", ri_id, str(ri.get("Status") or ""))
        else:
            made = converge.create_once(
                ctx,
                role,
                STEP,
                send=lambda token: str(
                    ctx.cloud.call(
                        role, "vpc", "CreateRouterInterface", create_request(ctx, role, token), mutating=True
                    )["RouterInterfaceId"]
                ),
                state=lambda ri_id: lookup.ri_status(ctx, role, ri_id),
                find=lambda: (lookup.router_interface_by_name(ctx, role) or {}).get("RouterInterfaceId"),
                what="router interface",
                probe=lambda ri_id: probe(ctx, role, ri_id),
            )
            ri_id = made.resource_id
            if made.created:
                ctx.outcome(
                    role, "CreateRouterInterface", target, "created", ri_id, f"{spec(ctx, role)}, pay-as-you-go"
                )
            else:
                found = lookup.router_interface(ctx, role, ri_id)
                if found is not None:
                    check_found(ctx, role, found)
                ctx.outcome(
                    role,
                    "CreateRouterInterface",
                    target,
                    "already there",
                    ri_id,
                    "created by another run of this link (its ClientToken answered with it)",
                )
    try:
        state = wait_settled(ctx, role, ri_id)
    except WaitTimeout as e:
        if e.reached != GONE:
            raise
        raise PhaseError(
            f"{e}. Router interface {ri_id} was deleted while this run waited for it (another run's "
            f"teardown?); run this phase again to create the {role} interface anew"
        ) from e
    ctx.outcome(role, "DescribeRouterInterfaces", target, "waited", ri_id, state)
    return ri_id


def verify_side(ctx: PhaseContext, role: Role) -> list[dict[str, Any]]:
    ri = lookup.router_interface(ctx, role)
    if ri is None:
        return [{"side": role, "router_interface_id": "", "status": "missing"}]
    keys = (
        "RouterInterfaceId",
        "Name",
        "Role",
        "Status",
        "Spec",
        "RouterId",
        "OppositeRegionId",
        "OppositeRouterId",
        "OppositeInterfaceId",
        "OppositeInterfaceOwnerId",
        "OppositeInterfaceStatus",
    )
    return [dict({"side": role}, **{_snake(k): ri.get(k, "") for k in keys})]


def show_side(params: LinkParams, role: Role, outputs: Mapping[str, Any], view: LinkView) -> None:
    """The side's end of the link: its router interface, once created (and, for the initiator's,
    which pays for it, the bandwidth)."""
    from ..record.picture import Endpoint

    ri = outputs.get(f"{role}_router_interface_id")
    view.side(role).endpoint = Endpoint("router interface", str(ri), "created") if ri else Endpoint("router interface")
    if role == "initiator":
        view.subtitle.insert(0, f"Express Connect router interfaces · {params.bandwidth_mbps} Mbps ({params.spec})")


def steps(role: Role, *, console: str, api: str) -> Steps:
    """The router-interface backend's steps of the phase that creates ``role``'s interface."""
    return Steps(
        console=console,
        api=api,
        offline=lambda p: offline_side(p, role),
        plan=lambda ctx: plan_side(ctx, role),
        apply=lambda ctx: {f"{role}_router_interface_id": apply_side(ctx, role)},
        verify=lambda ctx: verify_side(ctx, role),
    )


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(key))
