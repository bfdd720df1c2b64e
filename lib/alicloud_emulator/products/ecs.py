"""ECS 2014-05-26: the action table, with the errors each action declares, and DescribeRegions;
security groups, instances and Cloud Assistant are in their modules."""

from __future__ import annotations

from typing import Any

from ..context import Action, Context
from ..errors import DRY_RUN, INVALID_PARAMETER, MISSING_PARAMETER, REGION_NOT_FOUND
from ..params import Params
from ..regions import REGIONS, ecs_endpoint
from . import cloud_assistant, instances, security_groups
from . import ecs_errors as err
from .catalog import action


def describe_regions(ctx: Context, p: Params) -> dict[str, Any]:
    return {
        "Regions": {
            "Region": [
                {"RegionId": r, "LocalName": name, "RegionEndpoint": ecs_endpoint(r), "Status": "available"}
                for r, name in REGIONS.items()
            ]
        }
    }


REGION = (MISSING_PARAMETER, REGION_NOT_FOUND)  # ``Context.region``
PARAMS = (MISSING_PARAMETER, INVALID_PARAMETER)  # ``Params`` getters and list limits
GROUP = (err.security_group_not_found,)

ACTIONS: dict[str, Action] = {
    "DescribeRegions": action(describe_regions),
    "DescribeSecurityGroups": action(
        security_groups.describe_security_groups, REGION, PARAMS, DRY_RUN, err.SECURITY_GROUP_TYPE, err.NEXT_TOKEN
    ),
    "DescribeSecurityGroupAttribute": action(
        security_groups.describe_security_group_attribute, REGION, PARAMS, GROUP, err.NIC_TYPE, err.NEXT_TOKEN
    ),
    "AuthorizeSecurityGroup": action(
        security_groups.authorize_security_group,
        REGION,
        PARAMS,
        GROUP,
        security_groups.RULE_ERRORS,
        err.source_is_the_group,
        err.source_group_not_found,
        err.source_group_mismatch,
        err.too_many_rules,
        mutating=True,
    ),
    "RevokeSecurityGroup": action(
        security_groups.revoke_security_group,
        REGION,
        PARAMS,
        GROUP,
        security_groups.RULE_ERRORS,
        err.unknown_rule_ids,
        err.nothing_to_revoke,
        mutating=True,
    ),
    "DescribeInstances": action(
        instances.describe_instances,
        REGION,
        PARAMS,
        DRY_RUN,
        err.too_many_tags,
        err.INSTANCE_STATUS,
        err.INSTANCE_NETWORK_TYPE,
        err.NEXT_TOKEN,
    ),
    **cloud_assistant.ACTIONS,  # declared by its own module, with their errors
}
