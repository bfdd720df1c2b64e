"""VpcPeer 2022-01-01 (VPC peering connections): the action table, each action with the errors it
may raise.

The product has one central endpoint for every region (``vpcpeer.aliyuncs.com``: the SDK's
``central`` endpoint rule and the metadata's endpoint list), so the emulator serves it on its one
port like the others, routed by ``x-acs-version``/``Version`` then action (``dispatch.PRODUCTS``):
the tag actions share their names with VPC 2016-04-28's. The SDK sends most parameters in a form
body (``req_body_type='formData'``), which the wire layer merges with the query and both signature
styles cover. The connections are in ``vpcpeer_connections.py`` (records in ``vpcpeer_records.py``),
tags and resource groups in ``vpcpeer_tags.py``, the errors in ``vpcpeer_errors.py``.
"""

from __future__ import annotations

from ..context import Action
from ..errors import MISSING_PARAMETER, ErrorCode
from . import vpcpeer_connections as connections
from . import vpcpeer_errors as err
from . import vpcpeer_tags as tags
from .catalog import action


def params(*names: str) -> tuple[ErrorCode, ...]:
    """A missing required parameter (the gateway's ``MissingParameter``) and a malformed value of
    any of ``names`` (``IllegalParam.<name>``)."""
    return (MISSING_PARAMETER, *err.illegal_codes(*names))


TAGGING = (err.illegal_codes("TagKey", "TagValue"), err.reserved_tag_key, err.duplicate_tag_key)
ANSWER = (err.connection_not_found, err.not_the_accepter, err.connection_status)

ACTIONS: dict[str, Action] = {
    "CreateVpcPeerConnection": action(
        connections.create_vpc_peer_connection,
        params(
            "RegionId",
            "VpcId",
            "AcceptingAliUid",
            "AcceptingRegionId",
            "AcceptingVpcId",
            "Name",
            "Description",
            "Bandwidth",
            "LinkType",
            "ResourceGroupId",
            "Tag",
            "ClientToken",
            "DryRun",
        ),
        TAGGING,
        err.resource_group_not_found,
        err.operation_conflict,
        err.already_peered,
        err.router_interface_link_exists,
        err.intra_region_quota,
        err.cross_region_quota,
        err.dry_run_passed,
        mutating=True,
    ),
    "AcceptVpcPeerConnection": action(
        connections.accept_vpc_peer_connection,
        params("InstanceId", "ResourceGroupId", "Tag", "ClientToken", "DryRun"),
        TAGGING,
        err.resource_group_not_found,
        ANSWER,
        err.operation_conflict,
        err.dry_run_passed,
        mutating=True,
    ),
    "RejectVpcPeerConnection": action(
        connections.reject_vpc_peer_connection,
        params("InstanceId", "ClientToken", "DryRun"),
        ANSWER,
        err.dry_run_passed,
        mutating=True,
    ),
    "ModifyVpcPeerConnection": action(
        connections.modify_vpc_peer_connection,
        params("InstanceId", "Name", "Description", "Bandwidth", "LinkType", "ClientToken", "DryRun"),
        err.connection_not_found,
        err.connection_status,
        err.bandwidth_in_same_region,
        err.operation_conflict,
        err.dry_run_passed,
        mutating=True,
    ),
    "DeleteVpcPeerConnection": action(
        connections.delete_vpc_peer_connection,
        params("InstanceId", "Force", "ClientToken", "DryRun"),
        err.connection_not_found,
        err.connection_status,
        err.operation_conflict,
        err.routes_point_at_it,
        err.dry_run_passed,
        mutating=True,
    ),
    "GetVpcPeerConnectionAttribute": action(
        connections.get_vpc_peer_connection_attribute, params("InstanceId"), err.connection_not_found
    ),
    "ListVpcPeerConnections": action(
        connections.list_vpc_peer_connections,
        params("RegionId", "InstanceId", "Name", "VpcId", "Tags", "ResourceGroupId", "MaxResults", "NextToken"),
    ),
    "TagResources": action(
        tags.tag_resources,
        params("RegionId", "ResourceType", "ResourceId", "Tag", "ClientToken"),
        TAGGING,
        err.resource_type_not_found,
        err.too_many_resources,
        err.too_many_tags,
        err.resources_not_found,
        mutating=True,
    ),
    "UnTagResources": action(
        tags.untag_resources,
        params("RegionId", "ResourceType", "ResourceId", "TagKey", "All", "ClientToken"),
        err.resource_type_not_found,
        err.too_many_resources,
        err.too_many_tags,
        err.resources_not_found,
        mutating=True,
    ),
    "ListTagResources": action(
        tags.list_tag_resources,
        params("RegionId", "ResourceType", "ResourceId", "Tag", "Category", "MaxResults", "NextToken"),
        TAGGING,
        err.resource_type_not_found,
        err.too_many_resources,
        err.too_many_tags,
        err.tags_and_resources_empty,
    ),
    "MoveResourceGroup": action(
        tags.move_resource_group,
        params("RegionId", "ResourceId", "ResourceType", "NewResourceGroupId"),
        err.resource_group_not_found,
        err.peer_not_found,
        mutating=True,
    ),
}
