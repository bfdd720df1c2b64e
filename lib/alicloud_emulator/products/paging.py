"""The two paging styles of the VPC API.

* ``PageNumber``/``PageSize`` (most Describe* actions): the reply carries ``PageNumber``,
  ``PageSize`` and ``TotalCount`` as ints.
* ``NextToken``/``MaxResult`` (``DescribeRouteEntryList``): an opaque token bound to the query it
  came from, so a token replayed with other filters is refused (``IllegalParam.NextToken``)
  instead of silently skipping rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from ..params import Params
from .vpc_errors import illegal_next_token

T = TypeVar("T")


def by_page_number(
    items: Sequence[T], p: Params, max_size: int = 50, default_size: int = 10
) -> tuple[list[T], dict[str, int]]:
    """One page of ``items`` and the ``PageNumber``/``PageSize``/``TotalCount`` reply fields."""
    number = p.integer("PageNumber", default=1, min=1)
    size = p.integer("PageSize", default=default_size, min=1, max=max_size)
    start = (number - 1) * size
    return list(items[start : start + size]), {"PageNumber": number, "PageSize": size, "TotalCount": len(items)}


def by_token(
    items: Sequence[T], p: Params, query: dict[str, Any], max_size: int = 100, default_size: int = 10
) -> tuple[list[T], str]:
    """One page of ``items`` and the ``NextToken`` of the next one (``""`` on the last page).

    ``query`` is what the caller filtered on; the token remembers its digest."""
    size = p.integer("MaxResult", default=default_size, min=1, max=max_size)
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]
    token = p.text("NextToken")
    start = 0
    if token is not None:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
            start, bound = int(decoded["o"]), decoded["q"]
        except (ValueError, KeyError, TypeError):
            raise illegal_next_token("it is not a token this API returned") from None
        if bound != digest or start < 0:
            raise illegal_next_token("it belongs to a query with other parameters; start again without NextToken")
    page = list(items[start : start + size])
    end = start + len(page)
    following = ""
    if end < len(items):
        following = base64.urlsafe_b64encode(json.dumps({"o": end, "q": digest}).encode()).decode()
    return page, following
