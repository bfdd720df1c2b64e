"""Would a ping get through? A pure model over the store's network records.

``ping(net, source, ip)`` follows an ICMP echo from an instance to an IP address the way the VPCs
of this emulator would carry it, and says whether a reply comes back and, if not, why:

1. **Forward route.** The source's route table (its vSwitch's, else its VPC's) is searched for
   the longest prefix among ``Available`` entries (a ``Pending`` or ``Modifying`` entry forwards
   nothing yet; the API refuses two entries with one destination, so prefixes never tie). A
   ``local`` entry, or no entry for an address inside the source VPC's CIDR, keeps the packet in
   the VPC. A ``RouterInterface`` entry sends it through that interface, which must belong to the
   source VPC's router and be *connected*: both ends ``Active`` and each naming the other
   (interface ID, owner UID, region), as ``products/__init__.py`` defines; the VPC whose router
   holds the peer end is where the packet arrives. A ``VpcPeer`` entry sends it through that VPC
   peering connection, which must join the source VPC (either end) and carry traffic
   (``Activated``, or ``Updating`` for a Modify of an Activated one:
   ``products/vpcpeer_records.py``); the VPC at its other end is where the packet arrives. That VPC
   must hold the address in its CIDR. Anything else drops the packet.
2. **Destination.** The address must be the private IP of a ``Running`` instance in that VPC.
3. **Ingress.** The destination's security groups, merged, must let ICMP in from the source IP:
   the rules that match (protocol ICMP or ALL, ingress, source CIDR containing the source IP or a
   source group that the source instance is in, owned by the source's account, and no
   ``DestCidrIp`` excluding the destination) are ranked by priority (1 first) and, at equal
   priority, ``Drop`` wins. With no matching rule, two instances of one VPC that share a group
   whose ``InnerAccessPolicy`` is ``Accept`` may talk; otherwise the packet is dropped.
4. **Return route.** The destination VPC's table must route the source IP back to the source VPC,
   through a connected interface of its router or a VPC peering connection (not necessarily the
   kind the request took). Security groups are stateful, so the reply needs no ingress rule on
   the source side, and basic groups allow all egress (the emulator models no egress rules), so
   egress is not checked either.

Only one hop is modelled: a packet that reaches a VPC through a router interface or a peering is
not routed on through another one (peering is not transitive). A verdict says which way each
direction went (``via``/``back_via``: ``"local"``, ``"RouterInterface ri-..."``, ``"VpcPeer pcc-..."``)
and, for a lost packet, where (``failed``: ``forward``, ``destination``, ``ingress`` or ``return``);
``reachability_timeline.py`` evaluates it over a span of virtual time. The source instance's own
state (Running, Cloud Assistant online) is the caller's business, since a command that cannot start
never sends a packet.

``linked(net, vpc_a, vpc_b)`` answers whether two VPCs are joined by a connected pair of router
interfaces, which cross-account security group references require.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]

_TYPES = (
    "vpc",
    "vswitch",
    "route_table",
    "route_entry",
    "router_interface",
    "security_group",
    "instance",
    "vpc_peer",
)


@dataclass(frozen=True)
class Network:
    """Every account's network records, each with the store's ``_account`` and ``_region`` keys."""

    vpcs: tuple[Record, ...] = ()
    vswitches: tuple[Record, ...] = ()
    route_tables: tuple[Record, ...] = ()
    route_entries: tuple[Record, ...] = ()
    router_interfaces: tuple[Record, ...] = ()
    security_groups: tuple[Record, ...] = ()
    instances: tuple[Record, ...] = ()
    vpc_peers: tuple[Record, ...] = ()

    @classmethod
    def read(cls, tx: Any) -> Network:
        """The records as a store transaction sees them now (transitions settled)."""
        found = {t: tuple(tx.find_in_every_account(t)) for t in _TYPES}
        return cls(
            found["vpc"],
            found["vswitch"],
            found["route_table"],
            found["route_entry"],
            found["router_interface"],
            found["security_group"],
            found["instance"],
            found["vpc_peer"],
        )


@dataclass(frozen=True)
class Verdict:
    """Whether the echo reply comes back; ``reason`` says which path it took, or where it died."""

    reachable: bool
    reason: str
    path: str = ""  # "self", "vpc" (same VPC), "peering" (through router interfaces or a VPC peering connection)
    destination: Record | None = None
    cross_region: bool = False
    via: str = ""  # the forward hop: "local", "RouterInterface ri-...", "VpcPeer pcc-..."
    back_via: str = ""  # the return hop, likewise
    failed: str = ""  # where a lost packet died: "forward", "destination", "ingress", "return"


def _ip(value: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


def _in(ip: ipaddress.IPv4Address, cidr: str) -> bool:
    try:
        return ip in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _vpc_of(net: Network, instance: Record) -> Record | None:
    return next(
        (v for v in net.vpcs if v["VpcId"] == instance.get("VpcId") and v.get("_account") == instance.get("_account")),
        None,
    )


def _table_of(net: Network, instance: Record, vpc: Record) -> str:
    vsw = next(
        (
            s
            for s in net.vswitches
            if s["VSwitchId"] == instance.get("VSwitchId") and s.get("_account") == instance.get("_account")
        ),
        None,
    )
    return (vsw or {}).get("RouteTableId") or vpc.get("RouteTableId", "")


def best_route(net: Network, account: str, table_id: str, ip: ipaddress.IPv4Address) -> Record | None:
    """The ``Available`` entry of a route table with the longest prefix covering ``ip``."""
    best, best_len = None, -1
    for e in net.route_entries:
        if e.get("RouteTableId") != table_id or e.get("_account") != account or e.get("Status") != "Available":
            continue
        try:
            cidr = ipaddress.ip_network(e.get("DestinationCidrBlock", ""), strict=False)
        except ValueError:
            continue
        if ip in cidr and cidr.prefixlen > best_len:
            best, best_len = e, cidr.prefixlen
    return best


def peer_of(net: Network, ri: Record) -> Record | None:
    """The other end of a router interface, when the two are connected (both Active, each naming
    the other by ID, owner and region)."""
    if ri.get("Status") != "Active":
        return None
    for other in net.router_interfaces:
        if (
            other.get("RouterInterfaceId") == ri.get("OppositeInterfaceId")
            and other.get("_account") == str(ri.get("OppositeInterfaceOwnerId", ""))
            and other.get("_region") == ri.get("OppositeRegionId")
            and other.get("Status") == "Active"
            and other.get("OppositeInterfaceId") == ri.get("RouterInterfaceId")
            and str(other.get("OppositeInterfaceOwnerId", "")) == ri.get("_account")
            and other.get("OppositeRegionId") == ri.get("_region")
        ):
            return other
    return None


def _router_vpc(net: Network, ri: Record) -> Record | None:
    return next(
        (
            v
            for v in net.vpcs
            if v.get("VRouterId") == ri.get("RouterId")
            and v.get("_account") == ri.get("_account")
            and v.get("_region") == ri.get("_region")
        ),
        None,
    )


def _interfaces_of(net: Network, vpc: Record) -> Iterable[Record]:
    return (
        ri
        for ri in net.router_interfaces
        if ri.get("RouterId") == vpc.get("VRouterId")
        and ri.get("_account") == vpc.get("_account")
        and ri.get("_region") == vpc.get("_region")
    )


def linked(net: Network, vpc_a: Record, vpc_b: Record) -> bool:
    """Whether a connected pair of router interfaces joins the two VPCs' routers."""
    for ri in _interfaces_of(net, vpc_a):
        peer = peer_of(net, ri)
        if peer is not None:
            far = _router_vpc(net, peer)
            if far is not None and far["VpcId"] == vpc_b["VpcId"] and far.get("_account") == vpc_b.get("_account"):
                return True
    return False


def _vpc_at(net: Network, account: str, region: str, vpc_id: str) -> Record | None:
    return next(
        (
            v
            for v in net.vpcs
            if v.get("VpcId") == vpc_id and v.get("_account") == account and v.get("_region") == region
        ),
        None,
    )


def carries(peer: Record) -> bool:
    """A VPC peering connection forwards while ``Activated``, and while ``Updating`` for a Modify of
    one that was (``products/vpcpeer_records.carries_traffic``)."""
    return peer.get("Status") == "Activated" or (peer.get("Status") == "Updating" and bool(peer.get("Established")))


def _end(rec: Record, *keys: str) -> tuple[str, str, str]:
    """(account, region, VPC) of one end of a peering, or of a VPC."""
    account, region, vpc_id = (str(rec.get(k, "")) for k in keys)
    return account, region, vpc_id


def _through_peering(net: Network, vpc: Record, route: Record, what: str) -> tuple[Record | None, str]:
    """Where a ``VpcPeer`` route of ``vpc`` lands: the VPC at the connection's other end."""
    pcc = route.get("NextHopId", "")
    peer = next((p for p in net.vpc_peers if p.get("InstanceId") == pcc), None)
    requester = _end(peer, "OwnerId", "RegionId", "VpcId") if peer else None
    accepter = _end(peer, "AcceptingOwnerUid", "AcceptingRegionId", "AcceptingVpcId") if peer else None
    here = _end(vpc, "_account", "_region", "VpcId")
    if peer is None or here not in (requester, accepter):
        return None, (
            f"{what} route for {route.get('DestinationCidrBlock')} names {pcc}, which is not a VPC peering "
            f"connection of {vpc.get('VpcId')}"
        )
    if not carries(peer):
        return None, f"VPC peering connection {pcc} on the {what} path is {peer.get('Status')}, not Activated"
    far_end = accepter if here == requester else requester
    assert far_end is not None
    far = _vpc_at(net, *far_end)
    if far is None:
        return None, f"the other end of {pcc} is a VPC that no longer exists"
    return far, ""


def _next_hop_via(
    net: Network, vpc: Record, table: str, ip: ipaddress.IPv4Address, what: str
) -> tuple[Record | None, str, str]:
    """Where ``table`` of ``vpc`` sends ``ip``: ``(the VPC it lands in, "", hop)`` or ``(None, why not,
    hop)``, the hop being ``"local"``, ``"RouterInterface ri-..."`` or ``"VpcPeer pcc-..."``."""
    route = best_route(net, vpc["_account"], table, ip)
    if route is None:
        if _in(ip, vpc.get("CidrBlock", "")):
            return vpc, "", "local"
        return (
            None,
            f"no {what} route: route table {table} of {vpc['VpcId']} has no Available entry covering {ip}",
            "",
        )
    if route.get("NextHopType") == "local":
        return vpc, "", "local"
    hop = f"{route.get('NextHopType')} {route.get('NextHopId', '')}"
    if route.get("NextHopType") == "VpcPeer":
        landed, why = _through_peering(net, vpc, route, what)
        return landed, why, hop
    landed, why = _through_interface(net, vpc, table, route, what)
    return landed, why, hop


def _through_interface(net: Network, vpc: Record, table: str, route: Record, what: str) -> tuple[Record | None, str]:
    """Where a ``RouterInterface`` route (or one of a type not modelled) of ``vpc`` lands."""
    if route.get("NextHopType") != "RouterInterface":
        return None, (
            f"{what} route {route.get('RouteEntryId', '')} for {route.get('DestinationCidrBlock')} in "
            f"{table} goes to a {route.get('NextHopType')}, which the emulator does not model"
        )
    ri_id = route.get("NextHopId", "")
    ri = next((r for r in _interfaces_of(net, vpc) if r.get("RouterInterfaceId") == ri_id), None)
    if ri is None:
        return None, (
            f"{what} route for {route.get('DestinationCidrBlock')} in {table} names {ri_id}, "
            f"which is not an interface of router {vpc.get('VRouterId')}"
        )
    if ri.get("Status") != "Active":
        return None, f"router interface {ri_id} on the {what} path is {ri.get('Status')}, not Active"
    peer = peer_of(net, ri)
    if peer is None:
        return None, (
            f"router interface {ri_id} on the {what} path is not connected to an Active peer "
            "interface that names it back"
        )
    far = _router_vpc(net, peer)
    if far is None:
        return None, (
            f"the peer interface {peer.get('RouterInterfaceId')} of {ri_id} is on router "
            f"{peer.get('RouterId')}, which belongs to no VPC"
        )
    return far, ""


def _matches(
    rule: Record, src: Record, src_ip: ipaddress.IPv4Address, dst_ip: ipaddress.IPv4Address, dst_owner: str
) -> bool:
    if rule.get("Direction", "ingress") != "ingress" or rule.get("IpProtocol") not in ("ICMP", "ALL"):
        return False
    if rule.get("DestCidrIp") and not _in(dst_ip, rule["DestCidrIp"]):
        return False
    if rule.get("SourceCidrIp"):
        return _in(src_ip, rule["SourceCidrIp"])
    if rule.get("SourceGroupId"):
        owner = rule.get("SourceGroupOwnerAccount") or dst_owner
        return owner == src.get("_account") and rule["SourceGroupId"] in (src.get("SecurityGroupIds") or [])
    return False


def ingress_allows_icmp(
    net: Network, src: Record, dst: Record, src_ip: ipaddress.IPv4Address, dst_ip: ipaddress.IPv4Address
) -> tuple[bool, str]:
    """Whether ``dst``'s security groups let an echo request from ``src`` (at ``src_ip``) in."""
    groups = [
        g
        for g in net.security_groups
        if g["SecurityGroupId"] in (dst.get("SecurityGroupIds") or []) and g.get("_account") == dst.get("_account")
    ]
    names = ", ".join(g["SecurityGroupId"] for g in groups) or "(none)"
    hits = [
        r for g in groups for r in g.get("Rules") or [] if _matches(r, src, src_ip, dst_ip, dst.get("_account", ""))
    ]
    if hits:
        top = min(int(r.get("Priority", 1)) for r in hits)
        deciding = [r for r in hits if int(r.get("Priority", 1)) == top]
        drop = next((r for r in deciding if r.get("Policy") == "Drop"), None)
        if drop is not None:
            return False, (
                f"rule {drop.get('SecurityGroupRuleId', '')} (priority {top}, Drop) of {names} "
                f"on {dst['InstanceId']} drops ICMP from {src_ip}"
            )
        return True, ""
    shared = [
        g
        for g in groups
        if g.get("InnerAccessPolicy", "Accept") == "Accept"
        and g["SecurityGroupId"] in (src.get("SecurityGroupIds") or [])
        and src.get("_account") == dst.get("_account")
    ]
    if shared and src.get("VpcId") == dst.get("VpcId"):
        return True, ""
    return False, f"no ingress rule of {names} on {dst['InstanceId']} allows ICMP from {src_ip}"


def ping(net: Network, source: Record, ip: str) -> Verdict:
    """Would ``source`` get an echo reply from ``ip``?"""
    dst_ip = _ip(ip)
    if dst_ip is None:
        return Verdict(False, f"{ip!r} is not an IPv4 address")
    src_ip = _ip(source.get("PrivateIpAddress", ""))
    if src_ip is None:
        return Verdict(False, f"instance {source.get('InstanceId')} has no private IPv4 address")
    if dst_ip == src_ip or dst_ip.is_loopback:
        return Verdict(True, "the instance answers itself", "self", source)
    src_vpc = _vpc_of(net, source)
    if src_vpc is None:
        return Verdict(False, f"instance {source.get('InstanceId')} is in no known VPC")
    landed, why, via = _next_hop_via(net, src_vpc, _table_of(net, source, src_vpc), dst_ip, "forward")
    if landed is None:
        return Verdict(False, why, via=via, failed="forward")
    peered = landed["VpcId"] != src_vpc["VpcId"] or landed.get("_account") != src_vpc.get("_account")
    if peered and not _in(dst_ip, landed.get("CidrBlock", "")):
        why = f"{dst_ip} reaches {landed['VpcId']} but is outside its CIDR {landed.get('CidrBlock')}"
        return Verdict(False, why, via=via, failed="destination")
    dst = next(
        (
            i
            for i in net.instances
            if i.get("PrivateIpAddress") == str(dst_ip)
            and i.get("VpcId") == landed["VpcId"]
            and i.get("_account") == landed.get("_account")
        ),
        None,
    )
    if dst is None:
        return Verdict(
            False, f"no instance has the address {dst_ip} in {landed['VpcId']}", via=via, failed="destination"
        )
    if dst.get("Status") != "Running":
        why = f"the instance {dst['InstanceId']} at {dst_ip} is {dst.get('Status')}, not Running"
        return Verdict(False, why, via=via, failed="destination")
    allowed, why = ingress_allows_icmp(net, source, dst, src_ip, dst_ip)
    if not allowed:
        return Verdict(False, why, via=via, failed="ingress")
    if not peered:
        return Verdict(True, f"{src_ip} -> {dst_ip} inside {src_vpc['VpcId']}", "vpc", dst, via=via, back_via="local")
    back, why, back_via = _next_hop_via(net, landed, _table_of(net, dst, landed), src_ip, "return")
    if back is None:
        return Verdict(False, why, via=via, back_via=back_via, failed="return")
    if back["VpcId"] != src_vpc["VpcId"] or back.get("_account") != src_vpc.get("_account"):
        return Verdict(
            False,
            f"the return route for {src_ip} in {landed['VpcId']} leads to {back['VpcId']}, not to {src_vpc['VpcId']}",
            via=via,
            back_via=back_via,
            failed="return",
        )
    kinds = {h.split(" ")[0] for h in (via, back_via)}
    names = {"RouterInterface": "router interfaces", "VpcPeer": "a VPC peering connection"}
    through = " and ".join(sorted(names.get(k, k) for k in kinds))
    return Verdict(
        True,
        f"{src_ip} -> {dst_ip} from {src_vpc['VpcId']} to {landed['VpcId']} through {through}",
        "peering",
        dst,
        cross_region=landed.get("_region") != src_vpc.get("_region"),
        via=via,
        back_via=back_via,
    )
