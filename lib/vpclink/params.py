"""The parameter contract: one YAML file describes one link.

Everything is validated before any API call; every problem is reported at once, each naming the
field and what would be valid. Credentials are referenced by profile name only.

Example (``params/example.yaml``)::

    link: tutorial-qingdao-beijing
    initiator:                      # account A: creates the initiator router interface
      profile: vpclink-a            # credential profile (Alibaba Cloud CLI ~/.aliyun/config.json)
      account_uid: "1637243907412983"   # optional; checked against STS GetCallerIdentity
      region: cn-qingdao
      vpc_id: vpc-...
      vpc_cidr: 192.168.0.0/16      # checked against DescribeVpcs in preflight
      security_group_id: sg-...
      instance_id: i-...            # optional: the ECS instance that pings the peer
    acceptor: { ... same fields ... }
    bandwidth_mbps: 2               # -> Spec Mini.2 (the initiator's; the acceptor's is Negative)
    routes:                         # destinations routed through the router interface
      initiator: [172.16.0.0/16]    # in VPC1's route table (default: the acceptor's vpc_cidr)
      acceptor: [192.168.0.0/16]    # in VPC2's route table (default: the initiator's vpc_cidr)
    security_groups:
      mode: cidr                    # cidr: authorize the peer CIDR (required across regions)
                                    # group: peer security group + peer account (one region only)
      rules:
        - {protocol: icmp}
        - {protocol: tcp, port_range: 22/22}
    timeouts:                       # seconds; waits poll with backoff up to these
      router_interface: 300
      route_entry: 120
      command: 120
    verify:
      ping_count: 4

The rules, beyond "required" and "no unknown key at any level" (a close key name is suggested):

- ``link``: 2-64 characters, a letter first, then letters, digits, ``-``, ``_``, ``.``. It names the
  router interfaces ``vpclink-<link>-<role>`` (the API allows 128 characters, so there is room).
- ``region``: a known region ID (``vpclink.regions``). IDs: the resource's prefix plus 8-32
  lowercase letters or digits. ``account_uid``: 16 digits, best quoted; an unquoted YAML number is
  accepted when exact, a decimal or a number past 2^53 is refused (digits may have been lost).
- ``vpc_cidr``: an IPv4 network address (``192.168.1.0/16`` is refused, ``192.168.0.0/16`` suggested),
  /8 to /28. The two VPCs must not overlap: the link routes each one's CIDR to the other.
- The two sides are two different accounts: the same ``profile`` or the same ``account_uid`` on both
  sides is refused, and so is the same VPC.
- ``bandwidth_mbps``: a key of ``SPEC_BY_MBPS``; an optional ``spec`` must name the same Spec.
- ``routes.<role>``: destinations added to that side's route table with the router interface as next
  hop. A destination may be any IPv4 network the peer VPC reaches (its CIDR, or networks behind it),
  but never one overlapping the side's own ``vpc_cidr`` (that traffic must stay in the VPC) nor the
  reserved ranges (100.64.0.0/10, which the API refuses, loopback, link-local, multicast).
  Omitted: the peer's ``vpc_cidr``.
- ``security_groups.mode``: ``cidr`` (authorize the peer VPC's CIDR) or ``group`` (authorize the peer
  security group and account), ``group`` only when both VPCs are in one region. Rules: protocol
  icmp/tcp/udp/all; tcp and udp need ``port_range: a/b`` with 1 <= a <= b <= 65535, the others take
  ``-1/-1`` (the default).
- ``timeouts``: seconds, above 0 and at most ``TIMEOUT_MAX``. ``verify.ping_count``: 1 to 20.
- Credentials are refused wherever they appear: keys named like ``access_key*``, ``*secret*``,
  ``*password*``, ``*token*``, ``credentials``; values shaped like an AccessKey ID anywhere; long
  random-looking tokens in any field that is not a resource ID. Messages never repeat such a value.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from . import ids, secretlike
from .regions import REGIONS, closest

Role = Literal["initiator", "acceptor"]
ROLES: tuple[Role, Role] = ("initiator", "acceptor")

# Router interface Spec by bandwidth in Mbps (CreateRouterInterface); the acceptor's is "Negative".
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


@dataclass(frozen=True)
class Side:
    """One account's end of the link."""

    role: Role
    profile: str
    region: str
    vpc_id: str
    vpc_cidr: str
    security_group_id: str
    account_uid: str | None = None
    instance_id: str | None = None


@dataclass(frozen=True)
class Rule:
    """An ingress rule each side opens to the peer: ``protocol`` in icmp/tcp/udp/all; ``port_range``
    ``a/b`` for tcp/udp, ``-1/-1`` otherwise."""

    protocol: str
    port_range: str = "-1/-1"
    description: str = ""


@dataclass(frozen=True)
class SecurityGroups:
    mode: Literal["cidr", "group"] = "cidr"
    rules: tuple[Rule, ...] = (Rule("icmp"),)


@dataclass(frozen=True)
class Timeouts:
    router_interface: float = 300.0
    route_entry: float = 120.0
    command: float = 120.0


@dataclass(frozen=True)
class Verify:
    ping_count: int = 4


@dataclass(frozen=True)
class LinkParams:
    link: str
    initiator: Side
    acceptor: Side
    bandwidth_mbps: int
    routes: dict[Role, tuple[str, ...]]
    security_groups: SecurityGroups = field(default_factory=SecurityGroups)
    timeouts: Timeouts = field(default_factory=Timeouts)
    verify: Verify = field(default_factory=Verify)

    @property
    def spec(self) -> str:
        return SPEC_BY_MBPS[self.bandwidth_mbps]

    def side(self, role: Role) -> Side:
        return self.initiator if role == "initiator" else self.acceptor

    def peer(self, role: Role) -> Side:
        return self.acceptor if role == "initiator" else self.initiator

    @property
    def same_region(self) -> bool:
        return self.initiator.region == self.acceptor.region


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


class ParamsError(FieldErrors):
    """Every problem found in a parameter file."""

    headline = "{n} invalid parameter(s)"


# ---------------------------------------------------------------------------------------------
# Validation. ``_Check`` collects every problem; each ``_parse_*`` returns what it could read (None
# where a value is bad) so later cross-checks run only on values already known to be good.

TIMEOUT_MAX = 3600.0  # seconds; a wait longer than an hour means something is wrong
PING_COUNT_MIN, PING_COUNT_MAX = 1, 20
PROTOCOLS = ("icmp", "tcp", "udp", "all")
MODES = ("cidr", "group")
VPC_PREFIX_MIN, VPC_PREFIX_MAX = 8, 28
RULE_DESCRIPTION_MAX = 512  # AuthorizeSecurityGroup's limit

# Destinations that can never be routed through a router interface (nor be a VPC's CIDR).
RESERVED_NETWORKS: dict[str, str] = {
    "100.64.0.0/10": "reserved by Alibaba Cloud for its own services",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}

LINK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{1,63}")  # also the peer cards' rule
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_PORT_RANGE = re.compile(r"(\d{1,5})/(\d{1,5})")

_TOP_KEYS = (
    "link",
    "initiator",
    "acceptor",
    "bandwidth_mbps",
    "spec",
    "routes",
    "security_groups",
    "timeouts",
    "verify",
)
_SIDE_KEYS = ("profile", "account_uid", "region", "vpc_id", "vpc_cidr", "security_group_id", "instance_id")
_SIDE_REQUIRED = ("profile", "region", "vpc_id", "vpc_cidr", "security_group_id")
_ID_PREFIX = {"vpc_id": "vpc-", "security_group_id": "sg-", "instance_id": "i-"}
# Fields whose values are resource IDs or UIDs: random-looking text is expected there.
_ID_FIELDS = frozenset(_ID_PREFIX) | {"account_uid"}
_SG_KEYS = ("mode", "rules")
_RULE_KEYS = ("protocol", "port_range", "description")
_TIMEOUT_KEYS = tuple(f.name for f in fields(Timeouts))
_VERIFY_KEYS = tuple(f.name for f in fields(Verify))

# Where each key lives, for a key written at the wrong level.
_KEY_HOME = {
    **{k: "under initiator and acceptor" for k in _SIDE_KEYS},
    **{k: "under security_groups" for k in _SG_KEYS},
    **{k: "in each item of security_groups.rules" for k in _RULE_KEYS},
    **{k: "under timeouts" for k in _TIMEOUT_KEYS},
    **{k: "under verify" for k in _VERIFY_KEYS},
    **{k: "at the top level" for k in _TOP_KEYS},
}

_ACCOUNT = {"initiator": "account A", "acceptor": "account B"}
_SIDE_HELP = {
    "profile": "the credential profile of {account} (a profile name in the Alibaba Cloud CLI's "
    "~/.aliyun/config.json, e.g. vpclink-a)",
    "region": "the region ID of this side's VPC, e.g. cn-qingdao",
    "vpc_id": "this side's VPC ID, vpc- followed by 8 to 32 lowercase letters or digits",
    "vpc_cidr": "this side's VPC CIDR block as the console shows it, e.g. 192.168.0.0/16",
    "security_group_id": "the security group of this side's ECS instances, sg- followed by 8 to 32 "
    "lowercase letters or digits",
}
_CREDENTIALS_ADVICE = (
    "a parameter file never holds credentials: keep the AccessKey in a credential "
    "profile (aliyun configure --profile NAME) and name that profile in "
    "initiator.profile / acceptor.profile"
)


class _Check:
    """The problems found so far, and the fields already refused (checked no further)."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.refused: set[str] = set()

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def refuse(self, path: str, message: str) -> None:
        self.error(path, message)
        self.refused.add(path)

    def mapping(self, value: object, path: str, keys: tuple[str, ...], what: str) -> dict[str, Any] | None:
        """``value`` as a mapping with only ``keys`` (each unknown key is reported), or None."""
        if not isinstance(value, dict):
            self.error(path, f"{_show(value)} is not a mapping: {what} is a mapping with keys {', '.join(keys)}")
            return None
        known = {}
        for key, item in value.items():
            sub = _join(path, key)
            if sub in self.refused:
                continue
            if key in keys:
                known[key] = item
            else:
                self.error(sub, _unknown_key(key, keys))
        return known

    def take(self, raw: dict[str, Any], path: str, key: str) -> object:
        """``raw[key]``, or None when absent, empty, or already refused as a credential."""
        return None if _join(path, key) in self.refused else raw.get(key)


def _join(path: str, key: object) -> str:
    label = key if isinstance(key, str) else repr(key)
    if isinstance(key, str) and secretlike.looks_like_credential(key):
        label = "<credential-like key>"
    return f"{path}.{label}" if path else label


def _show(value: object) -> str:
    """A value as messages show it: quoted, shortened, and masked when it looks like a credential."""
    if isinstance(value, str):
        if secretlike.looks_like_credential(value):
            return secretlike.mask(value)
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return repr(value)


def _unknown_key(key: object, valid: tuple[str, ...]) -> str:
    if not isinstance(key, str):
        hint = ""
    elif key in _KEY_HOME:
        hint = f"; it belongs {_KEY_HOME[key]}"
    else:
        guess = difflib.get_close_matches(key.lower().replace("-", "_"), valid, n=1, cutoff=0.6)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
    return f"unknown key, refused rather than ignored{hint} (valid keys here: {', '.join(valid)})"


def _scan_credentials(node: object, path: str, check: _Check, seen: set[int] | None = None) -> None:
    """Refuse every credential-named key and credential-looking value, before anything else."""
    seen = set() if seen is None else seen
    if isinstance(node, (dict, list)):
        if id(node) in seen:  # YAML aliases can make a structure contain itself
            return
        seen.add(id(node))
    if isinstance(node, dict):
        for key, value in node.items():
            sub = _join(path, key)
            named = secretlike.credential_key(key)
            if named or (isinstance(key, str) and secretlike.looks_like_credential(key)):
                check.refuse(sub, f"credential-like key refused: {_CREDENTIALS_ADVICE}")
            else:
                _scan_credentials(value, sub, check, seen)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _scan_credentials(value, f"{path}[{i}]", check, seen)
    elif isinstance(node, str):
        last = path.rsplit(".", 1)[-1]
        if secretlike.access_key_id_in(node):
            what = "an AccessKey ID"
        elif last not in _ID_FIELDS and secretlike.secret_in(node):
            what = "a secret or token"
        else:
            return
        check.refuse(path, f"looks like {what} ({secretlike.mask(node)}): {_CREDENTIALS_ADVICE}")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _network(check: _Check, path: str, value: object) -> ipaddress.IPv4Network | None:
    """A strict IPv4 network (the network address itself), or None after reporting why not."""
    example = "write an IPv4 network as a.b.c.d/n, e.g. 172.16.0.0/16"
    if not isinstance(value, str) or "/" not in value:
        check.error(path, f"{_show(value)} is not a CIDR block: {example}")
        return None
    try:
        loose = ipaddress.ip_network(value, strict=False)
    except ValueError:
        check.error(path, f"{_show(value)} is not a CIDR block: {example}")
        return None
    if loose.version != 4:
        check.error(path, f"{_show(value)} is an IPv6 block; this link routes IPv4: {example}")
        return None
    if str(loose) != value:
        check.error(path, f"{_show(value)} has host bits set: the network is {loose}; write {loose}")
        return None
    return loose


def _reserved(net: ipaddress.IPv4Network) -> str | None:
    for block, why in RESERVED_NETWORKS.items():
        if net.overlaps(ipaddress.IPv4Network(block)):
            return f"{net} overlaps {block} ({why})"
    return None


def _parse_link(check: _Check, raw: dict[str, Any]) -> str | None:
    value = check.take(raw, "", "link")
    rule = (
        "2 to 64 characters: a letter first, then letters, digits, '-', '_' or '.'; it names "
        "the router interfaces vpclink-<link>-initiator and vpclink-<link>-acceptor"
    )
    if value is None:
        if "link" not in check.refused:
            check.error("link", f"required: a name for this link, {rule}")
        return None
    if not isinstance(value, str) or not LINK_NAME.fullmatch(value):
        check.error("link", f"{_show(value)} is not a valid link name: {rule}")
        return None
    return value


def _parse_side(check: _Check, role: Role, value: object) -> dict[str, Any] | None:
    """The side's good values by field name (a bad or missing field is absent), or None."""
    if value is None:
        if role not in check.refused:
            required = ", ".join(_SIDE_REQUIRED)
            check.error(
                role,
                f"required: {_ACCOUNT[role]}'s side, a mapping with {required} (account_uid and instance_id optional)",
            )
        return None
    raw = check.mapping(value, role, _SIDE_KEYS, f"{role} ({_ACCOUNT[role]}'s side)")
    if raw is None:
        return None
    good: dict[str, Any] = {}
    for key in _SIDE_KEYS:
        path, item = f"{role}.{key}", check.take(raw, role, key)
        if path in check.refused:
            continue
        if item is None:
            if key in _SIDE_REQUIRED:
                check.error(path, "required: " + _SIDE_HELP[key].format(account=_ACCOUNT[role]))
            continue
        parsed = _SIDE_FIELDS[key](check, path, item)
        if parsed is not None:
            good[key] = parsed
    return good


def _side_profile(check: _Check, path: str, value: object) -> str | None:
    if isinstance(value, str) and _PROFILE_NAME.fullmatch(value):
        return value
    check.error(
        path,
        f"{_show(value)} is not a profile name: 1 to 64 letters, digits, '.', '_', "
        f"'-' or '@', naming a profile in the Alibaba Cloud CLI's ~/.aliyun/config.json",
    )
    return None


def _side_region(check: _Check, path: str, value: object) -> str | None:
    if isinstance(value, str) and value in REGIONS:
        return value
    guess = closest(value) if isinstance(value, str) else None
    hint = f"did you mean '{guess}'? " if guess else ""
    check.error(path, f"{_show(value)} is not a known Alibaba Cloud region ID; {hint}valid: {', '.join(REGIONS)}")
    return None


def _side_account_uid(check: _Check, path: str, value: object) -> str | None:
    try:
        return ids.parse_account_uid(value)
    except ValueError as e:
        check.error(path, f"{_show(value)} {e}")
        return None


def _side_id(check: _Check, path: str, value: object) -> str | None:
    problem = ids.id_problem(value, _ID_PREFIX[path.rsplit(".", 1)[-1]])
    if problem is None:
        return str(value)  # id_problem accepts strings only
    check.error(path, f"{_show(value)} {problem}")
    return None


def _side_vpc_cidr(check: _Check, path: str, value: object) -> ipaddress.IPv4Network | None:
    net = _network(check, path, value)
    if net is None:
        return None
    if not VPC_PREFIX_MIN <= net.prefixlen <= VPC_PREFIX_MAX:
        check.error(
            path,
            f"{net} is a /{net.prefixlen}: a VPC CIDR block is /{VPC_PREFIX_MIN} "
            f"to /{VPC_PREFIX_MAX}, e.g. 192.168.0.0/16",
        )
        return None
    reserved = _reserved(net)
    if reserved:
        check.error(
            path,
            f"{reserved}, which no VPC can use: use a private block such as "
            f"10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (or a part of one)",
        )
        return None
    return net


_SIDE_FIELDS = {
    "profile": _side_profile,
    "region": _side_region,
    "account_uid": _side_account_uid,
    "vpc_id": _side_id,
    "security_group_id": _side_id,
    "instance_id": _side_id,
    "vpc_cidr": _side_vpc_cidr,
}


def _cross_check_sides(check: _Check, a: dict[str, Any], b: dict[str, Any]) -> None:
    two = "the link connects two different accounts"
    if "profile" in a and a.get("profile") == b.get("profile"):
        check.error(
            "acceptor.profile",
            f"{_show(b['profile'])} is also initiator.profile: {two}; name account B's credential profile here",
        )
    if "account_uid" in a and a.get("account_uid") == b.get("account_uid"):
        check.error(
            "acceptor.account_uid",
            f"{b['account_uid']} is also initiator.account_uid: {two}; give account B's UID here",
        )
    if "vpc_id" in a and a.get("vpc_id") == b.get("vpc_id"):
        check.error("acceptor.vpc_id", f"{b['vpc_id']} is also initiator.vpc_id: give account B's VPC here")
    elif "vpc_cidr" in a and "vpc_cidr" in b and a["vpc_cidr"].overlaps(b["vpc_cidr"]):
        check.error(
            "acceptor.vpc_cidr",
            f"{b['vpc_cidr']} overlaps initiator.vpc_cidr {a['vpc_cidr']}: "
            f"the two VPCs' CIDR blocks must not overlap (each is routed "
            f"to the other); pick VPCs with disjoint blocks",
        )
        # The routes would be wrong only as a consequence: judge them once the VPCs are fixed.
        del a["vpc_cidr"], b["vpc_cidr"]


def _spec_list() -> str:
    return ", ".join(f"{mbps} ({spec})" for mbps, spec in SPEC_BY_MBPS.items())


def _parse_bandwidth(check: _Check, raw: dict[str, Any]) -> int | None:
    value, spec = check.take(raw, "", "bandwidth_mbps"), check.take(raw, "", "spec")
    mbps: int | None = None
    number = _number(value)
    if value is None:
        if "bandwidth_mbps" not in check.refused:
            by_spec = {s: m for m, s in SPEC_BY_MBPS.items()}
            hint = (
                f" (spec {spec} is bandwidth_mbps: {by_spec[spec]})"
                if isinstance(spec, str) and spec in by_spec
                else ""
            )
            check.error(
                "bandwidth_mbps",
                f"required: the link's bandwidth in Mbps{hint}, one of "
                f"{_spec_list()} (Mbps and the router interface Spec)",
            )
    elif number is not None and number.is_integer() and int(number) in SPEC_BY_MBPS:
        mbps = int(number)
    else:
        check.error(
            "bandwidth_mbps",
            f"{_show(value)} is not an offered bandwidth: one of {_spec_list()} (Mbps and the router interface Spec)",
        )
    if spec is None:
        return mbps
    valid_specs = ", ".join(SPEC_BY_MBPS.values())
    if spec == "Negative":
        check.error(
            "spec",
            "Negative is the acceptor's Spec and is set automatically: spec here is "
            f"the initiator's, one of {valid_specs} (or leave spec out)",
        )
    elif spec not in SPEC_BY_MBPS.values():
        guess = difflib.get_close_matches(str(spec), list(SPEC_BY_MBPS.values()), n=1, cutoff=0.6)
        hint = f"did you mean '{guess[0]}'? " if guess else ""
        check.error("spec", f"{_show(spec)} is not a router interface Spec; {hint}valid: {_spec_list()}")
    elif mbps is not None and SPEC_BY_MBPS[mbps] != spec:
        check.error(
            "spec",
            f"{spec} does not match bandwidth_mbps {mbps}, whose Spec is "
            f"{SPEC_BY_MBPS[mbps]}: make them agree ({_spec_list()}) or leave spec out",
        )
    return mbps


def _parse_routes(
    check: _Check, raw: dict[str, Any], sides: dict[Role, dict[str, Any] | None]
) -> dict[Role, tuple[str, ...]] | None:
    value = check.take(raw, "", "routes")
    routes_raw = {} if value is None else check.mapping(value, "routes", ROLES, "routes")
    if routes_raw is None:
        return None
    result: dict[Role, tuple[str, ...]] = {}
    for role, peer_role in (("initiator", "acceptor"), ("acceptor", "initiator")):
        own = (sides[role] or {}).get("vpc_cidr")
        peer = (sides[peer_role] or {}).get("vpc_cidr")
        path, items = f"routes.{role}", check.take(routes_raw, "routes", role)
        if path in check.refused:
            continue
        if items is None:
            if peer is not None:
                result[role] = (str(peer),)
            continue
        omit = f"leave routes.{role} out to route the peer's vpc_cidr" + (f" ({peer})" if peer else "")
        if not isinstance(items, list) or not items:
            check.error(
                path,
                f"{_show(items)}: expected a list of destination CIDR blocks, e.g. [{peer or '172.16.0.0/16'}]; {omit}",
            )
            continue
        good: list[str] = []
        for i, item in enumerate(items):
            item_path = f"{path}[{i}]"
            if item_path in check.refused:
                continue
            net = _network(check, item_path, item)
            if net is None:
                continue
            reserved = _reserved(net)
            if reserved:
                check.error(
                    item_path,
                    f"{reserved}, which cannot be a route destination; a destination "
                    f"is a network the peer VPC reaches, such as its vpc_cidr" + (f" {peer}" if peer else ""),
                )
            elif own is not None and net.overlaps(own):
                check.error(
                    item_path,
                    f"{net} overlaps this side's own VPC {own} ({role}.vpc_cidr): that "
                    f"traffic must stay in the VPC; a destination is a network the peer "
                    f"VPC reaches, such as its vpc_cidr" + (f" {peer}" if peer else ""),
                )
            elif str(net) in good:
                check.error(item_path, f"{net} is listed twice in {path}: list each destination once")
            else:
                good.append(str(net))
        if len(good) == len(items):
            result[role] = tuple(good)
    return result if len(result) == 2 else None


def _parse_rule(check: _Check, path: str, value: object) -> Rule | None:
    raw = check.mapping(value, path, _RULE_KEYS, "a rule")
    if raw is None:
        return None
    protocol, ports = check.take(raw, path, "protocol"), check.take(raw, path, "port_range")
    description = check.take(raw, path, "description")
    ok = True
    good_description = (
        isinstance(description, str)
        and len(description) <= RULE_DESCRIPTION_MAX
        and not description.startswith(("http://", "https://"))
    )
    if description is not None and not good_description:
        if f"{path}.description" not in check.refused:
            check.error(
                f"{path}.description",
                f"{_show(description)} is not a rule description: text "
                f"up to {RULE_DESCRIPTION_MAX} characters, not starting "
                f"with http:// or https://",
            )
        ok = False
    if protocol is None:
        if f"{path}.protocol" not in check.refused:
            check.error(f"{path}.protocol", f"required: one of {', '.join(PROTOCOLS)}")
        return None
    if not isinstance(protocol, str) or protocol.lower() not in PROTOCOLS:
        check.error(f"{path}.protocol", f"{_show(protocol)} is not a protocol: one of {', '.join(PROTOCOLS)}")
        return None
    protocol = protocol.lower()
    if protocol in ("tcp", "udp"):
        rule = f"{protocol} needs port_range a/b with 1 <= a <= b <= 65535, e.g. 22/22 for one port"
        if ports is None:
            if f"{path}.port_range" not in check.refused:
                check.error(f"{path}.port_range", f"required: {rule}")
            return None
        match = _PORT_RANGE.fullmatch(ports) if isinstance(ports, str) else None
        if not match or not 1 <= int(match[1]) <= int(match[2]) <= 65535:
            what = (
                "is a number, not a range (YAML reads an unquoted 22:22 as the number 1342)"
                if isinstance(ports, int)
                else "is not a port range"
            )
            check.error(f"{path}.port_range", f"{_show(ports)} {what}: {rule}")
            return None
        ports = f"{int(match[1])}/{int(match[2])}"
    elif ports is not None and ports != "-1/-1":
        check.error(f"{path}.port_range", f"{_show(ports)}: {protocol} has no ports; use -1/-1 or leave port_range out")
        return None
    else:
        ports = "-1/-1"
    return Rule(protocol, ports, description or "") if ok else None


def _parse_security_groups(
    check: _Check, raw: dict[str, Any], sides: dict[Role, dict[str, Any] | None]
) -> SecurityGroups | None:
    value = check.take(raw, "", "security_groups")
    sg = {} if value is None else check.mapping(value, "security_groups", _SG_KEYS, "security_groups")
    if sg is None:
        return None
    default = SecurityGroups()
    mode, rules_raw = check.take(sg, "security_groups", "mode"), check.take(sg, "security_groups", "rules")
    ok = True
    if mode is None:
        mode = default.mode
    elif mode not in MODES:
        check.error(
            "security_groups.mode",
            f"{_show(mode)} is not a mode: cidr (authorize the peer "
            f"VPC's CIDR block; any regions) or group (authorize the "
            f"peer security group and account; one region only)",
        )
        ok = False
    regions = [(sides[r] or {}).get("region") for r in ROLES]
    if mode == "group" and None not in regions and regions[0] != regions[1]:
        check.error(
            "security_groups.mode",
            f"group authorizes the peer's security group, which works "
            f"only within one region; these VPCs are in {regions[0]} "
            f"and {regions[1]}: use mode: cidr",
        )
        ok = False
    rules: tuple[Rule, ...] = default.rules
    if rules_raw is not None:
        if not isinstance(rules_raw, list) or not rules_raw:
            example = "[{protocol: icmp}, {protocol: tcp, port_range: 22/22}]"
            check.error(
                "security_groups.rules",
                f"{_show(rules_raw)}: expected a list of rules, e.g. {example}; leave rules out for ICMP only",
            )
            return None
        parsed: list[Rule] = []
        for i, item in enumerate(rules_raw):
            path = f"security_groups.rules[{i}]"
            if path in check.refused:
                ok = False
                continue
            rule = _parse_rule(check, path, item)
            if rule is None:
                ok = False
                continue
            key = (rule.protocol, rule.port_range)
            same = next((j for j, r in enumerate(parsed) if (r.protocol, r.port_range) == key), None)
            if same is not None:
                check.error(
                    path,
                    f"repeats security_groups.rules[{same}] ({rule.protocol} {rule.port_range}): list each rule once",
                )
                ok = False
            parsed.append(rule)
        rules = tuple(parsed)
    return SecurityGroups(mode, rules) if ok else None  # type: ignore[arg-type]  # mode checked above


def _parse_timeouts(check: _Check, raw: dict[str, Any]) -> Timeouts | None:
    value = check.take(raw, "", "timeouts")
    t = {} if value is None else check.mapping(value, "timeouts", _TIMEOUT_KEYS, "timeouts")
    if t is None:
        return None
    good: dict[str, float] = {}
    ok = True
    for key in _TIMEOUT_KEYS:
        item = check.take(t, "timeouts", key)
        if item is None:
            continue
        seconds = _number(item)
        if seconds is None or not 0 < seconds <= TIMEOUT_MAX:
            check.error(
                f"timeouts.{key}",
                f"{_show(item)} is not a timeout: a number of seconds above 0 "
                f"and at most {TIMEOUT_MAX:g} (default "
                f"{getattr(Timeouts, key):g})",
            )
            ok = False
        else:
            good[key] = seconds
    return Timeouts(**good) if ok else None


def _parse_verify(check: _Check, raw: dict[str, Any]) -> Verify | None:
    value = check.take(raw, "", "verify")
    v = {} if value is None else check.mapping(value, "verify", _VERIFY_KEYS, "verify")
    if v is None:
        return None
    count = check.take(v, "verify", "ping_count")
    if count is None:
        return Verify()
    if isinstance(count, bool) or not isinstance(count, int) or not PING_COUNT_MIN <= count <= PING_COUNT_MAX:
        check.error(
            "verify.ping_count",
            f"{_show(count)} is not a ping count: a whole number from "
            f"{PING_COUNT_MIN} to {PING_COUNT_MAX} "
            f"(default {Verify.ping_count})",
        )
        return None
    return Verify(count)


def parse(data: object, source: str = "<parameters>") -> LinkParams:
    """Validate a parameter document (as YAML gives it) into ``LinkParams``.

    Raises ``ParamsError`` listing every problem; nothing is called, read or written.
    """
    check = _Check()
    if not isinstance(data, dict):
        what = "is empty" if data is None else f"holds {_show(data)}"
        check.error(
            "(file)",
            f"{what}: a parameter file is a YAML mapping with the keys "
            f"{', '.join(_TOP_KEYS)} (see params/example.yaml)",
        )
        raise ParamsError(source, check.errors)
    _scan_credentials(data, "", check)
    raw = check.mapping(data, "", _TOP_KEYS, "a parameter file")
    assert raw is not None  # data is a dict
    link = _parse_link(check, raw)
    sides: dict[Role, dict[str, Any] | None] = {r: _parse_side(check, r, check.take(raw, "", r)) for r in ROLES}
    if sides["initiator"] is not None and sides["acceptor"] is not None:
        _cross_check_sides(check, sides["initiator"], sides["acceptor"])
    mbps = _parse_bandwidth(check, raw)
    routes = _parse_routes(check, raw, sides)
    security_groups = _parse_security_groups(check, raw, sides)
    timeouts = _parse_timeouts(check, raw)
    verify = _parse_verify(check, raw)
    if check.errors:
        raise ParamsError(source, check.errors)
    # No error means every required value above was read.
    assert link and mbps and routes and security_groups and timeouts and verify
    built = {r: _side(r, sides[r]) for r in ROLES}  # type: ignore[arg-type]
    return LinkParams(
        link=link,
        initiator=built["initiator"],
        acceptor=built["acceptor"],
        bandwidth_mbps=mbps,
        routes=routes,
        security_groups=security_groups,
        timeouts=timeouts,
        verify=verify,
    )


def _side(role: Role, good: dict[str, Any]) -> Side:
    return Side(
        role=role,
        profile=good["profile"],
        region=good["region"],
        vpc_id=good["vpc_id"],
        vpc_cidr=str(good["vpc_cidr"]),
        security_group_id=good["security_group_id"],
        account_uid=good.get("account_uid"),
        instance_id=good.get("instance_id"),
    )


# ---------------------------------------------------------------------------------------------
# Loading.


def _duplicate_keys(node: yaml.Node | None, path: str, check: _Check, seen: set[int] | None = None) -> None:
    """Report keys repeated in one mapping: YAML would silently keep the last one."""
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias: already looked at (and possibly recursive)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            sub, line = _join(path, key_node.value), key_node.start_mark.line + 1
            if key_node.value in first_line:
                check.error(
                    sub,
                    f"appears twice (lines {first_line[key_node.value]} and {line}); YAML "
                    f"would silently keep the last one: keep one",
                )
            else:
                first_line[key_node.value] = line
            _duplicate_keys(value_node, sub, check, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicate_keys(item, f"{path}[{i}]", check, seen)


def _scrub(text: str) -> str:
    """Free text (a YAML error) with credential-like words replaced."""
    return " ".join(secretlike.mask(w) if secretlike.looks_like_credential(w) else w for w in text.split(" "))


def _yaml_problem(e: yaml.YAMLError) -> str:
    # Built from the parts, not str(e): that quotes the offending line, which may hold a secret.
    def at(mark: Any) -> str:
        return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""

    problem = getattr(e, "problem", None) or str(e).split("\n")[0]
    text = f"is not valid YAML{at(getattr(e, 'problem_mark', None))}: {_scrub(problem)}"
    context = getattr(e, "context", None)
    if context:
        text += f" ({_scrub(context)}{at(getattr(e, 'context_mark', None))})"
    if "\\t" in problem:
        text += "; indent with spaces: YAML refuses tabs"
    return text


def _read_yaml(text: str, check: _Check) -> object:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        _duplicate_keys(node, "", check)
        return loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def load(path: str | os.PathLike[str]) -> LinkParams:
    """Read and validate a parameter file; raises ``ParamsError`` for every problem found."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParamsError(source, [FieldError("(file)", "is not UTF-8 text: save it as UTF-8")]) from None
    except OSError as e:
        raise ParamsError(source, [FieldError("(file)", f"cannot be read: {e.strerror or e}")]) from None
    check = _Check()
    try:
        data = _read_yaml(text, check)
    except yaml.YAMLError as e:
        # Built from the parts, not str(e): that quotes the offending line, which may hold a secret.
        raise ParamsError(source, [FieldError("(file)", _yaml_problem(e))]) from None
    try:
        params = parse(data, source)
    except ParamsError as e:
        raise ParamsError(source, check.errors + e.errors) from None
    if check.errors:
        raise ParamsError(source, check.errors)
    return params


def format_errors(err: ParamsError) -> str:
    """One line per problem, ``field: message``, as ``vpclink check`` prints them."""
    return "\n".join(f"{e.field}: {e.message}" for e in err.errors)
