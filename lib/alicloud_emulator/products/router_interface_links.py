"""Connecting a pair of router interfaces, and the lifecycle of a connected pair.

ConnectRouterInterface (initiator only, ``Idle`` only) resolves the Opposite* claims: the
initiator must name all four, and the interface they name must exist in the named account and
region, be on the named router, be an ``Idle`` AcceptingSide interface and name the initiator, its
router and its account in return. The routers must differ, and two routers carry at most one
connection. Then, in one transaction, the initiator goes ``Connecting`` and the acceptor
``AcceptingConnecting``, and both become ``Active`` at the same due time
(``router_interface_connect`` seconds later), each with that time as ``ConnectedTime``.

A connected pair moves as one: DeactivateRouterInterface on either end (``Active`` only) takes both
through ``Deactivating`` to ``Inactive``; ActivateRouterInterface on either end (``Inactive`` only)
takes both through ``Activating`` back to ``Active``. Activation is refused with
``OppositeRouterInterfaceIsDeleted`` once the peer has been deleted (ActivateRouterInterface
metadata). A call in the wrong state is ``IncorrectRIStatus``, the code the current pages of all
three actions document (ConnectRouterInterface https://help.aliyun.com/document_detail/109020.htm,
ActivateRouterInterface and DeactivateRouterInterface pages of 2025; the older ECS-hosted pages said
``IncorrectStatus``).

A peer that is missing and a peer that does not point back get the same error, so an account
learns nothing about another account's interfaces beyond what they say about it.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..params import Params
from ..timefmt import iso
from . import vpc_errors as err
from .router_interface_records import (
    ACCEPTING,
    ACCEPTOR,
    ACTIVATING,
    ACTIVE,
    CONNECTING,
    DEACTIVATING,
    DELETING,
    IDLE,
    INACTIVE,
    INITIATOR,
    OPPOSITE_CLAIMS,
    complete,
    own,
    peer_of,
)


def connect_router_interface(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    ri_id = p.text("RouterInterfaceId", required=True)
    x = own(ctx, ri_id, region)
    if x["Role"] != INITIATOR:
        raise err.not_initiating_side(ri_id)
    if x["Status"] != IDLE:
        raise err.ri_status(ri_id, x["Status"], "Idle")
    unset = [k for k in OPPOSITE_CLAIMS if not x[k]]
    if unset:
        raise err.opposite_not_set(f"{ri_id} lacks {', '.join(unset)} (set them with ModifyRouterInterfaceAttribute).")
    if x["OppositeRouterId"] == x["RouterId"]:
        raise err.opposite_info(f"Cannot connect on the same router ({x['RouterId']})")
    y = _claimed_peer(ctx, x, region)
    if y["Role"] != ACCEPTOR:
        raise err.opposite_info(
            f"{y['RouterInterfaceId']} is not an AcceptingSide interface; "
            "one end of a pair initiates, the other accepts"
        )
    if y["Status"] != IDLE:
        raise err.ri_status(y["RouterInterfaceId"], y["Status"], "Idle", "Both ends must be Idle to connect.")
    _refuse_second_connection(ctx, x, y)
    delay = ctx.timing("router_interface_connect")
    done = {"Status": ACTIVE, "ConnectedTime": iso(ctx.now + delay)}
    for rec, status, other in ((x, CONNECTING, y), (y, ACCEPTING, x)):
        rec.update(Status=status, OppositeVpcInstanceId=other["VpcInstanceId"], GmtModified=iso(ctx.now))
        ctx.tx.schedule(rec, delay, **done)
        ctx.tx.put(rec)
    return {}


def _claimed_peer(ctx: Context, x: dict[str, Any], region: str) -> dict[str, Any]:
    """The interface ``x`` names, provided it names ``x`` back; otherwise one uniform refusal."""
    y = ctx.tx.get("router_interface", x["OppositeInterfaceId"], account=str(x["OppositeInterfaceOwnerId"]))
    matches = (
        y is not None
        and y["_region"] == x["OppositeRegionId"]
        and y.get("RouterId") == x["OppositeRouterId"]
        and y.get("RouterType") == x["OppositeRouterType"]
        and y.get("OppositeInterfaceId") == x["RouterInterfaceId"]
        and str(y.get("OppositeInterfaceOwnerId")) == ctx.uid
        and y.get("OppositeRouterId") == x["RouterId"]
        and y.get("OppositeRouterType") == x["RouterType"]
        and y.get("OppositeRegionId") == region
    )
    if y is None or not matches:
        raise err.opposite_not_set(
            f"on both ends, naming each other: {x['RouterInterfaceId']} names {x['OppositeInterfaceId']} on "
            f"{x['OppositeRouterType']} {x['OppositeRouterId']} of account {x['OppositeInterfaceOwnerId']} in "
            f"{x['OppositeRegionId']}, and no such interface names {x['RouterInterfaceId']} on "
            f"{x['RouterType']} {x['RouterId']} of this account in {region}. Check both sides' Opposite* fields.",
        )
    return complete(y)


def _refuse_second_connection(ctx: Context, x: dict[str, Any], y: dict[str, Any]) -> None:
    """Two routers carry at most one connected pair (in either direction, in any state but Deleting)."""
    for z in ctx.tx.find("router_interface", account=ctx.uid, RouterId=x["RouterId"]):
        if (
            z["RouterInterfaceId"] != x["RouterInterfaceId"]
            and z.get("OppositeRouterId") == y["RouterId"]
            and z.get("Status") != DELETING
            and peer_of(ctx.tx, z) is not None
        ):
            raise err.only_one_connection(z["RouterInterfaceId"], x["RouterId"], y["RouterId"])


def deactivate_router_interface(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    ri_id = p.text("RouterInterfaceId", required=True)
    rec = own(ctx, ri_id, region)
    if rec["Status"] != ACTIVE:
        raise err.ri_status(ri_id, rec["Status"], "Active")
    _move_pair(ctx, rec, DEACTIVATING, INACTIVE, ctx.timing("router_interface_deactivate"))
    return {}


def activate_router_interface(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    ri_id = p.text("RouterInterfaceId", required=True)
    rec = own(ctx, ri_id, region)
    if rec["Status"] != INACTIVE:
        raise err.ri_status(ri_id, rec["Status"], "Inactive")
    peer = peer_of(ctx.tx, rec)
    if peer is None:
        raise err.opposite_deleted(rec["OppositeInterfaceId"], ri_id)
    if peer["Status"] != INACTIVE:
        raise err.ri_status(peer["RouterInterfaceId"], peer["Status"], "Inactive", "Both ends must be Inactive.")
    _move_pair(ctx, rec, ACTIVATING, ACTIVE, ctx.timing("router_interface_activate"))
    return {}


def _move_pair(ctx: Context, rec: dict[str, Any], during: str, after: str, delay: float) -> None:
    """Move an interface and its connected peer (when it is in the same state) together."""
    peer = peer_of(ctx.tx, rec)
    for r in (rec, peer) if peer is not None and peer["Status"] == rec["Status"] else (rec,):
        r.update(Status=during, GmtModified=iso(ctx.now))
        ctx.tx.schedule(r, delay, Status=after)
        ctx.tx.put(r)
