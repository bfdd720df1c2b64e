"""What the cloud already holds on a fleet's VPCs, read before ``plan`` (and ``run``) so that the
topology check (``topology.check_against_cloud``) counts it: the router interfaces already on each
VPC's VRouter, and the custom route entries already in each VPC's route table (against the table's
quota of 200, and for destinations the fleet's routes would repeat or overlap).

Read-only (DescribeVpcs, DescribeRouterInterfaces by RouterId, DescribeRouteTableList,
DescribeRouteEntryList), through the phases' own lookups, with each link's own parameters and
credential profiles; one target per link, each covering the VPCs at its ends not read yet. What the
fleet's own links made (by the names and descriptions ``vpclink.naming`` gives them) is left out, so a
plan after a run does not count the fleet's interfaces and routes as someone else's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
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
# The table's quota counts custom entries; system entries (the vSwitches' own) and the routes that
# CEN, BGP or a transit router propagate are not created with CreateRouteEntry.
_CUSTOM = "Custom"

TargetFor = Callable[[LinkParams], AbstractContextManager[Target]]


class ReadError(RuntimeError):
    """The cloud could not be read for the topology check (the message names the VPC and the call)."""


@dataclass(frozen=True)
class _Ours:
    """How the fleet's own resources are recognised: by the names and descriptions its links give them."""

    names: frozenset[str]
    descriptions: frozenset[str]

    def owns(self, resource: dict[str, Any], name_key: str) -> bool:
        return resource.get(name_key) in self.names or resource.get("Description") in self.descriptions


@dataclass
class _Found:
    interfaces: dict[str, int] = field(default_factory=dict)
    routes: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)


def read_existing(fleet: Fleet, target_for: TargetFor) -> Existing:
    """By VPC name, what is on each fleet VPC that is not the fleet's own: the router interfaces on its
    VRouter, and the destinations of the custom route entries in its (system) route table."""
    interfaces = _Ours(
        frozenset(naming.router_interface_name(link.name, role) for link in fleet.links for role in ROLES),
        frozenset(naming.side_marker(link.name, role) for link in fleet.links for role in ROLES),
    )
    routes = _Ours(
        frozenset(naming.route_entry_name(link.name) for link in fleet.links),
        frozenset(naming.route_entry_description(link.name, role) for link in fleet.links for role in ROLES),
    )
    found = _Found()
    for link in fleet.links:
        todo = [name for name in dict.fromkeys((link.initiator, link.acceptor)) if name not in found.interfaces]
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
                        _read_vpc(
                            PhaseContext(params, cloud, {}, "fleet-plan", "plan", Progress("silent")),
                            role,
                            name,
                            interfaces,
                            routes,
                            found,
                        )
        except (CloudError, TargetError) as e:
            raise ReadError(
                f"reading the router interfaces and route table of {', '.join(todo)} for the topology check: {e}"
            ) from None
    return Existing(router_interfaces=found.interfaces, route_destinations=found.routes, route_tables=found.tables)


def _read_vpc(ctx: PhaseContext, role: Role, name: str, interfaces: _Ours, routes: _Ours, found: _Found) -> None:
    """What ``role``'s VPC (the fleet's VPC ``name``) holds that is not the fleet's, into ``found``.
    A VPC or table that cannot be found counts nothing: the link's own plan reports it, naming the field."""
    found.interfaces[name] = 0
    vpc = lookup.describe_vpc(ctx, role)
    if vpc is not None and vpc.get("VRouterId"):
        router = str(vpc["VRouterId"])
        found.interfaces[name] = sum(
            1
            for ri in lookup.describe_router_interfaces(ctx, role, "RouterId", router)
            if ri.get("RouterId") == router and ri.get("Status") not in _GONE and not interfaces.owns(ri, "Name")
        )
    table = lookup.system_route_table(ctx, role)
    if table is None:
        return
    table_id = str(table["RouteTableId"])
    found.tables[name] = table_id
    found.routes[name] = [
        str(entry.get("DestinationCidrBlock"))
        for entry in lookup.route_entries(ctx, role, table_id)
        if entry.get("Type") == _CUSTOM and not routes.owns(entry, "RouteEntryName")
    ]
