"""The shared field types (``vpclink.fields``): what each accepts, the message for what it refuses,
and that no message ever repeats a credential-like value."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from vpclink import fields as F
from vpclink import params

AK_SECRET = "q8Rk2Pw3Nx7YmBv2HdTz9LsQ4fJc6Wp"  # made up; shaped like an AccessKey secret
AK_ID = "LTAI5tZq8RkPw3Nx7YmBv2Hd"  # made up; shaped like an AccessKey ID


@pytest.mark.parametrize(
    "value, normalised",
    [
        ("1637243907412983", "1637243907412983"),  # the console's 16 digits
        ("253460731706911258", "253460731706911258"),  # the API reference's own example: 18 digits
        ("9223372036854775807", "9223372036854775807"),  # the largest long
        (1637243907412983, "1637243907412983"),  # an unquoted YAML number, exact
    ],
)
def test_account_uid_accepts_what_the_api_types_as_long(value: object, normalised: str) -> None:
    assert F.validate(F.AccountUid, value) == normalised


@pytest.mark.parametrize(
    "value, says",
    [
        ("163724390741298", "has 15 digits: an Alibaba Cloud account UID is 16 to 19 digits"),
        ("16372439074129830123", "has 20 digits"),
        ("9223372036854775808", "largest number the API's 64-bit UID holds"),
        ("0637243907412983", "starts with 0"),
        ("1637243907412983\n", "is not all digits"),
        ("١٦٣٧٢٤٣٩٠٧٤١٢٩٨٣", "is not all digits"),  # digits of another script
        (253460731706911258, "above 2^53"),  # unquoted: may have been rounded on its way
        (1.6e15, "decimal number"),
        (True, "is not an account UID"),
        (None, "is not an account UID"),
    ],
)
def test_account_uid_refusals(value: object, says: str) -> None:
    message = F.problem(F.AccountUid, value)
    assert message and says in message


@pytest.mark.parametrize(
    "field_type, prefix",
    [
        (F.VpcId, "vpc-"),
        (F.VSwitchId, "vsw-"),
        (F.VRouterId, "vrt-"),
        (F.RouteTableId, "vtb-"),
        (F.RouteEntryId, "rte-"),
        (F.RouterInterfaceId, "ri-"),
        (F.SecurityGroupId, "sg-"),
        (F.SecurityGroupRuleId, "sgr-"),
        (F.InstanceId, "i-"),
    ],
)
def test_each_id_type(field_type: Any, prefix: str) -> None:
    assert F.ID_TYPES[prefix] is field_type
    assert F.validate(field_type, f"{prefix}2ze7f1a2b3c4d5e6") == f"{prefix}2ze7f1a2b3c4d5e6"
    for bad in (f"{prefix}2ze7", f"{prefix}2ZE7F1A2B3C4D5E6", f" {prefix}2ze7f1a2b3c4d5e6", 12345678, None):
        message = F.problem(field_type, bad)
        assert message and f"{prefix} followed by 8 to 32 lowercase letters or digits" in message


def test_an_id_of_another_kind_is_named() -> None:
    assert "is a router interface ID, not a VRouter ID" in (F.problem(F.VRouterId, "ri-2ze7f1a2b3c4d5e6") or "")


@pytest.mark.parametrize(
    "field_type, good, bad, says",
    [
        (F.Region, "cn-hangzhou", "cn-hangzou", "did you mean 'cn-hangzhou'"),
        (F.VpcCidr, "10.0.0.0/8", "10.0.0.0/29", "/8 to /28"),
        (F.Ipv4Network, "0.0.0.0/0", "10.0.0.1/8", "write 10.0.0.0/8"),
        (F.Ipv4Address, "192.168.1.10", "192.168.1.300", "is not an IPv4 address"),
        (F.LinkName, "a.b_c-d", "-ab", "a letter first"),
        (F.ProfileName, "ops@corp", "has space", "~/.aliyun/config.json"),
        (F.BandwidthMbps, 10000, 7, "10000 (Xlarge.1)"),
        (F.Spec, "Large.5", "Negative", "acceptor's Spec"),
        (F.Protocol, "UDP", "gre", "icmp, tcp, udp, all"),
    ],
)
def test_other_types(field_type: Any, good: object, bad: object, says: str) -> None:
    assert F.problem(field_type, good) is None
    assert says in (F.problem(field_type, bad) or "")


@pytest.mark.parametrize(
    "field_type",
    [
        F.AccountUid,
        F.Region,
        F.VpcId,
        F.RouterInterfaceId,
        F.VpcCidr,
        F.Ipv4Network,
        F.Ipv4Address,
        F.LinkName,
        F.ProfileName,
        F.BandwidthMbps,
        F.Spec,
        F.Protocol,
        params.RuleDescription,
        params.Mode,
        params.CommandTimeout,
        params.PingCount,
    ],
)
@pytest.mark.parametrize("secret", [AK_SECRET, AK_ID, f"https://{AK_SECRET}", AK_SECRET * 30])
def test_no_message_repeats_a_credential(field_type: Any, secret: str) -> None:
    message = F.problem(field_type, secret)
    assert message, "a credential is not a valid value of any field"
    assert secret[4:20] not in message


def test_messages_come_from_the_types_not_from_pydantic() -> None:
    """pydantic's own messages quote the input; every error here is one of ours."""

    class Card(BaseModel):
        account_uid: F.AccountUid
        vrouter_id: F.VRouterId
        region: F.Region

    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        Card.model_validate({"account_uid": AK_SECRET, "vrouter_id": AK_SECRET, "region": AK_SECRET})
    errors = info.value.errors(include_input=False)
    assert [e["type"] for e in errors] == [F.ERROR_TYPE] * 3
    assert all(AK_SECRET not in (F.message_of(e) or AK_SECRET) for e in errors)


def test_show_masks_and_shortens() -> None:
    assert F.show(AK_ID) == "LTAI****"
    assert AK_SECRET not in F.show(AK_SECRET)
    assert F.show("x" * 200).endswith("...'") and len(F.show("x" * 200)) < 90
    assert F.show(10**500) == "a 501-digit number"
    assert (F.show(None), F.show({}), F.show([])) == ("an empty value", "a mapping", "an empty list")


def test_field_path() -> None:
    assert F.field_path(("security_groups", "rules", 1, "port_range")) == "security_groups.rules[1].port_range"
    assert F.field_path(("initiator", AK_SECRET)) == "initiator.<credential-like key>"
    assert F.field_path(("a\nb", "k" * 100)) == "'a\\nb'." + "k" * 61 + "..."
    assert F.field_path((True, None)) == "True.None"


def test_the_parameter_file_has_a_json_schema() -> None:
    schema = params.json_schema()
    assert schema["required"] == ["link", "initiator", "acceptor"]
    # bandwidth_mbps is required unless the backend is vpc_peer
    assert schema["then"] == {"required": ["bandwidth_mbps"]}
    assert schema["if"]["not"]["properties"]["backend"] == {"const": "vpc_peer"}
    assert set(schema["properties"]) == {
        "link",
        "backend",
        "initiator",
        "acceptor",
        "bandwidth_mbps",
        "spec",
        "routes",
        "security_groups",
        "timeouts",
        "verify",
    }
    side = schema["$defs"]["_SideFile"]
    assert side["additionalProperties"] is False
    assert side["properties"]["vpc_id"]["pattern"] == "^vpc\\-[a-z0-9]{8,32}$"
