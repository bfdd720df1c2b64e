"""The ``Tag.N.Key``/``Tag.N.Value`` filter of the VPC describes.

A resource matches when it carries every tag asked for: the key, and the value when one is given
(VPC API reference of DescribeVpcs, DescribeVSwitches, DescribeRouteTableList; metadata
``Tag`` ``maxItems`` 20). Records hold tags as a ``{key: value}`` mapping or as a list of
``{"Key", "Value"}`` items (router interfaces).
"""

from __future__ import annotations

from typing import Any

from ..errors import missing
from ..params import Params


def tag_filter(p: Params, max_items: int, name: str = "Tag") -> list[tuple[str, str | None]]:
    """The tags a request filters on, as ``(key, value or None)``."""
    out = []
    for n, t in enumerate(p.sequence(name, max_items=max_items), start=1):
        if not isinstance(t, dict) or not t.get("Key"):
            raise missing(f"{name}.{n}.Key")
        value = t.get("Value")
        out.append((str(t["Key"]), str(value) if value not in (None, "") else None))
    return out


def tags_of(rec: dict[str, Any]) -> dict[str, str]:
    raw = rec.get("Tags") or {}
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(t["Key"]): str(t.get("Value") or "") for t in raw}


def tagged(rec: dict[str, Any], wanted: list[tuple[str, str | None]]) -> bool:
    if not wanted:
        return True
    have = tags_of(rec)
    return all(k in have and (v is None or have[k] == v) for k, v in wanted)
