"""Connect (account B, then A): tell each interface its peer, then initiate the connection.

How, in API terms: ModifyRouterInterfaceAttribute on B and on A with all four Opposite* fields (OppositeRouterType
VRouter explicitly: the API's default is VBR), ConnectRouterInterface on A (retried while the API
says the opposite information is not set yet, as terraform does), then both sides until Active.

Converges from any state: fields already set are not modified again; an Active link needs nothing;
an interface someone deactivated (Inactive) is activated again. The Opposite* fields can only be
changed while an interface is Idle, so a connected interface pointing elsewhere is an error for a
person to resolve.

Two operators (``ctx.side``): each reads only its own interface and knows the peer's from its card.
The acceptor's operator only adds the initiator (its output is its interface's status, Idle until
the initiator connects); the initiator's operator adds the acceptor, connects, and waits until its
own interface is Active. The notebook's text is ``PHASE`` at the end of this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alibabacloud_vpc20160428 import models as vpc

from .. import naming
from ..cloud import DEFAULT_RETRY_ON, CloudError
from ..params import ROLES, LinkParams, Role
from ..retries import CONNECT_NOT_SET
from ..sides import peer_of
from ..waits import GONE, wait_for
from . import lookup, peering, peering_steps
from .base import (
    STATUS_CODES,
    MissingInput,
    Output,
    Phase,
    PhaseContext,
    PhaseError,
    Step,
    Steps,
    is_placeholder,
    placeholder,
    produced_by,
    write_once,
)

if TYPE_CHECKING:
    from ..record.picture import LinkView

SIDES: tuple[Role, ...] = ("acceptor", "initiator")  # the acceptor first: Connect checks both sides
ACTIVE = "Active"


def _interfaces(ctx: PhaseContext, planning: bool = False) -> dict[Role, dict[str, Any]]:
    """Both interfaces: as described, on the sides this run acts in; by ID alone on the other. A plan
    on a cloud where one does not exist yet names it by a placeholder (state "not created yet")."""
    out: dict[Role, dict[str, Any]] = {}
    acting = ctx.acting(SIDES)
    for role in ROLES:
        key = f"{role}_router_interface_id"
        if role not in acting:
            ri_id = ctx.input(key)
            if not ri_id:
                if not planning:
                    raise MissingInput(key, ctx.phase)
                ri_id = placeholder(f"{role} router interface", produced_by(key))
            out[role] = {"RouterInterfaceId": str(ri_id)}
            continue
        ri = lookup.router_interface(ctx, role)
        if ri is None:
            if planning:
                out[role] = {"RouterInterfaceId": placeholder(f"{role} router interface", produced_by(key))}
                continue
            name = naming.router_interface_name(ctx.params.link, role)
            raise PhaseError(
                f"the {role} router interface ({name}) does not exist; run the {produced_by(key)} phase first"
            )
        out[role] = ri
    return out


def _created(ri: dict[str, Any]) -> bool:
    return not is_placeholder(ri.get("RouterInterfaceId"))


def _wanted(ctx: PhaseContext, role: Role, ris: dict[Role, dict[str, Any]], planning: bool = False) -> dict[str, str]:
    """The Opposite* fields ``role``'s interface must carry (placeholders in a plan, for what an
    earlier phase or the other operator provides)."""
    peer = peer_of(role)

    def known(read: Any, key: str) -> str:
        try:
            return str(read(ctx, peer))
        except MissingInput:
            if not planning:
                raise
            return placeholder(key.replace("_", " "), produced_by(key))

    return {
        "OppositeInterfaceId": ris[peer]["RouterInterfaceId"],
        "OppositeRouterId": known(lookup.vrouter_id, f"{peer}_vrouter_id"),
        "OppositeRouterType": "VRouter",
        "OppositeInterfaceOwnerId": known(lookup.account_uid, f"{peer}_account_uid"),
    }


def _differences(ri: dict[str, Any], wanted: dict[str, str]) -> list[str]:
    return [
        f"{k} is {ri.get(k) or 'unset'}, should be {v}" for k, v in wanted.items() if str(ri.get(k) or "") != str(v)
    ]


def offline(p: LinkParams) -> list[Step]:
    def target(role: Role) -> str:
        return f"router interface {naming.router_interface_name(p.link, role)}"

    return [
        Step(
            "acceptor",
            "ModifyRouterInterfaceAttribute",
            target("acceptor"),
            "modify",
            "console: Add Initiator (opposite interface, VRouter and account UID of A)",
        ),
        Step(
            "initiator",
            "ModifyRouterInterfaceAttribute",
            target("initiator"),
            "modify",
            "console: Add Acceptor (opposite interface, VRouter and account UID of B)",
        ),
        Step("initiator", "ConnectRouterInterface", target("initiator"), "connect", "console: Initiate Connection"),
        Step("initiator", "DescribeRouterInterfaces", target("initiator"), "wait", "until Active"),
        Step("acceptor", "DescribeRouterInterfaces", target("acceptor"), "wait", "until Active"),
    ]


def plan(ctx: PhaseContext) -> list[Step]:
    ris = _interfaces(ctx, planning=True)
    acting = ctx.acting(SIDES)
    a, b = ris["initiator"], ris["acceptor"]
    if all(ris[role].get("Status") == ACTIVE for role in acting):
        return [
            Step(
                acting[-1],
                "ConnectRouterInterface",
                f"{a['RouterInterfaceId']} <-> {b['RouterInterfaceId']}",
                "exists",
                "Active on both sides" if len(acting) == 2 else "Active",
            )
        ]
    steps = []
    for role in acting:
        ri = ris[role]
        target = f"router interface {ri['RouterInterfaceId']}"
        if not _created(ri):
            wanted = _wanted(ctx, role, ris, planning=True)
            steps.append(
                Step(
                    role,
                    "ModifyRouterInterfaceAttribute",
                    target,
                    "modify",
                    "; ".join(f"{k} = {v}" for k, v in wanted.items()),
                )
            )
            continue
        diff = _differences(ri, _wanted(ctx, role, ris, planning=True))
        if not diff:
            steps.append(Step(role, "ModifyRouterInterfaceAttribute", target, "skip", "Opposite* already set"))
        elif ri.get("Status") == "Idle":
            steps.append(Step(role, "ModifyRouterInterfaceAttribute", target, "modify", "; ".join(diff)))
        else:
            steps.append(
                Step(
                    role,
                    "ModifyRouterInterfaceAttribute",
                    target,
                    "check",
                    f"cannot change while {ri.get('Status')}: {'; '.join(diff)}",
                )
            )
    if "initiator" not in acting:
        return steps  # the initiator's operator connects
    for role in _in_order(acting):
        if ris[role].get("Status") == "Inactive":
            steps.append(Step(role, "ActivateRouterInterface", ris[role]["RouterInterfaceId"], "connect", "Inactive"))
    if a.get("Status") == "Idle" or not _created(a):
        steps.append(
            Step(
                "initiator", "ConnectRouterInterface", a["RouterInterfaceId"], "connect", f"to {b['RouterInterfaceId']}"
            )
        )
    steps += [
        Step(role, "DescribeRouterInterfaces", ris[role]["RouterInterfaceId"], "wait", "until Active")
        for role in _in_order(acting)
    ]
    return steps


def _in_order(acting: tuple[Role, ...]) -> list[Role]:
    """The initiator first: it connects, and the acceptor follows."""
    return [role for role in ROLES if role in acting]


def apply(ctx: PhaseContext) -> dict[str, Any]:
    ris = _interfaces(ctx)
    acting = ctx.acting(SIDES)
    for role in acting:  # the acceptor first: Connect checks both sides' Opposite* fields
        _set_opposite(ctx, role, ris)
    if "initiator" not in acting:
        # "Add Initiator" is the acceptor's whole part; its interface stays Idle until the initiator connects
        return {"connection_status": lookup.ri_status(ctx, "acceptor", ris["acceptor"]["RouterInterfaceId"])}
    a_id = ris["initiator"]["RouterInterfaceId"]
    b_id = ris["acceptor"]["RouterInterfaceId"]
    status = lookup.ri_status(ctx, "initiator", a_id)
    link = f"{a_id} <-> {b_id}"
    if status == "Idle":
        _connect(ctx, a_id)
        ctx.outcome("initiator", "ConnectRouterInterface", link, "changed", a_id, "connection initiated")
    elif status == ACTIVE:
        ctx.outcome("initiator", "ConnectRouterInterface", link, "already there", a_id, "Active")
    for role in _in_order(acting):
        ri_id = ris[role]["RouterInterfaceId"]
        state = _wait_stable(ctx, role, ri_id)
        if state == "Inactive":
            _activate(ctx, role, ri_id)
            ctx.outcome(role, "ActivateRouterInterface", f"router interface {ri_id}", "changed", ri_id, "was Inactive")
        if state != ACTIVE:
            _wait_active(ctx, role, ri_id)
            ctx.outcome(role, "DescribeRouterInterfaces", f"router interface {ri_id}", "waited", ri_id, ACTIVE)
    return {"connection_status": ACTIVE}


def _set_opposite(ctx: PhaseContext, role: Role, ris: dict[Role, dict[str, Any]]) -> None:
    ri = ris[role]
    wanted = _wanted(ctx, role, ris)
    diff = _differences(ri, wanted)
    target = f"router interface {ri['RouterInterfaceId']}"
    if not diff:
        ctx.outcome(
            role, "ModifyRouterInterfaceAttribute", target, "already there", ri["RouterInterfaceId"], "Opposite* set"
        )
        return
    if ri.get("Status") != "Idle":
        raise PhaseError(
            f"the {role} router interface {ri['RouterInterfaceId']} is {ri.get('Status')} and points "
            f"elsewhere ({'; '.join(diff)}); the API changes Opposite* fields only while Idle. Run "
            "`vpclink teardown` and the phases again to recreate the link"
        )
    req = vpc.ModifyRouterInterfaceAttributeRequest(
        region_id=ctx.params.side(role).region,
        router_interface_id=ri["RouterInterfaceId"],
        opposite_interface_id=wanted["OppositeInterfaceId"],
        opposite_router_id=wanted["OppositeRouterId"],
        opposite_router_type="VRouter",
        opposite_interface_owner_id=int(wanted["OppositeInterfaceOwnerId"]),
    )
    try:
        # Setting the same values twice is harmless, so a lost answer may be retried.
        ctx.cloud.call(role, "vpc", "ModifyRouterInterfaceAttribute", req, mutating=True, idempotent=True)
    except CloudError as e:
        # Another run of this link (another machine, so not behind our lock) set the fields and
        # connected between our read and our write: the API refuses because the interface is no
        # longer Idle. Converged if it now carries what we wanted.
        if e.code not in STATUS_CODES:
            raise
        now = lookup.router_interface(ctx, role, ri["RouterInterfaceId"]) or {}
        if _differences(now, wanted):
            raise
        ctx.outcome(
            role,
            "ModifyRouterInterfaceAttribute",
            target,
            "already there",
            ri["RouterInterfaceId"],
            f"set by another run ({now.get('Status')})",
        )
        return
    wait_for(
        lookup.ri_status_poll(ctx, role, ri["RouterInterfaceId"], ("Idle", "Connecting", ACTIVE, GONE)),
        what="router interface",
        resource_id=ri["RouterInterfaceId"],
        # Idle: ours took. Connecting or Active: another run of this link connected just after it.
        expected=("Idle", "Connecting", ACTIVE),
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        failed=(GONE,),
    )
    ctx.outcome(role, "ModifyRouterInterfaceAttribute", target, "changed", ri["RouterInterfaceId"], "; ".join(diff))


def _connect(ctx: PhaseContext, ri_id: str) -> None:
    req = vpc.ConnectRouterInterfaceRequest(region_id=ctx.params.initiator.region, router_interface_id=ri_id)
    write_once(
        lambda: ctx.cloud.call(
            "initiator",
            "vpc",
            "ConnectRouterInterface",
            req,
            mutating=True,
            retry_on=DEFAULT_RETRY_ON | {CONNECT_NOT_SET},
        ),
        lambda: lookup.ri_status(ctx, "initiator", ri_id) in ("Connecting", ACTIVE),
    )


def _activate(ctx: PhaseContext, role: Role, ri_id: str) -> None:
    req = vpc.ActivateRouterInterfaceRequest(region_id=ctx.params.side(role).region, router_interface_id=ri_id)
    write_once(
        lambda: ctx.cloud.call(role, "vpc", "ActivateRouterInterface", req, mutating=True),
        lambda: lookup.ri_status(ctx, role, ri_id) in ("Activating", ACTIVE),
    )


def _wait_stable(ctx: PhaseContext, role: Role, ri_id: str) -> str:
    """Wait out a transition (Connecting, Deactivating, ...) and return where it lands."""
    return wait_for(
        lookup.ri_status_poll(ctx, role, ri_id, (ACTIVE, "Inactive", "Idle", GONE)),
        what="router interface",
        resource_id=ri_id,
        expected=(ACTIVE, "Inactive", "Idle"),
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        failed=(GONE,),
    )


def _wait_active(ctx: PhaseContext, role: Role, ri_id: str) -> None:
    wait_for(
        lookup.ri_status_poll(ctx, role, ri_id, (ACTIVE, GONE)),
        what="router interface",
        resource_id=ri_id,
        expected=(ACTIVE,),
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        failed=(GONE,),
    )


def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    rows = []
    for role in _in_order(ctx.acting(SIDES)):
        ri = lookup.router_interface(ctx, role) or {}
        rows.append(
            {
                "side": role,
                "router_interface_id": ri.get("RouterInterfaceId", ""),
                "status": ri.get("Status", "missing"),
                "opposite_interface_id": ri.get("OppositeInterfaceId", ""),
                "opposite_status": ri.get("OppositeInterfaceStatus", ""),
                "connected_time": ri.get("ConnectedTime", ""),
                "spec": ri.get("Spec", ""),
                "bandwidth_mbps": ri.get("Bandwidth", ""),
            }
        )
    return rows


def show(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    """The connection's state, and each created interface Active with it."""
    status = outputs.get("connection_status")
    if status:
        view.connection = str(status)
    if view.connection in (ACTIVE, peering.ACTIVATED):
        for role in ROLES:
            endpoint = view.side(role).endpoint
            if endpoint is not None and endpoint.state == "created":
                endpoint.state = view.connection  # Active, or a peering's Activated


PHASE = Phase(
    name="connect",
    number="03",
    title="Connect: tell each side about the other and initiate the connection",
    summary="Each router interface must name its peer before the initiator can connect.",
    why="""the acceptor must know the initiator first (terraform's order too); a link
that is already `Active` is left alone.""",
    why_heading="Why in this order",
    kind="change",
    sides=SIDES,
    sequential=True,
    inputs=(
        "initiator_router_interface_id",
        "acceptor_router_interface_id",
        "initiator_vrouter_id",
        "acceptor_vrouter_id",
        "initiator_account_uid",
        "acceptor_account_uid",
        peering.OUTPUT,
    ),
    outputs=(Output("connection_status", "the connection's state"),),
    # the Opposite* fields; a peering: nothing (each account reads the connection it requested or accepted)
    needs=lambda params: (
        () if params.backend == "vpc_peer" else ("account_uid", "region", "vrouter_id", "router_interface_id")
    ),
    steps={
        "router_interface": Steps(
            console="""in account B, on the acceptor interface, **Add Initiator** (the initiator's
interface ID, account A's UID and VPC1's VRouter); in account A, on the initiator interface, **Add
Acceptor** (the acceptor's interface ID, account B's UID and VPC2's VRouter); then, in account A,
**Initiate Connection**. Both interfaces go from *Idle* through *Connecting* to *Active*.""",
            api="""`vpc:ModifyRouterInterfaceAttribute` on B's interface, then on A's (each with
`OppositeInterfaceId`, `OppositeRouterId`, `OppositeRouterType=VRouter`, `OppositeInterfaceOwnerId`),
then `vpc:ConnectRouterInterface` on A's (retried while the API still answers
`IncorrectOppositeInterfaceInfo.NotSet`, as terraform does), then `vpc:DescribeRouterInterfaces` on
both sides until both are `Active`.""",
            offline=offline,
            plan=plan,
            apply=apply,
            verify=verify,
        ),
        "vpc_peer": peering_steps.connect_steps(
            console="""in each account, *VPC > VPC Peering Connections*: once B has accepted, the
connection goes from *Updating* to *Activated* (nothing to click; both accounts see the same state).""",
            api="""`vpcpeer:GetVpcPeerConnectionAttribute` in account A and in account B until the
connection is `Activated` (a route through it needs that).""",
        ),
    },
    show=show,
)
