"""Move one route of the link from the old hop to the new one, in place.

The VPC API changes a custom route's next hop in place: ``ModifyRouteEntry`` with ``NewNextHopType``
and ``NewNextHopId`` (VPC 2016-04-28, "ModifyRouteEntry"), so the route to the peer is never absent,
only repointed. The entry is looked up first (by its destination in the table, then read by its ID,
which does not lag as lists do): already through the new hop, it is left alone; through the old one,
it is modified; through anything else, it is somebody else's route and is refused.
"""

from __future__ import annotations

from typing import Any

from alibabacloud_vpc20160428 import models as vpc

from ..cloud import CloudError
from ..params import Role
from ..phases import lookup
from ..phases.base import PhaseContext, PhaseError
from ..phases.routes import ENTRY_BUSY, Hop, wait_available

# ModifyRouteEntry's answer when the entry already goes to the hop asked for: a repeat after a lost answer.
SAME_HOP = frozenset({"OperationDenied.NextHopExist"})


def move_route(ctx: PhaseContext, role: Role, dest: str, table: str, old: tuple[Hop, str], new: tuple[Hop, str]) -> str:
    """Point ``role``'s route to ``dest`` in ``table`` at ``new`` = (hop, ID) instead of ``old``; its ID."""
    (old_hop, old_id), (new_hop, new_id) = old, new
    target = f"route {dest} in {table}"
    entries = routes_to(ctx, role, table, dest)
    entry = next((e for e in entries if {old_id, new_id} & set(lookup.next_hop_ids(e))), None)
    if entry is None:
        shown = ", ".join(f"{e.get('RouteEntryId')} via {'/'.join(lookup.next_hop_ids(e))}" for e in entries)
        raise PhaseError(
            f"routes.{role}: no route to {dest} in {table} goes through the {old_hop.label} {old_id} or the "
            f"{new_hop.label} {new_id} ({shown or 'no route to it at all'}); the link is not the one built"
        )
    entry_id = str(entry["RouteEntryId"])
    if new_id in lookup.next_hop_ids(entry):
        ctx.outcome(role, "ModifyRouteEntry", target, "already there", entry_id, f"next hop {new_id}")
    else:
        req = vpc.ModifyRouteEntryRequest(
            region_id=ctx.params.side(role).region,
            route_entry_id=entry_id,
            new_next_hop_type=new_hop.type,
            new_next_hop_id=new_id,
        )
        try:
            # One change of one entry to a given hop: repeating it cannot do anything else.
            ctx.cloud.call(role, "vpc", "ModifyRouteEntry", req, mutating=True, idempotent=True, retry_on=ENTRY_BUSY)
        except CloudError as e:
            if e.code not in SAME_HOP:
                raise
        ctx.outcome(role, "ModifyRouteEntry", target, "changed", entry_id, f"next hop {old_id} -> {new_id}")
    state = wait_available(ctx, role, table, entry_id, dest)
    hops = _hops_now(ctx, role, table, entry_id)
    if new_id not in hops:
        raise PhaseError(f"route {entry_id} ({dest} in {table}) is {state} but goes to {'/'.join(hops) or 'nothing'}")
    ctx.outcome(role, "DescribeRouteEntryList", target, "waited", entry_id, f"{state} via {new_id}")
    return entry_id


def routes_to(ctx: PhaseContext, role: Role, table: str, dest: str) -> list[dict[str, Any]]:
    """``role``'s entries to ``dest`` in ``table``, each as a read by its ID shows it now: the table's
    list may show a next hop from before a move (lists lag), a read by ID does not."""
    out = []
    for listed in lookup.route_entries(ctx, role, table, dest):
        entry_id = str(listed.get("RouteEntryId"))
        fresh = [
            e for e in lookup.route_entries(ctx, role, table, entry_id=entry_id) if e.get("RouteEntryId") == entry_id
        ]
        out += [e for e in fresh if e.get("Status") != "Deleting"]
    return out


def _hops_now(ctx: PhaseContext, role: Role, table: str, entry_id: str) -> list[str]:
    found = [e for e in lookup.route_entries(ctx, role, table, entry_id=entry_id) if e.get("RouteEntryId") == entry_id]
    return lookup.next_hop_ids(found[0]) if found else []
