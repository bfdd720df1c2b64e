"""Routes (accounts A and B): route the peer's CIDR blocks through the router interface.

How, in API terms: CreateRouteEntry (NextHopType=RouterInterface, NextHopId = own interface) per destination
in ``routes.<side>``, then DescribeRouteEntryList until Available. Route tables take one change
at a time, so each entry is awaited before the next, and the API's "busy" answers are retried.

An entry with the same destination and our interface as next hop is reused; an entry with the
same destination and any other next hop is somebody else's route and is never replaced.

Two operators (``ctx.side``): each routes on its own side only, and only once its interface is
Active: the API refuses a route through an interface that is not, and only the initiator's operator
can connect. Before that the phase waits for the peer (``WaitingForPeer``) instead of failing.
The notebook's text is ``PHASE`` at the end of this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alibabacloud_vpc20160428 import models as vpc

from .. import naming
from ..cloud import CloudError
from ..params import ROLES, LinkParams, Role
from ..waits import wait_for
from . import lookup
from .base import Output, Phase, PhaseContext, PhaseError, Step, Steps, WaitingForPeer, produced_by

if TYPE_CHECKING:
    from ..record.picture import LinkView

SIDES: tuple[Role, ...] = ("initiator", "acceptor")

# Answers meaning "this route exists already" (spellings differ across API eras).
DUPLICATE_CODES = frozenset(
    {
        "InvalidCIDRBlock.Duplicate",
        "RouterEntryConflict.Duplicated",
        "Duplicated.VpcNextHop",
        "InvalidRouteEntry.Duplicate",
        "RouteConflict.AlreadyExist",
    }
)


def interface_id(ctx: PhaseContext, role: Role) -> str:
    key = f"{role}_router_interface_id"
    known = ctx.input(key)
    if known:
        return str(known)
    ri = lookup.router_interface(ctx, role)
    if ri is None:
        name = naming.router_interface_name(ctx.params.link, role)
        raise PhaseError(f"the {role} router interface ({name}) does not exist; run the {produced_by(key)} phase first")
    return str(ri["RouterInterfaceId"])


def classify(
    ctx: PhaseContext, role: Role, table: str, dest: str, ri_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(our entry for ``dest``, entries for ``dest`` with another next hop)."""
    entries = lookup.route_entries(ctx, role, table, dest)
    ours = [e for e in entries if ri_id in lookup.next_hop_ids(e)]
    others = [e for e in entries if ri_id not in lookup.next_hop_ids(e)]
    return (ours[0] if ours else None), others


def _conflict(role: Role, i: int, dest: str, table: str, others: list[dict[str, Any]]) -> PhaseError:
    via = ", ".join(
        f"{e.get('RouteEntryId')} via {'/'.join(lookup.next_hop_ids(e)) or e.get('Type', 'system')}" for e in others
    )
    return PhaseError(
        f"routes.{role}[{i}]: {dest} is already routed in {table} ({via}); vpclink never replaces "
        f"a route. Remove that route entry or route another destination"
    )


def connected(ctx: PhaseContext, role: Role, ri_id: str) -> None:
    """Two operators: stop until the initiator's operator has connected the link."""
    if ctx.side is None:
        return
    status = lookup.ri_status(ctx, role, ri_id)
    if status == "Active":
        return
    if role == "acceptor":
        raise WaitingForPeer(
            f"the acceptor router interface {ri_id} is {status}, not Active: the initiator's operator has not "
            "connected the link yet, and a route needs an Active interface. Next, the initiator's operator adds "
            "the acceptor and initiates the connection (resuming their run with this side's peer card)"
        )
    raise PhaseError(
        f"the initiator router interface {ri_id} is {status}, not Active: run the {produced_by('connection_status')} "
        "phase on this side first (it adds the acceptor and initiates the connection)"
    )


def offline(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        ri = naming.router_interface_name(p.link, role)
        for dest in p.routes.get(role, ()):
            target = f"route to {dest} in the route table of {p.side(role).vpc_id}"
            steps += [
                Step(role, "CreateRouteEntry", target, "create", f"next hop: router interface {ri}"),
                Step(
                    role,
                    "DescribeRouteEntryList",
                    f"route to {dest}",
                    "wait",
                    f"until Available (at most {p.timeouts.route_entry:g} s)",
                ),
            ]
    return steps


def plan(ctx: PhaseContext) -> list[Step]:
    steps = []
    for role in ctx.acting(SIDES):
        table, ri_id = lookup.route_table_id(ctx, role), interface_id(ctx, role)
        for i, dest in enumerate(ctx.params.routes.get(role, ())):
            ours, others = classify(ctx, role, table, dest, ri_id)
            target = f"route {dest} in {table}"
            if ours:
                steps.append(
                    Step(
                        role, "CreateRouteEntry", target, "exists", f"{ours.get('RouteEntryId')} ({ours.get('Status')})"
                    )
                )
            elif others:
                steps.append(
                    Step(role, "CreateRouteEntry", target, "check", str(_conflict(role, i, dest, table, others)))
                )
            else:
                steps += [
                    Step(role, "CreateRouteEntry", target, "create", f"next hop router interface {ri_id}"),
                    Step(role, "DescribeRouteEntryList", target, "wait", "until Available"),
                ]
    return steps


def apply(ctx: PhaseContext) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role in ctx.acting(SIDES):
        table, ri_id = lookup.route_table_id(ctx, role), interface_id(ctx, role)
        connected(ctx, role, ri_id)
        out[f"{role}_route_entry_ids"] = [
            _ensure(ctx, role, i, dest, table, ri_id) for i, dest in enumerate(ctx.params.routes.get(role, ()))
        ]
    return out


def _ensure(ctx: PhaseContext, role: Role, i: int, dest: str, table: str, ri_id: str) -> str:
    ours, others = classify(ctx, role, table, dest, ri_id)
    if ours is None and others:
        raise _conflict(role, i, dest, table, others)
    if ours is not None:
        entry_id = str(ours.get("RouteEntryId"))
    else:
        req = vpc.CreateRouteEntryRequest(
            region_id=ctx.params.side(role).region,
            route_table_id=table,
            destination_cidr_block=dest,
            next_hop_type="RouterInterface",
            next_hop_id=ri_id,
            route_entry_name=naming.route_entry_name(ctx.params.link),
            description=naming.route_entry_description(ctx.params.link, role),
            client_token=ctx.token(role, f"route {dest}"),
        )
        try:
            entry_id = str(ctx.cloud.call(role, "vpc", "CreateRouteEntry", req, mutating=True)["RouteEntryId"])
        except CloudError as e:
            if e.code not in DUPLICATE_CODES:
                raise
            ours, others = classify(ctx, role, table, dest, ri_id)
            if ours is None:
                raise _conflict(role, i, dest, table, others) from e
            entry_id = str(ours.get("RouteEntryId"))
    wait_for(
        lambda: lookup.route_state(ctx, role, table, dest, ri_id),
        what="route entry",
        resource_id=f"{entry_id} ({dest} in {table})",
        expected=("Available",),
        timeout=ctx.timeout("route_entry"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )
    return entry_id


def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    rows = []
    for role in ctx.acting(SIDES):
        table, ri_id = lookup.route_table_id(ctx, role), interface_id(ctx, role)
        for dest in ctx.params.routes.get(role, ()):
            ours, _ = classify(ctx, role, table, dest, ri_id)
            rows.append(
                {
                    "side": role,
                    "route_table_id": table,
                    "destination": dest,
                    "next_hop": ri_id,
                    "route_entry_id": (ours or {}).get("RouteEntryId", ""),
                    "status": (ours or {}).get("Status", "missing"),
                }
            )
    return rows


def show(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    """Each side's routes to the peer, present once this phase recorded them."""
    from ..record.picture import Line, Section

    for role in ROLES:
        table = outputs.get(f"{role}_route_table_id") or "system route table"
        state = "present" if outputs.get(f"{role}_route_entry_ids") else "planned"
        lines = [Line(f"{dest} → router interface", state) for dest in params.routes.get(role, ())]
        view.side(role).sections.append(Section(f"Routes in {table}:", lines))


PHASE = Phase(
    name="routes",
    number="04",
    title="Routes: send each VPC's traffic for the other through its router interface",
    summary="An `Active` connection carries nothing until each VPC routes the peer's addresses to it.",
    why="""a route is found by table, destination and next hop before it is created, so a
second run adds nothing.""",
    kind="change",
    sides=SIDES,
    inputs=(
        "initiator_router_interface_id",
        "acceptor_router_interface_id",
        "initiator_route_table_id",
        "acceptor_route_table_id",
    ),
    outputs=(
        Output("initiator_route_entry_ids", "routes in VPC1's table", list),
        Output("acceptor_route_entry_ids", "routes in VPC2's table", list),
    ),
    needs=("vpc_cidr",),  # the destination
    steps={
        "router_interface": Steps(
            console="""in each account, *VPC > Route Tables*, open the VPC's system route table and
**Add Route Entry**: destination = the peer VPC's CIDR block (the tutorial's 172.16.0.0/16 in VPC1
and 192.168.0.0/16 in VPC2), *Next Hop Type: Router Interface (To VPC)*, next hop = this side's
router interface.""",
            api="""`vpc:CreateRouteEntry` with `RouteTableId`, `DestinationCidrBlock`,
`NextHopType=RouterInterface`, `NextHopId` = the router interface; then `vpc:DescribeRouteEntryList`
until the entry is `Available`. Route tables accept one change at a time, so `TaskConflict` and
`IncorrectRouteEntryStatus` answers are waited out and retried.""",
            offline=offline,
            plan=plan,
            apply=apply,
            verify=verify,
        )
    },
    show=show,
)
