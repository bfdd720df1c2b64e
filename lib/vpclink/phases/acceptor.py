"""Acceptor (account B): create the accepting router interface and wait until it is Idle.

What it does, in the console's and the API's terms, is ``PHASE`` below (the notebook shows that text);
the steps are the router-interface backend's ``interfaces`` steps for this side.
"""

from __future__ import annotations

from .. import naming
from .base import Output, Phase
from .interfaces import show_side, steps

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
    ),
    outputs=(Output("acceptor_router_interface_id", "account B's router interface"),),
    needs=("account_uid", "region", "vrouter_id", "router_interface_id"),
    steps={
        "router_interface": steps(
            "acceptor",
            console="""(account B): *Express Connect > VPC Peering Connections*, **Create Router
Interface** with *Role: Acceptor*, peer account A's UID, its region and VPC1's VRouter.""",
            api="""`vpc:CreateRouterInterface` with `Role=AcceptingSide`, `Spec=Negative` (the
acceptor's Spec is always `Negative`: the initiator pays for the bandwidth), `RouterId` = VPC2's
VRouter, `OppositeRouterId` = VPC1's VRouter, `OppositeInterfaceOwnerId` = account A's UID and
`OppositeInterfaceId` = the initiator's interface; then `vpc:DescribeRouterInterfaces` until `Idle`.""",
        )
    },
    show=lambda params, outputs, view: show_side(params, "acceptor", outputs, view),
)
