"""A picture of the link as inline SVG: both VPCs with their accounts, regions and CIDRs, the router
interfaces and their state, the routes, the security group rules and the ping result both ways.

Plain SVG text with no script, font or link to fetch, so it renders offline in JupyterLab (as an
``image/svg+xml`` output), in nbconvert's HTML and in ``index.html``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from .params import LinkParams, Role

WIDTH = 980
BOX_W, BOX_X = 350, {"initiator": 20, "acceptor": 610}
GOOD, BAD, IDLE, INK, MUTED = "#2e7d32", "#c62828", "#9e9e9e", "#212121", "#616161"


@dataclass(frozen=True)
class SideView:
    role: Role
    title: str
    lines: list[tuple[str, str]]  # (text, colour)
    interface: str  # router interface ID or "not created"
    interface_state: str


def _state_colour(state: str) -> str:
    s = state.lower()
    if s in ("active", "ok", "available", "created", "accept"):
        return GOOD
    if s in ("failed", "error", "inactive", "deactivated"):
        return BAD
    return MUTED


def connection(outputs: Mapping[str, Any]) -> str:
    """The state of the connection as the outputs show it. A ping that passed proves it Active: with
    two operators the acceptor's connect phase records Idle, before the initiator connects."""
    if outputs.get("teardown_complete"):
        return "deleted"
    pinged = "ok" in (outputs.get("ping_initiator_to_acceptor"), outputs.get("ping_acceptor_to_initiator"))
    return "Active" if pinged else (outputs.get("connection_status") or "not connected")


def side_view(params: LinkParams, role: Role, outputs: Mapping[str, Any]) -> SideView:
    side, peer = params.side(role), params.peer(role)
    account = "A" if role == "initiator" else "B"
    uid = outputs.get(f"{role}_account_uid") or side.account_uid or "UID not yet read"
    torn_down = bool(outputs.get("teardown_complete"))
    ri = outputs.get(f"{role}_router_interface_id") or ""
    if torn_down:
        ri_state = "deleted"
    elif not ri:
        ri_state = "not created"
    else:
        ri_state = outputs.get(f"{role}_router_interface_status") or (
            "Active" if connection(outputs) == "Active" else "created"
        )
    routes_done = bool(outputs.get(f"{role}_route_entry_ids")) and not torn_down
    rules_done = bool(outputs.get(f"{role}_rule_ids")) and not torn_down
    table = outputs.get(f"{role}_route_table_id") or "system route table"
    lines: list[tuple[str, str]] = [
        (f"UID {uid} · profile {side.profile}", MUTED),
        (f"{side.vpc_id} · {side.region}", INK),
        (f"CIDR {side.vpc_cidr}", INK),
        (f"Routes in {table}:", INK),
    ]
    for dest in params.routes.get(role, ()):
        lines.append(
            (
                f"  {dest} → router interface  [{'present' if routes_done else 'planned'}]",
                GOOD if routes_done else MUTED,
            )
        )
    lines.append((f"Rules of {side.security_group_id}:", INK))
    mode = params.security_groups.mode
    source = f"{peer.vpc_cidr}" if mode == "cidr" else f"{peer.security_group_id} (peer account)"
    for rule in params.security_groups.rules:
        ports = "" if rule.port_range in ("-1/-1", "") else f" {rule.port_range}"
        lines.append(
            (
                f"  allow {rule.protocol.upper()}{ports} from {source}  [{'present' if rules_done else 'planned'}]",
                GOOD if rules_done else MUTED,
            )
        )
    ip = outputs.get(f"{role}_instance_ip")
    if side.instance_id:
        lines.append((f"ECS {side.instance_id}{' · ' + ip if ip else ''}", INK))
    return SideView(role, f"Account {account} · {role}", lines, ri or "not created", ri_state)


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


def _side(view: SideView) -> list[str]:
    x, y = BOX_X[view.role], 80
    height = 90 + 18 * len(view.lines)
    box = f'x="{x}" y="{y}" width="{BOX_W}" height="{height}"'
    parts = [
        f'<rect {box} rx="10" fill="#f5f9ff" stroke="#1565c0" stroke-width="1.5"/>',
        _text(x + 14, y + 24, view.title, size=15, weight="bold"),
    ]
    for i, (line, colour) in enumerate(view.lines):
        parts.append(_text(x + 14, y + 48 + 18 * i, line, size=12, colour=colour, mono=True))
    # the router interface sits on the edge that faces the peer
    rx = x + BOX_W - 150 if view.role == "initiator" else x
    ry = y + height - 34
    colour = _state_colour(view.interface_state)
    parts += [
        f'<rect x="{rx}" y="{ry - 14}" width="150" height="40" rx="6" fill="#ffffff" '
        f'stroke="{colour}" stroke-width="2"/>',
        _text(rx + 75, ry + 2, view.interface, size=10, anchor="middle", mono=True),
        _text(rx + 75, ry + 18, f"router interface: {view.interface_state}", size=10, colour=colour, anchor="middle"),
    ]
    return parts


def link_svg(params: LinkParams, outputs: Mapping[str, Any] | None = None) -> str:
    """The link as an SVG document, from the parameters and whatever outputs the run has so far."""
    outputs = outputs or {}
    left, right = side_view(params, "initiator", outputs), side_view(params, "acceptor", outputs)
    lh, rh = 90 + 18 * len(left.lines), 90 + 18 * len(right.lines)
    ly, ry = 80 + lh - 34 + 6, 80 + rh - 34 + 6
    height = max(ly, ry) + 100
    status = connection(outputs)
    active = status == "Active"
    colour = GOOD if active else IDLE
    dash = "" if active else ' stroke-dasharray="8 6"'
    x1, x2 = BOX_X["initiator"] + BOX_W, BOX_X["acceptor"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img">',
        f"<title>vpclink {escape(params.link)}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        _text(WIDTH / 2, 30, f"Link {params.link}", size=18, weight="bold", anchor="middle"),
        _text(
            WIDTH / 2,
            52,
            f"Express Connect router interfaces · {params.bandwidth_mbps} Mbps ({params.spec}) · "
            f"{params.initiator.region} ↔ {params.acceptor.region}",
            size=12,
            colour=MUTED,
            anchor="middle",
        ),
        *_side(left),
        *_side(right),
        f'<line x1="{x1}" y1="{ly}" x2="{x2}" y2="{ry}" stroke="{colour}" stroke-width="4"{dash}/>',
        _text(
            (x1 + x2) / 2,
            min(ly, ry) - 12,
            f"connection: {status}",
            size=12,
            colour=colour,
            anchor="middle",
            weight="bold",
        ),
    ]
    for i, (src, dst, key) in enumerate(
        (("A", "B", "ping_initiator_to_acceptor"), ("B", "A", "ping_acceptor_to_initiator"))
    ):
        result = "link removed" if outputs.get("teardown_complete") else (outputs.get(key) or "not run")
        c = GOOD if result == "ok" else BAD if result == "failed" else IDLE
        y = max(ly, ry) + 40 + 26 * i
        start, end = (x1 + 20, x2 - 20) if i == 0 else (x2 - 20, x1 + 20)
        barb = end - 10 if i == 0 else end + 10
        arrow = (
            f'<path d="M {start} {y} L {end} {y} M {barb} {y - 6} L {end} {y} L {barb} {y + 6}" '
            f'stroke="{c}" stroke-width="2" fill="none"/>'
        )
        parts += [
            arrow,
            _text((x1 + x2) / 2, y - 5, f"ping {src} → {dst}: {result}", size=11, colour=c, anchor="middle"),
        ]
    parts.append("</svg>")
    return "\n".join(parts)
