"""VPC 2016-04-28 (placeholder: DescribeRegions only; the full product is being written)."""

from __future__ import annotations

from typing import Any

from ..context import Action, Context
from ..params import Params
from ..regions import REGIONS, vpc_endpoint


def describe_regions(ctx: Context, p: Params) -> dict[str, Any]:
    return {"Regions": {"Region": [{"RegionId": r, "LocalName": name, "RegionEndpoint": vpc_endpoint(r)}
                                   for r, name in REGIONS.items()]}}


ACTIONS = {"DescribeRegions": Action(describe_regions)}
