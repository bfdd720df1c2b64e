"""Teardown (accounts A and B): remove what the runbook created, in reverse order.

1. RevokeSecurityGroup: the ingress rules whose description marks them as this link's (by content,
   so that a repeated revoke changes nothing);
2. DeleteRouteEntry: the entries routing through this link's interface that the runbook created
   (a destination of ``routes.<side>``, an ID an earlier phase output, or the link's description),
   each awaited until gone, since route tables take one change at a time;
3. DeactivateRouterInterface on the initiator (and on the acceptor if it is still Active), until
   Inactive;
4. DeleteRouterInterface on both sides, until gone.

Each step reads first and does only what is left, so teardown converges when run twice or after
a partial run. It never touches what it did not create: interfaces are found by their IDs from
earlier phases or by the runbook's name, routes and rules by the runbook's marks (``naming``). With
two operators (``ctx.side``) each removes its own side's rules, routes and interface. The notebook's
text is ``PHASE`` at the end of this module.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_vpc20160428 import models as vpc

from .. import naming
from ..cloud import DEFAULT_RETRY_ON, CloudError
from ..params import ROLES, LinkParams, Role
from ..waits import GONE, wait_for
from . import lookup
from .base import STATUS_CODES, Output, Phase, PhaseContext, PhaseError, Step, Steps, write_once

if TYPE_CHECKING:
    from ..record.picture import LinkView

SIDES: tuple[Role, ...] = ("initiator", "acceptor")

ROUTE_GONE_CODES = frozenset({"InvalidRouteEntry.NotFound", "InvalidRouteEntryId.NotFound"})
RI_GONE_CODES = lookup.RI_NOT_FOUND
# DeleteRouterInterface while a route entry still uses the interface: today's page lists the first
# two codes (2025-03), the older page the third; a route being deleted gives any of them for a moment.
RI_DEPENDENCY = frozenset(
    {
        "RouterInterfaceReferredByRouteEntry",
        "ReferredByRouteEntry.RouterInterface",
        "DependencyViolation.RouterInterfaceReferedByRouteEntry",
    }
)
STABLE = ("Idle", "Active", "Inactive", GONE)


# -- what is left -------------------------------------------------------------------------------
def _our_rules(ctx: PhaseContext, role: Role) -> list[dict[str, Any]]:
    group = lookup.security_group(ctx, role)
    if group is None:
        return []
    return [
        r
        for r in lookup.items(group, "Permissions", "Permission")
        if naming.is_ours(str(r.get("Description", "")), ctx.params.link, role)
    ]


def _our_routes(ctx: PhaseContext, role: Role, ri_id: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(table, entries the runbook made through ``ri_id``, other entries through ``ri_id``)."""
    table = lookup.route_table_id(ctx, role)
    ids = set(ctx.input(f"{role}_route_entry_ids") or [])
    dests = ctx.params.routes.get(role, ())
    ours: list[dict[str, Any]] = []
    foreign: list[dict[str, Any]] = []
    for e in lookup.route_entries(ctx, role, table):
        if ri_id not in lookup.next_hop_ids(e):
            continue
        mine = (
            e.get("RouteEntryId") in ids
            or any(lookup.same_cidr(e.get("DestinationCidrBlock"), d) for d in dests)
            or naming.is_ours(str(e.get("Description", "")), ctx.params.link, role)
        )
        (ours if mine else foreign).append(e)
    return table, ours, foreign


def _interfaces(ctx: PhaseContext) -> dict[Role, dict[str, Any]]:
    return {role: ri for role in ctx.acting(SIDES) if (ri := lookup.router_interface(ctx, role)) is not None}


# -- plan ---------------------------------------------------------------------------------------
def offline(p: LinkParams) -> list[Step]:
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
        target = f"router interface {naming.router_interface_name(p.link, role)}"
        steps.append(Step(role, "DeactivateRouterInterface", target, "modify", "if Active; then wait for Inactive"))
    for role in ROLES:
        target = f"router interface {naming.router_interface_name(p.link, role)}"
        steps.append(Step(role, "DeleteRouterInterface", target, "delete", "then wait until it is gone"))
    return steps


def plan(ctx: PhaseContext) -> list[Step]:
    steps = []
    for role in ctx.acting(SIDES):
        for r in _our_rules(ctx, role):
            steps.append(
                Step(
                    role,
                    "RevokeSecurityGroup",
                    f"security group {ctx.params.side(role).security_group_id}",
                    "delete",
                    f"{r.get('SecurityGroupRuleId')}: {r.get('IpProtocol')} {r.get('PortRange')} "
                    f"from {r.get('SourceCidrIp') or r.get('SourceGroupId')}",
                )
            )
    ris = _interfaces(ctx)
    for role, ri in ris.items():
        table, ours, foreign = _our_routes(ctx, role, ri["RouterInterfaceId"])
        steps += [
            Step(
                role,
                "DeleteRouteEntry",
                f"route {e.get('DestinationCidrBlock')} in {table}",
                "delete",
                str(e.get("RouteEntryId")),
            )
            for e in ours
        ]
        steps += [
            Step(
                role,
                "DeleteRouteEntry",
                f"route {e.get('DestinationCidrBlock')} in {table}",
                "check",
                f"{e.get('RouteEntryId')} uses the link but was not created by vpclink: delete it first",
            )
            for e in foreign
        ]
    live = ("Active", "Connecting", "AcceptingConnecting", "Activating")
    if ris.get("initiator", {}).get("Status") in live:
        steps.append(
            Step(
                "initiator",
                "DeactivateRouterInterface",
                ris["initiator"]["RouterInterfaceId"],
                "modify",
                f"{ris['initiator'].get('Status')}; wait until Inactive",
            )
        )
        if ris.get("acceptor", {}).get("Status") in live:
            steps.append(
                Step(
                    "acceptor",
                    "DescribeRouterInterfaces",
                    ris["acceptor"]["RouterInterfaceId"],
                    "wait",
                    "Inactive with the initiator (deactivated on its own if it stays Active)",
                )
            )
    elif ris.get("acceptor", {}).get("Status") in live:
        steps.append(
            Step(
                "acceptor",
                "DeactivateRouterInterface",
                ris["acceptor"]["RouterInterfaceId"],
                "modify",
                f"{ris['acceptor'].get('Status')}; wait until Inactive",
            )
        )
    for role, ri in ris.items():
        steps.append(Step(role, "DeleteRouterInterface", ri["RouterInterfaceId"], "delete", str(ri.get("Name"))))
    return steps or [Step("initiator", "-", f"link {ctx.params.link}", "skip", "nothing of this link is left")]


# -- apply --------------------------------------------------------------------------------------
def apply(ctx: PhaseContext) -> dict[str, Any]:
    for role in ctx.acting(SIDES):
        _revoke_rules(ctx, role)
    ris = _interfaces(ctx)
    for role, ri in ris.items():
        _delete_routes(ctx, role, ri["RouterInterfaceId"])
    for role in ctx.acting(SIDES):  # the initiator first: deactivating it ends the connection
        if role in ris:
            _deactivate(ctx, role, ris[role]["RouterInterfaceId"])
    for role in ctx.acting(SIDES):
        if role in ris:
            _delete_interface(ctx, role, ris[role]["RouterInterfaceId"])
    return {"teardown_complete": _nothing_left(ctx)}


def _revoke_rules(ctx: PhaseContext, role: Role) -> None:
    rules = _our_rules(ctx, role)
    if not rules:
        return
    side = ctx.params.side(role)
    perms = [
        ecs.RevokeSecurityGroupRequestPermissions(
            ip_protocol=r.get("IpProtocol"),
            port_range=r.get("PortRange"),
            source_cidr_ip=r.get("SourceCidrIp") or None,
            source_group_id=r.get("SourceGroupId") or None,
            source_group_owner_id=int(r["SourceGroupOwnerAccount"])
            if str(r.get("SourceGroupOwnerAccount") or "").isdigit()
            else None,
            policy=str(r.get("Policy") or "accept").lower(),
            nic_type=r.get("NicType") or "intranet",
        )
        for r in rules
    ]
    ids = ",".join(sorted(str(r.get("SecurityGroupRuleId")) for r in rules))
    req = ecs.RevokeSecurityGroupRequest(
        region_id=side.region,
        security_group_id=side.security_group_id,
        permissions=perms,
        client_token=ctx.token(role, f"revoke {ids}"),
    )
    ctx.cloud.call(role, "ecs", "RevokeSecurityGroup", req, mutating=True)


def _delete_routes(ctx: PhaseContext, role: Role, ri_id: str) -> None:
    table, ours, _ = _our_routes(ctx, role, ri_id)
    region = ctx.params.side(role).region
    for e in ours:
        entry_id, dest = str(e.get("RouteEntryId")), str(e.get("DestinationCidrBlock"))
        if e.get("Status") != "Deleting":
            req = vpc.DeleteRouteEntryRequest(region_id=region, route_entry_id=entry_id)
            try:
                # Deleting a given entry twice cannot remove anything else: retrying is safe.
                ctx.cloud.call(role, "vpc", "DeleteRouteEntry", req, mutating=True, idempotent=True)
            except CloudError as err:
                if err.code not in ROUTE_GONE_CODES:
                    raise
        wait_for(
            functools.partial(lookup.route_state, ctx, role, table, dest, ri_id),
            what="route entry",
            resource_id=f"{entry_id} ({dest} in {table})",
            expected=(GONE,),
            timeout=ctx.timeout("route_entry"),
            progress=ctx.progress,
            clock=ctx.cloud.clock,
        )


def _wait_stable(ctx: PhaseContext, role: Role, ri_id: str) -> str:
    return wait_for(
        lambda: lookup.ri_status(ctx, role, ri_id),
        what="router interface",
        resource_id=ri_id,
        expected=STABLE,
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )


def _deactivate(ctx: PhaseContext, role: Role, ri_id: str) -> None:
    if _wait_stable(ctx, role, ri_id) != "Active":
        return
    req = vpc.DeactivateRouterInterfaceRequest(region_id=ctx.params.side(role).region, router_interface_id=ri_id)
    write_once(
        lambda: ctx.cloud.call(role, "vpc", "DeactivateRouterInterface", req, mutating=True),
        lambda: lookup.ri_status(ctx, role, ri_id) in ("Deactivating", "Inactive"),
    )
    wait_for(
        lambda: lookup.ri_status(ctx, role, ri_id),
        what="router interface",
        resource_id=ri_id,
        expected=("Inactive",),
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )


def _delete_interface(ctx: PhaseContext, role: Role, ri_id: str) -> None:
    state = _wait_stable(ctx, role, ri_id)
    if state == GONE:
        return
    if state == "Active":  # the peer's deactivation did not reach this side
        _deactivate(ctx, role, ri_id)
    req = vpc.DeleteRouterInterfaceRequest(
        region_id=ctx.params.side(role).region,
        router_interface_id=ri_id,
        client_token=ctx.token(role, f"delete {ri_id}"),
    )
    try:
        ctx.cloud.call(
            role,
            "vpc",
            "DeleteRouterInterface",
            req,
            mutating=True,
            retry_on=DEFAULT_RETRY_ON | RI_DEPENDENCY | STATUS_CODES,
        )
    except CloudError as e:
        if e.code in RI_DEPENDENCY:
            _, ours, foreign = _our_routes(ctx, role, ri_id)
            uses = ", ".join(f"{x.get('RouteEntryId')} ({x.get('DestinationCidrBlock')})" for x in ours + foreign)
            raise PhaseError(
                f"router interface {ri_id} cannot be deleted: route entries still use it ({uses}); "
                "delete those routes first"
            ) from e
        if e.code not in RI_GONE_CODES:
            raise
    wait_for(
        lambda: lookup.ri_status(ctx, role, ri_id),
        what="router interface",
        resource_id=ri_id,
        expected=(GONE,),
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )


def _nothing_left(ctx: PhaseContext) -> bool:
    if any(_our_rules(ctx, role) for role in ctx.acting(SIDES)):
        return False
    return not _interfaces(ctx)


# -- verify -------------------------------------------------------------------------------------
def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    rows = []
    for role in ctx.acting(SIDES):
        rules = _our_rules(ctx, role)
        ri = lookup.router_interface(ctx, role)
        routes = _our_routes(ctx, role, ri["RouterInterfaceId"])[1] if ri else []
        rows.append(
            {
                "side": role,
                "router_interface": f"{ri['RouterInterfaceId']} ({ri.get('Status')})" if ri else "none",
                "routes_left": len(routes),
                "rules_left": len(rules),
            }
        )
    return rows


# -- the declaration ----------------------------------------------------------------------------
def failure(outputs: Mapping[str, Any]) -> str | None:
    if outputs.get("teardown_complete") is False:
        return "teardown did not remove everything; see the verify table above"
    return None


def concludes(outputs: Mapping[str, Any]) -> tuple[str, str]:
    if outputs.get("teardown_complete"):
        return "torn down", "teardown complete"
    return "failed", "teardown did not complete"


def show(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    """Once the link is removed: nothing of it is left, and no ping can cross."""
    if not outputs.get("teardown_complete"):
        return
    view.connection = "deleted"
    for role in ROLES:
        side = view.side(role)
        if side.endpoint is not None:
            side.endpoint.state = "deleted"
        for section in side.sections:
            for line in section.lines:
                line.state = "removed" if line.state else line.state
    for ping in view.pings:
        ping.result = "link removed"


PHASE = Phase(
    name="teardown",
    number="99",
    title="Teardown: remove the link, in reverse order",
    summary="Removes what the runbook created, and nothing else, in the only order the API allows.",
    why="""each step first reads what is left, so a teardown run twice, or after a partial
teardown, finishes the job and fails on nothing.""",
    kind="remove",
    sides=SIDES,
    inputs=(
        "initiator_router_interface_id",
        "acceptor_router_interface_id",
        "initiator_route_table_id",
        "acceptor_route_table_id",
        "initiator_route_entry_ids",
        "acceptor_route_entry_ids",
    ),
    outputs=(Output("teardown_complete", "whether nothing of the link is left"),),
    steps={
        "router_interface": Steps(
            console="""in each account, delete the security group rules that admit the peer; delete
the route entries whose next hop is the router interface; on the initiator interface, **Deactivate**;
then **Delete** both router interfaces.""",
            api="""`ecs:RevokeSecurityGroup` (the rules this link added, matched by content),
`vpc:DeleteRouteEntry` (waiting until each route is gone: an interface that routes still point to
cannot be deleted), `vpc:DeactivateRouterInterface` (waiting for `Inactive`),
`vpc:DeleteRouterInterface` on both sides (waiting until each is gone).""",
            offline=offline,
            plan=plan,
            apply=apply,
            verify=verify,
        )
    },
    success=failure,
    concludes=concludes,
    show=show,
)
