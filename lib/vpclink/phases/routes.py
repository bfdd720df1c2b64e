"""Routes (accounts A and B): route the peer's CIDR blocks through the router interface (or, with
``backend: vpc_peer``, through the VPC peering connection: ``Hop`` says what routes point at).

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alibabacloud_vpc20160428 import models as vpc

from .. import naming
from ..cloud import CloudError
from ..params import ROLES, LinkParams, Role
from ..waits import GONE, wait_for, wait_while
from . import converge, lookup, peering, peering_steps
from .base import Output, Phase, PhaseContext, PhaseError, Step, Steps, WaitingForPeer, placeholder, produced_by

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


def interface_id(ctx: PhaseContext, role: Role, planning: bool = False) -> str:
    """``role``'s router interface ID; in a plan on a cloud where it does not exist yet, a placeholder."""
    key = f"{role}_router_interface_id"
    known = ctx.input(key)
    if known:
        return str(known)
    ri = lookup.router_interface(ctx, role)
    if ri is None:
        if planning:
            return placeholder(f"{role} router interface", produced_by(key))
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


@dataclass(frozen=True)
class Hop:
    """What a backend's routes point at: the API's ``NextHopType``, how a plan names the next hop from
    the parameters alone, the next hop's ID on a side, and the check that it can carry a route now."""

    type: str  # NextHopType: RouterInterface, VpcPeer
    label: str  # how messages name it: "router interface"
    named: Callable[[LinkParams, Role], str]  # "router interface vpclink-<link>-initiator"
    id_of: Callable[[PhaseContext, Role, bool], str]  # (ctx, role, planning) -> ID or placeholder
    ready: Callable[[PhaseContext, Role, str], None]  # raises until a route may use it


ROUTER_INTERFACE = Hop(
    "RouterInterface",
    "router interface",
    lambda p, role: f"router interface {naming.router_interface_name(p.link, role)}",
    lambda ctx, role, planning: interface_id(ctx, role, planning),
    lambda ctx, role, hop_id: connected(ctx, role, hop_id),
)


PEERING = Hop(
    "VpcPeer",
    "VPC peering connection",
    lambda p, role: peering.target(p),
    lambda ctx, role, planning: peering.connection_id(ctx, role, planning),
    lambda ctx, role, pcc: peering_steps.not_ready(ctx, role, pcc),
)


def offline(p: LinkParams, hop: Hop = ROUTER_INTERFACE) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        named = hop.named(p, role)
        for dest in p.routes.get(role, ()):
            target = f"route to {dest} in the route table of {p.side(role).vpc_id}"
            steps += [
                Step(role, "CreateRouteEntry", target, "create", f"next hop: {named}"),
                Step(
                    role,
                    "DescribeRouteEntryList",
                    f"route to {dest}",
                    "wait",
                    f"until Available (at most {p.timeouts.route_entry:g} s)",
                ),
            ]
    return steps


def plan(ctx: PhaseContext, hop: Hop = ROUTER_INTERFACE) -> list[Step]:
    steps = []
    for role in ctx.acting(SIDES):
        table, ri_id = lookup.route_table_id(ctx, role), hop.id_of(ctx, role, True)
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
                    Step(role, "CreateRouteEntry", target, "create", f"next hop {hop.label} {ri_id}"),
                    Step(role, "DescribeRouteEntryList", target, "wait", "until Available"),
                ]
    return steps


def apply(ctx: PhaseContext, hop: Hop = ROUTER_INTERFACE) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role in ctx.acting(SIDES):
        table, ri_id = lookup.route_table_id(ctx, role), hop.id_of(ctx, role, False)
        hop.ready(ctx, role, ri_id)
        with ctx.exclusive(role):
            ids = [
                _ensure(ctx, role, i, dest, table, ri_id, hop.type)
                for i, dest in enumerate(ctx.params.routes.get(role, ()))
            ]
        out[f"{role}_route_entry_ids"] = ids
        ctx.results.setdefault("route_entry_ids", {})[role] = ids
    return out


def step_name(dest: str, ri_id: str) -> str:
    """The create's step (its ClientToken and this machine's register): a route through a new
    interface is a new route."""
    return f"route {dest} via {ri_id}"


def wait_available(ctx: PhaseContext, role: Role, table: str, entry_id: str, dest: str) -> str:
    """Wait, with progress, until the entry reads ``Available`` by its ID; its last state."""
    return wait_for(
        lambda: entry_state(ctx, role, table, entry_id),
        what="route entry",
        resource_id=f"{entry_id} ({dest} in {table})",
        expected=("Available",),
        timeout=ctx.timeout("route_entry"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )


def entry_state(ctx: PhaseContext, role: Role, table: str, entry_id: str) -> str:
    """The entry's ``Status`` read by its ID (not served from a lagging list), or ``GONE``."""
    found = [e for e in lookup.route_entries(ctx, role, table, entry_id=entry_id) if e.get("RouteEntryId") == entry_id]
    return str(found[0].get("Status")) if found else GONE


def _ensure(ctx: PhaseContext, role: Role, i: int, dest: str, table: str, ri_id: str, hop_type: str) -> str:
    """The ID of this link's route to ``dest``, created when missing and Available. Hold the side's lock."""
    target = f"route {dest} in {table}"
    step = step_name(dest, ri_id)
    ours, others = _known(ctx, role, table, dest, ri_id, step)
    if ours is None and others:
        raise _conflict(role, i, dest, table, others)
    if ours is not None:
        entry_id = str(ours.get("RouteEntryId"))
        ctx.outcome(role, "CreateRouteEntry", target, "already there", entry_id, f"next hop {ri_id}")
    else:
        existed: list[str] = []  # the create found a route of this link the lists did not show yet

        def send(token: str) -> str:
            req = vpc.CreateRouteEntryRequest(
                region_id=ctx.params.side(role).region,
                route_table_id=table,
                destination_cidr_block=dest,
                next_hop_type=hop_type,
                next_hop_id=ri_id,
                route_entry_name=naming.route_entry_name(ctx.params.link),
                description=naming.route_entry_description(ctx.params.link, role),
                client_token=token,
            )
            try:
                return str(ctx.cloud.call(role, "vpc", "CreateRouteEntry", req, mutating=True)["RouteEntryId"])
            except CloudError as e:
                if e.code not in DUPLICATE_CODES:
                    raise
                # The cloud holds a route to dest already (a write sees the present; a list may lag):
                # wait until a list shows whose it is.
                existed.append(_visible_duplicate(ctx, role, i, dest, table, ri_id, e))
                return existed[-1]

        made = converge.create_once(
            ctx,
            role,
            step,
            send=send,
            state=lambda entry_id: entry_state(ctx, role, table, entry_id),
            find=lambda: (classify(ctx, role, table, dest, ri_id)[0] or {}).get("RouteEntryId"),
            what="route entry",
            probe=lambda entry_id: probe(ctx, role, entry_id),
        )
        entry_id = made.resource_id
        created = made.created and entry_id not in existed
        ctx.outcome(
            role,
            "CreateRouteEntry",
            target,
            "created" if created else "already there",
            entry_id,
            f"next hop {ri_id}" + ("" if created else "; created by another run of this link"),
        )
    state = wait_available(ctx, role, table, entry_id, dest)
    ctx.outcome(role, "DescribeRouteEntryList", target, "waited", entry_id, state)
    return entry_id


# ModifyRouteEntry's answers for an entry that does not exist, and for one changing state.
ENTRY_GONE = frozenset({"InvalidRouteEntryId.NotFound", "InvalidRouteEntry.NotFound"})
ENTRY_BUSY = frozenset({"IncorrectRouteEntryStatus", "TaskConflict", "OperationConflict"})


def probe(ctx: PhaseContext, role: Role, entry_id: str) -> str:
    """Whether the API knows route entry ``entry_id`` now, asked with a write that changes nothing
    (its name set to the name vpclink gives it): a describe may lag, a write sees the present."""
    req = vpc.ModifyRouteEntryRequest(
        region_id=ctx.params.side(role).region,
        route_entry_id=entry_id,
        route_entry_name=naming.route_entry_name(ctx.params.link),
    )
    try:
        ctx.cloud.call(role, "vpc", "ModifyRouteEntry", req, mutating=True, idempotent=True, retry_on=frozenset())
    except CloudError as e:
        if e.code in ENTRY_GONE:
            return GONE
        if e.code in ENTRY_BUSY:
            return converge.BUSY
        raise
    return converge.ALIVE


def _known(
    ctx: PhaseContext, role: Role, table: str, dest: str, ri_id: str, step: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(our entry for ``dest``, entries for ``dest`` with another next hop): by ID first (an
    earlier output, this machine's register), then from the table's list."""
    known = [str(x) for x in ctx.input(f"{role}_route_entry_ids") or []]
    known += [str(x) for x in ctx.results.get("route_entry_ids", {}).get(role, [])]
    noted = ctx.register(role).get(step).get("id")
    for entry_id in [*known, *([noted] if noted else [])]:
        for e in lookup.route_entries(ctx, role, table, entry_id=entry_id):
            if (
                e.get("RouteEntryId") == entry_id
                and lookup.same_cidr(e.get("DestinationCidrBlock"), dest)
                and ri_id in lookup.next_hop_ids(e)
                and e.get("Status") != "Deleting"
            ):
                return e, []
    return classify(ctx, role, table, dest, ri_id)


def _visible_duplicate(
    ctx: PhaseContext, role: Role, i: int, dest: str, table: str, ri_id: str, error: CloudError
) -> str:
    found: dict[str, Any] = {}

    def read() -> str:
        ours, others = classify(ctx, role, table, dest, ri_id)
        found.update(ours=ours, others=others)
        return "ours" if ours else "other" if others else GONE

    seen = wait_while(
        read,
        pending=(GONE,),
        what="route entry",
        resource_id=f"{dest} in {table}",
        timeout=ctx.lag_allowance(),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        goal="visible in the table's list (reads may lag)",
    )
    if seen == "ours":
        return str(found["ours"].get("RouteEntryId"))
    if seen == "other":
        raise _conflict(role, i, dest, table, found["others"]) from error
    raise PhaseError(
        f"routes.{role}[{i}]: CreateRouteEntry says {dest} is already routed in {table} ({error.code}), but no "
        f"list shows that route after {ctx.lag_allowance():g} s; look at the table in the console"
    ) from error


def verify(ctx: PhaseContext, hop: Hop = ROUTER_INTERFACE) -> list[dict[str, Any]]:
    rows = []
    for role in ctx.acting(SIDES):
        table, ri_id = lookup.route_table_id(ctx, role), hop.id_of(ctx, role, False)
        for dest in ctx.params.routes.get(role, ()):
            ours, _ = _known(ctx, role, table, dest, ri_id, step_name(dest, ri_id))
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

    via = "VPC peering" if params.backend == "vpc_peer" else "router interface"
    for role in ROLES:
        table = outputs.get(f"{role}_route_table_id") or "system route table"
        state = "present" if outputs.get(f"{role}_route_entry_ids") else "planned"
        lines = [Line(f"{dest} → {via}", state) for dest in params.routes.get(role, ())]
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
        peering.OUTPUT,
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
        ),
        "vpc_peer": Steps(
            console="""in each account, *VPC > Route Tables*, open the VPC's system route table and
**Add Route Entry**: destination = the peer VPC's CIDR block, *Next Hop Type: VPC Peering
Connection*, next hop = the link's peering connection (`vpclink-<link>`).""",
            api="""`vpc:CreateRouteEntry` with `RouteTableId`, `DestinationCidrBlock`,
`NextHopType=VpcPeer`, `NextHopId` = the peering connection (`pcc-...`, which must be `Activated`);
then `vpc:DescribeRouteEntryList` until the entry is `Available`, one entry at a time as above.""",
            offline=lambda p: offline(p, PEERING),
            plan=lambda ctx: plan(ctx, PEERING),
            apply=lambda ctx: apply(ctx, PEERING),
            verify=lambda ctx: verify(ctx, PEERING),
        ),
    },
    show=show,
)
