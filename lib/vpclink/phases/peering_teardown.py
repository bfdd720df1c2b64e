"""The VPC peering backend's teardown: the rules, then the routes through the peering, then the peering.

Rules and routes go as the router-interface backend's teardown removes them (its helpers: by ID and
by the runbook's marks, each route confirmed gone before the next). The peering goes last, because
the API refuses to delete one that routes still point at (``OperationDenied.RouteEntryExist``; vpclink
never uses ``Force``, which would delete routes it did not create). It is deleted by the requester
(account A): with two operators, B removes its rules and routes, and A the peering. Then the teardown
waits until ``GetVpcPeerConnectionAttribute`` says it is gone, and, past the read-lag allowance, that
no list shows anything of the link.
"""

from __future__ import annotations

from typing import Any

from alibabacloud_vpcpeer20220101 import models as peer_api

from ..cloud import CloudError
from ..params import ROLES, LinkParams, Role
from ..waits import GONE, wait_for, wait_while
from .base import PhaseContext, PhaseError, Step, Steps, is_placeholder
from .gone import confirm_gone
from .peering import ACTIVATED, NOT_FOUND, OUTPUT, by_name, registered, status, target

SIDES: tuple[Role, ...] = ("initiator", "acceptor")
DELETABLE = (ACTIVATED, "Accepting", "Rejected", "Expired")
MAX_PASSES = 3
# The peering is busy (another operation on one of its VPCs) or routes still point at it (a route
# being deleted, for a moment): try again.
BUSY = frozenset({"Conflict.Operation", "IncorrectStatus.VpcPeer", "OperationDenied.RouteEntryExist"})


def _connections(ctx: PhaseContext, role: Role) -> list[str]:
    """The link's peering IDs ``role``'s account can see: recorded, registered, and by name."""
    ids = [ctx.input(OUTPUT), registered(ctx)]
    shown = by_name(ctx, role) if role in ctx.cloud.sides else None
    if shown is not None:
        ids.append(shown["InstanceId"])
    return list(dict.fromkeys(str(i) for i in ids if i and not is_placeholder(i)))


def offline(p: LinkParams) -> list[Step]:
    steps = [
        Step(role, "RevokeSecurityGroup", p.side(role).security_group_id, "delete", "the rules this link added")
        for role in ROLES
    ]
    for role in ROLES:
        for dest in p.routes.get(role, ()):
            steps.append(Step(role, "DeleteRouteEntry", f"route to {dest}", "delete", "then wait until it is gone"))
    steps.append(Step("initiator", "DeleteVpcPeerConnection", target(p), "delete", "by the requester; wait until gone"))
    return steps


def plan(ctx: PhaseContext) -> list[Step]:
    from .teardown import _our_routes, _our_rules

    steps = []
    acting = ctx.acting(SIDES)
    for role in acting:
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
    ids = {role: _connections(ctx, role) for role in acting}
    for role in acting:
        if not ids[role]:
            continue
        table, ours, foreign = _our_routes(ctx, role, ids[role])
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
                f"{e.get('RouteEntryId')} uses the peering but was not created by vpclink: delete it first",
            )
            for e in foreign
        ]
    if "initiator" in acting:
        for pcc in ids["initiator"]:
            state = status(ctx, "initiator", pcc)
            if state != GONE:
                steps.append(Step("initiator", "DeleteVpcPeerConnection", pcc, "delete", f"{state}; wait until gone"))
    return steps or [Step(acting[0], "-", f"link {ctx.params.link}", "skip", "nothing of this link is left")]


def apply(ctx: PhaseContext) -> dict[str, Any]:
    """Remove the link's rules, routes and peering; see the module docstring."""
    from .teardown import Sweep, _recorded_routes

    acting = ctx.acting(SIDES)
    sweep = Sweep(
        began=ctx.cloud.clock.now(),
        recorded=bool(ctx.input(OUTPUT) or registered(ctx)) or any(_recorded_routes(ctx, r) for r in acting),
    )
    left: list[str] = []
    with ctx.exclusive(*acting):
        for n in range(MAX_PASSES):
            before = sweep.removed
            _remove_everything(ctx, sweep)
            if n and sweep.removed == before:
                return {"teardown_complete": True}
            left = _left_after_lag(ctx, sweep)
            if not left:
                return {"teardown_complete": True}
    raise PhaseError(
        f"teardown of link {ctx.params.link} is not complete: after {MAX_PASSES} passes, reads still show "
        f"{'; '.join(left)}. They may remain (and cost money): run teardown again, or delete them in the console"
    )


def _remove_everything(ctx: PhaseContext, sweep: Any) -> None:
    from .teardown import _delete_routes, _revoke_rules

    acting = ctx.acting(SIDES)
    for role in acting:
        _revoke_rules(ctx, role, sweep)
    ids = {role: _connections(ctx, role) for role in acting}
    for role in acting:
        _delete_routes(ctx, role, ids[role], sweep)
    if "initiator" not in acting:
        for pcc in ids["acceptor"]:
            ctx.outcome(
                "acceptor",
                "DeleteVpcPeerConnection",
                f"VPC peering connection {pcc}",
                "skipped",
                pcc,
                "account A (the requester) deletes it, once this side's routes are gone",
            )
        return
    for pcc in ids["initiator"]:
        _delete_connection(ctx, pcc, sweep)


def _delete_connection(ctx: PhaseContext, pcc: str, sweep: Any) -> None:
    """Delete the peering by ID (never ``Force``), then wait until a read by ID says it is gone."""
    state = wait_for(
        lambda: status(ctx, "initiator", pcc),
        what="VPC peering connection",
        resource_id=pcc,
        expected=(*DELETABLE, "Deleting", GONE),
        timeout=ctx.timeout("vpc_peer"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        goal="settled (it cannot be deleted while Creating or Updating)",
    )
    if state not in ("Deleting", GONE):
        _send_delete(ctx, pcc, sweep)
    confirm_gone(
        ctx,
        "initiator",
        sweep,
        first=state,
        probe=lambda: status(ctx, "initiator", pcc),
        timeout=ctx.timeout("vpc_peer"),
        what="VPC peering connection",
        action="DeleteVpcPeerConnection",
        target=f"VPC peering connection {pcc}",
        resource_id=pcc,
        answered_by="GetVpcPeerConnectionAttribute",
    )


def _send_delete(ctx: PhaseContext, pcc: str, sweep: Any) -> None:
    """``DeleteVpcPeerConnection``, repeated while the API says it is busy; an answer lost or a
    refusal because it is on its way out already is judged by the state. Refused because routes
    point at it, it deletes this link's routes through it that its lists did not show before."""
    from .teardown import _delete_routes_in_the_way, _our_routes

    req = peer_api.DeleteVpcPeerConnectionRequest(instance_id=pcc)

    def attempt() -> str:
        try:
            # Deleting a given connection cannot remove anything else: repeating it is safe.
            ctx.cloud.call("initiator", "vpcpeer", "DeleteVpcPeerConnection", req, mutating=True, idempotent=True)
        except CloudError as e:
            if e.code in NOT_FOUND:
                return GONE
            if e.code == "OperationDenied.RouteEntryExist":
                listed = {role: _our_routes(ctx, role, [pcc]) for role in ctx.acting(SIDES)}
                if any(foreign for _, _, foreign in listed.values()):
                    raise PhaseError(
                        f"VPC peering connection {pcc} cannot be deleted: route entries vpclink "
                        f"did not create point at it ({e}); delete those routes first, then run teardown again"
                    ) from e
                deleted = [
                    _delete_routes_in_the_way(ctx, role, pcc, table, ours, sweep)
                    for role, (table, ours, _) in listed.items()
                ]
                return "routes deleted now" if any(deleted) else "routes being deleted"
            if e.code in BUSY:
                now = status(ctx, "initiator", pcc)
                return now if now in ("Deleting", GONE) else "busy"
            raise
        return "Deleting"

    wait_for(
        attempt,
        what="VPC peering connection",
        resource_id=pcc,
        expected=("Deleting", GONE),
        timeout=ctx.timeout("vpc_peer"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        goal="being deleted (DeleteVpcPeerConnection accepted)",
    )


def _left_after_lag(ctx: PhaseContext, sweep: Any) -> list[str]:
    """What reads show of the link once they cannot be older than ``sweep.fresh_from()``."""
    from .teardown import _our_routes, _our_rules

    since = sweep.fresh_from()
    if since is not None:
        allowance = ctx.lag_allowance()
        wait_while(
            lambda: "reads may lag" if ctx.cloud.clock.now() - since < allowance else "reads are fresh",
            pending=("reads may lag",),
            what=f"link {ctx.params.link}",
            resource_id="(all its resources)",
            timeout=allowance,
            progress=ctx.progress,
            clock=ctx.cloud.clock,
            goal=f"past the read-lag allowance ({allowance:g} s) before trusting that nothing is left",
            began=since,
        )
    left = []
    for role in ctx.acting(SIDES):
        left += [f"{role} rule {r.get('SecurityGroupRuleId')}" for r in _our_rules(ctx, role)]
        shown = by_name(ctx, role)
        if shown is not None and shown.get("Status") != "Deleted":
            pcc = str(shown["InstanceId"])
            if role == "initiator":
                left.append(f"VPC peering connection {pcc} ({shown.get('Status')})")
            _, ours, foreign = _our_routes(ctx, role, [pcc])
            left += [f"{role} route {e.get('RouteEntryId')} ({e.get('DestinationCidrBlock')})" for e in ours + foreign]
    for role in ctx.acting(SIDES):
        ctx.outcome(
            role, "-", f"link {ctx.params.link}, {role} side", "checked", "", "nothing left" if not left else "not yet"
        )
    return left


def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    from .teardown import _our_routes, _our_rules

    rows = []
    for role in ctx.acting(SIDES):
        shown = by_name(ctx, role)
        pcc = str(shown["InstanceId"]) if shown else ""
        rows.append(
            {
                "side": role,
                "peer_connection": f"{pcc} ({shown.get('Status')})" if shown else "none",
                "routes_left": len(_our_routes(ctx, role, [pcc])[1]) if pcc else 0,
                "rules_left": len(_our_rules(ctx, role)),
            }
        )
    return rows


def steps(*, console: str, api: str) -> Steps:
    return Steps(console=console, api=api, offline=offline, plan=plan, apply=apply, verify=verify)
