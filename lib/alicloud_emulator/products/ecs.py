"""ECS 2014-05-26: regions here; security groups, instances and Cloud Assistant in their modules."""

from __future__ import annotations

from typing import Any

from ..context import Action, Context
from ..params import Params
from ..regions import REGIONS, ecs_endpoint
from . import cloud_assistant, instances, security_groups


def describe_regions(ctx: Context, p: Params) -> dict[str, Any]:
    return {
        "Regions": {
            "Region": [
                {"RegionId": r, "LocalName": name, "RegionEndpoint": ecs_endpoint(r), "Status": "available"}
                for r, name in REGIONS.items()
            ]
        }
    }


ACTIONS: dict[str, Action] = {
    "DescribeRegions": Action(describe_regions),
    **security_groups.ACTIONS,
    **instances.ACTIONS,
    **cloud_assistant.ACTIONS,
}
