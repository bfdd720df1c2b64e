"""Reads shared by the phases: the cloud state a step looks at before it changes anything.

Everything here is read-only (Describe* and STS). Values an earlier phase produced are taken
from ``ctx.inputs`` first; when absent and the side's credentials are at hand, they are read
from the cloud, so a phase also works on its own.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Collection
from typing import Any

from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_vpc20160428 import models as vpc

from .. import naming
from ..cloud import CloudError
from ..fleet import quota
from ..params import Role
from ..waits import GONE
from .base import MissingInput, PhaseContext, PhaseError, is_placeholder

RI_NOT_FOUND = frozenset({"InvalidRouterInterfaceId.NotFound", "InvalidInstanceId.NotFound"})
PAGE = 50


def items(body: dict[str, Any], *path: str) -> list[dict[str, Any]]:
    """``body[a][b]`` as a list; a missing container reads as empty (the SDK gives None)."""
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return list(node or [])


# -- the VPC and its router ---------------------------------------------------------------------
def describe_vpc(ctx: PhaseContext, role: Role) -> dict[str, Any] | None:
    side = ctx.params.side(role)
    body = ctx.cloud.call(
        role, "vpc", "DescribeVpcs", vpc.DescribeVpcsRequest(region_id=side.region, vpc_id=side.vpc_id), mutating=False
    )
    return next((v for v in items(body, "Vpcs", "Vpc") if v.get("VpcId") == side.vpc_id), None)


def vrouter_id(ctx: PhaseContext, role: Role) -> str:
    known = ctx.input(f"{role}_vrouter_id")
    if known:
        return str(known)
    if role not in ctx.cloud.sides:
        raise MissingInput(f"{role}_vrouter_id", ctx.phase)
    found = describe_vpc(ctx, role)
    if found is None:
        side = ctx.params.side(role)
        raise PhaseError(f"{role}.vpc_id: {side.vpc_id} is not a VPC of this account in {side.region}")
    return str(found["VRouterId"])


def route_table_id(ctx: PhaseContext, role: Role) -> str:
    known = ctx.input(f"{role}_route_table_id")
    if known:
        return str(known)
    if role not in ctx.cloud.sides:
        raise MissingInput(f"{role}_route_table_id", ctx.phase)
    table = system_route_table(ctx, role)
    if table is None:
        side = ctx.params.side(role)
        raise PhaseError(f"{role}.vpc_id: {side.vpc_id} has no system route table in {side.region}")
    return str(table["RouteTableId"])


def system_route_table(ctx: PhaseContext, role: Role) -> dict[str, Any] | None:
    side = ctx.params.side(role)
    req = vpc.DescribeRouteTableListRequest(
        region_id=side.region, vpc_id=side.vpc_id, route_table_type="System", page_size=PAGE
    )
    body = ctx.cloud.call(role, "vpc", "DescribeRouteTableList", req, mutating=False)
    return next(
        (
            t
            for t in items(body, "RouterTableList", "RouterTableListType")
            if t.get("RouteTableType") == "System" and t.get("VpcId") == side.vpc_id
        ),
        None,
    )


def account_uid(ctx: PhaseContext, role: Role) -> str:
    """The main-account UID of ``role``: an earlier phase's output, STS, or the parameters."""
    known = ctx.input(f"{role}_account_uid")
    if known:
        return str(known)
    if role in ctx.cloud.sides:
        return ctx.cloud.account_uid(role)
    if ctx.params.side(role).account_uid:
        return str(ctx.params.side(role).account_uid)
    raise MissingInput(f"{role}_account_uid", ctx.phase)


# -- router interfaces --------------------------------------------------------------------------
def describe_router_interfaces(ctx: PhaseContext, role: Role, key: str | None, value: str = "") -> list[dict[str, Any]]:
    """The router interfaces of ``role``'s region matching filter ``key`` = ``value`` (every one of
    the account's in the region when ``key`` is None), every page."""
    side = ctx.params.side(role)
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        req = vpc.DescribeRouterInterfacesRequest(
            region_id=side.region,
            page_number=page,
            page_size=PAGE,
            filter=[vpc.DescribeRouterInterfacesRequestFilter(key=key, value=[value])] if key else None,
        )
        body = ctx.cloud.call(role, "vpc", "DescribeRouterInterfaces", req, mutating=False)
        found = items(body, "RouterInterfaceSet", "RouterInterfaceType")
        out += found
        if len(found) < PAGE or len(out) >= int(body.get("TotalCount") or 0):
            return out
        page += 1


def router_interface(ctx: PhaseContext, role: Role, ri_id: str | None = None) -> dict[str, Any] | None:
    """This link's router interface on ``role``'s side, or ``None`` when none shows.

    By ID first: the one given, an earlier phase's output, or what a run of this link on this machine
    created (its register). A describe naming the ID is not served from a lagging list, so an
    interface created a moment ago is found. Then by the name the runbook gives it (a list, which may
    not show an interface created in the last seconds: a create's shared ClientToken covers that).

    A list may also still show an interface deleted in the last seconds, as it was then (``Active``,
    say): a name hit is therefore read again by its ID, which shows the present, and is returned only
    if that read still shows it. Without this, a link built again right after its interfaces were
    removed (a migration there and back) would take the deleted interface for its own.
    """
    read: set[str] = set()
    for known in (ri_id or ctx.input(f"{role}_router_interface_id"), _registered(ctx, role)):
        if known and not is_placeholder(known) and str(known) not in read:
            found = _by_id(ctx, role, str(known))
            if found is not None:
                return found
            read.add(str(known))
    named = router_interface_by_name(ctx, role)
    if named is None:
        return None
    named_id = str(named.get("RouterInterfaceId"))
    # Read by ID just now and not there: the list shows the past.
    return None if named_id in read else _by_id(ctx, role, named_id)


def _by_id(ctx: PhaseContext, role: Role, ri_id: str) -> dict[str, Any] | None:
    """Interface ``ri_id`` as a describe naming it shows it now, or None when gone."""
    found = [
        r
        for r in describe_router_interfaces(ctx, role, "RouterInterfaceId", ri_id)
        if r.get("RouterInterfaceId") == ri_id and r.get("Status") != "Deleted"
    ]
    return found[0] if found else None


def router_interface_by_name(ctx: PhaseContext, role: Role) -> dict[str, Any] | None:
    """The interface named for this link's ``role`` side (a list: it may lag), or None."""
    name = naming.router_interface_name(ctx.params.link, role)
    named = [
        r
        for r in describe_router_interfaces(ctx, role, "Name", name)
        if r.get("Name") == name and r.get("Status") != "Deleted"
    ]
    if len(named) > 1:
        ids = ", ".join(r["RouterInterfaceId"] for r in named)
        raise PhaseError(
            f"{len(named)} router interfaces are named {name} in {ctx.params.side(role).region} ({ids}); "
            f"vpclink creates one per side. Delete the extra one(s) in the console, or pass "
            f"{role}_router_interface_id to say which one this link uses"
        )
    return named[0] if named else None


def _registered(ctx: PhaseContext, role: Role) -> str | None:
    """The interface a run of this link on this machine created on ``role``'s side, if noted."""
    from .interfaces import STEP

    try:
        return ctx.register(role).get(STEP).get("id") or None
    except OSError:  # no state directory: the register is a hint, never required
        return None


def ri_status(ctx: PhaseContext, role: Role, ri_id: str) -> str:
    """The interface's ``Status``, or ``GONE``."""
    found = [
        r
        for r in describe_router_interfaces(ctx, role, "RouterInterfaceId", ri_id)
        if r.get("RouterInterfaceId") == ri_id
    ]
    if not found or found[0].get("Status") == "Deleted":
        return GONE
    return str(found[0].get("Status"))


def ri_status_poll(ctx: PhaseContext, role: Role, ri_id: str, settled: Collection[str]) -> Callable[[], str]:
    """A ``read`` for a wait on the interface's status (see :func:`shared_status_poll`)."""

    def region() -> dict[str, str]:
        return {
            str(r["RouterInterfaceId"]): str(r.get("Status") or "")
            for r in describe_router_interfaces(ctx, role, None)
            if r.get("RouterInterfaceId")
        }

    return shared_status_poll(
        ctx,
        role,
        ri_id,
        settled,
        by_id=lambda: ri_status(ctx, role, ri_id),
        action="DescribeRouterInterfaces",
        region=region,
    )


def shared_status_poll(
    ctx: PhaseContext,
    role: Role,
    resource_id: str,
    settled: Collection[str],
    *,
    by_id: Callable[[], str],
    action: str,
    region: Callable[[], dict[str, str]],
) -> Callable[[], str]:
    """A ``read`` for a wait on a resource's status, where ``settled`` are the states that end the
    wait (expected or failed); ``by_id`` reads it by ID, ``region`` lists every such resource's status
    in ``role``'s account and region with ``action``.

    On its own a link reads by ID each time. In a fleet, where many links wait at once, polls after
    the first take the status from the region's listing shared through the fleet's coordinator
    (``quota.shared_listing``): one listing per account, region and round instead of one describe per
    waiting link. A listing may lag, so it is trusted only to say "not yet" (a late read delays the
    wait, never ends it): a state that would end the wait, or a resource the listing does not show,
    is read again by ID.
    """
    first = True

    def read() -> str:
        nonlocal first
        if not first:
            uid = ctx.cloud.known_account_uid(role)
            if uid and quota.client() is not None:
                listed = quota.shared_listing(uid, ctx.params.side(role).region, action, "region", region)
                status = listed.get(resource_id)
                if status and status != "Deleted" and status not in settled:
                    return status
        first = False
        return by_id()

    return read


# -- route entries ------------------------------------------------------------------------------
def route_entries(
    ctx: PhaseContext, role: Role, table_id: str, destination: str | None = None, entry_id: str | None = None
) -> list[dict[str, Any]]:
    side = ctx.params.side(role)
    out: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        req = vpc.DescribeRouteEntryListRequest(
            region_id=side.region,
            route_table_id=table_id,
            max_result=100,
            destination_cidr_block=destination,
            route_entry_id=entry_id,
            next_token=token,
        )
        body = ctx.cloud.call(role, "vpc", "DescribeRouteEntryList", req, mutating=False)
        out += items(body, "RouteEntrys", "RouteEntry")
        token = body.get("NextToken") or None
        if not token:
            break
    if destination is not None:
        out = [e for e in out if same_cidr(e.get("DestinationCidrBlock"), destination)]
    return out


def next_hop_ids(entry: dict[str, Any]) -> list[str]:
    return [str(h.get("NextHopId")) for h in items(entry, "NextHops", "NextHop") if h.get("NextHopId")]


def same_cidr(a: Any, b: Any) -> bool:
    try:
        return ipaddress.ip_network(str(a), strict=False) == ipaddress.ip_network(str(b), strict=False)
    except ValueError:
        return str(a) == str(b)


def route_state(ctx: PhaseContext, role: Role, table_id: str, destination: str, next_hop: str) -> str:
    """The ``Status`` of the entry for ``destination`` via ``next_hop``, or ``GONE``."""
    for e in route_entries(ctx, role, table_id, destination):
        if next_hop in next_hop_ids(e):
            return str(e.get("Status"))
    return GONE


# -- ECS ----------------------------------------------------------------------------------------
def instance(ctx: PhaseContext, role: Role, instance_id: str) -> dict[str, Any] | None:
    side = ctx.params.side(role)
    req = ecs.DescribeInstancesRequest(region_id=side.region, instance_ids=json.dumps([instance_id]), max_results=10)
    body = ctx.cloud.call(role, "ecs", "DescribeInstances", req, mutating=False)
    return next((i for i in items(body, "Instances", "Instance") if i.get("InstanceId") == instance_id), None)


def private_ip(inst: dict[str, Any]) -> str | None:
    ips = items(inst, "VpcAttributes", "PrivateIpAddress", "IpAddress")
    return str(ips[0]) if ips else None


def instance_ip(ctx: PhaseContext, role: Role) -> str | None:
    """The private IP of ``role``'s ECS instance (an earlier output, or read), None without one."""
    known = ctx.input(f"{role}_instance_ip")
    if known:
        return str(known)
    instance_id = ctx.params.side(role).instance_id
    if not instance_id:
        return None
    if role not in ctx.cloud.sides:
        raise MissingInput(f"{role}_instance_ip", ctx.phase)
    inst = instance(ctx, role, instance_id)
    return private_ip(inst) if inst else None


def security_group(ctx: PhaseContext, role: Role, direction: str = "ingress") -> dict[str, Any] | None:
    """DescribeSecurityGroupAttribute of ``role``'s group with every rule of ``direction``
    (all pages); None when the group does not exist."""
    side = ctx.params.side(role)
    rules: list[dict[str, Any]] = []
    token: str | None = None
    first: dict[str, Any] | None = None
    while True:
        req = ecs.DescribeSecurityGroupAttributeRequest(
            region_id=side.region,
            security_group_id=side.security_group_id,
            direction=direction,
            max_results=1000,
            next_token=token,
        )
        try:
            body = ctx.cloud.call(role, "ecs", "DescribeSecurityGroupAttribute", req, mutating=False)
        except CloudError as e:
            if e.code == "InvalidSecurityGroupId.NotFound":
                return None
            raise
        first = first or body
        rules += items(body, "Permissions", "Permission")
        token = body.get("NextToken") or None
        if not token:
            break
    return dict(first, Permissions={"Permission": rules})
