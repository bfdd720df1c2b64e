"""The names and descriptions vpclink puts on what it creates: the one place these formats live.

They are how a rerun, a resume and a teardown recognise vpclink's own resources (by name, or by the
start of a description), so changing one changes what counts as "ours": do it here, and
``limits`` checks every result against the API's length and character rules before any call.

Every function takes plain strings (the link name, the side's role), so the phases, the parameter
check and the emulator-facing tests all derive the same text.
"""

from __future__ import annotations

PREFIX = "vpclink"


def router_interface_name(link: str, role: str) -> str:
    """CreateRouterInterface ``Name``: ``vpclink-<link>-<role>``."""
    return f"{PREFIX}-{link}-{role}"


def router_interface_description(link: str, role: str) -> str:
    """CreateRouterInterface ``Description``: ``vpclink link <link> <role> side``."""
    return side_marker(link, role)


def vpc_peer_name(link: str) -> str:
    """CreateVpcPeerConnection ``Name``: ``vpclink-<link>`` (one peering per link; the API takes
    letters, digits, ``-`` and ``_``, so a peering link's name has no ``.``: ``params`` refuses it)."""
    return f"{PREFIX}-{link}"


def vpc_peer_description(link: str) -> str:
    """CreateVpcPeerConnection ``Description``: ``vpclink link <link>``."""
    return link_marker(link)


def link_marker(link: str) -> str:
    """The text that starts the description of everything this link creates."""
    return f"{PREFIX} link {link}"


def side_marker(link: str, role: str) -> str:
    """The description of what one side of the link creates (routes, rules without a text)."""
    return f"{link_marker(link)} {role} side"


def route_entry_name(link: str) -> str:
    """CreateRouteEntry ``RouteEntryName``: ``vpclink-<link>``."""
    return f"{PREFIX}-{link}"


def route_entry_description(link: str, role: str) -> str:
    """CreateRouteEntry ``Description``: ``vpclink link <link> <role> side``."""
    return side_marker(link, role)


def rule_description_prefix(link: str, role: str) -> str:
    """What comes before a rule's own description (``security_groups.rules[].description``)."""
    return f"{side_marker(link, role)}: "


def rule_description(link: str, role: str, text: str = "") -> str:
    """AuthorizeSecurityGroup ``Permissions.N.Description``: the side marker, then the rule's own
    description after ``": "`` when it has one."""
    return f"{rule_description_prefix(link, role)}{text}" if text else side_marker(link, role)


def is_ours(description: str, link: str, role: str) -> bool:
    """Whether a route's or rule's description is one this link's ``role`` side wrote: exactly the
    side marker, or the marker followed by ``": "`` and a rule's text (never text that merely starts
    alike, ``... initiator sidewalk``)."""
    marker = side_marker(link, role)
    return description == marker or description.startswith(f"{marker}: ")


def command_name(link: str) -> str:
    """RunCommand ``Name`` of the verification ping: ``vpclink-<link>-ping``."""
    return f"{PREFIX}-{link}-ping"
