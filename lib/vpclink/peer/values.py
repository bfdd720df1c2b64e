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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .. import fields as F
from ..params import FieldError, Role
from ..secretlike import looks_like_credential


@dataclass(frozen=True)
class PeerField:
    name: str
    label: str  # shown in the form, after the peer's role ("Initiator account UID")
    example: str  # shown as the input's placeholder and in error messages
    kind: Any  # the shared field type (``fields``): one rule for the parameter file, the card, the form


FIELDS: dict[str, PeerField] = {
    f.name: f
    for f in (
        PeerField("account_uid", "account UID", F.UID_EXAMPLE, F.AccountUid),
        PeerField("region", "region", "cn-qingdao", F.Region),
        PeerField("vpc_id", "VPC ID", "vpc-m5e1abcdefgh12345678", F.VpcId),
        PeerField("vpc_cidr", "VPC CIDR", "192.168.0.0/16", F.VpcCidr),
        PeerField("vrouter_id", "VRouter ID", "vrt-m5e1abcdefgh12345678", F.VRouterId),
        PeerField("router_interface_id", "router interface ID", "ri-m5e1abcdefgh12345678", F.RouterInterfaceId),
        PeerField("security_group_id", "security group ID", "sg-m5e1abcdefgh1234567", F.SecurityGroupId),
        PeerField("instance_ip", "instance private IP", "192.168.1.10", F.Ipv4Address),
        # backend vpc_peer: the connection account A requested, which account B accepts
        PeerField("peer_connection_id", "VPC peering connection ID", "pcc-m5e1abcdefgh12345678", F.VpcPeerConnectionId),
    )
}
# The fields that hold a resource ID, by what they name (for "this side's own ... ID").
ID_FIELDS = ("vpc_id", "vrouter_id", "router_interface_id", "security_group_id")  # the peering's is shared


def input_key(role: Role, field_name: str) -> str:
    """The phase input / notebook parameter name of one side's value: ``initiator_vrouter_id``."""
    return f"{role}_{field_name}"


def _short(message: str) -> str:
    """A field's message as a form shows it beside the field: a region's "did you mean" without
    the list of every region after it."""
    head, sep, _ = message.partition("; valid: ")
    return head if sep and "did you mean" in head else message


def check_value(field_name: str, value: str) -> str | None:
    """The format error of one value (already stripped), or None if it is well formed.
    An empty value is not an error here: whether it is required is the caller's question."""
    if field_name not in FIELDS:
        raise KeyError(f"unknown peer field {field_name!r}; known: {', '.join(FIELDS)}")
    if value == "":
        return None
    if looks_like_credential(value):
        return "looks like an AccessKey or secret; peer values never carry credentials"
    problem = F.problem(FIELDS[field_name].kind, value)
    return _short(problem) if problem else None


@dataclass(frozen=True)
class Local:
    """What this side knows, for the checks that compare the peer's values with it: its own account,
    CIDR and resource IDs (a peer value equal to one of them cannot be the peer's), and what the
    parameter file both operators share says of the peer (``declared``: field -> value)."""

    account_uid: str | None = None
    vpc_cidr: str | None = None
    own_ids: tuple[str, ...] = ()
    declared: Mapping[str, str] = field(default_factory=dict)
    role: Role | None = None  # the peer's role, to name the parameter (``initiator.region``)


def check_values(
    values: Mapping[str, str], *, required: Iterable[str] = (), local: Local | None = None
) -> dict[str, str]:
    """Every problem in ``values`` (field -> stripped value), as field -> message: missing required
    fields, formats, and the cross-checks: a value the shared parameter file declares otherwise, the
    peer account or an ID that is this side's own, the peer CIDR overlapping this side's, the
    instance IP outside the peer CIDR."""
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
    for name, value in values.items():
        if name in errors or not value:
            continue
        declared = local.declared.get(name)
        if declared and str(declared) != value:
            where = f"{local.role}.{name}" if local.role else name
            errors[name] = (
                f"the parameter file says {declared} ({where}): both operators must use the same parameter file; "
                "ask the other operator which is right"
            )
        elif name in ID_FIELDS and value in local.own_ids:
            errors[name] = (
                f"{value} is this side's own {FIELDS[name].label}, not the peer's: the card or value comes from "
                "this side (or from an emulator world of its own: both operators must share one emulator)"
            )
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
