"""Field types shared by everything that takes a value from a person: the parameter file, the peer
card and the peer-values form. One definition each (``AccountUid``, ``Region``, ``VpcId``,
``VpcCidr``, ``RouterInterfaceId``...), validated by pydantic, with a message that says what would be
valid.

Use a type as a pydantic annotation (``account_uid: AccountUid``), or check one value with
``problem(AccountUid, value)``, which returns the message or None. Messages show a value through
``show`` (quoted, shortened, masked when it looks like a credential) and never otherwise repeat it:
pydantic's own errors carry the raw input, so every error here is raised with ``refuse`` and a
message built from the value's shape, and callers read ``message_of(error)`` rather than ``input``.

The checks are about shape; whether a resource exists is for the API to say.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

from pydantic import AfterValidator, BeforeValidator, StringConstraints, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from . import secretlike
from .regions import REGIONS, closest

# The error type every message here is raised with; anything else came from pydantic itself.
ERROR_TYPE = "vpclink"


@dataclass(frozen=True)
class FieldError:
    field: str  # dotted path, e.g. "acceptor.vpc_id"
    message: str  # what is wrong and what would be valid


class FieldErrors(ValueError):
    """Every problem found in one input (a parameter file, a peer card), one line per field."""

    headline = "{n} invalid field(s)"

    def __init__(self, source: str, errors: list[FieldError]):
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {e.field}: {e.message}" for e in errors)
        super().__init__(f"{source}: {self.headline.format(n=len(errors))}:\n{lines}")


# -- messages ------------------------------------------------------------------------------------


def show(value: object) -> str:
    """A value as messages show it: quoted, shortened, and masked when it looks like a credential."""
    if isinstance(value, str):
        if secretlike.looks_like_credential(value):
            return secretlike.mask(value)
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list" if value else "an empty list"
    if isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= 40 else f"a {len(text)}-digit number"
    return f"a {type(value).__name__} value"


def key_label(key: object) -> str:
    """A mapping key as a field path shows it: on one line, shortened, and not repeated when it
    looks like a credential."""
    if isinstance(key, str) and secretlike.looks_like_credential(key):
        return "<credential-like key>"
    text = key if isinstance(key, str) and key.isprintable() else repr(key)
    return text if len(text) <= 64 else text[:61] + "..."


def field_path(loc: Iterable[object]) -> str:
    """``("security_groups", "rules", 1, "port_range")`` -> ``security_groups.rules[1].port_range``.
    Integers are list positions; every other part is a key."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            label = key_label(part)
            out = f"{out}.{label}" if out else label
    return out


def refuse(message: str) -> NoReturn:
    """Refuse a value with ``message`` (built with ``show``, never the raw value)."""
    raise PydanticCustomError(ERROR_TYPE, "{message}", {"message": message})


def message_of(error: Any) -> str | None:
    """The message of one pydantic error dict raised by ``refuse``, else None."""
    if error.get("type") == ERROR_TYPE:
        return str(error["ctx"]["message"])
    return None


def explained(describe: Callable[[object], str]) -> WrapValidator:
    """Validation by the annotations before it (strictness, patterns, bounds), with any error
    replaced by ``describe(value)``; a message already raised by ``refuse`` inside passes through."""

    def wrap(value: object, handler: Callable[[object], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as e:
            inner = next((m for err in e.errors(include_input=False) if (m := message_of(err))), None)
            refuse(inner or describe(value))

    return WrapValidator(wrap)


@functools.cache
def _adapter(field_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(field_type)


def validate(field_type: Any, value: object) -> Any:
    """``value`` validated (and normalised) as ``field_type``; raises pydantic's ValidationError."""
    return _adapter(field_type).validate_python(value)


def problem(field_type: Any, value: object) -> str | None:
    """Why ``value`` is not a valid ``field_type`` (a message naming what would be valid), or None."""
    try:
        validate(field_type, value)
    except ValidationError as e:
        err = e.errors(include_input=False)[0]
        return message_of(err) or f"{show(value)} is not valid here"
    return None


# -- names ---------------------------------------------------------------------------------------


def _not_a_credential(value: str) -> str:
    """Free text (a name, a description) that holds something shaped like a key is refused."""
    if secretlike.looks_like_credential(value):
        what = "an AccessKey ID" if secretlike.access_key_id_in(value) else "a secret or token"
        refuse(
            f"looks like {what} ({secretlike.mask(value)}): credentials are never written here; they stay "
            "in a credential profile (aliyun configure --profile NAME)"
        )
    return value


NotACredential = AfterValidator(_not_a_credential)

LINK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{1,63}")  # also the peer cards' rule
LINK_NAME_RULE = (
    "2 to 64 characters: a letter first, then letters, digits, '-', '_' or '.'; it names "
    "the router interfaces vpclink-<link>-initiator and vpclink-<link>-acceptor"
)
LinkName = Annotated[
    str,
    StringConstraints(strict=True, pattern=f"^{LINK_NAME.pattern}$"),
    NotACredential,
    explained(lambda v: f"{show(v)} is not a valid link name: {LINK_NAME_RULE}"),
]

PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
ProfileName = Annotated[
    str,
    StringConstraints(strict=True, pattern=f"^{PROFILE_NAME.pattern}$"),
    NotACredential,
    explained(
        lambda v: (
            f"{show(v)} is not a profile name: 1 to 64 letters, digits, '.', '_', '-' or '@', "
            "naming a profile in the Alibaba Cloud CLI's ~/.aliyun/config.json"
        )
    ),
]


def _region(value: object) -> str:
    if isinstance(value, str) and value in REGIONS:
        return value
    guess = closest(value) if isinstance(value, str) else None
    hint = f"did you mean '{guess}'? " if guess else ""
    refuse(f"{show(value)} is not a known Alibaba Cloud region ID; {hint}valid: {', '.join(REGIONS)}")


Region = Annotated[str, BeforeValidator(_region)]


# -- account UIDs --------------------------------------------------------------------------------

# The account UID is a 64-bit integer in the API: ``OppositeInterfaceOwnerId`` of
# CreateRouterInterface / ModifyRouterInterfaceAttribute and ``SourceGroupOwnerId`` of
# AuthorizeSecurityGroup are typed ``long``
# (https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-createrouterinterface,
# https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-modifyrouterinterfaceattribute,
# https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-authorizesecuritygroup;
# SDK models ``alibabacloud_vpc20160428.models.ModifyRouterInterfaceAttributeRequest.opposite_interface_owner_id: int``,
# ``alibabacloud_ecs20140526...AuthorizeSecurityGroupRequestPermissions.source_group_owner_id: int``).
# Account UIDs the console shows are 16 digits, and the references' own examples have 18
# (``253460731706911258``); the pages state no length, and the cloud's ``InvalidAliuid`` does not say
# what it checks. So vpclink accepts 16 to 19 digits (19: the most a long holds), not starting with 0
# (as a long it would lose that digit), at most 2^63 - 1. Fewer than 16 digits is refused: no
# account has such a UID, and it is the usual sign of a digit lost in copying.
UID_MIN_DIGITS, UID_MAX_DIGITS = 16, 19
UID_MAX = 2**63 - 1
UID_RULE = "an Alibaba Cloud account UID is 16 to 19 digits, not starting with 0"
UID_EXAMPLE = "1637243907412983"
_QUOTE = f'write it in quotes, e.g. "{UID_EXAMPLE}"'
_UID = re.compile(r"[0-9]{16,19}")  # ASCII digits only: \d also matches other scripts' digits
# Beyond 2**53 a number that went through a JSON double may have been rounded.
_EXACT_INT_LIMIT = 2**53


def uid_problem(value: object) -> str | None:
    """Why ``value`` is not an account UID (a phrase to put after the value), or None.

    YAML may give an int (accepted when exact) or a float (refused: digits may be lost).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"is not an account UID: {UID_RULE}; {_QUOTE}"
    if isinstance(value, float):
        return f"was read as a decimal number, which may have lost digits; {_QUOTE}"
    if isinstance(value, int) and value >= _EXACT_INT_LIMIT:
        return f"is a number above 2^53, where JSON tools round; check its digits and {_QUOTE}"
    text = str(value)
    if not _UID.fullmatch(text):
        ascii_digits = text.isascii() and text.isdigit()
        what = f"has {len(text)} digits" if ascii_digits else "is not all digits (0-9)"
        return f"{what}: {UID_RULE}; {_QUOTE}"
    if text.startswith("0"):
        return f"starts with 0: {UID_RULE}"
    if int(text) > UID_MAX:
        return f"is above {UID_MAX}, the largest number the API's 64-bit UID holds: check its digits"
    return None


def _account_uid(value: object) -> str:
    why = uid_problem(value)
    if why:
        refuse(f"{show(value)} {why}")
    return str(value)


AccountUid = Annotated[str, BeforeValidator(_account_uid)]


# -- resource IDs --------------------------------------------------------------------------------

# Prefix -> what the ID names, for messages ("this is a security group ID").
KINDS: dict[str, str] = {
    "vpc-": "VPC",
    "vsw-": "vSwitch",
    "vrt-": "VRouter",
    "vtb-": "route table",
    "rte-": "route entry",
    "ri-": "router interface",
    "sg-": "security group",
    "sgr-": "security group rule",
    "i-": "ECS instance",
}
_BODY = re.compile(r"[a-z0-9]{8,32}")


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind} ID"


def id_problem(value: object, prefix: str) -> str | None:
    """Why ``value`` is not an ID with ``prefix`` (a phrase to put after the value), or None.

    The phrase never repeats the value, so callers decide how (or whether) to show it.
    """
    a_kind = _a(KINDS[prefix])
    rule = f"{a_kind} is {prefix} followed by 8 to 32 lowercase letters or digits"
    if not isinstance(value, str):
        return f"is not {a_kind}: {rule}"
    if value.startswith(prefix) and _BODY.fullmatch(value[len(prefix) :]):
        return None
    other = next((p for p in sorted(KINDS, key=len, reverse=True) if p != prefix and value.startswith(p)), None)
    if other is not None and _BODY.fullmatch(value[len(other) :]):
        return f"is {_a(KINDS[other])}, not {a_kind}: {rule}"
    if value.strip() != value:
        return f"has leading or trailing spaces: {rule}"
    if value.lower() != value and value.lower().startswith(prefix):
        return f"has uppercase letters: {rule}"
    return f"is not {a_kind}: {rule}"


def _id_pattern(prefix: str) -> StringConstraints:
    return StringConstraints(strict=True, pattern=f"^{re.escape(prefix)}{_BODY.pattern}$")


def _id_message(prefix: str) -> WrapValidator:
    return explained(lambda v: f"{show(v)} {id_problem(v, prefix)}")


# One type per kind of ID (spelled out, so that type checkers see each as a type).
VpcId = Annotated[str, _id_pattern("vpc-"), _id_message("vpc-")]
VSwitchId = Annotated[str, _id_pattern("vsw-"), _id_message("vsw-")]
VRouterId = Annotated[str, _id_pattern("vrt-"), _id_message("vrt-")]
RouteTableId = Annotated[str, _id_pattern("vtb-"), _id_message("vtb-")]
RouteEntryId = Annotated[str, _id_pattern("rte-"), _id_message("rte-")]
RouterInterfaceId = Annotated[str, _id_pattern("ri-"), _id_message("ri-")]
SecurityGroupId = Annotated[str, _id_pattern("sg-"), _id_message("sg-")]
SecurityGroupRuleId = Annotated[str, _id_pattern("sgr-"), _id_message("sgr-")]
InstanceId = Annotated[str, _id_pattern("i-"), _id_message("i-")]
VpcPeerConnectionId = Annotated[str, _id_pattern("pcc-"), _id_message("pcc-")]
ID_TYPES: dict[str, Any] = {
    "vpc-": VpcId,
    "vsw-": VSwitchId,
    "vrt-": VRouterId,
    "vtb-": RouteTableId,
    "rte-": RouteEntryId,
    "ri-": RouterInterfaceId,
    "sg-": SecurityGroupId,
    "sgr-": SecurityGroupRuleId,
    "i-": InstanceId,
    "pcc-": VpcPeerConnectionId,
}


# -- networks ------------------------------------------------------------------------------------

# Blocks that can never be a VPC's CIDR nor a route destination through a router interface.
RESERVED_NETWORKS: dict[str, str] = {
    "100.64.0.0/10": "reserved by Alibaba Cloud for its own services",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}
VPC_PREFIX_MIN, VPC_PREFIX_MAX = 8, 28
_CIDR_EXAMPLE = "write an IPv4 network as a.b.c.d/n, e.g. 172.16.0.0/16"


def reserved(net: ipaddress.IPv4Network) -> str | None:
    """``"<net> overlaps <block> (<why>)"`` for a network inside a reserved block, else None."""
    for block, why in RESERVED_NETWORKS.items():
        if net.overlaps(ipaddress.IPv4Network(block)):
            return f"{net} overlaps {block} ({why})"
    return None


def _network(value: object) -> ipaddress.IPv4Network:
    if not isinstance(value, str) or "/" not in value:
        refuse(f"{show(value)} is not a CIDR block: {_CIDR_EXAMPLE}")
    try:
        loose = ipaddress.ip_network(value, strict=False)
    except ValueError:
        refuse(f"{show(value)} is not a CIDR block: {_CIDR_EXAMPLE}")
    if not isinstance(loose, ipaddress.IPv4Network):
        refuse(f"{show(value)} is an IPv6 block; this link routes IPv4: {_CIDR_EXAMPLE}")
    if str(loose) != value:
        refuse(f"{show(value)} has host bits set: the network is {loose}; write {loose}")
    return loose


def _ipv4_network(value: object) -> str:
    return str(_network(value))


def _vpc_cidr(value: object) -> str:
    net = _network(value)
    if not VPC_PREFIX_MIN <= net.prefixlen <= VPC_PREFIX_MAX:
        refuse(
            f"{net} is a /{net.prefixlen}: a VPC CIDR block is /{VPC_PREFIX_MIN} to /{VPC_PREFIX_MAX}, "
            "e.g. 192.168.0.0/16"
        )
    why = reserved(net)
    if why:
        refuse(
            f"{why}, which no VPC can use: use a private block such as 10.0.0.0/8, 172.16.0.0/12 or "
            "192.168.0.0/16 (or a part of one)"
        )
    return str(net)


# A strict IPv4 network (the network address itself: ``192.168.1.0/16`` is refused, ``192.168.0.0/16``
# suggested), as a string. Whether it may be a route destination depends on the VPCs around it.
Ipv4Network = Annotated[str, BeforeValidator(_ipv4_network)]
# A VPC's IPv4 CIDR block: a strict network, /8 to /28, outside the reserved blocks.
VpcCidr = Annotated[str, BeforeValidator(_vpc_cidr)]


def _ipv4_address(value: object) -> str:
    try:
        if isinstance(value, str) and "/" not in value:
            return str(ipaddress.IPv4Address(value))
    except ValueError:
        pass
    refuse(f"{show(value)} is not an IPv4 address: write it as a.b.c.d, e.g. 192.168.1.10")


Ipv4Address = Annotated[str, BeforeValidator(_ipv4_address)]


# -- bandwidth -----------------------------------------------------------------------------------

# Router interface Spec by bandwidth in Mbps (CreateRouterInterface ``Spec``; the acceptor's is
# "Negative"): https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-createrouterinterface
SPEC_BY_MBPS: dict[int, str] = {
    2: "Mini.2",
    5: "Mini.5",
    10: "Small.1",
    20: "Small.2",
    50: "Small.5",
    100: "Middle.1",
    200: "Middle.2",
    500: "Middle.5",
    1000: "Large.1",
    2000: "Large.2",
    5000: "Large.5",
    10000: "Xlarge.1",
}


def spec_list() -> str:
    return ", ".join(f"{mbps} ({spec})" for mbps, spec in SPEC_BY_MBPS.items())


def _bandwidth(value: object) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, int) and value in SPEC_BY_MBPS:
            return value
        if isinstance(value, float) and value.is_integer() and int(value) in SPEC_BY_MBPS:
            return int(value)
    refuse(f"{show(value)} is not an offered bandwidth: one of {spec_list()} (Mbps and the router interface Spec)")


BandwidthMbps = Annotated[int, BeforeValidator(_bandwidth)]


def _spec(value: object) -> str:
    valid = ", ".join(SPEC_BY_MBPS.values())
    if isinstance(value, str) and value in SPEC_BY_MBPS.values():
        return value
    if value == "Negative":
        refuse(
            "Negative is the acceptor's Spec and is set automatically: spec here is "
            f"the initiator's, one of {valid} (or leave spec out)"
        )
    guess = difflib.get_close_matches(str(value), list(SPEC_BY_MBPS.values()), n=1, cutoff=0.6)
    hint = f"did you mean '{guess[0]}'? " if guess and isinstance(value, str) else ""
    refuse(f"{show(value)} is not a router interface Spec; {hint}valid: {spec_list()}")


Spec = Annotated[str, BeforeValidator(_spec)]


# -- security group rules ------------------------------------------------------------------------

PROTOCOLS = ("icmp", "tcp", "udp", "all")


def _protocol(value: object) -> str:
    if isinstance(value, str) and value.lower() in PROTOCOLS:
        return value.lower()
    refuse(f"{show(value)} is not a protocol: one of {', '.join(PROTOCOLS)}")


# AuthorizeSecurityGroup ``IpProtocol`` (case-insensitive in the API), lower-cased.
Protocol = Annotated[str, BeforeValidator(_protocol)]

_PORT_RANGE = re.compile(r"(\d{1,5})/(\d{1,5})")


def port_range_problem(protocol: str, value: object) -> tuple[str | None, str | None]:
    """``(normalised range, None)`` or ``(None, message)`` for a rule's ``port_range``.

    tcp and udp need ``a/b`` with 1 <= a <= b <= 65535 (``22/22`` for one port); icmp and all take
    ``-1/-1`` (the default), as AuthorizeSecurityGroup's ``PortRange`` does.
    """
    if protocol in ("tcp", "udp"):
        rule = f"{protocol} needs port_range a/b with 1 <= a <= b <= 65535, e.g. 22/22 for one port"
        if value is None:
            return None, f"required: {rule}"
        match = _PORT_RANGE.fullmatch(value) if isinstance(value, str) else None
        if not match or not 1 <= int(match[1]) <= int(match[2]) <= 65535:
            what = (
                "is a number, not a range (YAML reads an unquoted 22:22 as the number 1342)"
                if isinstance(value, int) and not isinstance(value, bool)
                else "is not a port range"
            )
            return None, f"{show(value)} {what}: {rule}"
        return f"{int(match[1])}/{int(match[2])}", None
    if value is not None and value != "-1/-1":
        return None, f"{show(value)}: {protocol} has no ports; use -1/-1 or leave port_range out"
    return "-1/-1", None


# -- numbers -------------------------------------------------------------------------------------


def seconds_message(minimum: float, maximum: float, default: float) -> WrapValidator:
    """The message of a wait's timeout (``Annotated[float, Strict(), Ge(a), Le(b), seconds_message(...)]``)."""
    return explained(
        lambda v: (
            f"{show(v)} is not a timeout: a number of seconds, at least {minimum:g} and at most {maximum:g} "
            f"(default {default:g})"
        )
    )


def count_message(minimum: int, maximum: int, what: str, default: int) -> WrapValidator:
    """The message of a count (``Annotated[int, Strict(), Ge(a), Le(b), count_message(...)]``)."""
    return explained(
        lambda v: f"{show(v)} is not {what}: a whole number from {minimum} to {maximum} (default {default})"
    )
