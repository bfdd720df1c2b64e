"""Acceptor (account B): create the accepting router interface and wait until it is Idle.

What it does, in the console's and the API's terms, is ``PHASE`` below (the notebook shows that text);
the steps are the router-interface backend's ``interfaces`` steps for this side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import naming
from ..params import LinkParams
from . import peering, peering_steps
from .base import Output, Phase
from .interfaces import show_side, steps

if TYPE_CHECKING:
    from ..record.picture import LinkView

RI_NEEDS = ("account_uid", "region", "vrouter_id", "router_interface_id")
PEER_NEEDS = ("peer_connection_id",)


def show(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    if params.backend != "vpc_peer":  # the peering's part of the picture is the initiator's
        show_side(params, "acceptor", outputs, view)


PHASE = Phase(
    name="acceptor",
    number="02",
    title="Acceptor: create account B's router interface",
    summary="""Account B creates its end: the **acceptor** router interface on VPC2's VRouter, pointing back at
account A's VRouter and router interface.""",
    why=f"""found by its name `{naming.router_interface_name("<link>", "acceptor")}` before anything is created,
so it is never created twice.""",
    kind="change",
    sides=("acceptor",),
    inputs=(
        "acceptor_vrouter_id",
        "initiator_vrouter_id",
        "initiator_account_uid",
        "initiator_router_interface_id",
        peering.OUTPUT,
    ),
    outputs=(Output("acceptor_router_interface_id", "account B's router interface", backend="router_interface"),),
    # B accepts the peering A requested: by its ID, from A's card
    needs=lambda params: PEER_NEEDS if params.backend == "vpc_peer" else RI_NEEDS,
    steps={
        "router_interface": steps(
            "acceptor",
            console="""(account B): *Express Connect > VPC Peering Connections*, **Create Router
Interface** with *Role: Acceptor*, peer account A's UID, its region and VPC1's VRouter.""",
            api="""`vpc:CreateRouterInterface` with `Role=AcceptingSide`, `Spec=Negative` (the
acceptor's Spec is always `Negative`: the initiator pays for the bandwidth), `RouterId` = VPC2's
VRouter, `OppositeRouterId` = VPC1's VRouter, `OppositeInterfaceOwnerId` = account A's UID and
`OppositeInterfaceId` = the initiator's interface; then `vpc:DescribeRouterInterfaces` until `Idle`.""",
        ),
        "vpc_peer": peering_steps.acceptor_steps(
            console="""(account B): *VPC > VPC Peering Connections*, find the request from account A
(its ID is on A's peer card) in state *Accepting*, and **Accept** it.""",
            api="""`vpcpeer:GetVpcPeerConnectionAttribute` of the connection ID from account A (it
must join VPC1 to this account's VPC2), then `vpcpeer:AcceptVpcPeerConnection` while it is
`Accepting` (nothing when it is accepted already).""",
        ),
    },
    show=show,
)
