"""The VPC peering backend's steps of the initiator, acceptor and connect phases.

- initiator (account A): ``CreateVpcPeerConnection`` from VPC1 to account B's VPC2, unless this link's
  connection exists (by ID, then by name); the ClientToken is the link's own, the same for every run,
  so that runs at once, or a retry after a lost answer, end with one connection
  (``converge.create_once``). Then it waits until the connection has left ``Creating``.
- acceptor (account B): ``AcceptVpcPeerConnection`` of the connection A's card (or output) names, when
  it is ``Accepting``; nothing when it is ``Updating`` or ``Activated`` already.
- connect (both): wait until the connection is ``Activated``, as each side sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alibabacloud_vpcpeer20220101 import models as peer_api

from .. import naming
from ..cloud import CloudError
from ..params import LinkParams, Role
from ..waits import GONE, WaitFailed
from . import converge
from .base import PhaseContext, PhaseError, Step, Steps, WaitingForPeer
from .peering import (
    ACCEPTING,
    ACTIVATED,
    DEAD,
    OUTPUT,
    RETRY_ON,
    STEP,
    bandwidth,
    by_name,
    check_found,
    connection_id,
    find,
    peer_uid,
    refuse_dead,
    status,
    target,
    wait_state,
)

if TYPE_CHECKING:
    from ..record.picture import LinkView

STATUS_REFUSED = "IncorrectStatus.VpcPeer"  # the connection is not in the state the action needs
# Waiting out "Creating": where a request lands once created (Activated at once within one account).
REQUESTED = (ACCEPTING, "Updating", ACTIVATED)


# -- initiator: request the peering ---------------------------------------------------------------
def create_request(ctx: PhaseContext, token: str | None = None) -> peer_api.CreateVpcPeerConnectionRequest:
    p = ctx.params
    return peer_api.CreateVpcPeerConnectionRequest(
        region_id=p.initiator.region,
        vpc_id=p.initiator.vpc_id,
        accepting_ali_uid=int(peer_uid(ctx)),
        accepting_region_id=p.acceptor.region,
        accepting_vpc_id=p.acceptor.vpc_id,
        name=naming.vpc_peer_name(p.link),
        description=naming.vpc_peer_description(p.link),
        bandwidth=bandwidth(p),
        client_token=token,
    )


def _request_detail(p: LinkParams) -> str:
    bw = bandwidth(p)
    where = "within one region (free, no bandwidth)" if p.same_region else f"to {p.acceptor.region}"
    return (
        f"{p.initiator.vpc_id} to {p.acceptor.vpc_id} of account B {where}"
        + (f", {bw} Mbps" if bw else "")
        + ", ClientToken from the link (the same for every run)"
    )


def offline_initiator(p: LinkParams) -> list[Step]:
    t = target(p)
    return [
        Step("initiator", "ListVpcPeerConnections", t, "check", "found by ID or by name: requested only if missing"),
        Step("initiator", "CreateVpcPeerConnection", t, "create", _request_detail(p)),
        Step(
            "initiator",
            "GetVpcPeerConnectionAttribute",
            t,
            "wait",
            f"until Accepting (at most {p.timeouts.vpc_peer:g} s)",
        ),
    ]


def plan_initiator(ctx: PhaseContext) -> list[Step]:
    t = target(ctx.params)
    found = find(ctx, "initiator")
    if found is not None and found.get("Status") not in ("Deleting", *DEAD):
        return [Step("initiator", "CreateVpcPeerConnection", t, "exists", f"{found['InstanceId']} ({found['Status']})")]
    steps = []
    if found is not None:
        steps.append(
            Step(
                "initiator",
                "GetVpcPeerConnectionAttribute",
                str(found["InstanceId"]),
                "wait" if found.get("Status") == "Deleting" else "check",
                "being deleted; wait until gone"
                if found.get("Status") == "Deleting"
                else f"{found.get('Status')}: run teardown first, then request a new one",
            )
        )
    steps += [
        Step("initiator", "CreateVpcPeerConnection", t, "create", _request_detail(ctx.params)),
        Step("initiator", "GetVpcPeerConnectionAttribute", t, "wait", "until Accepting"),
    ]
    return steps


def apply_initiator(ctx: PhaseContext) -> dict[str, Any]:
    """The link's connection ID, requested when missing, and past ``Creating``. Under the side's
    lock: found by ID, then by name; else the shared ClientToken finds the one another run created,
    or creates it."""
    t = target(ctx.params)
    with ctx.exclusive("initiator"):
        found = find(ctx, "initiator")
        if found is not None and found.get("Status") == "Deleting":
            pcc = str(found["InstanceId"])
            wait_state(ctx, "initiator", pcc, (GONE,), failed=())
            ctx.outcome("initiator", "GetVpcPeerConnectionAttribute", t, "waited", pcc, "gone")
            found = None
        if found is not None:
            check_found(ctx, found)
            refuse_dead(found, ctx.params.link)
            pcc = str(found["InstanceId"])
            ctx.outcome("initiator", "CreateVpcPeerConnection", t, "already there", pcc, str(found.get("Status")))
        else:
            made = converge.create_once(
                ctx,
                "initiator",
                STEP,
                send=lambda token: str(
                    ctx.cloud.call(
                        "initiator",
                        "vpcpeer",
                        "CreateVpcPeerConnection",
                        create_request(ctx, token),
                        mutating=True,
                        retry_on=RETRY_ON,
                    )["InstanceId"]
                ),
                state=lambda pcc_id: status(ctx, "initiator", pcc_id),
                find=lambda: (by_name(ctx, "initiator") or {}).get("InstanceId"),
                what="VPC peering connection",
            )
            pcc = made.resource_id
            ctx.outcome(
                "initiator",
                "CreateVpcPeerConnection",
                t,
                "created" if made.created else "already there",
                pcc,
                _request_detail(ctx.params)
                if made.created
                else "created by another run of this link (its ClientToken answered with it)",
            )
    try:
        state = wait_state(ctx, "initiator", pcc, REQUESTED)
    except WaitFailed as e:
        raise PhaseError(
            f"{e}. Run teardown if it was rejected or expired, then this phase again to request a new one"
        ) from e
    ctx.outcome("initiator", "GetVpcPeerConnectionAttribute", t, "waited", pcc, state)
    return {OUTPUT: pcc}


# -- acceptor: accept it ----------------------------------------------------------------------------
def offline_acceptor(p: LinkParams) -> list[Step]:
    t = target(p)
    return [
        Step("acceptor", "GetVpcPeerConnectionAttribute", t, "check", "by the ID from account A (its output or card)"),
        Step("acceptor", "AcceptVpcPeerConnection", t, "connect", "if Accepting: account B accepts A's request"),
    ]


def plan_acceptor(ctx: PhaseContext) -> list[Step]:
    pcc = connection_id(ctx, "acceptor", planning=True)
    state = status(ctx, "acceptor", pcc) if pcc.startswith("pcc-") else "not requested yet"
    if state in ("Updating", ACTIVATED):
        return [Step("acceptor", "AcceptVpcPeerConnection", pcc, "exists", f"accepted ({state})")]
    return [Step("acceptor", "AcceptVpcPeerConnection", pcc, "connect", f"{state}: accept A's request")]


def apply_acceptor(ctx: PhaseContext) -> dict[str, Any]:
    pcc = connection_id(ctx, "acceptor")
    t = f"VPC peering connection {pcc}"
    with ctx.exclusive("acceptor"):
        try:
            state = wait_state(ctx, "acceptor", pcc, REQUESTED)
        except WaitFailed as e:
            if e.reached == GONE:
                raise PhaseError(
                    f"{e}. Account B does not see VPC peering connection {pcc}: check the ID from account A's card, "
                    "and that A requested it for this account's UID"
                ) from e
            raise
        found = ctx.cloud.call(
            "acceptor",
            "vpcpeer",
            "GetVpcPeerConnectionAttribute",
            peer_api.GetVpcPeerConnectionAttributeRequest(instance_id=pcc),
            mutating=False,
        )
        check_found(ctx, found)
        if state == ACCEPTING:
            # The ClientToken names this connection: a repeated Accept of it is answered, not made twice.
            token = ctx.token("acceptor", f"accept {pcc}")
            req = peer_api.AcceptVpcPeerConnectionRequest(instance_id=pcc, client_token=token)
            try:
                ctx.cloud.call("acceptor", "vpcpeer", "AcceptVpcPeerConnection", req, mutating=True, retry_on=RETRY_ON)
            except CloudError as e:
                # Refused because it is no longer Accepting: accepted by another run of this side? Judged by
                # the state it is in now (a write sees the present).
                if e.code != STATUS_REFUSED or status(ctx, "acceptor", pcc) not in ("Updating", ACTIVATED):
                    raise
                ctx.outcome("acceptor", "AcceptVpcPeerConnection", t, "already there", pcc, "accepted by another run")
            else:
                ctx.outcome("acceptor", "AcceptVpcPeerConnection", t, "changed", pcc, "accepted")
        else:
            ctx.outcome("acceptor", "AcceptVpcPeerConnection", t, "already there", pcc, state)
    return {}


# -- connect: both sides until Activated ------------------------------------------------------------
CONNECT_SIDES: tuple[Role, ...] = ("acceptor", "initiator")
ROLE_LETTERS: tuple[tuple[Role, str], ...] = (("initiator", "A"), ("acceptor", "B"))


def offline_connect(p: LinkParams) -> list[Step]:
    return [
        Step(role, "GetVpcPeerConnectionAttribute", target(p), "wait", f"until Activated (as account {a} sees it)")
        for role, a in ROLE_LETTERS
    ]


def plan_connect(ctx: PhaseContext) -> list[Step]:
    steps = []
    for role in ctx.acting(CONNECT_SIDES):
        pcc = connection_id(ctx, role, planning=True)
        state = status(ctx, role, pcc) if pcc.startswith("pcc-") else "not requested yet"
        intent = "exists" if state == ACTIVATED else "wait"
        steps.append(Step(role, "GetVpcPeerConnectionAttribute", pcc, intent, f"{state}; until Activated"))
    return steps


def apply_connect(ctx: PhaseContext) -> dict[str, Any]:
    state = ""
    for role in ctx.acting(CONNECT_SIDES):
        pcc = connection_id(ctx, role)
        now = status(ctx, role, pcc)
        if now == ACCEPTING and role == "initiator" and ctx.side == "initiator":
            raise WaitingForPeer(
                f"VPC peering connection {pcc} is Accepting: account B's operator has not accepted it yet. Next, "
                f"account B's operator runs the acceptor phase with this side's peer card (it carries {OUTPUT})"
            )
        if now == ACCEPTING:
            raise PhaseError(f"VPC peering connection {pcc} is Accepting: run the acceptor phase first (B accepts it)")
        state = wait_state(ctx, role, pcc, (ACTIVATED,))
        ctx.outcome(role, "GetVpcPeerConnectionAttribute", f"VPC peering connection {pcc}", "waited", pcc, state)
    return {"connection_status": state}


def verify_rows(ctx: PhaseContext, roles: tuple[Role, ...]) -> list[dict[str, Any]]:
    rows = []
    for role in ctx.acting(roles):
        found = find(ctx, role) or {}
        rows.append(
            {
                "side": role,
                "peer_connection_id": found.get("InstanceId", ""),
                "name": found.get("Name", ""),
                "status": found.get("Status", "missing"),
                "vpc": (found.get("Vpc") or {}).get("VpcId", ""),
                "accepting_vpc": (found.get("AcceptingVpc") or {}).get("VpcId", ""),
                "accepting_region": found.get("AcceptingRegionId", ""),
                "bandwidth_mbps": found.get("Bandwidth", ""),
            }
        )
    return rows


def initiator_steps(*, console: str, api: str) -> Steps:
    return Steps(
        console=console,
        api=api,
        offline=offline_initiator,
        plan=plan_initiator,
        apply=apply_initiator,
        verify=lambda ctx: verify_rows(ctx, ("initiator",)),
    )


def acceptor_steps(*, console: str, api: str) -> Steps:
    return Steps(
        console=console,
        api=api,
        offline=offline_acceptor,
        plan=plan_acceptor,
        apply=apply_acceptor,
        verify=lambda ctx: verify_rows(ctx, ("acceptor",)),
    )


def connect_steps(*, console: str, api: str) -> Steps:
    return Steps(
        console=console,
        api=api,
        offline=offline_connect,
        plan=plan_connect,
        apply=apply_connect,
        verify=lambda ctx: verify_rows(ctx, CONNECT_SIDES),
    )


def not_ready(ctx: PhaseContext, role: Role, pcc: str) -> None:
    """Routes need an Activated peering: stop (two operators: wait for the peer) until it is."""
    state = status(ctx, role, pcc)
    if state == ACTIVATED:
        return
    if ctx.side is not None and state in (ACCEPTING, "Updating", "Creating"):
        raise WaitingForPeer(
            f"VPC peering connection {pcc} is {state}, not Activated, and a route through it needs it Activated: "
            "the other operator has not finished their part yet (B accepts it; both wait until Activated)"
        )
    raise PhaseError(
        f"VPC peering connection {pcc} is {state}, not Activated: run the connect phase first (a route through a "
        "peering needs it Activated)"
    )


def show_connection(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    """The picture's part of the peering: one connection, both sides' end of it."""
    from ..record.picture import Endpoint

    pcc = outputs.get(OUTPUT)
    for role, _ in ROLE_LETTERS:
        view.side(role).endpoint = (
            Endpoint("VPC peering connection", str(pcc), "created") if pcc else Endpoint("VPC peering connection")
        )
    view.subtitle.insert(0, params.capacity)
