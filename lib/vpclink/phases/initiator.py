"""Initiator (account A): create the initiating router interface and wait until it is Idle.

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


def show(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    if params.backend == "vpc_peer":
        peering_steps.show_connection(params, outputs, view)
    else:
        show_side(params, "initiator", outputs, view)


PHASE = Phase(
    name="initiator",
    number="01",
    title="Initiator: create account A's router interface",
    summary="""Account A creates its end of the connection: the **initiator** router interface on VPC1's VRouter,
pointing at account B's VRouter in the peer region.""",
    why=f"""the interface is named `{naming.router_interface_name("<link>", "initiator")}`, so a second run finds
it instead of buying a second one; the ClientToken makes a retried create return the same interface.""",
    kind="change",
    sides=("initiator",),
    inputs=("initiator_vrouter_id", "acceptor_vrouter_id", "acceptor_account_uid"),
    outputs=(
        Output("initiator_router_interface_id", "account A's router interface", backend="router_interface"),
        Output(peering.OUTPUT, "the VPC peering connection A requested", backend="vpc_peer"),
    ),
    # Created first, knowing only the peer's region (as in the console); the peer's account and VRouter
    # are added when it connects ("Add Acceptor"), or at creation when known.
    needs=("region",),
    steps={
        "router_interface": steps(
            "initiator",
            console="""(account A): *Express Connect > VPC Peering Connections > VPC-to-VPC*, **Create
Peering Connection**, *Account Type: Other Account*; choose VPC1 as the local VPC, enter account B's
UID, the peer region and VPC2's VRouter, and the bandwidth (the tutorial's 2 Mb). In the older console
this is *VPC > Express Connect > Router Interfaces*, **Create Router Interface** with *Role: Initiator*.""",
            api="""`vpc:CreateRouterInterface` with `Role=InitiatingSide`, `RouterType=VRouter`,
`RouterId` = VPC1's VRouter, `Spec` from the bandwidth (2 Mbps = `Mini.2`), `OppositeRegionId`,
`OppositeRouterId` = VPC2's VRouter, `OppositeInterfaceOwnerId` = account B's UID,
`InstanceChargeType=PostPaid`; then `vpc:DescribeRouterInterfaces` until it is `Idle`.""",
        ),
        "vpc_peer": peering_steps.initiator_steps(
            console="""(account A): *VPC > VPC Peering Connections*, **Create Peering Connection**:
the local VPC is VPC1, *Account Type: Other Account*, account B's UID, the peer region and VPC2; across
regions, the bandwidth. Its name is `vpclink-<link>`. The request waits for account B (*Accepting*).""",
            api="""`vpcpeer:CreateVpcPeerConnection` with `RegionId`, `VpcId` = VPC1, `AcceptingAliUid`
= account B's UID, `AcceptingRegionId`, `AcceptingVpcId` = VPC2, `Name`, `Bandwidth` (across regions
only) and a `ClientToken` shared by every run of the link; then
`vpcpeer:GetVpcPeerConnectionAttribute` until it has left `Creating` (`Accepting`).""",
        ),
    },
    show=show,
)
