"""What the cloud already holds on a fleet's VPCs, read before ``plan`` so that the topology check
(``topology.check_against_cloud``) counts it: the router interfaces already on each VPC's VRouter.

Read-only (DescribeVpcs, DescribeRouterInterfaces by RouterId), with each link's own parameters and
credential profiles; one target per link, each covering the VPCs at its ends not read yet. What the
fleet's own links made (by the names and descriptions ``vpclink.naming`` gives them) is left out, so a
plan after a run does not count the fleet's interfaces as someone else's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .. import naming
from ..cloud import Cloud, CloudError
from ..params import ROLES, LinkParams, Role
from ..phases import lookup
from ..phases.base import PhaseContext
from ..targets import Target, TargetError
from ..waits import Progress
from .model import Fleet
from .topology import Existing

# DescribeRouterInterfaces lists interfaces being deleted until they are gone; those no longer count.
_GONE = frozenset({"Deleted"})

TargetFor = Callable[[LinkParams], AbstractContextManager[Target]]


class ReadError(RuntimeError):
    """The cloud could not be read for the topology check (the message names the VPC and the call)."""


def read_existing(fleet: Fleet, target_for: TargetFor) -> Existing:
    """The router interfaces on each fleet VPC's VRouter that are not the fleet's own, by VPC name."""
    ours_names = {naming.router_interface_name(link.name, role) for link in fleet.links for role in ROLES}
    ours_descriptions = {naming.side_marker(link.name, role) for link in fleet.links for role in ROLES}
    counts: dict[str, int] = {}
    for link in fleet.links:
        todo = [name for name in dict.fromkeys((link.initiator, link.acceptor)) if name not in counts]
        if not todo:
            continue
        params = link.params
        try:
            with target_for(params) as target:
                roles: tuple[Role, ...] = tuple(link.role_of(name) for name in todo)
                cloud = Cloud(
                    params,
                    endpoint=target.endpoint or None,
                    profiles_file=target.profiles_file or None,
                    ledger=None,
                    phase="plan",
                    sides=roles,
                )
                with cloud.read_only():
                    for name, role in zip(todo, roles, strict=True):
                        found = _interfaces(cloud, params, role)
                        counts[name] = sum(
                            1
                            for ri in found
                            if ri.get("Name") not in ours_names and ri.get("Description") not in ours_descriptions
                        )
        except (CloudError, TargetError) as e:
            raise ReadError(f"reading the router interfaces of {', '.join(todo)} for the topology check: {e}") from None
    return Existing(router_interfaces=counts)


def _interfaces(cloud: Cloud, params: LinkParams, role: Role) -> list[dict[str, Any]]:
    """The interfaces on ``role``'s VRouter that are not being deleted, through the phases' own lookups."""
    ctx = PhaseContext(params, cloud, {}, "fleet-plan", "plan", Progress("silent"))
    vpc = lookup.describe_vpc(ctx, role)
    if vpc is None or not vpc.get("VRouterId"):
        # the link's own plan reports a VPC it cannot find (its preflight names the field)
        return []
    router = str(vpc["VRouterId"])
    found = lookup.describe_router_interfaces(ctx, role, "RouterId", router)
    return [ri for ri in found if ri.get("RouterId") == router and ri.get("Status") not in _GONE]
