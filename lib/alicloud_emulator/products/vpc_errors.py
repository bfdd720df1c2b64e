"""Every error the VPC 2016-04-28 actions return, as named constructors.

Codes and statuses are those of Alibaba's API metadata for VPC 2016-04-28 (api.aliyun.com, vendored
under ``tests/data/api_metadata``) unless a docstring says otherwise; ``docs/parity.md`` lists
each code the metadata does not document for an action that returns it, with its source.
Messages name only what the caller sent or owns.
"""

from __future__ import annotations

from ..errors import ErrorCode, error, unsupported

# -- parameters ----------------------------------------------------------------------------------------


@error("InvalidVpcIdNumber.NotSupported")
def too_many_vpc_ids(limit: int, got: int) -> str:
    return f"The number of vpcIds exceeds the limit: VpcId takes at most {limit} comma-separated IDs, got {got}."


@error("IllegalParam.NextToken")
def illegal_next_token(detail: str) -> str:
    return f"User nextToken is illegal: {detail}."


@error("InvalidAliuid")
def invalid_aliuid(name: str, value: str) -> str:
    return (
        f'Invalid Aliuid: {name} "{value}" is not an Alibaba Cloud account UID '
        "(the digits of the peer's main account ID, as its console shows it)."
    )


@error("InvalidName.Malformed")
def name_malformed(name: str) -> str:
    return (
        f'The specified Name "{name}" is illegal: 2 to 128 characters, starting with a letter or Chinese '
        "character; letters, digits, '.', '_' and '-' allowed."
    )


@error("InvalidDescription.Malformed")
def description_malformed() -> str:
    return (
        "The specified Description is illegal: 2 to 256 characters, starting with a letter or Chinese "
        "character, not with http:// or https://."
    )


CHARGE_TYPE = ErrorCode("InvalidRouterInterfaceChargeType.Malformed")
IP_VERSION = ErrorCode("IllegalParam.IpVersion")
ROUTE_ENTRY_TYPE = ErrorCode("IllegalParam.RouteEntryType")
ROLE_UNSUPPORTED = unsupported("Role")
ROUTER_TYPE_UNSUPPORTED = unsupported("RouterType")
OPPOSITE_ROUTER_TYPE_UNSUPPORTED = unsupported("OppositeRouterType")
SPEC_ON_CREATE = ErrorCode("InvalidSpec.ValudNotSupported")  # sic: CreateRouterInterface documents this spelling
SPEC_ON_MODIFY = ErrorCode("InvalidSpec.ValueNotSupported")  # ModifyRouterInterfaceSpec documents this one
NEXT_HOP_TYPE = ErrorCode("InvalidNextHopType")


@error("InvalidSpec.ValudNotSupported")
def spec_not_for_role(spec: str, role: str, valid: str) -> str:
    return f'The specified Spec "{spec}" is not supported for a {role} router interface; valid: {valid}.'


@error("InvalidSpec.ValueNotSupported")
def spec_not_for_role_on_modify(spec: str, role: str, valid: str) -> str:
    return f'The specified Spec "{spec}" is not supported for a {role} router interface; valid: {valid}.'


@error("InvalidNexthopTypeAndList.BothNotNull")
def next_hop_and_list() -> str:
    return "NextHopType/NextHopId and NextHopList are mutually exclusive."


@error("InvalidNextHopType")
def next_hop_type_not_modelled(hop_type: str, modelled: str) -> str:
    return f'Specified parameter "NextHopType" {hop_type} is not modelled by this emulator; modelled: {modelled}.'


@error("ParamExclusive.RouteEntryIdAndRouteTableIdOrDestCidrBlock")
def route_entry_id_exclusive(given: str) -> str:
    return f"RouteEntryId is mutually exclusive with RouteTableId and DestinationCidrBlock; got {given}."


@error("InvalidCidrBlock")
def cidr_not_allowed(dest: str, why: str) -> str:
    return f"Specified CIDR block {dest} is not valid: {why}."


# -- resources ---------------------------------------------------------------------------------------------


@error("InvalidVpcId.NotFound", 404)
def vpc_not_found(vpc_id: str, region: str) -> str:
    return f'Specified value of VpcId "{vpc_id}" is not found in our record (region {region}).'


@error("InvalidRouteTableId.NotFound", 404)
def route_table_not_found(table_id: str, region: str | None) -> str:
    return f'Specified route table "{table_id}" does not exist' + (f" in {region}." if region else ".")


@error("InvalidRouteTable.NotFound")
def route_table_not_found_in_list(table_id: str, region: str) -> str:
    """DescribeRouteEntryList documents this code (400) for a table it cannot find."""
    return f'Specified route table "{table_id}" does not exist in {region}.'


@error("InvalidVRouterId.NotFound")
def vrouter_not_found(router_id: str, region: str) -> str:
    return f'Specified virtual router "{router_id}" does not exist in {region}.'


@error("InvalidRouteEntry.NotFound")
def route_entry_not_found(what: str) -> str:
    return f"Route entry not exists: {what}."


@error("InvalidNextHop.NotFound")
def next_hop_not_found(hop_id: str, why: str) -> str:
    return f"Specified next hop {hop_id} does not exist: {why}."


@error("InvalidRouterId.NotFound", 404)
def router_not_found(router_id: str, detail: str) -> str:
    return f'The specified RouterId "{router_id}" {detail}.'


@error("InvalidOppositeRegionId.NotFound")
def opposite_region_not_found(region: str) -> str:
    return f'The OppositeRegionId "{region}" provided does not exist in our records.'


@error("InvalidRouterInterfaceId.NotFound", 404)
def router_interface_not_found(ri_id: str, region: str) -> str:
    return f'The specified RouterInterfaceId "{ri_id}" does not exist in our records (region {region}).'


@error("InvalidInstanceId.NotFound", 404)
def instance_id_not_found(ri_id: str, region: str) -> str:
    """DeleteRouterInterface's answer for an unknown interface (the ECS-hosted DeleteRouterInterface
    page; terraform's Delete treats only this code as "already gone")."""
    return f'The specified InstanceId "{ri_id}" does not exist in our records (region {region}).'


@error("InvalidFilterKey.ValueNotSupported", 404)
def filter_key_unsupported(where: str, key: str, valid: str) -> str:
    return f'Specified filter key is not supported: {where} "{key}"; valid keys: {valid}.'


# -- state ---------------------------------------------------------------------------------------------------


@error("IncorrectRIStatus")
def ri_status(ri_id: str, status: str, allowed: str, hint: str = "") -> str:
    """Connect, Activate and Deactivate in the wrong state (current pages of those actions)."""
    return (
        f"RouterInterface can be operated by this action only when it's status is {allowed}; "
        f"{ri_id} is {status}." + (f" {hint}" if hint else "")
    )


@error("InvalidInstance.StatusError")
def ri_status_error(ri_id: str, status: str, allowed: str, hint: str = "") -> str:
    """DeleteRouterInterface and ModifyRouterInterfaceSpec in the wrong state."""
    return f"The router instance status error: {ri_id} is {status}; allowed: {allowed}." + (f" {hint}" if hint else "")


@error("IncorrectStatus")
def ri_incorrect_status(ri_id: str, status: str, allowed: str, hint: str = "") -> str:
    """ModifyRouterInterfaceAttribute in the wrong state: its page still documents ``IncorrectStatus``."""
    return f"RouterInterface can be operated by this action only when the status is {allowed}; {ri_id} is {status}." + (
        f" {hint}" if hint else ""
    )


@error("IncorrectRole.NotInitiatingSide")
def not_initiating_side(ri_id: str) -> str:
    return f"The specified RouterInterface {ri_id} is not InitiatingSide; connect from the initiator's account."


@error("IncorrectOppositeInterfaceInfo.NotSet")
def opposite_not_set(detail: str) -> str:
    return f"OppositeInterfaceId/OppositeRouterId/OppositeRouterType/OppositeInterfaceOwnerId must be all set: {detail}"


@error("IncorrectOppositeInterfaceInfo")
def opposite_info(detail: str) -> str:
    return f"The opposite router interface information is incorrect: {detail}."


@error("Forbidden.OnlyOneConnection")
def only_one_connection(existing: str, router: str, opposite_router: str) -> str:
    return f"The Specified routers have a connection already: {existing} connects {router} and {opposite_router}."


@error("OppositeRouterInterfaceIsDeleted")
def opposite_deleted(opposite: str, ri_id: str) -> str:
    return (
        f"The opposite router interface is already deleted: {opposite} of {ri_id} no longer exists; "
        f"delete {ri_id} and create a new pair."
    )


@error("RouterInterfaceReferredByRouteEntry")
def referred_by_route_entry(ri_id: str, routes: str) -> str:
    """DeleteRouterInterface while routes use the interface (current page, change log 2025-03-19; it
    also lists ``ReferredByRouteEntry.RouterInterface`` with the same message)."""
    return f"Router interface referred by route entry: {ri_id} is the next hop of {routes}; delete them first."


@error("LimitationExceed.InterfaceNumberOnRouter")
def too_many_interfaces(router_id: str, limit: int, count: int) -> str:
    """The per-router limit: CreateRouterInterface's metadata documents this code as "Total number
    of RouterInterfaces on a Router exceeded."; its ``QuotaExceeded`` is "RiPerUser quota exceeded",
    a per-account quota the emulator does not model."""
    return (
        f"Total number of RouterInterfaces on a Router exceeded: a router has at most {limit} router "
        f"interfaces; {router_id} has {count}. Delete one first."
    )


@error("Forbidden.AcceptRoleNotSupportPrePay")
def accepting_side_prepaid() -> str:
    return "Acception side ri not support chargetype for prepaid: an AcceptingSide router interface is PostPaid."


@error("InvalidParam.ModifyRouterInterface")
def health_check_conflict() -> str:
    return "healthCheck Ip is conflicted with DeleteHealthCheckIp option."


@error("IncorrectRouteEntryStatus")
def route_entry_busy(entry_id: str, status: str, table_id: str) -> str:
    return (
        f"Some route entry status blocked this operation: {entry_id} is {status}. "
        f"Wait until every entry of {table_id} is Available."
    )


@error("InvalidCIDRBlock.Duplicate")
def duplicate_destination(dest: str, table_id: str) -> str:
    return f"Specified CIDR block {dest} is already exists in {table_id}."


@error("QuotaExceeded")
def route_quota(limit: int) -> str:
    return f"Route entry quota exceeded in this route table ({limit})."


@error("IncorrectStatus.RouterInterface")
def next_hop_not_active(hop_id: str, status: str) -> str:
    return f"The specified RouterInterface status is invalid: {hop_id} is {status}; it must be Active."


@error("OperationDenied")
def system_route(entry_id: str) -> str:
    return f"Specified operation is denied as route entry type is system ({entry_id} is the local route of a vSwitch)."
