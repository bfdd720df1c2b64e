"""ECS paging: ``NextToken``/``MaxResults`` and the deprecated ``PageNumber``/``PageSize``.

ECS list actions accept both styles; when ``NextToken`` or ``MaxResults`` is given the page-number
parameters are ignored, as the API documents. A token is opaque to the client but carries the
offset and a digest of the filters it was issued for, so a token reused with other filters is
refused instead of silently skipping or repeating items.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..params import Params
from .ecs_errors import NEXT_TOKEN


@dataclass(frozen=True)
class Limits:
    """One action's page sizes: defaults and maxima of each style."""

    max_results_default: int = 10
    max_results_max: int = 100
    max_results_min: int = 1
    page_size_default: int = 10
    page_size_max: int = 100


def _digest(filters: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _token(offset: int, filters: dict[str, Any]) -> str:
    raw = json.dumps({"o": offset, "f": _digest(filters)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str, filters: dict[str, Any]) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, digest = int(data["o"]), data["f"]
    except (ValueError, KeyError, TypeError):
        raise NEXT_TOKEN(
            f'The specified NextToken "{token}" is not valid; pass the NextToken of the previous response unchanged.'
        ) from None
    if digest != _digest(filters) or offset < 0:
        raise NEXT_TOKEN(
            "The specified NextToken was issued for a query with other filters; "
            "repeat the first query without NextToken."
        )
    return offset


def paginate(
    p: Params, items: Sequence[Any], filters: dict[str, Any], limits: Limits = Limits(), tokens_only: bool = False
) -> tuple[list[Any], dict[str, Any]]:
    """The page of ``items`` the request asks for, and the paging fields of the response
    (``TotalCount``, ``PageNumber``, ``PageSize``, ``NextToken``; only ``NextToken`` when
    ``tokens_only``)."""
    total = len(items)
    if tokens_only or p.has("NextToken") or p.has("MaxResults"):
        size = p.integer(
            "MaxResults", default=limits.max_results_default, min=limits.max_results_min, max=limits.max_results_max
        )
        token = p.text("NextToken")
        start = _offset(token, filters) if token else 0
        page = list(items[start : start + size])
        after = start + size
        next_token = _token(after, filters) if after < total else ""
        if tokens_only:
            return page, {"NextToken": next_token}
        return page, {"TotalCount": total, "PageNumber": start // size + 1, "PageSize": size, "NextToken": next_token}
    number = p.integer("PageNumber", default=1, min=1, max=1_000_000)
    size = p.integer("PageSize", default=limits.page_size_default, min=1, max=limits.page_size_max)
    start = (number - 1) * size
    return list(items[start : start + size]), {
        "TotalCount": total,
        "PageNumber": number,
        "PageSize": size,
        "NextToken": "",
    }
