"""A picture of the link as inline SVG: both VPCs with their accounts, regions and CIDRs, each side's
end of the connection and its state, the routes, the security group rules and the ping results.

What the picture shows comes from the declared phases: :func:`link_view` starts from the parameters
(the two VPCs) and lets every phase add its part from the outputs so far (``Phase.show``: the
interfaces, the connection, the routes, the rules, the pings, what was removed). This module
only draws. Plain SVG text with no script, font or link to fetch, so it renders offline in JupyterLab
(as an ``image/svg+xml`` output), in nbconvert's HTML and in ``index.html``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..params import ROLES, LinkParams, Role

WIDTH = 980
BOX_W, BOX_X = 350, {"initiator": 20, "acceptor": 610}
GOOD, BAD, IDLE, INK, MUTED = "#2e7d32", "#c62828", "#9e9e9e", "#212121", "#616161"
STATE_COLOUR = {"present": GOOD, "planned": MUTED, "removed": MUTED}


@dataclass
class Line:
    text: str
    state: str = ""  # "present", "planned", "removed" or "" (a plain line)


@dataclass
class Section:
    heading: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class Endpoint:
    """One side's end of the connection (a router interface, say) as the picture draws it."""

    kind: str  # "router interface"
    resource_id: str = "not created"
    state: str = "not created"


@dataclass
class SideView:
    role: Role
    title: str
    account_uid: str  # "UID not yet read" until known
    profile: str
    vpc: str  # "<VPC ID> · <region>"
    cidr: str
    sections: list[Section] = field(default_factory=list)
    instance: str = ""
    endpoint: Endpoint | None = None


@dataclass
class Ping:
    source: str  # "A"
    target: str  # "B"
    result: str = "not run"


@dataclass
class LinkView:
    link: str
    subtitle: list[str]
    sides: dict[Role, SideView]
    connection: str = "not connected"
    pings: list[Ping] = field(default_factory=list)

    def side(self, role: Role) -> SideView:
        return self.sides[role]


def account_letter(role: Role) -> str:
    return "A" if role == "initiator" else "B"


def link_view(params: LinkParams, outputs: Mapping[str, Any] | None = None) -> LinkView:
    """The link as the parameters describe it, with every declared phase's part from ``outputs``."""
    from .. import phases

    outputs = outputs or {}
    sides: dict[Role, SideView] = {}
    for role in ROLES:
        s = params.side(role)
        sides[role] = SideView(
            role,
            f"Account {account_letter(role)} · {role}",
            account_uid=str(s.account_uid or "UID not yet read"),
            profile=s.profile,
            vpc=f"{s.vpc_id} · {s.region}",
            cidr=s.vpc_cidr,
        )
    view = LinkView(params.link, [f"{params.initiator.region} ↔ {params.acceptor.region}"], sides)
    for phase in phases.ALL:
        if phase.show is not None:
            phase.show(params, outputs, view)
    return view


def _state_colour(state: str) -> str:
    s = state.lower()
    if s in ("active", "ok", "available", "created", "accept", "present"):
        return GOOD
    if s in ("failed", "error", "inactive", "deactivated"):
        return BAD
    return MUTED


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 12,
    colour: str = INK,
    weight: str = "normal",
    anchor: str = "start",
    mono: bool = False,
) -> str:
    family = "monospace" if mono else "sans-serif"
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-family="{family}" font-size="{size}" fill="{colour}" '
        f'font-weight="{weight}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _lines(view: SideView) -> list[tuple[str, str]]:
    lines = [(f"UID {view.account_uid} · profile {view.profile}", MUTED), (view.vpc, INK), (f"CIDR {view.cidr}", INK)]
    for section in view.sections:
        lines.append((section.heading, INK))
        for line in section.lines:
            suffix = f"  [{line.state}]" if line.state else ""
            lines.append((f"  {line.text}{suffix}", STATE_COLOUR.get(line.state, INK)))
    if view.instance:
        lines.append((view.instance, INK))
    return lines


def _side(view: SideView) -> tuple[list[str], float]:
    """The side's box, and the height at which its end of the connection sits."""
    x, y = BOX_X[view.role], 80
    lines = _lines(view)
    height = 90 + 18 * len(lines)
    box = f'x="{x}" y="{y}" width="{BOX_W}" height="{height}"'
    parts = [
        f'<rect {box} rx="10" fill="#f5f9ff" stroke="#1565c0" stroke-width="1.5"/>',
        _text(x + 14, y + 24, view.title, size=15, weight="bold"),
    ]
    for i, (line, colour) in enumerate(lines):
        parts.append(_text(x + 14, y + 48 + 18 * i, line, size=12, colour=colour, mono=True))
    ry = y + height - 34
    if view.endpoint is not None:  # the side's end of the connection sits on the edge facing the peer
        rx = x + BOX_W - 150 if view.role == "initiator" else x
        colour = _state_colour(view.endpoint.state)
        parts += [
            f'<rect x="{rx}" y="{ry - 14}" width="150" height="40" rx="6" fill="#ffffff" '
            f'stroke="{colour}" stroke-width="2"/>',
            _text(rx + 75, ry + 2, view.endpoint.resource_id, size=10, anchor="middle", mono=True),
            _text(
                rx + 75,
                ry + 18,
                f"{view.endpoint.kind}: {view.endpoint.state}",
                size=10,
                colour=colour,
                anchor="middle",
            ),
        ]
    return parts, ry + 6


def render(view: LinkView) -> str:
    """The view as an SVG document."""
    left, ly = _side(view.sides["initiator"])
    right, ry = _side(view.sides["acceptor"])
    height = max(ly, ry) + 40 + 26 * max(len(view.pings), 1) + 34
    active = view.connection == "Active"
    colour = GOOD if active else IDLE
    dash = "" if active else ' stroke-dasharray="8 6"'
    x1, x2 = BOX_X["initiator"] + BOX_W, BOX_X["acceptor"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img">',
        f"<title>vpclink {escape(view.link)}</title>",
        f'<rect width="{WIDTH}" height="{height:.0f}" fill="#ffffff"/>',
        _text(WIDTH / 2, 30, f"Link {view.link}", size=18, weight="bold", anchor="middle"),
        _text(WIDTH / 2, 52, " · ".join(view.subtitle), size=12, colour=MUTED, anchor="middle"),
        *left,
        *right,
        f'<line x1="{x1}" y1="{ly}" x2="{x2}" y2="{ry}" stroke="{colour}" stroke-width="4"{dash}/>',
        _text(
            (x1 + x2) / 2,
            min(ly, ry) - 12,
            f"connection: {view.connection}",
            size=12,
            colour=colour,
            anchor="middle",
            weight="bold",
        ),
    ]
    for i, ping in enumerate(view.pings):
        c = GOOD if ping.result == "ok" else BAD if ping.result == "failed" else IDLE
        y = max(ly, ry) + 40 + 26 * i
        forward = i % 2 == 0
        start, end = (x1 + 20, x2 - 20) if forward else (x2 - 20, x1 + 20)
        barb = end - 10 if forward else end + 10
        parts += [
            f'<path d="M {start} {y} L {end} {y} M {barb} {y - 6} L {end} {y} L {barb} {y + 6}" '
            f'stroke="{c}" stroke-width="2" fill="none"/>',
            _text(
                (x1 + x2) / 2,
                y - 5,
                f"ping {ping.source} → {ping.target}: {ping.result}",
                size=11,
                colour=c,
                anchor="middle",
            ),
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def link_svg(params: LinkParams, outputs: Mapping[str, Any] | None = None) -> str:
    """The link as an SVG document, from the parameters and whatever outputs the run has so far."""
    return render(link_view(params, outputs))
