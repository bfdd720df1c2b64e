"""The migration's steps, in order; each reads what exists before it writes (see the package docstring).

``migrate`` runs them with a phase context for the link as built (its parameters name the backend
that built it); ``plan`` shows them against the current state with no mutating call.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from ..params import ROLES, Backend, LinkParams, Role
from ..phases import get, lookup, peering, peering_teardown, teardown
from ..phases.base import PhaseContext, PhaseError, Step, is_placeholder
from ..phases.routes import PEERING, ROUTER_INTERFACE, Hop
from .check import refuse_bad_input
from .move import move_route, routes_to

HOPS: dict[str, Hop] = {"router_interface": ROUTER_INTERFACE, "vpc_peer": PEERING}
BUILD = ("initiator", "acceptor", "connect")  # the target backend's own phases that make its hop


def _as(ctx: PhaseContext, backend: str, phase: str) -> PhaseContext:
    """The same run's context for ``backend``'s steps (one cloud, one record of outcomes)."""
    params: LinkParams = dataclasses.replace(ctx.params, backend=cast(Backend, backend))
    return dataclasses.replace(ctx, params=params, phase=phase)


def hop_id(ctx: PhaseContext, backend: str, role: Role) -> str | None:
    """The ID of ``backend``'s hop on ``role``'s side as the API shows it now, or None."""
    if backend == "router_interface":
        ri = lookup.router_interface(ctx, role)
        return str(ri["RouterInterfaceId"]) if ri and ri.get("Status") not in ("Deleting", "Deleted") else None
    found = peering.find(ctx, role)
    return str(found["InstanceId"]) if found and found.get("Status") not in ("Deleting", "Deleted") else None


def _routed_via(ctx: PhaseContext, role: Role, hops: set[str]) -> bool:
    """Whether each of ``role``'s routes goes through one of ``hops``."""
    table = lookup.route_table_id(ctx, role)
    return all(
        any(hops & set(lookup.next_hop_ids(e)) for e in routes_to(ctx, role, table, dest))
        for dest in ctx.params.routes.get(role, ())
    )


def _check(ctx: PhaseContext, source: str, to: str) -> None:
    """Refuse unless each side is routed through the old hop, or (a rerun) through the new one. A
    list that does not show a route yet is no proof: it is read again once the lists' lag has passed."""
    for role in ROLES:
        for attempt in range(2):
            old, new = hop_id(ctx, source, role), hop_id(_as(ctx, to, "migrate"), to, role)
            if _routed_via(ctx, role, {h for h in (old, new) if h}):
                break
            if attempt == 0:
                ctx.cloud.clock.sleep(ctx.lag_allowance())
        else:
            raise PhaseError(
                f"backend: the {role} side of link {ctx.params.link} is not routed through a {HOPS[source].label} "
                f"of this link ({old or 'none found'}); migrate moves a link the {source} backend built and verified"
            )
        ctx.outcome(
            role, "DescribeRouteEntryList", f"{role} side of link {ctx.params.link}", "checked", old or new or ""
        )


def _ping(ctx: PhaseContext, after: str) -> None:
    """Both ways, with the verify phase's own step: a move is kept only once traffic crosses."""
    out = get("verify").apply(dataclasses.replace(ctx, phase="verify"))
    if not out.get("verified"):
        failed = [k for k, v in out.items() if k.startswith("ping_") and not k.endswith("_output") and v != "ok"]
        raise PhaseError(f"the ping after {after} failed ({', '.join(failed)})")


def _move_back(
    ctx: PhaseContext, role: Role, table: str, new: tuple[Hop, str], old: tuple[Hop, str], failed: PhaseError
) -> None:
    """Traffic crossed before this side's move (the old link was verified, or the other side's move
    was proved): put this side's routes back on the old hop, in place, and prove it with a ping, so a
    move that does not carry costs two route changes, never an outage. Raises what happened."""
    (old_hop, old_id), (new_hop, new_id) = old, new
    if not old_id:  # the old hop is gone already (a rerun after its removal began): nothing to go back to
        raise failed
    for dest in ctx.params.routes.get(role, ()):
        move_route(ctx, role, dest, table, new, old)
    try:
        _ping(ctx, f"moving the {role} side's route back")
        back = f"its route is back on the {old_hop.label} {old_id} and traffic crosses as before"
    except PhaseError as again:
        back = f"its route is back on the {old_hop.label} {old_id}, but {again}"
    raise PhaseError(
        f"{failed}; {back}. The {new_hop.label} {new_id} stays for the next attempt: look at what the ping "
        "says, then run migrate again"
    ) from None


def migrate(ctx: PhaseContext, to: str) -> dict[str, Any]:
    """Move the link ``ctx.params`` describes (as built) to backend ``to``; what it did is ``ctx.outcomes``."""
    source = ctx.params.backend
    refuse_bad_input(ctx.params, to)
    target = _as(ctx, to, "migrate")
    _check(ctx, source, to)
    # Build the new hop beside the old one: nothing routes through it yet, so traffic is untouched.
    outputs: dict[str, Any] = {}
    for phase in BUILD:
        step_ctx = dataclasses.replace(_as(ctx, to, phase), inputs={**ctx.inputs, **outputs})
        outputs.update(get(phase).apply(step_ctx))
    target = dataclasses.replace(target, inputs={**ctx.inputs, **outputs})
    moved: dict[str, list[str]] = {}
    for role in ROLES:  # one side at a time, each proved by a ping before the next
        table = lookup.route_table_id(ctx, role)
        old, new = hop_id(ctx, source, role) or "", hop_id(target, to, role)
        if new is None:
            raise PhaseError(f"the new {HOPS[to].label} is not visible on the {role} side yet; run migrate again")
        moved[role] = [
            move_route(target, role, dest, table, (HOPS[source], old), (HOPS[to], new))
            for dest in ctx.params.routes.get(role, ())
        ]
        try:
            _ping(target, f"moving the {role} side's route")
        except PhaseError as failed:
            _move_back(ctx, role, table, (HOPS[to], new), (HOPS[source], old), failed)
    _remove_old(ctx, source)
    return {"backend": to, "route_entry_ids": moved, **outputs}


def _remove_old(ctx: PhaseContext, source: str) -> None:
    """The old hop only, with the teardown's own steps; routes (moved) and rules (shared) stay.

    Every ID of it this run knows is removed: recorded (outputs, this machine's register) and shown
    now, one being deleted included. A rerun after a kill in the middle of the removal thus waits
    until the rest is gone, and each removal notes the create step's generation as spent (as a
    teardown does), so that a later move back starts from a fresh ClientToken."""
    sweep = teardown.Sweep(began=ctx.cloud.clock.now(), recorded=True)
    if source == "router_interface":
        ids = {role: _old_hops(ctx, source, role) for role in ROLES}
        for role in ROLES:  # the initiator first: deactivating it ends the connection
            for ri in ids[role]:
                teardown._deactivate(ctx, role, ri)
        for role in ROLES:
            for ri in ids[role]:
                teardown._delete_interface(ctx, role, ri, sweep)
        return
    for pcc in _old_hops(ctx, source, "initiator"):  # the requester deletes it
        peering_teardown._delete_connection(ctx, pcc, sweep)


def _old_hops(ctx: PhaseContext, source: str, role: Role) -> list[str]:
    """The IDs of ``source``'s hop on ``role``'s side: recorded, and shown now (even if being deleted)."""
    if source == "router_interface":
        shown = lookup.router_interface(ctx, role)
        ids = [*teardown._recorded_interfaces(ctx, role), (shown or {}).get("RouterInterfaceId")]
    else:
        found = peering.find(ctx, role)
        ids = [ctx.input(peering.OUTPUT), peering.registered(ctx), (found or {}).get("InstanceId")]
    return list(dict.fromkeys(str(i) for i in ids if i and not is_placeholder(i)))


def plan(ctx: PhaseContext, to: str) -> list[Step]:
    """The migration's steps against the current state; reads only."""
    source = ctx.params.backend
    refuse_bad_input(ctx.params, to)
    target = _as(ctx, to, "migrate")
    steps: list[Step] = []
    with ctx.cloud.read_only():
        for phase in BUILD:
            steps += get(phase).plan(_as(ctx, to, phase))
        for role in ROLES:
            table = lookup.route_table_id(ctx, role)
            old, new = hop_id(ctx, source, role), hop_id(target, to, role)
            for dest in ctx.params.routes.get(role, ()):
                entries = lookup.route_entries(ctx, role, table, dest)
                done = new is not None and any(new in lookup.next_hop_ids(e) for e in entries)
                steps.append(
                    Step(
                        role,
                        "ModifyRouteEntry",
                        f"route {dest} in {table}",
                        "exists" if done else "modify",
                        f"next hop {old or HOPS[source].label} -> {new or 'the new ' + HOPS[to].label}, in place",
                    )
                )
            steps.append(Step(role, "RunCommand", f"ping from the {role} side", "check", "both ways, after the move"))
        for role in ROLES:
            old = hop_id(ctx, source, role)
            if old and (source == "router_interface" or role == "initiator"):
                steps.append(
                    Step(
                        role,
                        f"Delete{'RouterInterface' if source == 'router_interface' else 'VpcPeerConnection'}",
                        old,
                        "delete",
                        "the old hop",
                    )
                )
    return steps
