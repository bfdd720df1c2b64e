"""The values one side of a link needs from the other side, and the rules each must pass.

When two operators each hold one account, neither can describe the other's resources: the acceptor
needs the initiator's account UID, region, VRouter ID and router interface ID, and so on (each phase
declares which: ``Phase.needs_from_peer``). The form (``peer.form``) and the peer card (``peer.card``)
both carry these values; both check them here, so a value typed into a form and one read from a card
pass exactly the same rules.

A value is named by its *field* (``router_interface_id``); as a phase input it is prefixed with the
role of the side it belongs to (``initiator_router_interface_id``), the same flat keys the phases
output and the notebooks take as parameters.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .. import ids
from ..params import RESERVED_NETWORKS, VPC_PREFIX_MAX, VPC_PREFIX_MIN, FieldError, Role
from ..regions import REGIONS, closest
from ..secretlike import looks_like_credential


@dataclass(frozen=True)
class PeerField:
    name: str
    label: str  # shown in the form, after the peer's role ("Initiator account UID")
    example: str  # shown as the input's placeholder and in error messages


FIELDS: dict[str, PeerField] = {
    f.name: f
    for f in (
        PeerField("account_uid", "account UID", "1637243907412983"),
        PeerField("region", "region", "cn-qingdao"),
        PeerField("vpc_id", "VPC ID", "vpc-m5e1abcdefgh12345678"),
        PeerField("vpc_cidr", "VPC CIDR", "192.168.0.0/16"),
        PeerField("vrouter_id", "VRouter ID", "vrt-m5e1abcdefgh12345678"),
        PeerField("router_interface_id", "router interface ID", "ri-m5e1abcdefgh12345678"),
        PeerField("security_group_id", "security group ID", "sg-m5e1abcdefgh1234567"),
        PeerField("instance_ip", "instance private IP", "192.168.1.10"),
    )
}

_UID = re.compile(r"[0-9]{16}")  # ASCII digits only: \d also matches other scripts' digits
_ID_PREFIX = {"vpc_id": "vpc-", "vrouter_id": "vrt-", "router_interface_id": "ri-", "security_group_id": "sg-"}


def input_key(role: Role, field_name: str) -> str:
    """The phase input / notebook parameter name of one side's value: ``initiator_vrouter_id``."""
    return f"{role}_{field_name}"


def _check_id(name: str) -> Callable[[str], str | None]:
    return lambda value: ids.id_problem(value, _ID_PREFIX[name])


def _check_uid(value: str) -> str | None:
    if _UID.fullmatch(value):
        return None
    got = f"{len(value)} digits" if value.isascii() and value.isdigit() else "characters other than 0-9"
    return f"must be the 16-digit account UID (main account), e.g. 1637243907412983; got {got}"


def _check_region(value: str) -> str | None:
    if value in REGIONS:
        return None
    guess = closest(value)
    hint = f"did you mean {guess}?" if guess else "e.g. cn-qingdao, cn-beijing, ap-southeast-1"
    return f"unknown region {value!r}; {hint}"


def _check_cidr(value: str) -> str | None:
    try:
        net = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        return "must be an IPv4 CIDR block such as 172.16.0.0/16"
    if "/" not in value:
        return f"needs a prefix length, e.g. {net.network_address}/16"
    if str(net) != value:
        return f"has host bits set; did you mean {net}?"
    if not VPC_PREFIX_MIN <= net.prefixlen <= VPC_PREFIX_MAX:
        return f"a VPC CIDR block has a prefix length from /{VPC_PREFIX_MIN} to /{VPC_PREFIX_MAX}"
    for block, why in RESERVED_NETWORKS.items():
        if net.overlaps(ipaddress.IPv4Network(block)):
            return f"overlaps {block} ({why}); a VPC cannot use it"
    return None


def _check_ip(value: str) -> str | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return "must be an IPv4 address such as 192.168.1.10"
    return None


_CHECKS: dict[str, Callable[[str], str | None]] = {
    "account_uid": _check_uid,
    "region": _check_region,
    "vpc_id": _check_id("vpc_id"),
    "vpc_cidr": _check_cidr,
    "vrouter_id": _check_id("vrouter_id"),
    "router_interface_id": _check_id("router_interface_id"),
    "security_group_id": _check_id("security_group_id"),
    "instance_ip": _check_ip,
}


def check_value(field_name: str, value: str) -> str | None:
    """The format error of one value (already stripped), or None if it is well formed.
    An empty value is not an error here: whether it is required is the caller's question."""
    if field_name not in _CHECKS:
        raise KeyError(f"unknown peer field {field_name!r}; known: {', '.join(FIELDS)}")
    if value == "":
        return None
    if looks_like_credential(value):
        return "looks like an AccessKey or secret; peer values never carry credentials"
    return _CHECKS[field_name](value)


@dataclass(frozen=True)
class Local:
    """What this side knows of itself, for the checks that compare the peer's values with it."""

    account_uid: str | None = None
    vpc_cidr: str | None = None


def check_values(
    values: Mapping[str, str], *, required: Iterable[str] = (), local: Local | None = None
) -> dict[str, str]:
    """Every problem in ``values`` (field -> stripped value), as field -> message: missing required
    fields, formats, and the cross-checks (the peer CIDR must not overlap this side's, the peer
    account is not this side's own, the instance IP lies in the peer CIDR)."""
    local = local or Local()
    errors: dict[str, str] = {}
    for name in required:
        if not values.get(name):
            errors[name] = f"required: the peer's {FIELDS[name].label}, e.g. {FIELDS[name].example}"
    for name, value in values.items():
        if name not in errors and (message := check_value(name, value)):
            errors[name] = message

    uid = values.get("account_uid")
    if uid and "account_uid" not in errors and uid == local.account_uid:
        errors["account_uid"] = "is this side's own account; enter the other account's UID"
    cidr = values.get("vpc_cidr")
    if cidr and "vpc_cidr" not in errors:
        if local.vpc_cidr and ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(local.vpc_cidr)):
            errors["vpc_cidr"] = f"overlaps this side's VPC CIDR {local.vpc_cidr}; the two VPCs must not overlap"
        ip = values.get("instance_ip")
        if ip and "instance_ip" not in errors and ipaddress.ip_address(ip) not in ipaddress.ip_network(cidr):
            errors["instance_ip"] = f"is not inside the peer VPC CIDR {cidr}"
    return {name: errors[name] for name in FIELDS if name in errors}


def field_errors(errors: Mapping[str, str], role: Role) -> list[FieldError]:
    """``check_values`` output as FieldErrors named by parameter (``initiator_router_interface_id``)."""
    return [FieldError(input_key(role, name), message) for name, message in errors.items()]


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PeerValues:
    """Peer values a phase will use, and where they came from (for the record)."""

    role: Role  # whose values these are (the peer of the side running)
    values: dict[str, str]  # field -> value
    source: str  # "parameters", "form" or "peer card"
    confirmed_at: str = field(default_factory=utc_now)
    card: str | None = None  # the peer card's description (link, role, created, fingerprint)

    def inputs(self) -> dict[str, str]:
        """As phase inputs / notebook parameters: ``{"initiator_router_interface_id": "ri-..."}``."""
        return {input_key(self.role, name): value for name, value in self.values.items()}

    def text(self) -> str:
        """Plain text for the record, readable where widgets do not render."""
        origin = f"from the {self.source}" + (f" {self.card}" if self.card else "")
        lines = [f"{self.role}'s values {origin}, confirmed {self.confirmed_at}:"]
        lines += [f"  {key} = {value}" for key, value in self.inputs().items()]
        return "\n".join(lines)
