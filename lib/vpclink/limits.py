"""The API's limits on what the parameters produce, so that ``vpclink check`` refuses a link the cloud
would refuse mid-run, after paid resources exist.

``LIMITS`` is the table: each row names the API parameter or quota, the bound, the parameter field it
bounds, how vpclink enforces it, and its source (the API reference page and the official SDK's
request model, whose field comments are generated from the vendor's API metadata). The functions
below apply the rows; ``params`` calls them while validating a file, and ``check(params)`` applies
every row to a ``LinkParams`` built any other way.

A limit on one API call that a run can meet by splitting (at most 100 permissions per
AuthorizeSecurityGroup call) is not refused: ``batches`` splits. What the parameters must respect is
the quota behind it (rules per security group).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from . import naming
from .fields import FieldError, show
from .waits import POLL_CAP

if TYPE_CHECKING:
    from .params import LinkParams

T = TypeVar("T")

_VPC = "https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-"
_ECS = "https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-"
_VPC_SDK = "alibabacloud_vpc20160428/models/"
_ECS_SDK = "alibabacloud_ecs20140526/models/"


@dataclass(frozen=True)
class Limit:
    name: str
    api: str  # the API parameter or quota
    minimum: float | None
    maximum: float | None
    unit: str
    fields: str  # the parameter field(s) whose values it bounds
    enforced: str  # how vpclink keeps to it
    source: str
    # Further rules on a text: a letter first; not starting with http:// or https://; only letters,
    # digits, '.', '_' and '-'.
    letter_first: bool = False
    no_url: bool = False
    name_characters: bool = False
    says: str = ""  # the limit in a user's words, for messages
    advice: str = ""  # what to do instead

    @property
    def rule(self) -> str:
        """The bound in words, as the table shows it."""
        low = "" if self.minimum is None else f"{self.minimum:g}"
        high = "" if self.maximum is None else f"{self.maximum:g}"
        bound = f"{low} to {high}" if low and high else (f"at most {high}" if high else f"at least {low}")
        extra = [
            *(["a letter first"] if self.letter_first else []),
            *(["letters, digits, '.', '_', '-'"] if self.name_characters else []),
            *(["not http:// or https://"] if self.no_url else []),
        ]
        return f"{bound} {self.unit}" + "".join(f"; {e}" for e in extra)


# Names: their length depends on the link name; every derived text is checked (a link name of at
# most 64 characters fits each of them with room to spare).
RI_NAME = Limit(
    "router_interface_name",
    "CreateRouterInterface Name",
    2,
    128,
    "characters",
    "link (vpclink-<link>-<role>)",
    "refused by check",
    f"{_VPC}createrouterinterface; SDK {_VPC_SDK}_create_router_interface_request.py (name)",
    letter_first=True,
    name_characters=True,
)
RI_DESCRIPTION = Limit(
    "router_interface_description",
    "CreateRouterInterface Description",
    2,
    256,
    "characters",
    "link (vpclink link <link> <role> side)",
    "refused by check",
    f"{_VPC}createrouterinterface; SDK {_VPC_SDK}_create_router_interface_request.py (description)",
    letter_first=True,
    no_url=True,
)
ROUTE_ENTRY_NAME = Limit(
    "route_entry_name",
    "CreateRouteEntry RouteEntryName",
    1,
    128,
    "characters",
    "link (vpclink-<link>)",
    "refused by check",
    f"{_VPC}createrouteentry; SDK {_VPC_SDK}_create_route_entry_request.py (route_entry_name)",
    no_url=True,
)
ROUTE_ENTRY_DESCRIPTION = Limit(
    "route_entry_description",
    "CreateRouteEntry Description",
    1,
    256,
    "characters",
    "link (vpclink link <link> <role> side)",
    "refused by check",
    f"{_VPC}createrouteentry; SDK {_VPC_SDK}_create_route_entry_request.py (description)",
    no_url=True,
)
COMMAND_NAME = Limit(
    "command_name",
    "RunCommand Name",
    1,
    128,
    "characters",
    "link (vpclink-<link>-ping)",
    "refused by check",
    "https://www.alibabacloud.com/help/en/ecs/api-runcommand; SDK " + _ECS_SDK + "_run_command_request.py (name)",
)
RULE_DESCRIPTION = Limit(
    "rule_description",
    "AuthorizeSecurityGroup Permissions.N.Description",
    1,
    512,
    "characters",
    "security_groups.rules[].description, after vpclink's prefix 'vpclink link <link> <role> side: '",
    "refused by check",
    f"{_ECS}authorizesecuritygroup; SDK {_ECS_SDK}_authorize_security_group_request.py (description)",
)
# Counts.
PERMISSIONS_PER_CALL = Limit(
    "permissions_per_call",
    "AuthorizeSecurityGroup Permissions.N",
    1,
    100,
    "permissions per call",
    "security_groups.rules",
    "split into calls of at most 100 (batches)",
    f"{_ECS}authorizesecuritygroup; SDK {_ECS_SDK}_authorize_security_group_request.py (permissions)",
)
RULES_PER_GROUP = Limit(
    "rules_per_group",
    "AuthorizeSecurityGroup: rules per security group",
    None,
    200,
    "rules",
    "security_groups.rules (one rule per item on each side's group)",
    "refused by check (rules already in the group are not counted: the cloud may still refuse)",
    "https://www.alibabacloud.com/help/en/doc-detail/25554.htm (AuthorizeSecurityGroup: 'The total number of "
    "outbound and inbound rules in each security group cannot exceed 200'); an older quota page counts 1000 "
    "rules per network interface across its groups: the per-group figure is the one the API page states",
    says="a security group holds at most 200 rules, inbound and outbound together, and each item of "
    "security_groups.rules adds one to each side's group",
    advice="list at most 200, fewer if the groups already have rules",
)
ROUTE_ENTRIES_PER_TABLE = Limit(
    "route_entries_per_table",
    "CreateRouteEntry: custom route entries per route table (QuotaExceeded)",
    None,
    200,
    "custom route entries",
    "routes.initiator, routes.acceptor (one entry per destination)",
    "refused by check (entries already in the table are not counted: the cloud may still refuse); a fleet's plan "
    "and run also count the custom entries already in each table",
    f"{_VPC}createrouteentry (QuotaExceeded); old-generation SDK docstring of create_route_entry "
    "('at most 200 custom route entries per route table')",
    says="a route table holds at most 200 custom route entries, and each destination adds one",
    advice="list at most 200, fewer if the route table already has custom entries (or route a network covering "
    "several)",
)
# Waits. A wait polls with backoff up to every POLL_CAP seconds; one shorter than two such polls may
# give up before the state it waits for could be seen. An hour means something is wrong.
WAIT_MIN = 2 * POLL_CAP
WAIT_MAX = 3600.0
WAITS = Limit(
    "wait_timeouts",
    "vpclink's waits (DescribeRouterInterfaces, DescribeRouteEntryList, DescribeInvocationResults polls)",
    WAIT_MIN,
    WAIT_MAX,
    "seconds",
    "timeouts.router_interface, timeouts.route_entry, timeouts.command",
    "refused by check",
    f"vpclink.waits (polls back off to every {POLL_CAP:g} s); terraform-provider-alicloud waits 5 s between "
    "polls (DefaultIntervalShort)",
)
RUN_COMMAND_TIMEOUT = Limit(
    "run_command_timeout",
    "RunCommand Timeout (seconds; vpclink sends max(10, 2 x ping_count + 10))",
    10,
    None,
    "seconds",
    "timeouts.command, at least the Timeout sent with the ping command for verify.ping_count",
    "refused by check",
    "https://www.alibabacloud.com/help/en/ecs/api-runcommand; SDK " + _ECS_SDK + "_run_command_request.py (timeout: "
    "seconds, default 60); InvokeCommand's reference gives 10 as the least Timeout",
)
PING_COUNT_MIN, PING_COUNT_MAX = 1, 20
PING_COUNT = Limit(
    "ping_count",
    "packets per verification ping (vpclink's bound: the command must finish within its Timeout)",
    PING_COUNT_MIN,
    PING_COUNT_MAX,
    "packets",
    "verify.ping_count",
    "refused by check",
    "vpclink",
)

LIMITS: tuple[Limit, ...] = (
    RI_NAME,
    RI_DESCRIPTION,
    ROUTE_ENTRY_NAME,
    ROUTE_ENTRY_DESCRIPTION,
    COMMAND_NAME,
    RULE_DESCRIPTION,
    PERMISSIONS_PER_CALL,
    RULES_PER_GROUP,
    ROUTE_ENTRIES_PER_TABLE,
    WAITS,
    RUN_COMMAND_TIMEOUT,
    PING_COUNT,
)

_ROLES = ("initiator", "acceptor")


def text_problem(limit: Limit, text: str) -> str | None:
    """Why ``text`` breaks ``limit`` (a name or description rule), or None."""
    low, high = int(limit.minimum or 0), int(limit.maximum or 0)
    if not low <= len(text) <= high:
        return f"has {len(text)} characters, where {limit.api} takes {limit.rule}"
    if limit.letter_first and not text[:1].isalpha():
        return f"does not start with a letter, as {limit.api} requires"
    if limit.no_url and text.startswith(("http://", "https://")):
        return f"starts with http:// or https://, which {limit.api} refuses"
    if limit.name_characters and not all(c.isalnum() or c in "._-" for c in text):
        return f"has characters {limit.api} refuses (letters, digits, '.', '_', '-' only)"
    return None


def derived_names(link: str) -> list[tuple[Limit, str]]:
    """Every name and description vpclink derives from the link name alone, with its limit."""
    texts: list[tuple[Limit, str]] = [
        (ROUTE_ENTRY_NAME, naming.route_entry_name(link)),
        (COMMAND_NAME, naming.command_name(link)),
    ]
    for role in _ROLES:
        texts += [
            (RI_NAME, naming.router_interface_name(link, role)),
            (RI_DESCRIPTION, naming.router_interface_description(link, role)),
            (ROUTE_ENTRY_DESCRIPTION, naming.route_entry_description(link, role)),
            (RULE_DESCRIPTION, naming.rule_description(link, role)),
        ]
    return texts


def link_problems(link: str) -> list[str]:
    """Messages for each derived name the API would refuse (none for a valid link name today)."""
    out = []
    for limit, text in derived_names(link):
        why = text_problem(limit, text)
        if why:
            out.append(f"gives {limit.api} {show(text)}, which {why}: choose a shorter link name")
    return out


def rule_description_room(link: str) -> int:
    """The most characters a rule's own description may have on this link (both sides)."""
    prefix = max((naming.rule_description_prefix(link, role) for role in _ROLES), key=len)
    return int(RULE_DESCRIPTION.maximum or 0) - len(prefix)


def rule_description_problem(link: str, text: str) -> str | None:
    """Why a rule's description is too long once vpclink's prefix is added, or None."""
    room = rule_description_room(link)
    if len(text) <= room:
        return None
    prefix = naming.rule_description_prefix(link, "initiator")
    return (
        f"{len(text)} characters is too long on this link: vpclink starts each rule's description with "
        f"{prefix!r} ({len(prefix)} characters) and {RULE_DESCRIPTION.api} takes at most "
        f"{RULE_DESCRIPTION.maximum:g}, so at most {room} characters here"
    )


def count_problem(limit: Limit, count: int, noun: str) -> str | None:
    """Why ``count`` ``noun`` exceed a count limit (rules per group, routes per table), or None."""
    if limit.maximum is None or count <= limit.maximum:
        return None
    return f"{count} {noun}: {limit.says} ({limit.api}); {limit.advice}"


def run_command_timeout(ping_count: int) -> int:
    """The RunCommand ``Timeout`` (seconds) of the verification ping for ``ping_count`` packets:
    a ping every second with a margin, and never below the API's 10."""
    return max(int(RUN_COMMAND_TIMEOUT.minimum or 10), 2 * ping_count + 10)


def command_timeout_problem(seconds: float, ping_count: int) -> str | None:
    """Why ``timeouts.command`` cannot see a ping of ``ping_count`` packets finish, or None."""
    needed = run_command_timeout(ping_count)
    if seconds >= needed:
        return None
    return (
        f"{seconds:g} s is shorter than the ping command may run: vpclink sends RunCommand Timeout {needed} s "
        f"for verify.ping_count {ping_count}; give at least {needed} (or fewer packets)"
    )


def batches(items: Sequence[T], size: int = int(PERMISSIONS_PER_CALL.maximum or 100)) -> Iterator[Sequence[T]]:
    """``items`` in runs of at most ``size``: one API call each (AuthorizeSecurityGroup permissions)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check(params: LinkParams) -> list[FieldError]:
    """Every limit applied to a whole ``LinkParams`` (one built by code, a fleet's link)."""
    errors = [FieldError("link", why) for why in link_problems(params.link)]
    rules = params.security_groups.rules
    if why := count_problem(RULES_PER_GROUP, len(rules), "rules"):
        errors.append(FieldError("security_groups.rules", why))
    for i, rule in enumerate(rules):
        if rule.description and (why := rule_description_problem(params.link, rule.description)):
            errors.append(FieldError(f"security_groups.rules[{i}].description", why))
    for role, destinations in params.routes.items():
        if why := count_problem(ROUTE_ENTRIES_PER_TABLE, len(destinations), "destinations"):
            errors.append(FieldError(f"routes.{role}", why))
    for key in ("router_interface", "route_entry", "command"):
        value = float(getattr(params.timeouts, key))
        if not WAIT_MIN <= value <= WAIT_MAX:
            errors.append(
                FieldError(
                    f"timeouts.{key}", f"{value:g} s: a wait is at least {WAIT_MIN:g} and at most {WAIT_MAX:g} s"
                )
            )
    count = params.verify.ping_count
    if not PING_COUNT_MIN <= count <= PING_COUNT_MAX:
        errors.append(FieldError("verify.ping_count", f"{count}: from {PING_COUNT_MIN} to {PING_COUNT_MAX}"))
    elif why := command_timeout_problem(float(params.timeouts.command), count):
        errors.append(FieldError("timeouts.command", why))
    return errors
