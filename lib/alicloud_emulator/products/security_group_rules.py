"""Security group rules: from request parameters to the stored ``Permission`` record, and back.

AuthorizeSecurityGroup and RevokeSecurityGroup take rules in two forms: ``Permissions.N.*`` and
the deprecated flat fields at the top level of the request. Both come through ``permissions_of``
as ``(where, fields)`` pairs, where ``where`` is the parameter prefix that errors name
(``Permissions.2.`` or nothing).

``parse`` validates one rule and returns it in the shape DescribeSecurityGroupAttribute prints
(upper-case ``IpProtocol``, capitalised ``Policy``, ``Priority`` as a string: the API metadata's
schema and response example give ``"Priority": "1"``, and the SDK model a str), without its ID, time and
source group name, which the caller adds. Whether a referenced source group exists is the
caller's business (it needs the store); revoking a rule must not need the group to still exist.

Two rules are the same rule when ``identity`` is equal: direction, protocol, ports, NIC type,
policy, destination and source. Priority and description are not part of it, so authorizing an
identical rule again with another priority still creates nothing, as the API documents.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from ..errors import Constructor, invalid
from ..params import Params
from . import ecs_errors as err

PROTOCOLS = ("TCP", "UDP", "ICMP", "GRE", "ALL")
PORTLESS = ("ICMP", "GRE", "ALL")
FLAT_FIELDS = (
    "IpProtocol",
    "PortRange",
    "SourceCidrIp",
    "Ipv6SourceCidrIp",
    "SourceGroupId",
    "SourceGroupOwnerAccount",
    "SourceGroupOwnerId",
    "SourcePrefixListId",
    "SourcePortRange",
    "DestCidrIp",
    "Ipv6DestCidrIp",
    "Policy",
    "Priority",
    "NicType",
    "Description",
)
MAX_PERMISSIONS = 100

_RANGE = re.compile(r"^(-?\d+)/(-?\d+)$")
_INTEGER = re.compile(r"-?\d+")
_UID = re.compile(r"\d{1,20}")


def permissions_of(p: Params) -> list[tuple[str, dict[str, Any]]]:
    """The request's rules, each with the parameter prefix that names it in errors."""
    listed = p.raw("Permissions")
    flat = {k: p.raw(k) for k in FLAT_FIELDS if k in p.values and p.has(k)}
    if listed not in (None, "", []):
        if flat:
            raise err.permissions_conflict(
                "give the rules either as Permissions.N.* or as the deprecated "
                f"top-level fields, not both (top-level: {', '.join(sorted(flat))})"
            )
        if not isinstance(listed, list) or not all(isinstance(x, dict) for x in listed):
            raise invalid("Permissions", "expected Permissions.N.IpProtocol, Permissions.N.PortRange, ...")
        if len(listed) > MAX_PERMISSIONS:
            raise invalid("Permissions", f"at most {MAX_PERMISSIONS} rules per request, got {len(listed)}")
        return [(f"Permissions.{i}.", dict(x)) for i, x in enumerate(listed, start=1)]
    return [("", flat)] if flat else []


def _text(fields: dict[str, Any], name: str) -> str:
    v = fields.get(name)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise invalid(name, "expected a single value")
    return v.strip()


def _port_range(
    protocol: str, value: str, field: str, malformed: Constructor[[str, str, str]] = err.port_range_malformed
) -> str:
    """``-1/-1`` for ICMP, GRE and ALL; ``start/end`` within 1..65535 for TCP and UDP."""
    m = _RANGE.match(value)
    if protocol in PORTLESS:
        if value != "-1/-1":
            raise err.protocol_and_ports(f'{protocol} takes {field} "-1/-1", got "{value}"')
        return value
    if m and (m.group(1), m.group(2)) == ("-1", "-1"):
        raise err.protocol_and_ports(
            f'{protocol} takes a port range such as "22/22" or "1/65535" in {field}, not "-1/-1"'
        )
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2)) <= 65535):
        raise malformed(field, value, protocol)
    return f"{int(m.group(1))}/{int(m.group(2))}"


def _cidr(value: str, field: str, version: int, malformed: Constructor[[str, str]]) -> str:
    """A CIDR block (host bits cleared) or a bare address, as the caller wrote it."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        net = None
    if net is None or net.version != version:
        raise malformed(field, value)
    return value if "/" not in value else str(net)


def parse(
    where: str,
    fields: dict[str, Any],
    caller_uid: str,
    owner_uid_of: Callable[[str], str | None],
    direction: str = "ingress",
) -> dict[str, Any]:
    """Validate one rule. ``owner_uid_of(name_or_uid)`` resolves ``SourceGroupOwnerAccount``
    (an account name or UID) to a UID, or returns ``None`` for an unknown account."""

    def f(name: str) -> str:
        return _text(fields, name)

    protocol = f("IpProtocol")
    if not protocol:
        raise err.rule_field_missing(f"{where}IpProtocol", "valid values: TCP, UDP, ICMP, GRE, ALL")
    protocol = protocol.upper()
    if protocol not in PROTOCOLS:
        raise err.protocol_unsupported(f"{where}IpProtocol", f("IpProtocol"))
    if not f("PortRange"):
        raise err.rule_field_missing(
            f"{where}PortRange", 'use "-1/-1" for ICMP, GRE and ALL, "start/end" for TCP and UDP'
        )
    port_range = _port_range(protocol, f("PortRange"), f"{where}PortRange")
    source_ports = (
        _port_range(protocol, f("SourcePortRange"), f"{where}SourcePortRange", err.source_port_range_malformed)
        if f("SourcePortRange")
        else ""
    )

    def cidr_of(name: str, version: int, malformed: Constructor[[str, str]]) -> str:
        return _cidr(f(name), f"{where}{name}", version, malformed) if f(name) else ""

    cidr = cidr_of("SourceCidrIp", 4, err.source_cidr_malformed)
    cidr6 = cidr_of("Ipv6SourceCidrIp", 6, err.ipv6_source_malformed)
    if cidr and cidr6:
        raise err.source_ip_conflict(where)
    dest = cidr_of("DestCidrIp", 4, err.dest_cidr_malformed)
    dest6 = cidr_of("Ipv6DestCidrIp", 6, err.ipv6_dest_malformed)

    # A CIDR wins over a group, which wins over a prefix list; the losers are ignored, as documented.
    group, owner = "", ""
    if not (cidr or cidr6) and f("SourceGroupId"):
        group = f("SourceGroupId")
        owner = _owner(where, f("SourceGroupOwnerId"), f("SourceGroupOwnerAccount"), caller_uid, owner_uid_of)
    prefix_list = f("SourcePrefixListId") if not (cidr or cidr6 or group) else ""
    if not (cidr or cidr6 or group or prefix_list):
        raise err.rule_without_source(where)
    if prefix_list:
        raise err.prefix_list_not_found(f"{where}SourcePrefixListId", prefix_list)

    policy = (f("Policy") or "accept").lower()
    if policy not in ("accept", "drop"):
        raise err.policy_malformed(f"{where}Policy", f("Policy"))
    priority_text = f("Priority") or "1"
    if not _INTEGER.fullmatch(priority_text):
        raise err.priority_malformed(f"{where}Priority", priority_text)
    priority = int(priority_text)
    if not 1 <= priority <= 100:
        raise err.priority_unsupported(f"{where}Priority", priority)
    nic = (f("NicType") or "intranet").lower()
    if nic != "intranet":
        if group:
            raise err.source_group_nic_type(where, f("NicType"))
        raise err.nic_type_unsupported(f"{where}NicType", f("NicType"))
    description = f("Description")
    if len(description) > 512:
        raise err.rule_description_malformed(f"{where}Description", len(description))

    return {
        "Direction": direction,
        "IpProtocol": protocol,
        "PortRange": port_range,
        "SourcePortRange": source_ports,
        "SourceCidrIp": cidr,
        "Ipv6SourceCidrIp": cidr6,
        "SourceGroupId": group,
        "SourceGroupName": "",
        "SourceGroupOwnerAccount": owner,
        "SourcePrefixListId": "",
        "SourcePrefixListName": "",
        "DestCidrIp": dest,
        "Ipv6DestCidrIp": dest6,
        "DestGroupId": "",
        "DestGroupName": "",
        "DestGroupOwnerAccount": "",
        "DestPrefixListId": "",
        "DestPrefixListName": "",
        "Policy": policy.capitalize(),
        "Priority": str(priority),
        "NicType": nic,
        "Description": description,
        "PortRangeListId": "",
        "PortRangeListName": "",
    }


def _owner(
    where: str, owner_id: str, owner_account: str, caller_uid: str, owner_uid_of: Callable[[str], str | None]
) -> str:
    """The UID that owns the source group: ``SourceGroupOwnerId``, else ``SourceGroupOwnerAccount``
    (name or UID), else the caller. An unknown account keeps the value given, so it matches no group."""
    if owner_id:
        if not _UID.fullmatch(owner_id):
            raise invalid(f"{where}SourceGroupOwnerId", f'"{owner_id}" is not an account UID (digits only)')
        return owner_id
    if owner_account:
        return owner_uid_of(owner_account) or owner_account
    return caller_uid


def identity(rule: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two rules the same rule (priority and description do not)."""

    def net(v: str) -> str:
        return str(ipaddress.ip_network(v, strict=False)) if v else ""

    return (
        *shape(rule),
        net(rule.get("SourceCidrIp", "")),
        net(rule.get("Ipv6SourceCidrIp", "")),
        net(rule.get("DestCidrIp", "")),
        net(rule.get("Ipv6DestCidrIp", "")),
    )


def shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    """The part of ``identity`` that is compared as written: two rules of different shapes are
    different rules, whatever their CIDRs (which only ``identity`` parses)."""
    group = rule.get("SourceGroupId", "")
    return (
        rule["Direction"],
        rule["IpProtocol"],
        rule["PortRange"],
        rule.get("SourcePortRange", ""),
        rule["NicType"],
        rule["Policy"],
        group,
        rule.get("SourceGroupOwnerAccount", "") if group else "",
    )


class RuleIndex:
    """A group's rules, to ask whether a rule is already among them. Spelling a CIDR another way
    (``10.0.0.1`` for ``10.0.0.1/32``) makes no new rule, so CIDRs are compared parsed; parsing
    every rule of the group on each request would cost more than the rest of the request, so only
    the rules of the same ``shape`` (direction, protocol, ports ...) are parsed, usually none."""

    def __init__(self, rules: list[dict[str, Any]]):
        self._by_shape: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: dict[str, Any]) -> None:
        self._by_shape.setdefault(shape(rule), []).append(rule)

    def __contains__(self, rule: dict[str, Any]) -> bool:
        alike = self._by_shape.get(shape(rule))
        if not alike:
            return False
        key = identity(rule)
        return any(identity(r) == key for r in alike)
