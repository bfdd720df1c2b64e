"""Acceptor (account B): create the accepting router interface and wait until it is Idle.

Console terms: Router Interfaces > Create, "Acceptor", the VPC's VRouter, and the initiator's
region, VRouter, account and interface ID. The acceptor has no bandwidth of its own.
API: CreateRouterInterface (Role=AcceptingSide, Spec=Negative, OppositeInterfaceId = the
initiator's interface), then DescribeRouterInterfaces until Idle.
"""

from __future__ import annotations

from typing import Any

from ..params import Role
from . import interfaces
from .base import PhaseContext, Step, reads_only

NAME = "acceptor"
SIDES: tuple[Role, ...] = ("acceptor",)
INPUTS: tuple[str, ...] = (
    "acceptor_vrouter_id",
    "initiator_vrouter_id",
    "initiator_account_uid",
    "initiator_router_interface_id",
)
OUTPUTS: tuple[str, ...] = ("acceptor_router_interface_id",)


@reads_only
def plan(ctx: PhaseContext) -> list[Step]:
    return interfaces.plan_side(ctx, "acceptor")


def apply(ctx: PhaseContext) -> dict[str, Any]:
    return {"acceptor_router_interface_id": interfaces.apply_side(ctx, "acceptor")}


@reads_only
def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    return interfaces.verify_side(ctx, "acceptor")
