"""Every error the ECS 2014-05-26 security-group and instance actions return, as named constructors.

Codes and statuses are those of Alibaba's API metadata for ECS 2014-05-26 (api.aliyun.com, vendored
under ``tests/data/api_metadata``); ``docs/parity.md`` lists each code the metadata does not
document for an action that returns it, with its source. Cloud Assistant keeps its own errors in
``cloud_assistant.py``. Messages name only what the caller sent or owns.
"""

from __future__ import annotations

from ..errors import ErrorCode, error

NEXT_TOKEN = ErrorCode("InvalidParameter.NextToken")
SECURITY_GROUP_TYPE = ErrorCode("InvalidParameter.SecurityGroupType")
NIC_TYPE = ErrorCode("InvalidNicType.ValueNotSupported")
INSTANCE_STATUS = ErrorCode("InvalidStatus.NotFound", 404)
INSTANCE_NETWORK_TYPE = ErrorCode("InvalidNetworkType.NotFound", 404)


@error("InvalidTagCount")
def too_many_tags(limit: int, got: int) -> str:
    return f"The specified tags are beyond the permitted range: Tag.N takes at most {limit}, got {got}."


# -- security groups -----------------------------------------------------------------------------------------
@error("InvalidSecurityGroupId.NotFound", 404)
def security_group_not_found(sg_id: str, region: str) -> str:
    return f'The specified SecurityGroupId "{sg_id}" does not exist in region {region} for this account.'


@error("InvalidNicType.ValueNotSupported")
def nic_type_unsupported(field: str, value: str) -> str:
    return f'The specified {field} "{value}" is not supported; a VPC security group takes only intranet.'


@error("AuthorizationLimitExceed", 403)
def too_many_rules(limit: int, sg_id: str) -> str:
    return f"The limit of authorization records in the security group reaches ({limit} rules in {sg_id})."


@error("InvalidParam.SecurityGroupRuleId")
def unknown_rule_ids(ids: str, sg_id: str) -> str:
    return f"The specified SecurityGroupRuleId {ids} does not exist in security group {sg_id}."


@error("InvalidParam.SecurityGroupRuleId")
def too_many_rule_ids(limit: int, got: int) -> str:
    return f"The specified parameter SecurityGroupRuleId is not valid: at most {limit} IDs, got {got}."


@error("MissingParameter")
def nothing_to_revoke() -> str:
    return (
        'The input parameter "SecurityGroupRuleId.N" or "Permissions.N" that is mandatory for processing '
        "this request is not supplied."
    )


@error("InvalidParam.Permissions")
def permissions_conflict(detail: str) -> str:
    return f"The specified parameter Permissions cannot coexist with other parameters: {detail}."


# -- source groups ---------------------------------------------------------------------------------------------
@error("InvalidParamter.Conflict", 403)  # sic: the documented spelling
def source_is_the_group(where: str, source_id: str) -> str:
    return (
        "The specified SecurityGroupId should be different from the SourceGroupId "
        f"({where}SourceGroupId is {source_id})."
    )


@error("InvalidSourceGroupId.NotFound", 404)
def source_group_not_found(where: str, source_id: str) -> str:
    return (
        f"The SourceGroupId provided does not exist in our records: {where}SourceGroupId {source_id} "
        "is not a security group of this account in this region."
    )


@error("InvalidSourceGroupId.Mismatch")
def source_group_mismatch() -> str:
    return "Specified security group and source group are not in the same VPC."


@error("InvalidSourceGroupId.Mismatch")
def source_group_not_linked(where: str, source_id: str, owner_as_sent: str) -> str:
    """Tutorial mode's one answer for another account's source group that cannot be used, whether it
    exists or not; it repeats only what the caller sent."""
    return (
        "Specified security group and source group are not in the same VPC: "
        f"{where}SourceGroupId {source_id} of {owner_as_sent} is not a security group in a VPC that router "
        "interfaces in the Active state connect to this group's VPC in this region."
    )


@error("InvalidSourceGroupId.Mismatch", 403)
def source_group_nic_type(where: str, value: str) -> str:
    return f'NicType is required or NicType expects intranet ({where}NicType is "{value}").'


# -- rule fields -------------------------------------------------------------------------------------------------
@error("MissingParameter")
def rule_field_missing(field: str, hint: str) -> str:
    return f'The input parameter "{field}" that is mandatory for processing this request is not supplied; {hint}.'


@error("MissingParameter", 403)
def rule_without_source(where: str) -> str:
    return f'The input parameter "{where}SourceGroupId" or "{where}SourceCidrIp" cannot be both blank.'


@error("InvalidIpProtocol.ValueNotSupported")
def protocol_unsupported(field: str, value: str) -> str:
    return (
        f'The specified {field} "{value}" is not supported; it must be specified with case insensitive '
        "TCP, UDP, ICMP, GRE or ALL."
    )


@error("OperationDenied")
def protocol_and_ports(detail: str) -> str:
    return f"The specified IpProtocol does not exist or IpProtocol and PortRange do not match: {detail}."


@error("InvalidPortRange.Malformed")
def port_range_malformed(field: str, value: str, protocol: str) -> str:
    return (
        f'The specified {field} "{value}" is malformed; for {protocol} give start/end with '
        '1 <= start <= end <= 65535, e.g. "22/22" or "1/65535".'
    )


@error("InvalidSourcePortRange.Malformed")
def source_port_range_malformed(field: str, value: str, protocol: str) -> str:
    return (
        f'The specified {field} "{value}" is not valid; for {protocol} give start/end with '
        '1 <= start <= end <= 65535, or "-1/-1" for ICMP, GRE and ALL.'
    )


@error("InvalidSourceCidrIp.Malformed")
def source_cidr_malformed(field: str, value: str) -> str:
    return f'The specified {field} "{value}" is not a valid IPv4 CIDR block or address.'


@error("InvalidDestCidrIp.Malformed")
def dest_cidr_malformed(field: str, value: str) -> str:
    return f'The specified {field} "{value}" is not a valid IPv4 CIDR block or address.'


@error("InvalidParam.Ipv6SourceCidrIp")
def ipv6_source_malformed(field: str, value: str) -> str:
    return f'The specified parameter {field} "{value}" is not a valid IPv6 CIDR block or address.'


@error("InvalidParam.Ipv6DestCidrIp")
def ipv6_dest_malformed(field: str, value: str) -> str:
    return f'The specified parameter {field} "{value}" is not a valid IPv6 CIDR block or address.'


@error("InvalidParam.SourceIp")
def source_ip_conflict(where: str) -> str:
    return f"The Parameters SourceCidrIp and Ipv6SourceCidrIp in {where or 'the rule'} cannot be set at the same time."


@error("InvalidPrefixListId.NotFound", 404)
def prefix_list_not_found(field: str, value: str) -> str:
    return (
        f'The specified {field} "{value}" does not exist (the emulator has no prefix lists; '
        "use SourceCidrIp or SourceGroupId)."
    )


@error("InvalidPolicy.Malformed")
def policy_malformed(field: str, value: str) -> str:
    return f'The specified {field} "{value}" is not valid; valid values: accept, drop.'


@error("InvalidPriority.Malformed")
def priority_malformed(field: str, value: str) -> str:
    return f'The specified {field} "{value}" is not an integer; valid values: 1 to 100.'


@error("InvalidPriority.ValueNotSupported")
def priority_unsupported(field: str, value: int) -> str:
    return f"The specified {field} {value} is not supported; valid values: 1 to 100."


@error("InvalidSecurityGroupDiscription.Malformed")  # sic: the documented spelling
def rule_description_malformed(field: str, length: int) -> str:
    return f"The specified security group rule description {field} is not valid: {length} characters, at most 512."
