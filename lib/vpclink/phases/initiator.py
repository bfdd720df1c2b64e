"""Initiator (account A): create the initiating router interface and wait until it is Idle.

What it does, in the console's and the API's terms, is ``PHASE`` below (the notebook shows that text);
the steps are the router-interface backend's ``interfaces`` steps for this side.
"""

from __future__ import annotations

from .. import naming
from .base import Output, Phase
from .interfaces import show_side, steps

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
    outputs=(Output("initiator_router_interface_id", "account A's router interface"),),
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
        )
    },
    show=lambda params, outputs, view: show_side(params, "initiator", outputs, view),
)
