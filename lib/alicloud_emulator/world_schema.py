"""The world file's schema: what ``world.validate`` accepts, field by field.

The field checks are pydantic models (``schema.Strict``); what relates fields to each other (an
account named by a VPC exists, a vSwitch lies inside its VPC, an ID is used once) is checked after,
on a world whose fields are all well-formed. Both kinds of problem are collected and reported
together, one line each, named by field.

``behaviour`` holds the settings that choose between documented behaviours of the cloud:

* ``read_lag``: describes see the world as it was ``seconds`` of virtual time ago (0, the
  default, is off). ``applies_to: lists`` (the default) lags the describes that list resources,
  while a record the request names by its own ID is read as it is now; ``all`` lags describes by
  ID too (a resource created a moment ago is then not found). Alibaba's describes are eventually
  consistent: terraform-provider-alicloud polls after every create and retries reads that find
  nothing yet (``WaitForState``/``resource.Retry`` around ``Describe*`` in
  ``alicloud/service_alicloud_vpc.go``, e.g. ``DescribeRouteEntry`` and its
  ``isRouteEntryWaitTimeout``; ``DescribeRouterInterface``), and the API reference tells callers
  to poll ``DescribeRouterInterfaceAttribute`` / ``DescribeRouteEntryList`` until a new resource
  shows its state. A bare number (``read_lag: 3``) means ``{seconds: 3, applies_to: lists}``.
* ``security_group_reference``: ``current`` (default) follows today's ECS reference, where a VPC
  security group rule may name only groups of the same VPC; ``tutorial`` follows the older
  cross-account tutorial, which names the peer account's group (read by the security-group
  product).
* ``quotas``: API rate quotas per (account, region, action), on by default (``quotas.py``).
* ``vpc_peer_beside_router_interface``: ``allow`` (default) lets CreateVpcPeerConnection join two VPCs
  that connected router interfaces already join; ``refuse`` answers ``ResourceAlreadyExist.RouterInterface``
  (a Create code of the VpcPeer metadata whose trigger is not documented; ``products/vpcpeer_connections.py``).
* ``route_next_hop_change``: which next hops ModifyRouteEntry may change: ``all`` (default, every type of
  today's SDK model, RouterInterface and VpcPeer included) or ``eni_and_nat`` (the 2024 metadata's
  NetworkInterface and NatGateway only: a route through a router interface or a peering is then
  ``UnsupportedFeature.NextHopType``); ``products/route_entries.py``.

An account's ``key_kind``, ``ram_user`` and ``roles`` (RAM users, roles and their trust) are
described in ``roles.py``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from .quotas import Quotas
from .regions import REGIONS
from .roles import RAM_USER_NAME, KeyKind, Role
from .roles import relations as role_relations
from .schema import Seconds, Strict, Text

TIMING_KEYS = {
    "router_interface_create": 2.0,
    "router_interface_modify": 2.0,
    "router_interface_connect": 4.0,
    "router_interface_activate": 2.0,
    "router_interface_deactivate": 2.0,
    "router_interface_delete": 2.0,
    "route_entry_create": 2.0,
    "route_entry_delete": 1.0,
    "route_entry_modify": 1.0,
    "command": 3.0,
    "vpc_peer_create": 2.0,
    "vpc_peer_accept": 2.0,
    "vpc_peer_modify": 2.0,
    "vpc_peer_delete": 2.0,
    "vpc_peer_deleted_linger": 2.0,
    "vpc_peer_accept_expiry": 7 * 86400.0,
}
# A deadline rather than a step: ``world.with_timing`` does not scale it (an instant world must not
# expire a peering request the moment it is made).
UNSCALED_TIMING_KEYS = frozenset({"vpc_peer_accept_expiry"})
MAX_READ_LAG_S = 600.0  # the store keeps a few versions per resource, enough for minutes of lag


def _uid(value: str) -> str:
    if not re.fullmatch(r"\d{16}", value):
        raise ValueError("a 16-digit account UID is required")
    return value


def _region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError(f"not a known region; e.g. {', '.join(sorted(REGIONS)[:4])}")
    return value


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value)
    except ValueError:
        raise ValueError("not a CIDR block such as 192.168.0.0/16 (host bits zero)") from None
    if net.version != 4:
        raise ValueError("not an IPv4 CIDR block")
    return str(net)


def _ip(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError("not an IPv4 address") from None


def _token(value: str) -> str:
    if not re.fullmatch(r"[\x21-\x7e]{1,256}", value):
        raise ValueError("1-256 printable ASCII characters without spaces are required")
    return value


Name = Annotated[Text, Field(max_length=128)]
Key = Annotated[Text, AfterValidator(_token)]
Secret = Annotated[Text, AfterValidator(_token)]
GroupRef = Annotated[str, Field(max_length=128)]
Uid = Annotated[Text, AfterValidator(_uid)]
Region = Annotated[str, AfterValidator(_region)]
Cidr = Annotated[str, AfterValidator(_cidr)]
IPv4 = Annotated[str, AfterValidator(_ip)]
Description = Annotated[str, Field(max_length=256)]
# a fixed ID looks like the cloud's: its prefix and 8-32 lowercase letters or digits
VpcId = Annotated[str, Field(pattern=r"^vpc-[a-z0-9]{8,32}$")]
VRouterId = Annotated[str, Field(pattern=r"^vrt-[a-z0-9]{8,32}$")]
RouteTableId = Annotated[str, Field(pattern=r"^vtb-[a-z0-9]{8,32}$")]
VSwitchId = Annotated[str, Field(pattern=r"^vsw-[a-z0-9]{8,32}$")]
SecurityGroupId = Annotated[str, Field(pattern=r"^sg-[a-z0-9]{8,32}$")]
InstanceId = Annotated[str, Field(pattern=r"^i-[a-z0-9]{8,32}$")]


class Account(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=64)]
    uid: Uid
    access_key_id: Key
    access_key_secret: Secret
    key_kind: KeyKind = "ram_user"
    ram_user: Annotated[str, Field(pattern=rf"^{RAM_USER_NAME}$")] | None = None
    roles: Annotated[list[Role], Field(max_length=100)] = Field(default_factory=list)


class VSwitch(Strict):
    id: VSwitchId | None = None
    name: Name = ""
    zone: Annotated[str, Field(max_length=64)]
    cidr: Cidr


class SecurityGroup(Strict):
    id: SecurityGroupId | None = None
    name: Name = ""
    description: Description = ""


class Instance(Strict):
    id: InstanceId | None = None
    name: Name = ""
    vswitch: Annotated[str, Field(max_length=128)]
    private_ip: IPv4
    security_groups: Annotated[list[GroupRef], Field(max_length=5)] = Field(default_factory=list)
    status: Literal["Pending", "Running", "Starting", "Stopping", "Stopped"] = "Running"
    cloud_assistant: bool = True


class Vpc(Strict):
    account: Annotated[Text, Field(max_length=64)]
    region: Region
    name: Name = ""
    id: VpcId | None = None
    vrouter_id: VRouterId | None = None
    route_table_id: RouteTableId | None = None
    cidr: Cidr
    description: Description = ""
    vswitches: Annotated[list[VSwitch], Field(max_length=150)] = Field(default_factory=list)
    security_groups: Annotated[list[SecurityGroup], Field(max_length=100)] = Field(default_factory=list)
    instances: Annotated[list[Instance], Field(max_length=500)] = Field(default_factory=list)


class Timing(Strict):
    """Seconds of virtual time each asynchronous step takes."""

    router_interface_create: Seconds | None = None
    router_interface_modify: Seconds | None = None
    router_interface_connect: Seconds | None = None
    router_interface_activate: Seconds | None = None
    router_interface_deactivate: Seconds | None = None
    router_interface_delete: Seconds | None = None
    route_entry_create: Seconds | None = None
    route_entry_delete: Seconds | None = None
    route_entry_modify: Seconds | None = None
    command: Seconds | None = None
    vpc_peer_create: Seconds | None = None
    vpc_peer_accept: Seconds | None = None
    vpc_peer_modify: Seconds | None = None
    vpc_peer_delete: Seconds | None = None
    vpc_peer_deleted_linger: Seconds | None = None
    vpc_peer_accept_expiry: Seconds | None = None


def _lag_shorthand(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"seconds": value}
    if not isinstance(value, dict):
        raise ValueError("a number of seconds, or a mapping {seconds: N, applies_to: lists | all}")
    return value


class ReadLag(Strict):
    seconds: Annotated[float, Field(ge=0, le=MAX_READ_LAG_S, allow_inf_nan=False)] = 0.0
    applies_to: Literal["lists", "all"] = "lists"


class Behaviour(Strict):
    read_lag: Annotated[ReadLag, BeforeValidator(_lag_shorthand)] = ReadLag()
    security_group_reference: Literal["current", "tutorial"] = "current"
    quotas: Quotas = Quotas()
    vpc_peer_beside_router_interface: Literal["allow", "refuse"] = "allow"
    route_next_hop_change: Literal["all", "eni_and_nat"] = "all"


class World(Strict):
    seed: Annotated[Text, Field(max_length=128)] | None = None
    timing: Timing | None = None
    behaviour: Behaviour | None = None
    accounts: Annotated[list[Account], Field(min_length=1, max_length=100)]
    vpcs: Annotated[list[Vpc], Field(max_length=1000)] = Field(default_factory=list)

    def relations(self) -> list[str]:
        """What relates fields to each other, one line per problem."""
        out: list[str] = []
        for field in ("name", "access_key_id", "uid"):
            seen: set[str] = set()
            for i, a in enumerate(self.accounts):
                value = getattr(a, field)
                if value in seen:
                    shown = "" if field == "access_key_id" else f" {value!r}"
                    out.append(f"accounts[{i}].{field}:{shown} is used twice")
                seen.add(value)
        out += role_relations(self.accounts)
        names = [a.name for a in self.accounts]
        ids: set[str] = set()
        for i, v in enumerate(self.vpcs):
            out += _vpc_relations(v, f"vpcs[{i}]", names, ids)
        return out


def _vpc_relations(v: Vpc, where: str, accounts: list[str], ids: set[str]) -> list[str]:
    out: list[str] = []

    def unique(value: str | None, here: str) -> None:
        if value is not None:
            if value in ids:
                out.append(f"{here}: {value!r} is used twice")
            ids.add(value)

    if v.account not in accounts:
        out.append(f"{where}.account: {v.account!r} is not an account of this world ({', '.join(sorted(accounts))})")
    for field in ("id", "vrouter_id", "route_table_id"):
        unique(getattr(v, field), f"{where}.{field}")
    net = ipaddress.ip_network(v.cidr)
    vswitches: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}
    for j, s in enumerate(v.vswitches):
        here = f"{where}.vswitches[{j}]"
        unique(s.id, f"{here}.id")
        if not s.id and not s.name:
            out.append(f"{here}: an id or a name is required (instances refer to it)")
        if not s.zone.startswith(v.region):
            out.append(f"{here}.zone: {s.zone!r} is not a zone of {v.region} (e.g. {v.region}-b)")
        sub = ipaddress.ip_network(s.cidr)
        if not sub.subnet_of(net):  # type: ignore[arg-type]
            out.append(f"{here}.cidr: {sub} is not inside the VPC's {net}")
        vswitches[s.id or s.name] = sub
    groups: set[str] = set()
    for j, g in enumerate(v.security_groups):
        here = f"{where}.security_groups[{j}]"
        unique(g.id, f"{here}.id")
        if not g.id and not g.name:
            out.append(f"{here}: an id or a name is required (instances refer to it)")
        groups.add(g.id or g.name)
    for j, inst in enumerate(v.instances):
        here = f"{where}.instances[{j}]"
        unique(inst.id, f"{here}.id")
        home = vswitches.get(inst.vswitch)
        if home is None:
            known = ", ".join(vswitches) or "none defined"
            out.append(f"{here}.vswitch: {inst.vswitch!r} is not a vSwitch of this VPC ({known})")
        elif ipaddress.ip_address(inst.private_ip) not in home:
            out.append(f"{here}.private_ip: {inst.private_ip} is not inside its vSwitch's {home}")
        for k, ref in enumerate(inst.security_groups):
            if ref not in groups:
                out.append(
                    f"{here}.security_groups[{k}]: {ref!r} is not a security group of this VPC "
                    f"({', '.join(sorted(groups)) or 'none defined'})"
                )
    return out
