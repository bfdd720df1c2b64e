"""Checks across the links of a fleet, before any API call: what no single link file can see.

Every link is first validated on its own by ``vpclink.params`` (so the overlap of two linked VPCs'
CIDR blocks, ``mode: group`` across regions, and each link's own limits are refused there, reported
at the fleet path where the value was written). What is checked here:

- ``declaration_problems``: VPCs declared twice under two names (the same VPC, security group or
  instance), and one credential profile given two account UIDs;
- ``pair_problems``: two links between the same two VPCs (in either direction), refused for the
  reason of their backends (one connected pair of router interfaces between two routers; one VPC
  peering connection per pair of VPCs; one route per destination in a table, when they differ), and
  link names that are not unique;
- ``usage_problems``: what the links add up to on each VPC, against the cloud's quotas: router
  interfaces per VRouter (links with ``backend: router_interface`` only: a peering uses none),
  overlapping destinations in one route table, custom route entries per table, rules per security
  group, security groups one group may name. ``Existing`` adds what the cloud already holds
  (``plan`` and ``run`` read the router interfaces and route entries, ``existing``); ``check``
  passes none.

Each refusal names the VPC (``vpcs.NAME...``) or the link (``links[N]...``), the count against the
limit, and what would be valid. The limits not already in ``vpclink.limits`` are rows here, each with
its source.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .. import limits
from ..fields import FieldError
from ..params import Role
from .model import Fleet, FleetLink, Vpc

_RI_PAGE = "https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-createrouterinterface"

ROUTER_INTERFACES_PER_VROUTER = limits.Limit(
    "router_interfaces_per_vrouter",
    "CreateRouterInterface: router interfaces per router (LimitationExceed.InterfaceNumberOnRouter)",
    None,
    5,
    "router interfaces",
    "links (each link with backend: router_interface uses one on each of its two VPCs' VRouters)",
    "refused by check; plan also counts the router interfaces that already exist",
    f"{_RI_PAGE} (operation description: 'You can create a maximum of five router interfaces for a router'; "
    "https://www.alibabacloud.com/help/doc-detail/36032.htm); the Express Connect quota page "
    "(https://www.alibabacloud.com/help/en/express-connect/product-overview/limits) defers to Quota Center",
    says="a VRouter holds at most 5 router interfaces",
    advice="set backend: vpc_peer on some of these links (a VPC peering connection uses no router interface), "
    "or spread them over more hub VPCs",
)
ONE_PAIR_PER_ROUTERS = limits.Limit(
    "router_interface_pairs_per_router_pair",
    "CreateRouterInterface: connected pairs between two routers",
    None,
    1,
    "pair",
    "links (initiator, acceptor)",
    "refused by check (one link per pair of VPCs, whatever the backends)",
    f"{_RI_PAGE} (operation description: 'You can create only one pair of interfaces to be connected between "
    "two routers')",
)
ONE_PEERING_PER_VPC_PAIR = limits.Limit(
    "vpc_peer_connections_per_vpc_pair",
    "CreateVpcPeerConnection: live connections between two VPCs (ResourceAlreadyExist.VpcPeer)",
    None,
    1,
    "connection",
    "links with backend vpc_peer (initiator, acceptor)",
    "refused by check (one link per pair of VPCs, whatever the backends)",
    "https://api.aliyun.com/meta/v1/products/VpcPeer/versions/2022-01-01/api-docs.json (CreateVpcPeerConnection's "
    "error codes: ResourceAlreadyExist.VpcPeer, 'The specified resource of %s already exists.'; vendored in "
    "tests/data/api_metadata); the emulator answers it for a second live connection between the same two VPCs, in "
    "either direction (alicloud_emulator.products.vpcpeer_connections). The reference page states no such rule.",
)
GROUPS_REFERENCED_PER_GROUP = limits.Limit(
    "security_groups_referenced_per_group",
    "AuthorizeSecurityGroup SourceGroupId: security groups one basic security group may reference",
    None,
    20,
    "security groups",
    "security_groups.mode: group on the links of one VPC (each names the peer's group in this VPC's group)",
    "refused by check",
    "https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-authorizesecuritygroup "
    "(usage notes, also in the old-generation SDK docstring of authorize_security_group: 'a basic security "
    "group can reference at most 20 security groups')",
)
TOPOLOGY_LIMITS = (
    ROUTER_INTERFACES_PER_VROUTER,
    ONE_PAIR_PER_ROUTERS,
    ONE_PEERING_PER_VPC_PAIR,
    GROUPS_REFERENCED_PER_GROUP,
)
# What route destinations a fleet's links add is checked against the table's quota in ``limits``.
ROUTE_QUOTA = limits.ROUTE_ENTRIES_PER_TABLE
RULE_QUOTA = limits.RULES_PER_GROUP


@dataclass(frozen=True)
class Existing:
    """What the cloud already holds that this fleet did not create, read by ``plan``.

    Keys are VPC names of the fleet or VPC IDs (security groups: their ID or the VPC's name). The
    counts leave out what belongs to the fleet's own links (recognised by ``vpclink.naming``), so a
    rerun does not count its own resources twice.
    """

    router_interfaces: Mapping[str, int] = field(default_factory=dict)  # on the VPC's VRouter
    route_destinations: Mapping[str, Sequence[str]] = field(default_factory=dict)  # custom entries in its table
    security_group_rules: Mapping[str, int] = field(default_factory=dict)  # rules in the group
    route_tables: Mapping[str, str] = field(default_factory=dict)  # the VPC's route table ID, for messages


@dataclass(frozen=True)
class LinkRef:
    """A link as the file names it, valid or not: enough for ``pair_problems``."""

    path: str  # links[N]
    name: str
    initiator: str
    acceptor: str
    named: bool  # the file gives its name (else derived from the VPC names)
    backend: object = None  # as written: the link's own, else defaults.backend; None: the default


# Why a pair of VPCs takes one link, by the backends of the two links over it.
ONE_PAIR_OF_INTERFACES = "CreateRouterInterface allows one connected pair between two routers"
# ``ONE_PEERING_PER_VPC_PAIR`` (its source: CreateVpcPeerConnection's error table).
ONE_PEERING = (
    "a pair of VPCs can have only one VPC peering connection: CreateVpcPeerConnection answers "
    "ResourceAlreadyExist.VpcPeer"
)
# A route table holds one route per destination: CreateRouteEntry answers InvalidCIDRBlock.Duplicate.
ONE_ROUTE = (
    "each link routes the other VPC's CIDR block in both VPCs' route tables, and a route table holds one "
    "route per destination: CreateRouteEntry answers InvalidCIDRBlock.Duplicate"
)


def _backend(link: LinkRef) -> str:
    return "vpc_peer" if link.backend == "vpc_peer" else "router_interface"


def _one_link_why(first: LinkRef, second: LinkRef) -> str:
    backends = {_backend(first), _backend(second)}
    if backends == {"vpc_peer"}:
        return ONE_PEERING
    if backends == {"router_interface"}:
        return ONE_PAIR_OF_INTERFACES
    return ONE_ROUTE


def check_topology(fleet: Fleet) -> list[FieldError]:
    """Every topology problem that the file alone shows (``vpclink check``)."""
    return _structure(fleet) + usage_problems(fleet, Existing())


def check_against_cloud(
    fleet: Fleet,
    *,
    existing_interfaces: Mapping[str, int] | None = None,
    existing_routes: Mapping[str, Sequence[str]] | None = None,
    existing_rules: Mapping[str, int] | None = None,
    route_tables: Mapping[str, str] | None = None,
) -> list[FieldError]:
    """``check_topology`` with what the cloud already holds (``plan``): router interfaces on each
    VPC's VRouter, custom route destinations in each VPC's route table and rules in each security
    group, none of them this fleet's own (see ``Existing``); ``route_tables`` names each VPC's table
    in the messages."""
    existing = Existing(existing_interfaces or {}, existing_routes or {}, existing_rules or {}, route_tables or {})
    return _structure(fleet) + usage_problems(fleet, existing)


def _structure(fleet: Fleet) -> list[FieldError]:
    refs = [LinkRef(link.path, link.name, link.initiator, link.acceptor, True, link.backend) for link in fleet.links]
    return declaration_problems(fleet.vpcs) + pair_problems(refs)


# -- declarations ---------------------------------------------------------------------------------


def declaration_problems(vpcs: Mapping[str, Vpc]) -> list[FieldError]:
    """VPCs declared twice under two names, and a profile with two account UIDs."""
    errors: list[FieldError] = []
    first: dict[tuple[str, str], Vpc] = {}
    advice = {
        "vpc_id": "declare each VPC once, under one name, and link that name",
        "security_group_id": "a security group belongs to one VPC: give this VPC's own group",
        "instance_id": "an ECS instance is in one VPC: give one of this VPC's instances (or leave instance_id out)",
    }
    uid_of: dict[str, Vpc] = {}
    for vpc in vpcs.values():
        for key, why in advice.items():
            value = getattr(vpc, key)
            if value is None:
                continue
            other = first.setdefault((key, value), vpc)
            if other is not vpc:
                errors.append(FieldError(f"{vpc.path}.{key}", f"{value} is also {other.path}.{key}: {why}"))
        if vpc.account_uid is not None:
            known = uid_of.setdefault(vpc.profile, vpc)
            if known.account_uid != vpc.account_uid:
                errors.append(
                    FieldError(
                        f"{vpc.path}.account_uid",
                        f"{vpc.account_uid} differs from {known.path}.account_uid {known.account_uid}, and both "
                        f"VPCs name profile {vpc.profile!r}: a credential profile acts as one account; correct the "
                        "UID, or name the other account's profile",
                    )
                )
    return errors


# -- links as pairs ------------------------------------------------------------------------------


def pair_problems(links: Sequence[LinkRef]) -> list[FieldError]:
    """Two links between the same VPCs, and two links with one name."""
    errors: list[FieldError] = []
    pairs: dict[frozenset[str], LinkRef] = {}
    names: dict[str, LinkRef] = {}
    for link in links:
        pair = frozenset((link.initiator, link.acceptor))
        other = pairs.setdefault(pair, link)
        if other is not link:
            direction = "" if other.initiator == link.initiator else " (in the other direction)"
            errors.append(
                FieldError(
                    link.path,
                    f"connects {link.initiator} and {link.acceptor}, as {other.path} ({other.name}) already "
                    f"does{direction}: one link per pair of VPCs ({_one_link_why(other, link)}); remove this "
                    "link, or put its settings on the other",
                )
            )
            continue
        seen = names.setdefault(link.name, link)
        if seen is not link:
            how = "" if seen.named else f" (derived from its VPC names, {seen.initiator}-{seen.acceptor})"
            errors.append(
                FieldError(
                    f"{link.path}.name" if link.named else link.path,
                    f"the link name {link.name!r} is also the name of {seen.path}{how}: each link of a fleet "
                    "has its own name (it names the router interfaces, routes and records); give this link "
                    "a name: of its own",
                )
            )
    return errors


# -- what the links add up to on each VPC ---------------------------------------------------------


def usage_problems(fleet: Fleet, existing: Existing) -> list[FieldError]:
    errors: list[FieldError] = []
    for vpc in fleet.vpcs.values():
        links = fleet.links_of(vpc.name)
        if not links and not _has_existing(vpc, existing):
            continue
        errors += _interfaces(vpc, links, existing)
        errors += _route_overlaps(vpc, links, existing)
        errors += _route_quota(vpc, links, existing)
        errors += _rule_quota(vpc, links, existing)
        errors += _group_references(vpc, links)
    return errors


def _has_existing(vpc: Vpc, existing: Existing) -> bool:
    return any(
        key in m for key in (vpc.name, vpc.vpc_id) for m in (existing.router_interfaces, existing.route_destinations)
    )


def _count(table: Mapping[str, int], *keys: str) -> int:
    return next((int(table[k]) for k in keys if k in table), 0)


def _listed(table: Mapping[str, Sequence[str]], *keys: str) -> Sequence[str]:
    return next((table[k] for k in keys if k in table), ())


def _names(links: Iterable[FleetLink]) -> str:
    return ", ".join(link.name for link in links)


def _plus(count: int, what: str) -> str:
    return f", plus {count} {what} that already exist" if count else ""


def _interfaces(vpc: Vpc, links: list[FleetLink], existing: Existing) -> list[FieldError]:
    ri = [link for link in links if link.backend == "router_interface"]
    present = _count(existing.router_interfaces, vpc.name, vpc.vpc_id)
    total, limit = len(ri) + present, int(ROUTER_INTERFACES_PER_VROUTER.maximum or 5)
    if total <= limit:
        return []
    room = max(limit - present, 0)
    remedy = (
        f"keep at most {room} of these links on router interfaces: set backend: vpc_peer on at least "
        f"{len(ri) - room} of them (a VPC peering connection uses no router interface), or spread them over more "
        "hub VPCs"
        if room
        else "delete router interfaces this fleet does not use, or set backend: vpc_peer on these links"
    )
    return [
        FieldError(
            vpc.path,
            f"{total} router interfaces on this VPC's VRouter: {len(ri)} link(s) with backend router_interface use "
            f"one each ({_names(ri)}){_plus(present, 'router interface(s)')}; a VRouter holds at most {limit} "
            f"({ROUTER_INTERFACES_PER_VROUTER.api}, {_RI_PAGE}): {remedy}",
        )
    ]


@dataclass(frozen=True)
class _Destination:
    net: ipaddress.IPv4Network
    link: FleetLink
    role: Role
    index: int

    @property
    def path(self) -> str:
        if self.role in self.link.routes_listed:
            return f"{self.link.path}.routes.{self.role}[{self.index}]"
        return self.link.path

    @property
    def where(self) -> str:
        peer = self.link.vpc("acceptor" if self.role == "initiator" else "initiator")
        how = "" if self.role in self.link.routes_listed else " (its vpc_cidr)"
        return f"{self.net} to {peer}{how} through {self.link.label()}"


def _destinations(vpc: Vpc, links: list[FleetLink]) -> list[_Destination]:
    out = []
    for link in links:
        role = link.role_of(vpc.name)
        out += [_Destination(ipaddress.IPv4Network(d), link, role, i) for i, d in enumerate(link.params.routes[role])]
    return out


def _existing_networks(vpc: Vpc, existing: Existing) -> list[ipaddress.IPv4Network]:
    nets = []
    for text in _listed(existing.route_destinations, vpc.name, vpc.vpc_id):
        try:
            net = ipaddress.ip_network(str(text), strict=False)
        except ValueError:
            continue
        if isinstance(net, ipaddress.IPv4Network):
            nets.append(net)
    return nets


def _route_overlaps(vpc: Vpc, links: list[FleetLink], existing: Existing) -> list[FieldError]:
    """Destinations of two links that overlap in this VPC's route table; and one that overlaps an
    entry already there (a default route 0.0.0.0/0, the catch-all to a NAT or VPN gateway, is never
    ambiguous and is left out)."""
    errors: list[FieldError] = []
    ambiguous = (
        "overlapping destinations in one route table make routing ambiguous (the overlap goes only where the more "
        "specific entry points)"
    )
    reported: set[tuple[int, int]] = set()
    dests = _destinations(vpc, links)
    for j, later in enumerate(dests):
        for earlier in dests[:j]:
            pair = (earlier.link.index, later.link.index)
            if earlier.link is later.link or pair in reported or not earlier.net.overlaps(later.net):
                continue
            reported.add(pair)
            errors.append(
                FieldError(
                    later.path,
                    f"the route table of VPC {vpc.name} would send {later.where} and {earlier.where}: {ambiguous}; "
                    f"link VPCs whose CIDR blocks do not overlap, or list disjoint destinations in "
                    f"routes.{later.role} of one of these links",
                )
            )
    for net in _existing_networks(vpc, existing):
        if net.prefixlen == 0:
            continue
        for dest in dests:
            if not dest.net.overlaps(net):
                continue
            what = (
                f"already has a custom route entry for {net}, and a route table takes each destination once"
                if net == dest.net
                else f"already has a custom route entry for {net} (not made by this fleet), which overlaps it: "
                f"{ambiguous}"
            )
            errors.append(
                FieldError(
                    dest.path,
                    f"the route table of VPC {vpc.name} would send {dest.where}, but it {what}; remove or change the "
                    "existing entry, or route other destinations on this link",
                )
            )
    return errors


def _route_quota(vpc: Vpc, links: list[FleetLink], existing: Existing) -> list[FieldError]:
    present = len(_listed(existing.route_destinations, vpc.name, vpc.vpc_id))
    counts = [(link, len(link.params.routes[link.role_of(vpc.name)])) for link in links]
    total, limit = sum(n for _, n in counts) + present, int(ROUTE_QUOTA.maximum or 200)
    if total <= limit:
        return []
    each = ", ".join(f"{link.name} {n}" for link, n in counts)
    table = existing.route_tables.get(vpc.name) or existing.route_tables.get(vpc.vpc_id)
    named = f" {table}" if table else ""
    room = max(limit - present, 0)
    remedy = (
        f"the table has room for {room} more: route fewer or wider destinations on these links "
        "(routes.initiator / routes.acceptor), or link fewer VPCs to this one"
        if room
        else "the table is full already: delete custom entries no longer used, or leave this VPC out of the fleet"
    )
    return [
        FieldError(
            vpc.path,
            f"{total} custom route entries in this VPC's route table{named}: its links add one per destination "
            f"({each}){_plus(present, 'custom entries')}; {ROUTE_QUOTA.says} ({ROUTE_QUOTA.api}): {remedy}",
        )
    ]


def _rule_quota(vpc: Vpc, links: list[FleetLink], existing: Existing) -> list[FieldError]:
    present = _count(existing.security_group_rules, vpc.security_group_id, vpc.name)
    counts = [(link, len(link.params.security_groups.rules)) for link in links]
    total, limit = sum(n for _, n in counts) + present, int(RULE_QUOTA.maximum or 200)
    if total <= limit:
        return []
    each = ", ".join(f"{link.name} {n}" for link, n in counts)
    return [
        FieldError(
            f"{vpc.path}.security_group_id",
            f"{total} rules in security group {vpc.security_group_id}: each link adds its security_groups.rules to "
            f"this VPC's group, one per rule and peer ({each}){_plus(present, 'rules')}; a security group holds at "
            f"most {limit} rules, inbound and outbound together ({RULE_QUOTA.api}): list fewer rules on these links "
            "(one protocol: all rule covers every port)",
        )
    ]


def _group_references(vpc: Vpc, links: list[FleetLink]) -> list[FieldError]:
    group = [link for link in links if link.params.security_groups.mode == "group"]
    limit = int(GROUPS_REFERENCED_PER_GROUP.maximum or 20)
    if len(group) <= limit:
        return []
    return [
        FieldError(
            f"{vpc.path}.security_group_id",
            f"{len(group)} links authorize their peer's security group in {vpc.security_group_id} (mode: group: "
            f"{_names(group)}); a basic security group may reference at most {limit} other groups "
            f"({GROUPS_REFERENCED_PER_GROUP.api}): use security_groups: {{mode: cidr}} on at least "
            f"{len(group) - limit} of these links",
        )
    ]
