"""The VPC peering backend's shared reads and waits (VpcPeer 2022-01-01, ``backend: vpc_peer``).

One peering per link: account A (the initiator) requests it from VPC1 to account B's VPC2, named
``naming.vpc_peer_name(link)``; B accepts it. It is found by ID first (an earlier output, this
machine's register; ``GetVpcPeerConnectionAttribute`` names the ID, so it is not served from a
lagging list), then by name (``ListVpcPeerConnections``, which may lag: the create's shared
ClientToken covers that). Either account reads it: the requester and the accepter both see it, and
anyone else's connection reads like a missing one.

States (the API's): ``Creating`` -> ``Accepting`` (another account must accept) -> ``Updating`` ->
``Activated``; ``Rejected``, ``Expired`` (unanswered for 7 days), ``Deleting`` -> ``Deleted`` -> gone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from alibabacloud_vpcpeer20220101 import models as peer_api

from .. import naming
from ..cloud import DEFAULT_RETRY_ON, CloudError
from ..params import LinkParams, Role
from ..waits import GONE, wait_for
from . import lookup
from .base import MissingInput, PhaseContext, PhaseError, is_placeholder, placeholder

# The initiator's phase output (and the peer card's ``peer_connection_id`` of the initiator's side).
OUTPUT = "initiator_peer_connection_id"
STEP = "create-vpc-peer-connection"  # the create's step: its ClientToken and this machine's register
NOT_FOUND = frozenset({"ResourceNotFound.InstanceId"})
ACTIVATED = "Activated"
ACCEPTING = "Accepting"
# States a connection never leaves by itself towards Activated: a person decides what next.
DEAD = ("Rejected", "Expired")
# Another operation on one of the two VPCs is under way (the API allows one at a time per VPC): the
# request was refused, not made, so it is sent again after a pause.
RETRY_ON = DEFAULT_RETRY_ON | {"Conflict.Operation"}
PAGE = 100
LIST_PAGES_MAX = 50  # 5000 connections seen from one account: more means a wrong filter


def target(params: LinkParams) -> str:
    return f"VPC peering connection {naming.vpc_peer_name(params.link)}"


def get(ctx: PhaseContext, role: Role, pcc_id: str) -> dict[str, Any] | None:
    """``GetVpcPeerConnectionAttribute`` as ``role``'s account sees it; None when unknown to it."""
    req = peer_api.GetVpcPeerConnectionAttributeRequest(instance_id=pcc_id)
    try:
        return ctx.cloud.call(role, "vpcpeer", "GetVpcPeerConnectionAttribute", req, mutating=False)
    except CloudError as e:
        if e.code in NOT_FOUND:
            return None
        raise


def status(ctx: PhaseContext, role: Role, pcc_id: str) -> str:
    """The connection's ``Status`` read by ID, or ``GONE`` (``Deleted`` counts as gone)."""
    found = get(ctx, role, pcc_id)
    if found is None or found.get("Status") == "Deleted":
        return GONE
    return str(found.get("Status"))


def status_poll(ctx: PhaseContext, role: Role, pcc_id: str, settled: Collection[str]) -> Callable[[], str]:
    """A ``read`` for a wait on the connection's status (``lookup.shared_status_poll``: in a fleet,
    the region's ListVpcPeerConnections shared by the waiting links says "not yet")."""

    def region() -> dict[str, str]:
        return {str(c["InstanceId"]): str(c.get("Status") or "") for c in _list(ctx, role)}

    return lookup.shared_status_poll(
        ctx,
        role,
        pcc_id,
        settled,
        by_id=lambda: status(ctx, role, pcc_id),
        action="ListVpcPeerConnections",
        region=region,
    )


def listed(ctx: PhaseContext, role: Role) -> list[dict[str, Any]]:
    """The connections named for this link that ``role``'s account sees between the link's two VPCs
    (a list: it may lag), not yet deleted."""
    name = naming.vpc_peer_name(ctx.params.link)
    found = _list(ctx, role, name=name, vpc_id=[ctx.params.side(role).vpc_id, ctx.params.peer(role).vpc_id])
    return [c for c in found if c.get("Name") == name and c.get("Status") != "Deleted"]


def _list(ctx: PhaseContext, role: Role, **filters: Any) -> list[dict[str, Any]]:
    """ListVpcPeerConnections in ``role``'s region with ``filters`` (request fields), every page."""
    out: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(LIST_PAGES_MAX):
        req = peer_api.ListVpcPeerConnectionsRequest(
            region_id=ctx.params.side(role).region, max_results=PAGE, next_token=token, **filters
        )
        body = ctx.cloud.call(role, "vpcpeer", "ListVpcPeerConnections", req, mutating=False)
        out += body.get("VpcPeerConnects") or []
        token = body.get("NextToken") or None
        if not token:
            break
    return out


def by_name(ctx: PhaseContext, role: Role) -> dict[str, Any] | None:
    """This link's live connection by its name (a list), or None; a dead one (rejected, expired) is
    returned only when no live one shows."""
    found = listed(ctx, role)
    live = [c for c in found if c.get("Status") not in DEAD]
    if len(live) > 1:
        ids = ", ".join(str(c.get("InstanceId")) for c in live)
        raise PhaseError(
            f"{len(live)} VPC peering connections are named {naming.vpc_peer_name(ctx.params.link)} between "
            f"{ctx.params.initiator.vpc_id} and {ctx.params.acceptor.vpc_id} ({ids}); vpclink creates one per link. "
            f"Delete the extra one(s) in the console, or pass {OUTPUT} to say which one this link uses"
        )
    shown = live or found
    return shown[0] if shown else None


def registered(ctx: PhaseContext) -> str | None:
    """The connection a run of this link on this machine created (the initiator's register)."""
    try:
        return ctx.register("initiator").get(STEP).get("id") or None
    except OSError:  # no state directory: the register is a hint, never required
        return None


def find(ctx: PhaseContext, role: Role) -> dict[str, Any] | None:
    """This link's connection as ``role``'s account sees it: by ID (an earlier output, the
    register), then by name; None when none shows. A connection that is deleted is not returned.

    A list may still show a connection deleted in the last seconds, as it was then: a name hit is
    read again by its ID (which shows the present) and returned only if that read still shows it."""
    read: set[str] = set()
    for known in (ctx.input(OUTPUT), registered(ctx)):
        if known and not is_placeholder(known) and str(known) not in read:
            found = get(ctx, role, str(known))
            if found is not None and found.get("Status") != "Deleted":
                return found
            read.add(str(known))
    named = by_name(ctx, role)
    if named is None:
        return None
    named_id = str(named.get("InstanceId"))
    fresh = None if named_id in read else get(ctx, role, named_id)
    return fresh if fresh is not None and fresh.get("Status") != "Deleted" else None


def connection_id(ctx: PhaseContext, role: Role, planning: bool = False) -> str:
    """The link's connection ID for a step on ``role``'s side: the initiator's output, else found;
    in a plan on a cloud where it does not exist yet, a placeholder."""
    known = ctx.input(OUTPUT)
    if known:
        return str(known)
    found = find(ctx, role) if role in ctx.cloud.sides else None
    if found is not None:
        return str(found["InstanceId"])
    if planning:
        return placeholder("VPC peering connection", "initiator")
    if role == "acceptor" and "initiator" not in ctx.cloud.sides:
        raise MissingInput(OUTPUT, ctx.phase)
    raise PhaseError(
        f"the {target(ctx.params)} does not exist (no output {OUTPUT}, none by that name); run the initiator "
        "phase first"
    )


def check_found(ctx: PhaseContext, found: dict[str, Any]) -> None:
    """Refuse a connection that cannot be this link's: other VPCs, region or accepter account."""
    p = ctx.params
    vpc = (found.get("Vpc") or {}).get("VpcId") or found.get("VpcId")
    accepting = (found.get("AcceptingVpc") or {}).get("VpcId") or found.get("AcceptingVpcId")
    problems = []
    if vpc != p.initiator.vpc_id:
        problems.append(f"its requester VPC is {vpc}, not {p.initiator.vpc_id}")
    if accepting != p.acceptor.vpc_id:
        problems.append(f"its accepter VPC is {accepting}, not {p.acceptor.vpc_id}")
    if found.get("AcceptingRegionId") and found.get("AcceptingRegionId") != p.acceptor.region:
        problems.append(f"it goes to region {found.get('AcceptingRegionId')}, not {p.acceptor.region}")
    if problems:
        raise PhaseError(
            f"VPC peering connection {found.get('InstanceId')} ({found.get('Name')}) cannot be link {p.link}'s: "
            f"{'; '.join(problems)}. Delete or rename it, or fix the parameters"
        )


def refuse_dead(found: dict[str, Any], link: str) -> None:
    """A rejected or expired request is not retried by itself: a person decides (the accepter said no)."""
    state = found.get("Status")
    if state in DEAD:
        raise PhaseError(
            f"VPC peering connection {found.get('InstanceId')} of link {link} is {state}: account B "
            f"{'rejected it' if state == 'Rejected' else 'did not accept it within 7 days'}. Run `vpclink teardown` "
            "to delete it, agree with account B, and run again to request a new one"
        )


def wait_state(
    ctx: PhaseContext, role: Role, pcc_id: str, expected: tuple[str, ...], failed: tuple[str, ...] = (GONE, *DEAD)
) -> str:
    return wait_for(
        status_poll(ctx, role, pcc_id, (*expected, *failed)),
        what="VPC peering connection",
        resource_id=pcc_id,
        expected=expected,
        timeout=ctx.timeout("vpc_peer"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        failed=tuple(f for f in failed if f not in expected),
    )


def bandwidth(params: LinkParams) -> int | None:
    """The Bandwidth to request: ``bandwidth_mbps`` across regions; never within one (the API has none)."""
    return None if params.same_region else params.bandwidth_mbps


def peer_uid(ctx: PhaseContext) -> str:
    """Account B's UID, which the request names (preflight's output, STS, or the parameters)."""
    try:
        return lookup.account_uid(ctx, "acceptor")
    except MissingInput:
        raise PhaseError(
            "the request names account B's UID: give acceptor.account_uid in the parameters, or run preflight "
            "(which reads it) first"
        ) from None
