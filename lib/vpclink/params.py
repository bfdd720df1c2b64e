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
  router interfaces ``vpclink-<link>-<role>`` and the routes and rules vpclink creates (``naming``);
  every derived name is checked against the API's limits (``limits``).
- ``region``: a known region ID (``vpclink.regions``). IDs: the resource's prefix plus 8-32
  lowercase letters or digits. ``account_uid``: 16 to 19 digits (``fields.AccountUid`` says why),
  best quoted; an unquoted YAML number is accepted when exact, a decimal or a number past 2^53 is
  refused (digits may have been lost).
- ``vpc_cidr``: an IPv4 network address (``192.168.1.0/16`` is refused, ``192.168.0.0/16`` suggested),
  /8 to /28. The two VPCs must not overlap: the link routes each one's CIDR to the other.
- The two sides are two different accounts: the same ``profile`` or the same ``account_uid`` on both
  sides is refused, and so is the same VPC.
- ``backend``: ``router_interface`` (the default: Express Connect router interfaces, the tutorial's
  way) or ``vpc_peer`` (a VPC peering connection, VpcPeer 2022-01-01). A setting of one backend on
  the other is refused naming it (``spec`` on ``vpc_peer``). Timeouts are not refused on either (a
  fleet's defaults serve links of both): ``timeouts.router_interface`` bounds the interfaces' waits,
  ``timeouts.vpc_peer`` the peering's.
- ``bandwidth_mbps``: a key of ``SPEC_BY_MBPS``; an optional ``spec`` must name the same Spec.
  Required by ``router_interface``. With ``vpc_peer`` it is the bandwidth of a peering across
  regions (optional: the API's default otherwise); within one region a peering has none (free,
  unlimited), and it is not sent.
- ``routes.<role>``: destinations added to that side's route table with the router interface as next
  hop, at most 200 (the table's quota). A destination may be any IPv4 network the peer VPC reaches
  (its CIDR, or networks behind it), but never one overlapping the side's own ``vpc_cidr`` (that
  traffic must stay in the VPC) nor the reserved ranges (100.64.0.0/10, which the API refuses,
  loopback, link-local, multicast). Omitted: the peer's ``vpc_cidr``.
- ``security_groups.mode``: ``cidr`` (authorize the peer VPC's CIDR) or ``group`` (authorize the peer
  security group and account), ``group`` only when both VPCs are in one region. Rules (at most 200,
  a security group's quota): protocol icmp/tcp/udp/all; tcp and udp need ``port_range: a/b`` with
  1 <= a <= b <= 65535, the others take ``-1/-1`` (the default); a description fits in
  AuthorizeSecurityGroup's 512 characters after vpclink's prefix.
- ``timeouts``: seconds, at least ``TIMEOUT_MIN`` and at most ``TIMEOUT_MAX``; ``command`` at least
  the ping command's own timeout. ``verify.ping_count``: 1 to 20.
- Credentials are refused wherever they appear: keys named like ``access_key*``, ``*secret*``,
  ``*password*``, ``*token*``, ``credentials``; values shaped like an AccessKey ID anywhere; long
  random-looking tokens in any field that is not a resource ID. Messages never repeat such a value.

How: the file is read by ``safe_files`` (size, depth, alias and special-file limits; repeated keys),
its structure and each field are validated by pydantic against the schema below with the field
types of ``fields`` (shared with the peer card and the form), and the rules that relate fields (two
sides, routes and VPCs, limits that depend on the link name) run over every value that passed its
own field's check, so one bad field never hides another problem.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le, MinLen
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from . import fields as F
from . import limits, safe_files, secretlike
from .fields import (  # noqa: F401  (re-exported: the parameter contract's public names)
    LINK_NAME,
    PROTOCOLS,
    RESERVED_NETWORKS,
    SPEC_BY_MBPS,
    VPC_PREFIX_MAX,
    VPC_PREFIX_MIN,
    FieldError,
    FieldErrors,
)

Role = Literal["initiator", "acceptor"]
ROLES: tuple[Role, Role] = ("initiator", "acceptor")
# How the link is built: Express Connect router interfaces (the tutorial's way) or a VPC peering
# connection (the VpcPeer 2022-01-01 API). Each phase has its steps per backend (``phases.base``).
Backend = Literal["router_interface", "vpc_peer"]
BACKENDS: tuple[Backend, Backend] = ("router_interface", "vpc_peer")
DEFAULT_BACKEND: Backend = "router_interface"
BACKEND_HELP = (
    "router_interface (Express Connect router interfaces, the default) or vpc_peer (a VPC peering connection)"
)


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
    vpc_peer: float = 300.0  # backend vpc_peer: the peering becoming Activated, or gone


@dataclass(frozen=True)
class Verify:
    ping_count: int = 4


@dataclass(frozen=True)
class LinkParams:
    link: str
    initiator: Side
    acceptor: Side
    # None only with backend vpc_peer: within one region a peering has no bandwidth, across regions
    # the API's default applies
    bandwidth_mbps: int | None
    routes: dict[Role, tuple[str, ...]]
    security_groups: SecurityGroups = field(default_factory=SecurityGroups)
    timeouts: Timeouts = field(default_factory=Timeouts)
    verify: Verify = field(default_factory=Verify)
    backend: Backend = DEFAULT_BACKEND

    @property
    def spec(self) -> str:
        """The initiator router interface's Spec (backend router_interface only)."""
        if self.bandwidth_mbps is None:
            raise ValueError(f"link {self.link} (backend {self.backend}) has no router interface Spec")
        return SPEC_BY_MBPS[self.bandwidth_mbps]

    @property
    def capacity(self) -> str:
        """The link's capacity in words: "2 Mbps (Mini.2)", "VPC peering, 100 Mbps", ..."""
        if self.backend == "router_interface":
            return f"{self.bandwidth_mbps} Mbps ({self.spec})"
        if self.same_region:
            return "VPC peering within one region (no bandwidth limit, free)"
        if self.bandwidth_mbps is None:
            return "VPC peering across regions (the API's default bandwidth)"
        return f"VPC peering across regions, {self.bandwidth_mbps} Mbps"

    def side(self, role: Role) -> Side:
        return self.initiator if role == "initiator" else self.acceptor

    def peer(self, role: Role) -> Side:
        return self.acceptor if role == "initiator" else self.initiator

    @property
    def same_region(self) -> bool:
        return self.initiator.region == self.acceptor.region


class ParamsError(FieldErrors):
    """Every problem found in a parameter file."""

    headline = "{n} invalid parameter(s)"


TIMEOUT_MIN = limits.WAIT_MIN  # seconds; a shorter wait cannot see a state change (waits poll every 5 s)
TIMEOUT_MAX = limits.WAIT_MAX  # seconds; a wait longer than an hour means something is wrong
PING_COUNT_MIN, PING_COUNT_MAX = limits.PING_COUNT_MIN, limits.PING_COUNT_MAX
MODES = ("cidr", "group")
RULE_DESCRIPTION_MAX = int(limits.RULE_DESCRIPTION.maximum or 512)

# ---------------------------------------------------------------------------------------------
# The file's schema. Field types come from ``fields``; every error message is built there or below
# (never pydantic's, which quotes the input). Empty values (``key:`` with nothing after it) are
# dropped before validation: an empty optional section means its defaults.


def _no_url(value: str) -> str:
    if value.startswith(("http://", "https://")):
        F.refuse(f"{F.show(value)} starts with http:// or https://, which a rule description cannot")
    return value


Mode = Annotated[
    Literal["cidr", "group"],
    F.explained(
        lambda v: (
            f"{F.show(v)} is not a mode: cidr (authorize the peer VPC's CIDR block; any regions) or "
            "group (authorize the peer security group and account; one region only)"
        )
    ),
]
RuleDescription = Annotated[
    str,
    StringConstraints(strict=True, max_length=RULE_DESCRIPTION_MAX),
    AfterValidator(_no_url),
    F.NotACredential,
    F.explained(
        lambda v: (
            f"{F.show(v)} is not a rule description: text up to {RULE_DESCRIPTION_MAX} characters, "
            "not starting with http:// or https://"
        )
    ),
]
PingCount = Annotated[
    int,
    Strict(),
    Ge(PING_COUNT_MIN),
    Le(PING_COUNT_MAX),
    F.count_message(PING_COUNT_MIN, PING_COUNT_MAX, "a ping count", Verify.ping_count),
]
RouterInterfaceTimeout = Annotated[
    float,
    Strict(),
    Ge(TIMEOUT_MIN),
    Le(TIMEOUT_MAX),
    F.seconds_message(TIMEOUT_MIN, TIMEOUT_MAX, Timeouts.router_interface),
]
RouteEntryTimeout = Annotated[
    float, Strict(), Ge(TIMEOUT_MIN), Le(TIMEOUT_MAX), F.seconds_message(TIMEOUT_MIN, TIMEOUT_MAX, Timeouts.route_entry)
]
CommandTimeout = Annotated[
    float, Strict(), Ge(TIMEOUT_MIN), Le(TIMEOUT_MAX), F.seconds_message(TIMEOUT_MIN, TIMEOUT_MAX, Timeouts.command)
]
VpcPeerTimeout = Annotated[
    float, Strict(), Ge(TIMEOUT_MIN), Le(TIMEOUT_MAX), F.seconds_message(TIMEOUT_MIN, TIMEOUT_MAX, Timeouts.vpc_peer)
]


def _backend_problem(value: object) -> str:
    guess = (
        difflib.get_close_matches(value.lower().replace("-", "_"), BACKENDS, 1, 0.6) if isinstance(value, str) else []
    )
    hint = f"; did you mean '{guess[0]}'?" if guess else ""
    return f"{F.show(value)} is not a backend{hint} (valid: {BACKEND_HELP})"


BackendName = Annotated[Backend, F.explained(_backend_problem)]


def _at_most(limit: limits.Limit, noun: str) -> BeforeValidator:
    """Refuse a list longer than ``limit`` before validating its items (the cloud would refuse it)."""

    def check(value: object) -> object:
        if isinstance(value, list) and (why := limits.count_problem(limit, len(value), noun)):
            F.refuse(why)
        return value

    return BeforeValidator(check)


Destinations = Annotated[tuple[F.Ipv4Network, ...], MinLen(1), _at_most(limits.ROUTE_ENTRIES_PER_TABLE, "destinations")]
Rules = Annotated[tuple["_RuleFile", ...], MinLen(1), _at_most(limits.RULES_PER_GROUP, "rules")]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SideFile(_Schema):
    profile: F.ProfileName
    region: F.Region
    vpc_id: F.VpcId
    vpc_cidr: F.VpcCidr
    security_group_id: F.SecurityGroupId
    account_uid: F.AccountUid | None = None
    instance_id: F.InstanceId | None = None


class _RuleFile(_Schema):
    protocol: F.Protocol
    port_range: Any = Field(default=None, validate_default=True)  # checked against the protocol
    description: RuleDescription = ""

    @field_validator("port_range")
    @classmethod
    def _ports_fit_the_protocol(cls, value: object, info: ValidationInfo) -> str | None:
        protocol = info.data.get("protocol")
        if protocol is None:  # reported as the protocol's problem
            return None
        ports, why = F.port_range_problem(protocol, value)
        if why:
            F.refuse(why)
        return ports


class _RoutesFile(_Schema):
    initiator: Destinations | None = None
    acceptor: Destinations | None = None


class _SecurityGroupsFile(_Schema):
    mode: Mode = "cidr"
    rules: Rules | None = None


class _TimeoutsFile(_Schema):
    router_interface: RouterInterfaceTimeout = Timeouts.router_interface
    route_entry: RouteEntryTimeout = Timeouts.route_entry
    command: CommandTimeout = Timeouts.command
    vpc_peer: VpcPeerTimeout = Timeouts.vpc_peer


class _VerifyFile(_Schema):
    ping_count: PingCount = Verify.ping_count


class _LinkFile(_Schema):
    # For editors: bandwidth_mbps is required unless backend is vpc_peer (checked in ``_backend_settings``).
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"not": {"properties": {"backend": {"const": "vpc_peer"}}, "required": ["backend"]}},
            "then": {"required": ["bandwidth_mbps"]},
        }
    )

    link: F.LinkName
    backend: BackendName = DEFAULT_BACKEND
    initiator: _SideFile
    acceptor: _SideFile
    bandwidth_mbps: F.BandwidthMbps | None = None  # required by backend router_interface (``_backend_settings``)
    spec: F.Spec | None = None
    routes: _RoutesFile = _RoutesFile()
    security_groups: _SecurityGroupsFile = _SecurityGroupsFile()
    timeouts: _TimeoutsFile = _TimeoutsFile()
    verify: _VerifyFile = _VerifyFile()


def json_schema() -> dict[str, Any]:
    """The parameter file's JSON Schema (for editors that complete and check YAML)."""
    return _LinkFile.model_json_schema()


Loc = tuple[str | int, ...]

# The schema of each mapping in the file, by location (``*``: any list position), and how messages
# name it.
_MAPPINGS: dict[tuple[str, ...], tuple[type[_Schema], str]] = {
    (): (_LinkFile, "a parameter file"),
    ("initiator",): (_SideFile, "initiator (account A's side)"),
    ("acceptor",): (_SideFile, "acceptor (account B's side)"),
    ("routes",): (_RoutesFile, "routes"),
    ("security_groups",): (_SecurityGroupsFile, "security_groups"),
    ("security_groups", "rules", "*"): (_RuleFile, "a rule"),
    ("timeouts",): (_TimeoutsFile, "timeouts"),
    ("verify",): (_VerifyFile, "verify"),
}
_TOP_KEYS = tuple(_LinkFile.model_fields)
_SIDE_KEYS = tuple(_SideFile.model_fields)
_SIDE_REQUIRED = tuple(k for k, f in _SideFile.model_fields.items() if f.is_required())
# Fields whose values are resource IDs or UIDs: random-looking text is expected there.
_ID_FIELDS = frozenset({"vpc_id", "security_group_id", "instance_id", "account_uid"})

# Where each key lives, for a key written at the wrong level.
_KEY_HOME: dict[str, str] = {}
for _loc, (_schema, _) in reversed(list(_MAPPINGS.items())):
    _home = {
        (): "at the top level",
        ("initiator",): "under initiator and acceptor",
        ("acceptor",): "under initiator and acceptor",
        ("security_groups", "rules", "*"): "in each item of security_groups.rules",
    }.get(_loc, f"under {'.'.join(str(p) for p in _loc)}")
    _KEY_HOME.update(dict.fromkeys(_schema.model_fields, _home))

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
_MISSING = object()


def _pattern(loc: Iterable[object]) -> tuple[str, ...]:
    return tuple("*" if isinstance(p, int) and not isinstance(p, bool) else str(p) for p in loc)


def _at(doc: object, loc: Iterable[object]) -> object:
    """The raw value at ``loc``, or ``_MISSING``."""
    node = doc
    for part in loc:
        if isinstance(node, dict):
            node = node.get(part, _MISSING)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def _without_empty(node: object, memo: dict[int, object] | None = None) -> object:
    """A copy with every mapping entry whose value is empty (None) dropped; aliases and structures
    that contain themselves are copied once."""
    memo = {} if memo is None else memo
    if not isinstance(node, (dict, list)):
        return node
    if id(node) in memo:
        return memo[id(node)]
    if isinstance(node, dict):
        copy: dict[object, object] = {}
        memo[id(node)] = copy
        copy.update((k, _without_empty(v, memo)) for k, v in node.items() if v is not None)
        return copy
    items: list[object] = []
    memo[id(node)] = items
    items.extend(_without_empty(v, memo) for v in node)
    return items


class _Values:
    """The document's values that passed their own field's check, for the rules relating fields: a
    value that is absent, failed, or was refused (or lies under or above one that did) reads None."""

    def __init__(self, doc: object, bad: set[str]):
        self.doc = doc
        self.bad = bad

    def refuse(self, path: str) -> None:
        self.bad.add(path)

    def ok(self, path: str) -> bool:
        for b in self.bad:
            if b == path or b.startswith((f"{path}.", f"{path}[")) or path.startswith((f"{b}.", f"{b}[")):
                return False
        return True

    def get(self, loc: Loc, field_type: Any) -> Any:
        raw = _at(self.doc, loc)
        if raw is _MISSING or not self.ok(F.field_path(loc)):
            return None
        try:
            return F.validate(field_type, raw)
        except ValidationError:
            return None


# -- credentials --------------------------------------------------------------------------------


def _key_path(path: str, key: object) -> str:
    """The path of ``key`` in the mapping at ``path`` (``F.field_path`` for pydantic's locations)."""
    label = F.key_label(key)
    return f"{path}.{label}" if path else label


def _scan_credentials(node: object, path: str, last: object, errors: list[FieldError], above: set[int]) -> None:
    """Refuse every credential-named key and credential-looking value, before anything else.
    ``above``: the containers on the way here (YAML aliases can make a structure contain itself)."""
    if isinstance(node, (dict, list)):
        if id(node) in above:
            return
        above = above | {id(node)}
    if isinstance(node, dict):
        for key, value in node.items():
            sub = _key_path(path, key)
            if secretlike.credential_key(key) or (isinstance(key, str) and secretlike.looks_like_credential(key)):
                errors.append(FieldError(sub, f"credential-like key refused: {_CREDENTIALS_ADVICE}"))
            else:
                _scan_credentials(value, sub, key, errors, above)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _scan_credentials(value, f"{path}[{i}]", last, errors, above)
    elif isinstance(node, str):
        if secretlike.access_key_id_in(node):
            what = "an AccessKey ID"
        elif last not in _ID_FIELDS and secretlike.secret_in(node):
            what = "a secret or token"
        else:
            return
        errors.append(FieldError(path, f"looks like {what} ({secretlike.mask(node)}): {_CREDENTIALS_ADVICE}"))


# -- pydantic's errors, in words ----------------------------------------------------------------


def _unknown_key(key: object, valid: Iterable[str]) -> str:
    valid = tuple(valid)
    if not isinstance(key, str):
        hint = ""
    elif key in _KEY_HOME and key not in valid:
        hint = f"; it belongs {_KEY_HOME[key]}"
    else:
        guess = difflib.get_close_matches(key.lower().replace("-", "_"), valid, n=1, cutoff=0.6)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
    return f"unknown key, refused rather than ignored{hint} (valid keys here: {', '.join(valid)})"


def _required(loc: Loc, values: _Values) -> str:
    pattern = _pattern(loc)
    if pattern == ("link",):
        return f"required: a name for this link, {F.LINK_NAME_RULE}"
    if len(loc) == 1 and loc[0] in ROLES:
        return (
            f"required: {_ACCOUNT[str(loc[0])]}'s side, a mapping with {', '.join(_SIDE_REQUIRED)} "
            "(account_uid and instance_id optional)"
        )
    if len(loc) == 2 and loc[0] in ROLES and loc[1] in _SIDE_HELP:
        return "required: " + _SIDE_HELP[str(loc[1])].format(account=_ACCOUNT[str(loc[0])])
    if pattern == ("bandwidth_mbps",):
        spec = values.get(("spec",), F.Spec)
        by_spec = {s: m for m, s in SPEC_BY_MBPS.items()}
        hint = f" (spec {spec} is bandwidth_mbps: {by_spec[spec]})" if spec else ""
        return (
            f"required: the link's bandwidth in Mbps{hint}, one of {F.spec_list()} (Mbps and the router interface Spec)"
        )
    if pattern == ("security_groups", "rules", "*", "protocol"):
        return f"required: one of {', '.join(PROTOCOLS)}"
    return "required"


def _list_shape(loc: Loc, raw: object, values: _Values) -> str:
    if _pattern(loc) == ("security_groups", "rules"):
        example = "[{protocol: icmp}, {protocol: tcp, port_range: 22/22}]"
        return f"{F.show(raw)}: expected a list of rules, e.g. {example}; leave rules out for ICMP only"
    role = str(loc[-1])
    peer = values.get((_peer(role), "vpc_cidr"), F.VpcCidr)
    omit = f"leave routes.{role} out to route the peer's vpc_cidr" + (f" ({peer})" if peer else "")
    return f"{F.show(raw)}: expected a list of destination CIDR blocks, e.g. [{peer or '172.16.0.0/16'}]; {omit}"


def _translate(error: Any, doc: object, values: _Values) -> list[FieldError]:
    """One pydantic error as field errors, the message built here (pydantic's quotes the input)."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    path = F.field_path(loc)
    message = F.message_of(error)
    if message:
        return [FieldError(path, message)]
    raw = _at(doc, loc)
    if kind == "missing":
        return [FieldError(path, _required(loc, values))]
    parent = _MAPPINGS.get(_pattern(loc[:-1]))
    if kind == "extra_forbidden" and parent:
        return [FieldError(path, _unknown_key(loc[-1], parent[0].model_fields))]
    if kind == "invalid_key" and parent:
        # pydantic names a non-string key by a lossy text: name each from the document instead.
        mapping = _at(doc, loc[:-1])
        keys = [k for k in mapping if not isinstance(k, str)] if isinstance(mapping, dict) else []
        prefix = F.field_path(loc[:-1])
        return [FieldError(_key_path(prefix, k), _unknown_key(k, parent[0].model_fields)) for k in keys]
    here = _MAPPINGS.get(_pattern(loc))
    if kind in ("model_type", "model_attributes_type", "dict_type") and here:
        schema, what = here
        return [
            FieldError(
                path, f"{F.show(raw)} is not a mapping: {what} is a mapping with keys {', '.join(schema.model_fields)}"
            )
        ]
    if kind == "too_short" and raw != []:
        return []  # pydantic counts only the items that passed: those that failed are reported
    if kind in ("tuple_type", "list_type", "too_short", "iterable_type"):
        return [FieldError(path, _list_shape(loc, raw, values))]
    return [FieldError(path, f"{F.show(raw)} is not valid here")]  # not reached by any known input


# -- rules that relate fields -------------------------------------------------------------------


def _peer(role: str) -> Role:
    return "acceptor" if role == "initiator" else "initiator"


def _relations(values: _Values) -> list[FieldError]:
    errors: list[FieldError] = []
    errors += _two_sides(values)
    errors += _backend_settings(values)
    errors += _spec_and_bandwidth(values)
    errors += _route_destinations(values)
    errors += _security_groups(values)
    errors += _limits(values)
    return errors


def _two_sides(values: _Values) -> list[FieldError]:
    errors = []
    two = "the link connects two different accounts"
    profile = [values.get((r, "profile"), F.ProfileName) for r in ROLES]
    if profile[0] and profile[0] == profile[1]:
        errors.append(
            FieldError(
                "acceptor.profile",
                f"{F.show(profile[1])} is also initiator.profile: {two}; name account B's credential profile here",
            )
        )
    uid = [values.get((r, "account_uid"), F.AccountUid) for r in ROLES]
    if uid[0] and uid[0] == uid[1]:
        errors.append(
            FieldError(
                "acceptor.account_uid", f"{uid[1]} is also initiator.account_uid: {two}; give account B's UID here"
            )
        )
    vpc = [values.get((r, "vpc_id"), F.VpcId) for r in ROLES]
    cidr = [values.get((r, "vpc_cidr"), F.VpcCidr) for r in ROLES]
    if vpc[0] and vpc[0] == vpc[1]:
        errors.append(FieldError("acceptor.vpc_id", f"{vpc[1]} is also initiator.vpc_id: give account B's VPC here"))
    elif cidr[0] and cidr[1] and ipaddress.IPv4Network(cidr[0]).overlaps(ipaddress.IPv4Network(cidr[1])):
        errors.append(
            FieldError(
                "acceptor.vpc_cidr",
                f"{cidr[1]} overlaps initiator.vpc_cidr {cidr[0]}: the two VPCs' CIDR blocks must not overlap "
                "(each is routed to the other); pick VPCs with disjoint blocks",
            )
        )
        # The routes would be wrong only as a consequence: judge them once the VPCs are fixed.
        values.refuse("initiator.vpc_cidr")
        values.refuse("acceptor.vpc_cidr")
    return errors


def _backend_settings(values: _Values) -> list[FieldError]:
    """What one backend needs and the other refuses: a router interface has a Spec bought by bandwidth;
    a peering has no Spec. (A peering's bandwidth_mbps is not refused within one region, where the API
    has none and it is not sent: a fleet's defaults give it to links of every kind.)"""
    if not values.ok("backend"):
        return []  # a bad backend is its own problem; the settings are judged once it is known
    backend = values.get(("backend",), BackendName) or DEFAULT_BACKEND
    present = {path: _at(values.doc, loc) is not _MISSING for path, loc in _BACKEND_SETTINGS.items()}
    errors = []
    if backend == "router_interface":
        if not present["bandwidth_mbps"]:
            errors.append(FieldError("bandwidth_mbps", _required(("bandwidth_mbps",), values)))
        return errors
    link = values.get(("link",), F.LinkName)
    if link and "." in link:
        errors.append(
            FieldError(
                "link",
                f"{F.show(link)} names the peering vpclink-<link>, and a peering's name takes letters, digits, '-' "
                "and '_' only: use a link name without '.'",
            )
        )
    if present["spec"]:
        errors.append(
            FieldError(
                "spec",
                "is the router interface's Spec; backend vpc_peer builds a VPC peering connection, which has no "
                "Spec to buy: leave spec out, or set backend: router_interface",
            )
        )
        values.refuse("spec")  # not judged against bandwidth_mbps as well
    return errors


# The settings one backend takes and the other refuses, by path (as messages name them) and location.
_BACKEND_SETTINGS: dict[str, Loc] = {
    "bandwidth_mbps": ("bandwidth_mbps",),
    "spec": ("spec",),
}


def _spec_and_bandwidth(values: _Values) -> list[FieldError]:
    spec, mbps = values.get(("spec",), F.Spec), values.get(("bandwidth_mbps",), F.BandwidthMbps)
    if spec and mbps and SPEC_BY_MBPS[mbps] != spec:
        return [
            FieldError(
                "spec",
                f"{spec} does not match bandwidth_mbps {mbps}, whose Spec is {SPEC_BY_MBPS[mbps]}: make them agree "
                f"({F.spec_list()}) or leave spec out",
            )
        ]
    return []


def _route_destinations(values: _Values) -> list[FieldError]:
    errors = []
    for role in ROLES:
        items = _at(values.doc, ("routes", role))
        if not isinstance(items, list):
            continue
        own = values.get((role, "vpc_cidr"), F.VpcCidr)
        peer = values.get((_peer(role), "vpc_cidr"), F.VpcCidr)
        such = "such as its vpc_cidr" + (f" {peer}" if peer else "")
        seen: set[str] = set()
        for i in range(len(items)):
            dest = values.get(("routes", role, i), F.Ipv4Network)
            if dest is None:
                continue
            path, net = f"routes.{role}[{i}]", ipaddress.IPv4Network(dest)
            why = F.reserved(net)
            if why:
                message = f"{why}, which cannot be a route destination; a destination is a network the peer VPC"
                errors.append(FieldError(path, f"{message} reaches, {such}"))
            elif own is not None and net.overlaps(ipaddress.IPv4Network(own)):
                errors.append(
                    FieldError(
                        path,
                        f"{net} overlaps this side's own VPC {own} ({role}.vpc_cidr): that traffic must stay in the "
                        f"VPC; a destination is a network the peer VPC reaches, {such}",
                    )
                )
            elif dest in seen:
                errors.append(FieldError(path, f"{net} is listed twice in routes.{role}: list each destination once"))
            seen.add(dest)
    return errors


def _security_groups(values: _Values) -> list[FieldError]:
    errors = []
    mode = values.get(("security_groups", "mode"), Mode)
    regions = [values.get((r, "region"), F.Region) for r in ROLES]
    if mode == "group" and regions[0] and regions[1] and regions[0] != regions[1]:
        errors.append(
            FieldError(
                "security_groups.mode",
                f"group authorizes the peer's security group, which works only within one region; these VPCs are "
                f"in {regions[0]} and {regions[1]}: use mode: cidr",
            )
        )
    rules = _at(values.doc, ("security_groups", "rules"))
    first: dict[tuple[str, str], int] = {}
    for i in range(len(rules) if isinstance(rules, list) else 0):
        rule = values.get(("security_groups", "rules", i), _RuleFile)
        if rule is None:
            continue
        key = (rule.protocol, rule.port_range)
        if key in first:
            errors.append(
                FieldError(
                    f"security_groups.rules[{i}]",
                    f"repeats security_groups.rules[{first[key]}] ({rule.protocol} {rule.port_range}): "
                    "list each rule once",
                )
            )
        else:
            first[key] = i
    return errors


def _limits(values: _Values) -> list[FieldError]:
    """The API limits that depend on more than one field (``limits`` has the table)."""
    errors = []
    link = values.get(("link",), F.LinkName)
    if link:
        errors += [FieldError("link", why) for why in limits.link_problems(link)]
        rules = _at(values.doc, ("security_groups", "rules"))
        for i in range(len(rules) if isinstance(rules, list) else 0):
            text = values.get(("security_groups", "rules", i, "description"), RuleDescription)
            if text and (why := limits.rule_description_problem(link, text)):
                errors.append(FieldError(f"security_groups.rules[{i}].description", why))
    command = values.get(("timeouts", "command"), CommandTimeout)
    count = values.get(("verify", "ping_count"), PingCount)
    if _at(values.doc, ("verify", "ping_count")) is _MISSING:
        count = Verify.ping_count
    if command is not None and count is not None and (why := limits.command_timeout_problem(command, count)):
        errors.append(FieldError("timeouts.command", why))
    return errors


# -- the whole ----------------------------------------------------------------------------------


def _unrefused(errors: list[FieldError], refused: set[str]) -> list[FieldError]:
    """``errors`` without those at or under a field already refused as a credential."""
    return [e for e in errors if not any(e.field == r or e.field.startswith((f"{r}.", f"{r}[")) for r in refused)]


def parse(data: object, source: str = "<parameters>") -> LinkParams:
    """Validate a parameter document (as YAML gives it) into ``LinkParams``.

    Raises ``ParamsError`` listing every problem; nothing is called, read or written.
    """
    if not isinstance(data, dict):
        what = "is empty" if data is None else f"holds {F.show(data)}"
        raise ParamsError(
            source,
            [
                FieldError(
                    "(file)",
                    f"{source} {what}: a parameter file is a YAML mapping with the keys {', '.join(_TOP_KEYS)} "
                    "(see params/example.yaml)",
                )
            ],
        )
    errors: list[FieldError] = []
    _scan_credentials(data, "", None, errors, set())
    refused = {e.field for e in errors}
    doc = _without_empty(data)
    model: _LinkFile | None = None
    try:
        model = _LinkFile.model_validate(doc)
        found: list[Any] = []
    except ValidationError as e:
        found = e.errors(include_url=False, include_input=False)
    values = _Values(doc, refused | {F.field_path(err["loc"]) for err in found})
    for err in found:
        errors += _unrefused(_translate(err, doc, values), refused)
    errors += _unrefused(_relations(values), refused)
    if errors or model is None:
        raise ParamsError(source, _once(errors))
    return _build(model)


def _once(errors: list[FieldError]) -> list[FieldError]:
    """``errors`` in order, each problem once."""
    return list(dict.fromkeys(errors))


def _build(m: _LinkFile) -> LinkParams:
    sides = {
        role: Side(role=role, **getattr(m, role).model_dump())  # type: ignore[misc]
        for role in ROLES
    }
    routes: dict[Role, tuple[str, ...]] = {
        role: tuple(getattr(m.routes, role) or (sides[_peer(role)].vpc_cidr,)) for role in ROLES
    }
    sg = m.security_groups
    rules = (
        tuple(Rule(r.protocol, r.port_range, r.description) for r in sg.rules)
        if sg.rules is not None
        else SecurityGroups().rules
    )
    return LinkParams(
        link=m.link,
        initiator=sides["initiator"],
        acceptor=sides["acceptor"],
        bandwidth_mbps=m.bandwidth_mbps,
        routes=routes,
        security_groups=SecurityGroups(sg.mode, rules),
        timeouts=Timeouts(**m.timeouts.model_dump()),
        verify=Verify(**m.verify.model_dump()),
        backend=m.backend,
    )


# ---------------------------------------------------------------------------------------------
# Loading.


def load(path: str | os.PathLike[str]) -> LinkParams:
    """Read and validate a parameter file; raises ``ParamsError`` for every problem found, the
    file itself named in a problem with the file (missing, not a regular file, too large, too deep,
    not UTF-8, not YAML)."""
    source = str(path)
    try:
        document = safe_files.read_yaml(path, what="parameter file")
    except safe_files.UnsafeFile as e:
        raise ParamsError(source, [FieldError("(file)", str(e))]) from None
    repeated = [
        FieldError(
            F.field_path(d.loc),
            f"appears twice (lines {d.first_line} and {d.line}); YAML would silently keep the last one: keep one",
        )
        for d in document.duplicates
    ]
    try:
        params = parse(document.data, source)
    except ParamsError as e:
        raise ParamsError(source, repeated + e.errors) from None
    if repeated:
        raise ParamsError(source, repeated)
    return params


def format_errors(err: ParamsError) -> str:
    """One line per problem, ``field: message``, as ``vpclink check`` prints them."""
    return "\n".join(f"{e.field}: {e.message}" for e in err.errors)
