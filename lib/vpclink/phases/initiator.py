"""Initiator (account A): create the initiating router interface and wait until it is Idle.

Console terms: VPC > Express Connect > Router Interfaces > Create, "Initiator", the VPC's
VRouter, the acceptor's region, VRouter and account, the bandwidth's Spec, pay-as-you-go.
API: CreateRouterInterface (Role=InitiatingSide, RouterType=VRouter, Spec from bandwidth,
Opposite* naming account B's VRouter), then DescribeRouterInterfaces until Idle.
"""

from __future__ import annotations

from typing import Any

from ..params import Role
from . import interfaces
from .base import PhaseContext, Step, reads_only

NAME = "initiator"
SIDES: tuple[Role, ...] = ("initiator",)
INPUTS: tuple[str, ...] = ("initiator_vrouter_id", "acceptor_vrouter_id", "acceptor_account_uid")
OUTPUTS: tuple[str, ...] = ("initiator_router_interface_id",)


@reads_only
def plan(ctx: PhaseContext) -> list[Step]:
    return interfaces.plan_side(ctx, "initiator")


def apply(ctx: PhaseContext) -> dict[str, Any]:
    return {"initiator_router_interface_id": interfaces.apply_side(ctx, "initiator")}


@reads_only
def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    return interfaces.verify_side(ctx, "initiator")
