"""Every error the VpcPeer 2022-01-01 actions return, and the two a route through a peering adds to
CreateRouteEntry and ModifyRouteEntry (VPC 2016-04-28), as named constructors.

Codes and messages are those of Alibaba's API metadata for VpcPeer 2022-01-01 (vendored under
``tests/data/api_metadata/vpcpeer-2022-01-01.json``) and of the product's error-code page,
https://help.aliyun.com/zh/vpc/developer-reference/api-vpcpeer-2022-01-01-errorcodes (product-wide:
``Conflict.Operation``, ``Forbidden.NoPermission``, ``IllegalParam.%s``, ``DryRunOperation``). Every
documented VpcPeer error is HTTP 400. The cloud's message comes first, as documented; what follows
it names only what the caller sent or owns, so another account's connection, VPC or UID never
shows through a message.
"""

from __future__ import annotations

from ..errors import ApiError, ErrorCode, error

# -- parameters -----------------------------------------------------------------------------------------


def illegal(name: str, detail: str) -> ApiError:
    """``IllegalParam.<name>`` "The param of <name> is illegal." (the product's code for a malformed
    value, ``IllegalParam.%s`` on its error-code page); ``illegal_codes`` declares them."""
    return ApiError(f"IllegalParam.{name}", f"The param of {name} is illegal: {detail}")


def illegal_codes(*names: str) -> tuple[ErrorCode, ...]:
    """The ``IllegalParam.<name>`` codes an action may raise, for its declaration."""
    return tuple(ErrorCode(f"IllegalParam.{n}") for n in names)


@error("DryRunOperation")
def dry_run_passed() -> str:
    return "The operation DryRun verifies success."


# -- connections ------------------------------------------------------------------------------------------


@error("ResourceNotFound.InstanceId")
def connection_not_found(instance_id: str) -> str:
    """A connection the caller is neither the requester nor the accepter of reads exactly like one
    that does not exist (the only error GetVpcPeerConnectionAttribute documents)."""
    return f"The specified resource of {instance_id} is not found."


@error("IncorrectStatus.VpcPeer")
def connection_status(instance_id: str, status: str, allowed: str) -> str:
    return f"The status of {instance_id} [{status}] is incorrect. This operation needs {allowed}."


@error("Forbidden.NoPermission")
def not_the_accepter(instance_id: str, action: str) -> str:
    """The requester of a cross-account connection calling Accept or Reject: only the accepter
    acts on a request (RejectVpcPeerConnection reference: "An acceptor VPC can reject ..."); the
    code is the product-wide one for a refused permission."""
    return (
        f"Authentication is failed for {instance_id}: only the accepter account (AcceptingAliUid) may call "
        f"{action} on a cross-account connection request."
    )


@error("Conflict.Operation")
def operation_conflict(vpc_id: str, busy: str, status: str) -> str:
    return (
        "There are other peering operations on the requester VPC or accepter VPC, try again later: "
        f"{busy} on {vpc_id} is {status}."
    )


@error("ResourceAlreadyExist.VpcPeer")
def already_peered(vpc_id: str, accepting_vpc_id: str, existing: str) -> str:
    return f"The specified resource of {existing} already exists: it joins {vpc_id} and {accepting_vpc_id}."


@error("ResourceAlreadyExist.RouterInterface")
def router_interface_link_exists(vpc_id: str, accepting_vpc_id: str, ri_id: str) -> str:
    return (
        f"The specified resource of {ri_id} already exists: router interfaces connect {vpc_id} and "
        f"{accepting_vpc_id}; delete them before peering the two VPCs."
    )


@error("QuotaExceeded.IntraRegionVpcPeerCountPerVpc")
def intra_region_quota(vpc_id: str, used: int, limit: int) -> str:
    return f"The quota of IntraRegionVpcPeerCountPerVpc is exceeded, usage {used}/{limit}: {vpc_id}."


@error("QuotaExceeded.CrossRegionVpcPeerCountPerVpc")
def cross_region_quota(vpc_id: str, used: int, limit: int) -> str:
    return f"The quota of CrossRegionVpcPeerCountPerVpc is exceeded, usage {used}/{limit}: {vpc_id}."


@error("OperationDenied.RouteEntryExist")
def routes_point_at_it(instance_id: str, routes: str) -> str:
    return (
        "The operation is not allowed because of existing routeEntry point to VpcPeer: "
        f"{routes} route to {instance_id}. Delete them, or delete with Force=true."
    )


@error("OperationFailed.BandwidthCannotBeChangedInSameRegion")
def bandwidth_in_same_region(instance_id: str) -> str:
    return (
        "The operation failed because the bandwidth cannot be changed in the same region: "
        f"{instance_id} joins two VPCs of one region, whose bandwidth is unlimited (-1)."
    )


# -- tags and resource groups -------------------------------------------------------------------------------


@error("NumberExceed.Tags")
def too_many_tags(name: str, limit: int, got: int) -> str:
    return f"The maximum number of tags is exceeded: {name} takes at most {limit}, got {got}."


@error("NumberExceed.ResourceIds")
def too_many_resources(limit: int, got: int) -> str:
    return f"The maximum number of resource IDs is exceeded: ResourceId takes at most {limit}, got {got}."


@error("Forbidden.TagKeys")
def reserved_tag_key(name: str, key: str) -> str:
    return f'The tag key cannot be operated by the request: {name} "{key}" starts with aliyun or acs:.'


@error("Forbidden.TagKey.Duplicated")
def duplicate_tag_key(name: str, key: str) -> str:
    return f'The specified tag key already exists: {name} names "{key}" twice.'


@error("InvalidInstanceIds.NotFound")
def resources_not_found(ids: str) -> str:
    return f"The instance IDs are not found: {ids}."


@error("InvalidInstanceType.NotFound")
def resource_type_not_found(value: str) -> str:
    return f'The instance type is not found: ResourceType "{value}"; valid: PeerConnection.'


@error("BothEmpty.TagsAndResources")
def tags_and_resources_empty() -> str:
    return "The specified Tags and ResourcesIds are not allow to both empty: give ResourceId.N or Tag.N."


@error("ResourceNotFound.VpcPeer")
def peer_not_found(instance_id: str) -> str:
    """MoveResourceGroup's code for an unknown connection, and CreateRouteEntry's for a ``VpcPeer``
    next hop that is not a connection of the caller's VPC (both documented in the metadata)."""
    return f"The specified resource of VpcPeer is not found: {instance_id}."


@error("OperationFailed.NotExist.ResourceGroup")
def resource_group_not_found(name: str, value: str) -> str:
    return f'The operation failed because the resource group does not exist: {name} "{value}".'


@error("IncorrectStatus.VpcPeer")
def peer_not_activated(instance_id: str, status: str) -> str:
    """CreateRouteEntry (and ModifyRouteEntry) with a next hop that is not ``Activated``."""
    return f"The status of {instance_id} [{status}] is incorrect. A route needs an Activated VPC peering connection."
