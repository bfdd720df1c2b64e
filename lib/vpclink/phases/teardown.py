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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_vpc20160428 import models as vpc

from .. import limits, naming
from ..cloud import CloudError
from ..params import ROLES, LinkParams, Role
from ..waits import GONE, wait_for, wait_while
from . import lookup, peering, peering_teardown
from .base import STATUS_CODES, Output, Phase, PhaseContext, PhaseError, Step, Steps, is_placeholder, write_once
from .gone import confirm_gone

if TYPE_CHECKING:
    from ..record.picture import LinkView

SIDES: tuple[Role, ...] = ("initiator", "acceptor")

# DeleteRouteEntry naming an entry that does not exist: by ID, or by table, destination and next hop
# ("InvalidRouteEntry": "Specified routeEntry not exist.", the action's metadata).
ROUTE_GONE_CODES = frozenset({"InvalidRouteEntry.NotFound", "InvalidRouteEntryId.NotFound", "InvalidRouteEntry"})
# DeleteRouteEntry while the table is changing (this entry being deleted, or another one).
ROUTE_BUSY_CODES = frozenset({"IncorrectRouteEntryStatus", "TaskConflict", "OperationConflict"})
# RevokeSecurityGroup by SecurityGroupRuleId.N naming a rule that does not exist (since 2024-07-08).
RULE_GONE_CODES = frozenset({"InvalidParam.SecurityGroupRuleId", "InvalidSecurityGroupRuleId.NotFound"})
NO_RETRY: frozenset[str] = frozenset()  # throttling is still retried (retries.retry_reason)
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


def _our_routes(
    ctx: PhaseContext, role: Role, ri_ids: str | list[str]
) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(table, entries the runbook made through this link's interface(s), other entries through them)."""
    hops = {ri_ids} if isinstance(ri_ids, str) else set(ri_ids)
    table = lookup.route_table_id(ctx, role)
    ids = set(_recorded_routes(ctx, role))
    dests = ctx.params.routes.get(role, ())
    ours: list[dict[str, Any]] = []
    foreign: list[dict[str, Any]] = []
    for e in lookup.route_entries(ctx, role, table):
        if not hops & set(lookup.next_hop_ids(e)):
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


def _recorded_interfaces(ctx: PhaseContext, role: Role) -> list[str]:
    """The interface IDs a run recorded (its outputs) or this machine noted (the register)."""
    from .interfaces import STEP

    ids = [ctx.input(f"{role}_router_interface_id"), ctx.register(role).get(STEP).get("id")]
    return list(dict.fromkeys(str(i) for i in ids if i and not is_placeholder(i)))


def _recorded_routes(ctx: PhaseContext, role: Role) -> list[str]:
    ids = [str(i) for i in ctx.input(f"{role}_route_entry_ids") or []]
    ids += [i for step, i in ctx.register(role).ids().items() if step.startswith("route ")]
    return list(dict.fromkeys(ids))


def _recorded_rules(ctx: PhaseContext, role: Role) -> list[str]:
    return [str(i) for i in ctx.input(f"{role}_rule_ids") or []]


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
@dataclass
class Sweep:
    """One teardown: when it began, its last delete, and whether a record said what to delete."""

    began: float
    recorded: bool
    last_delete: float | None = None
    removed: int = 0

    def deleted(self, ctx: PhaseContext) -> None:
        self.last_delete = ctx.cloud.clock.now()
        self.removed += 1

    def fresh_from(self) -> float | None:
        """The moment a list must reflect before its silence proves absence: the last delete, or,
        without a record, the teardown's start (a resource created just before may not show yet)."""
        if self.last_delete is not None:
            return self.last_delete
        return None if self.recorded else self.began


MAX_PASSES = 3


def apply(ctx: PhaseContext) -> dict[str, Any]:
    """Remove the link; true only once reads that are not older than the deletes show nothing left.

    Each side's rules, routes and interface are deleted by ID: the IDs the run recorded, those this
    machine's register noted, and those a read shows. A delete's answer is authoritative (a write sees
    the present; a describe may lag): "not found" means gone. Each deleted route and interface is
    confirmed gone by the API itself (its delete, repeated, answers "not found"). Then teardown waits
    until its reads cannot be older than its last delete (the read-lag allowance) and reads again:
    anything of the link still shown (another run's, say) is removed in another pass, and a pass whose
    deletes all answer "not found" proves that the reads showed the past; after ``MAX_PASSES`` it fails
    naming what remains. A teardown from parameters alone, with no record of IDs, waits the same
    allowance from its start before a read that shows nothing counts. An interface whose delete is
    refused because a route still uses it, after this pass deleted every route its lists showed, has
    the link's routes through it deleted there and then (``_delete_routes_in_the_way``): a list that
    lags hid them, and no one else would delete them.
    """
    acting = ctx.acting(SIDES)
    sweep = Sweep(
        began=ctx.cloud.clock.now(),
        recorded=any(_recorded_interfaces(ctx, r) or _recorded_routes(ctx, r) for r in acting),
    )
    with ctx.exclusive(*acting):
        for n in range(MAX_PASSES):
            before = sweep.removed
            _remove_everything(ctx, sweep)
            if n and sweep.removed == before:
                # every resource the last reads showed was answered "not found" by its delete: those
                # reads were older than the deletes, and the API itself says nothing is left
                return {"teardown_complete": True}
            left = _left_after_lag(ctx, sweep)
            if not left:
                return {"teardown_complete": True}
        raise PhaseError(
            f"teardown of link {ctx.params.link} is not complete: after {MAX_PASSES} passes, reads still show "
            f"{'; '.join(left)}. They may remain (and cost money): run teardown again, or delete them in the console"
        )


def _remove_everything(ctx: PhaseContext, sweep: Sweep) -> None:
    acting = ctx.acting(SIDES)
    interfaces: dict[Role, list[str]] = {}
    for role in acting:
        _revoke_rules(ctx, role, sweep)
    for role in acting:
        shown = lookup.router_interface_by_name(ctx, role)
        found = _recorded_interfaces(ctx, role) + ([str(shown["RouterInterfaceId"])] if shown else [])
        interfaces[role] = list(dict.fromkeys(found))
        _delete_routes(ctx, role, interfaces[role], sweep)
    for role in acting:  # the initiator first: deactivating it ends the connection
        for ri_id in interfaces[role]:
            _deactivate(ctx, role, ri_id)
    for role in acting:
        for ri_id in interfaces[role]:
            _delete_interface(ctx, role, ri_id, sweep)


def _left_after_lag(ctx: PhaseContext, sweep: Sweep) -> list[str]:
    """What reads show of the link once they cannot be older than ``sweep.fresh_from()``."""
    since = sweep.fresh_from()
    if since is not None:
        allowance = ctx.lag_allowance()
        ready = "reads reflect the deletes" if sweep.last_delete is not None else "reads show everything"
        wait_while(
            lambda: "reads may lag" if ctx.cloud.clock.now() - since < allowance else ready,
            pending=("reads may lag",),
            what=f"link {ctx.params.link}",
            resource_id="(all its resources)",
            timeout=allowance,
            progress=ctx.progress,
            clock=ctx.cloud.clock,
            goal=f"past the read-lag allowance ({allowance:g} s) before trusting that nothing is left",
            began=since,
        )
        ctx.outcome(
            ctx.acting(SIDES)[0],
            "-",
            f"link {ctx.params.link}",
            "waited",
            "",
            f"{allowance:g} s of read lag, so that a read showing nothing proves nothing is left",
        )
    left = []
    for role in ctx.acting(SIDES):
        left += [f"{role} rule {r.get('SecurityGroupRuleId')}" for r in _our_rules(ctx, role)]
        ri = lookup.router_interface_by_name(ctx, role)
        if ri is not None:
            left.append(f"{role} router interface {ri.get('RouterInterfaceId')} ({ri.get('Status')})")
            _, ours, foreign = _our_routes(ctx, role, str(ri["RouterInterfaceId"]))
            left += [f"{role} route {e.get('RouteEntryId')} ({e.get('DestinationCidrBlock')})" for e in ours + foreign]
    for role in ctx.acting(SIDES):
        ctx.outcome(
            role, "-", f"link {ctx.params.link}, {role} side", "checked", "", "nothing left" if not left else "not yet"
        )
    return left


def _revoke_rules(ctx: PhaseContext, role: Role, sweep: Sweep) -> None:
    """Revoke this link's rules by ID: the ones a read of the group shows with the link's marks, and
    the recorded ones the read does not show (a lagging read); an unknown ID is already gone."""
    shown = _our_rules(ctx, role)
    group = lookup.security_group(ctx, role)
    visible = {str(r.get("SecurityGroupRuleId")) for r in lookup.items(group or {}, "Permissions", "Permission")}
    ours = {str(r.get("SecurityGroupRuleId")): r for r in shown}
    hidden = [i for i in _recorded_rules(ctx, role) if i not in visible]
    ids = list(ours) + hidden
    if not ids or group is None:
        return
    side = ctx.params.side(role)
    target = f"security group {side.security_group_id}"

    def revoke(batch: list[str]) -> None:
        req = ecs.RevokeSecurityGroupRequest(
            region_id=side.region, security_group_id=side.security_group_id, security_group_rule_id=batch
        )
        # Revoking given rule IDs cannot remove anything else: repeating it after a lost answer is safe.
        ctx.cloud.call(role, "ecs", "RevokeSecurityGroup", req, mutating=True, idempotent=True)

    for batch in limits.batches(ids):
        try:
            revoke(list(batch))
            done = {i: "deleted" for i in batch}
        except CloudError as e:
            if e.code not in RULE_GONE_CODES:
                raise
            done = {}
            for rule_id in batch:  # one at a time: which of them are gone already
                try:
                    revoke([rule_id])
                    done[rule_id] = "deleted"
                except CloudError as one:
                    if one.code not in RULE_GONE_CODES:
                        raise
                    done[rule_id] = "already gone"
        for rule_id, outcome in done.items():
            rule = ours.get(rule_id, {})
            label = f"{rule.get('IpProtocol', '')} {rule.get('PortRange', '')} from " + str(
                rule.get("SourceCidrIp") or rule.get("SourceGroupId") or "?"
            )
            ctx.outcome(role, "RevokeSecurityGroup", target, outcome, rule_id, label if rule else "recorded rule")
            if outcome == "deleted":
                sweep.deleted(ctx)


def _delete_routes(ctx: PhaseContext, role: Role, ri_ids: list[str], sweep: Sweep) -> None:
    """Delete this link's routes through ``ri_ids`` by ID (recorded, and shown by the table's list),
    each confirmed gone by the API before the next: a route table takes one change at a time."""
    table, ours, foreign = _our_routes(ctx, role, ri_ids) if ri_ids else (lookup.route_table_id(ctx, role), [], [])
    entries = {str(e.get("RouteEntryId")): e for e in ours}
    for entry_id in _recorded_routes(ctx, role):
        entries.setdefault(entry_id, {"RouteEntryId": entry_id})
    for entry_id, e in entries.items():
        _delete_route(ctx, role, table, sweep, entry_id=entry_id, dest=e.get("DestinationCidrBlock"))
    if foreign:
        uses = ", ".join(f"{x.get('RouteEntryId')} ({x.get('DestinationCidrBlock')})" for x in foreign)
        raise PhaseError(
            f"route entries that vpclink did not create use this link's {role} router interface ({uses}); "
            "delete them first (vpclink never removes what it did not create), then run teardown again"
        )


def _delete_routes_in_the_way(
    ctx: PhaseContext, role: Role, hop: str, table: str, shown: list[dict[str, Any]], sweep: Sweep
) -> bool:
    """The API refused to delete ``hop`` (a router interface or a peering) because a route uses it,
    after this pass deleted every route its lists showed: a list that lags hid the route, and nobody
    else will delete it. Delete this link's routes through ``hop`` now: those a list shows (``shown``,
    by ID), and each destination of ``routes.<role>`` named with ``hop`` as its next hop (a write sees
    the present; the list may still lag). Whether any was there."""
    found = False
    for e in shown:
        found |= _delete_route(
            ctx, role, table, sweep, entry_id=str(e.get("RouteEntryId")), dest=e.get("DestinationCidrBlock")
        )
    for dest in ctx.params.routes.get(role, ()):
        if not any(lookup.same_cidr(e.get("DestinationCidrBlock"), dest) for e in shown):
            found |= _delete_route(ctx, role, table, sweep, dest=dest, via=hop)
    return found


def _delete_route(
    ctx: PhaseContext,
    role: Role,
    table: str,
    sweep: Sweep,
    *,
    entry_id: str = "",
    dest: str | None = None,
    via: str = "",
) -> bool:
    """Delete one route, named by ``entry_id``, or by ``table``, ``dest`` and next hop ``via`` (no read
    showed its ID), and wait until DeleteRouteEntry itself answers that it does not exist. Whether it
    was there."""
    region = ctx.params.side(role).region
    target = f"route {dest or 'recorded route'} in {table}"
    if entry_id:
        req = vpc.DeleteRouteEntryRequest(region_id=region, route_entry_id=entry_id)
        named = f"{entry_id} ({dest or 'recorded route'} in {table})"
        detail = "confirmed gone by the API"
    else:
        req = vpc.DeleteRouteEntryRequest(
            region_id=region, route_table_id=table, destination_cidr_block=dest, next_hop_id=via
        )
        named = f"to {dest} via {via} in {table}"
        detail = f"through {via}, which no list showed yet; confirmed gone by the API"

    def probe() -> str:
        try:
            # Deleting a given entry cannot remove anything else: repeating it is safe. No retry of
            # "busy" here: the probe itself is repeated until the entry is gone.
            ctx.cloud.call(role, "vpc", "DeleteRouteEntry", req, mutating=True, idempotent=True, retry_on=NO_RETRY)
        except CloudError as err:
            if err.code in ROUTE_GONE_CODES:
                return GONE
            if err.code in ROUTE_BUSY_CODES:
                return "Deleting"
            raise
        return "Deleting"

    return confirm_gone(
        ctx,
        role,
        sweep,
        first=probe(),  # the first delete
        probe=probe,
        timeout=ctx.timeout("route_entry"),
        what="route entry",
        action="DeleteRouteEntry",
        target=target,
        resource_id=entry_id,
        shown_as=named,
        detail=detail,
    )


def _status(ctx: PhaseContext, role: Role, ri_id: str) -> str:
    return lookup.ri_status(ctx, role, ri_id)


def _deactivate(ctx: PhaseContext, role: Role, ri_id: str) -> None:
    state = wait_for(
        lambda: _status(ctx, role, ri_id),
        what="router interface",
        resource_id=ri_id,
        expected=STABLE,
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )
    if state != "Active":
        return
    req = vpc.DeactivateRouterInterfaceRequest(region_id=ctx.params.side(role).region, router_interface_id=ri_id)
    try:
        write_once(
            lambda: ctx.cloud.call(role, "vpc", "DeactivateRouterInterface", req, mutating=True),
            lambda: _status(ctx, role, ri_id) in ("Deactivating", "Inactive"),
        )
    except CloudError as e:
        if e.code in RI_GONE_CODES:  # a read that lags showed an interface that is gone already
            return
        raise
    state = wait_for(
        lambda: _status(ctx, role, ri_id),
        what="router interface",
        resource_id=ri_id,
        expected=("Inactive",),
        timeout=ctx.timeout("router_interface"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
    )
    ctx.outcome(role, "DeactivateRouterInterface", f"router interface {ri_id}", "changed", ri_id, state)


def _delete_interface(ctx: PhaseContext, role: Role, ri_id: str, sweep: Sweep) -> None:
    """Delete the interface by ID and wait until DeleteRouterInterface itself answers that it does not
    exist (a describe may lag; the write sees the present)."""
    region = ctx.params.side(role).region
    target = f"router interface {ri_id}"
    attempts = [0]

    def probe() -> str:
        attempts[0] += 1
        req = vpc.DeleteRouterInterfaceRequest(region_id=region, router_interface_id=ri_id)
        try:
            ctx.cloud.call(role, "vpc", "DeleteRouterInterface", req, mutating=True, idempotent=True, retry_on=NO_RETRY)
        except CloudError as e:
            if e.code in RI_GONE_CODES:
                return GONE
            if e.code in RI_DEPENDENCY:
                table, ours, foreign = _our_routes(ctx, role, ri_id)
                if foreign:
                    uses = ", ".join(f"{x.get('RouteEntryId')} ({x.get('DestinationCidrBlock')})" for x in foreign)
                    raise PhaseError(
                        f"router interface {ri_id} cannot be deleted: route entries vpclink did not create use it "
                        f"({uses}); delete those routes first"
                    ) from e
                if _delete_routes_in_the_way(ctx, role, ri_id, table, ours, sweep):
                    return "used by a route, deleted now"
                return "used by a route being deleted"
            if e.code in STATUS_CODES:
                state = _status(ctx, role, ri_id)
                if state == "Active":  # the peer's deactivation did not reach this side
                    _deactivate(ctx, role, ri_id)
                return state if state != GONE else "not deletable yet"
            raise
        return "Deleting"

    confirm_gone(
        ctx,
        role,
        sweep,
        first=probe(),  # the first delete
        probe=probe,
        timeout=ctx.timeout("router_interface"),
        what="router interface",
        action="DeleteRouterInterface",
        target=target,
        resource_id=ri_id,
    )


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
        peering.OUTPUT,
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
        ),
        "vpc_peer": peering_teardown.steps(
            console="""in each account, delete the security group rules that admit the peer and the
route entries whose next hop is the peering connection; then, in account A, *VPC > VPC Peering
Connections*, **Delete** the connection (`vpclink-<link>`).""",
            api="""`ecs:RevokeSecurityGroup` (the rules this link added), `vpc:DeleteRouteEntry` (each
route through the peering, waiting until it is gone: a peering that routes point at cannot be
deleted), then `vpcpeer:DeleteVpcPeerConnection` in account A (never `Force`) and
`vpcpeer:GetVpcPeerConnectionAttribute` until it is gone.""",
        ),
    },
    success=failure,
    concludes=concludes,
    show=show,
)
