"""Temporary credentials on the wire: the security token is checked with the same rigour as the
signature, in both signature styles, and a bad one is refused with the cloud's codes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient
from alicloud_emulator.errors import ErrorCode
from alicloud_emulator.protocol_errors import PROTOCOL_ERRORS

from .conftest import Emu
from .support import control_status, http_request, raw_exchange, role_arn, split_response, sts_config
from .test_sts_assume_role import assume

STYLES = ["v3", "v2"]


class Creds:
    def __init__(self, access_key_id: str, access_key_secret: str, security_token: str):
        self.access_key_id, self.access_key_secret, self.security_token = (
            access_key_id,
            access_key_secret,
            security_token,
        )


def session(emu: Emu, name: str = "s1") -> Any:
    """Account A's RAM user in account B's role (the built-in world's trust)."""
    sts = StsClient(emu.config("account-a", "cn-qingdao"))
    return assume(sts, role_arn(emu.account("account-b")["uid"]), name).credentials


def describe(emu: Emu, creds: Any, style: str) -> Any:
    extra = {"signature_algorithm": "v2"} if style == "v2" else {}
    vpc = VpcClient(sts_config(emu.endpoint, creds, "cn-beijing", **extra))
    return vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-beijing"))


def refusal(fn: Any) -> tuple[str, int]:
    with pytest.raises(ClientException) as info:
        fn()
    return info.value.code, info.value.status_code


@pytest.mark.parametrize("style", STYLES)
def test_a_token_that_was_never_issued_is_malformed(emu, style):
    good = session(emu)
    forged = Creds(good.access_key_id, good.access_key_secret, "CAIS" + "A" * 300)
    assert refusal(lambda: describe(emu, forged, style)) == ("InvalidSecurityToken.Malformed", 400)
    made_up = Creds("STS.NoSuchKeyIssuedByAnyone01", good.access_key_secret, "garbage")
    assert refusal(lambda: describe(emu, made_up, style)) == ("InvalidSecurityToken.Malformed", 400)
    assert describe(emu, good, style).body.vpcs.vpc[0].vpc_id == "vpc-2ze2tutorialvpc2bj00001"


@pytest.mark.parametrize("style", STYLES)
def test_a_token_of_another_session_is_a_mismatch(emu, style):
    one, two = session(emu, "one"), session(emu, "two")
    swapped = Creds(one.access_key_id, one.access_key_secret, two.security_token)
    assert refusal(lambda: describe(emu, swapped, style)) == ("InvalidSecurityToken.MismatchWithAccessKey", 400)
    a = emu.account("account-a")
    with_long_term_key = Creds(a["access_key_id"], a["access_key_secret"], one.security_token)
    assert refusal(lambda: describe(emu, with_long_term_key, style)) == (
        "InvalidSecurityToken.MismatchWithAccessKey",
        400,
    )


@pytest.mark.parametrize("style", STYLES)
def test_an_sts_key_without_its_token_is_refused(emu, style):
    creds = session(emu)
    extra = {"signature_algorithm": "v2"} if style == "v2" else {}
    cfg = Config(
        access_key_id=creds.access_key_id,
        access_key_secret=creds.access_key_secret,
        region_id="cn-beijing",
        endpoint=emu.endpoint,
        protocol="http",
        **extra,
    )
    assert refusal(lambda: StsClient(cfg).get_caller_identity()) == ("MissingSecurityToken", 400)


@pytest.mark.parametrize("style", STYLES)
def test_a_wrong_secret_with_a_good_token_is_a_signature_mismatch(emu, style):
    creds = session(emu)
    # a character more, not one replaced: a replaced last character may be the one it already was
    wrong = Creds(creds.access_key_id, creds.access_key_secret + "x", creds.security_token)
    assert refusal(lambda: describe(emu, wrong, style)) == ("SignatureDoesNotMatch", 400)


@pytest.mark.parametrize("style", STYLES)
def test_a_token_is_refused_once_expired_on_the_real_clock(emu, style):
    creds = session(emu)
    assert describe(emu, creds, style)
    emu.advance(7200)  # the virtual clock: asynchronous steps settle, the token still stands
    assert describe(emu, creds, style)
    credentials = emu.server.app.emulator.credentials
    real = credentials.clock
    credentials.clock = lambda: real() + 3600  # the machine's clock reaches Expiration
    try:
        assert refusal(lambda: describe(emu, creds, style)) == ("InvalidSecurityToken.Expired", 400)
    finally:
        credentials.clock = real
    assert describe(emu, creds, style)


def test_the_control_api_ends_issued_credentials_at_once(emu):
    one, two = session(emu, "one"), session(emu, "two")
    listed = emu.control("credentials")["credentials"]
    assert {c["role_session"] for c in listed} == {"one", "two"} and not any(c["expired"] for c in listed)
    text = json.dumps(listed)
    assert one.access_key_secret not in text and one.security_token not in text
    ended = emu.control("credentials", {"expire": [one.access_key_id]})
    assert ended["expired_now"] == 1
    assert refusal(lambda: describe(emu, one, "v3")) == ("InvalidSecurityToken.Expired", 400)
    assert describe(emu, two, "v3")
    assert emu.control("credentials", {"expire": "all"})["expired_now"] == 1
    assert refusal(lambda: describe(emu, two, "v2")) == ("InvalidSecurityToken.Expired", 400)
    entries = emu.journal(error_code="InvalidSecurityToken.Expired")
    assert len(entries) == 2 and all(e["status"] == 400 and "account" not in e for e in entries)


@pytest.mark.parametrize(
    "body, says",
    [
        ({"expire": "some"}, "expire"),
        ({}, "expire"),
        ({"expire": "all", "also": 1}, "also"),
        ({"expire": [1]}, "expire"),
    ],
)
def test_a_bad_credentials_request_is_refused_naming_the_field(emu, body, says):
    status, reply = control_status(emu.endpoint, "credentials", body)
    assert status == 400 and reply["error"].startswith(says), reply


def test_loading_a_world_ends_the_credentials_of_the_last_one(emu):
    creds = session(emu)
    emu.control("reset", {})
    assert refusal(lambda: describe(emu, creds, "v3")) == ("InvalidSecurityToken.Malformed", 400)
    assert emu.control("credentials")["credentials"] == []


def test_an_acs3_token_header_must_be_signed(emu):
    creds = session(emu)
    headers = {
        "x-acs-action": "GetCallerIdentity",
        "x-acs-version": "2015-04-01",
        "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "x-acs-signature-nonce": "n-1",
        "x-acs-security-token": creds.security_token,
        "Authorization": f"ACS3-HMAC-SHA256 Credential={creds.access_key_id},"
        "SignedHeaders=host;x-acs-action;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00",
    }
    status, _, body = split_response(
        raw_exchange(emu.endpoint, http_request("POST", "/", emu.endpoint, headers=headers))[0]
    )
    err = json.loads(body)
    assert status == 400 and err["Code"] == "IncompleteSignature" and "x-acs-security-token" in err["Message"]


def test_every_token_refusal_is_a_declared_protocol_error(emu):
    """Each token code, with its status, is among the errors ``protocol_errors`` declares for the
    pipeline (they come before any action's own, which the catalog declares)."""
    one, two = session(emu, "one"), session(emu, "two")
    for creds in (
        Creds(one.access_key_id, one.access_key_secret, "forged"),
        Creds(one.access_key_id, one.access_key_secret, two.security_token),
    ):
        with pytest.raises(ClientException):
            describe(emu, creds, "v3")
    bare = Config(access_key_id=one.access_key_id, access_key_secret=one.access_key_secret, endpoint=emu.endpoint)
    bare.protocol = "http"
    with pytest.raises(ClientException):
        StsClient(bare).get_caller_identity()
    emu.control("credentials", {"expire": "all"})
    with pytest.raises(ClientException):
        describe(emu, two, "v3")
    refusals = [(e["error_code"], e["status"]) for e in emu.journal() if e["status"] >= 400]
    assert sorted(refusals) == [
        ("InvalidSecurityToken.Expired", 400),
        ("InvalidSecurityToken.Malformed", 400),
        ("InvalidSecurityToken.MismatchWithAccessKey", 400),
        ("MissingSecurityToken", 400),
    ]
    assert all(ErrorCode(code, status) in PROTOCOL_ERRORS for code, status in refusals)
