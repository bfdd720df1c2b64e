"""Accounts, verified: every request is signed with one account's AccessKey pair, checked with
that account's secret, in each style the SDKs use. Never a default account."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from alicloud_emulator.server import make_server
from alicloud_emulator.world import default_world, with_timing
from aliyunsdkcore.acs_exception.exceptions import ServerException as LegacyServerException
from aliyunsdkvpc.request.v20160428.DescribeVpcsRequest import DescribeVpcsRequest

from .conftest import Emu, roundtrip
from .support import call, http_request, legacy_call, legacy_client, raw_exchange, split_response

ACCOUNTS = ["account-a", "account-b"]


def _identity(emu: Emu, style: str, key: str, secret: str, region: str = "cn-qingdao") -> dict[str, Any]:
    """GetCallerIdentity signed in ``style``; returns the body, or raises the client's exception."""
    if style == "legacy":
        return legacy_call(
            legacy_client({"access_key_id": key, "access_key_secret": secret}, region),
            emu.endpoint,
            "sts",
            "GetCallerIdentity",
        )
    extra = {"signature_algorithm": "v2"} if style == "v2" else {}
    cfg = Config(
        access_key_id=key, access_key_secret=secret, region_id=region, endpoint=emu.endpoint, protocol="http", **extra
    )
    return call(cfg, "sts", "GetCallerIdentity")["body"]  # the raw body, as the SDK received it


def _error(fn: Callable[[], Any]) -> tuple[str, int, str]:
    """(code, HTTP status, request id) of the error a client raised, whichever client it was."""
    try:
        fn()
    except ClientException as e:
        return e.code, e.status_code, e.request_id
    except LegacyServerException as e:
        return e.get_error_code(), e.get_http_status(), e.get_request_id()
    raise AssertionError("the request was accepted")


STYLES = ["v3", "v2", "legacy"]


@pytest.mark.parametrize("style", STYLES)
def test_each_account_is_identified_by_its_own_keys(emu, style):
    """The built-in world's keys are RAM users' (``key_kind: ram_user``, the default): the account
    is the key's, the identity its RAM user."""
    user_ids = set()
    for name in ACCOUNTS:
        acct = emu.account(name)
        body = _identity(emu, style, acct["access_key_id"], acct["access_key_secret"])
        assert re.fullmatch(r"\d{16}", body["AccountId"])
        assert body["AccountId"] == acct["uid"] and acct["key_kind"] == "ram_user"
        assert body["IdentityType"] == "RAMUser" and body["Arn"] == f"acs:ram::{acct['uid']}:user/{name}"
        assert re.fullmatch(r"\d{16}", body["UserId"]) and body["UserId"] == body["PrincipalId"] != acct["uid"]
        assert "RoleId" not in body
        user_ids.add(body["UserId"])
        roundtrip(sts_models.GetCallerIdentityResponseBody, body)
    assert emu.account("account-a")["uid"] != emu.account("account-b")["uid"] and len(user_ids) == 2


@pytest.mark.parametrize("style", STYLES)
def test_a_root_key_is_identified_as_the_account(style):
    world = with_timing(default_world(), scale=0)
    world["accounts"][0]["key_kind"] = "root"
    server = make_server(world=world).start()
    try:
        emu = Emu(server)
        acct = emu.account("account-a")
        body = _identity(emu, style, acct["access_key_id"], acct["access_key_secret"])
        assert body["IdentityType"] == "Account" and body["Arn"] == f"acs:ram::{acct['uid']}:root"
        assert body["AccountId"] == body["UserId"] == body["PrincipalId"] == acct["uid"]
        roundtrip(sts_models.GetCallerIdentityResponseBody, body)
    finally:
        server.stop()


@pytest.mark.parametrize("style", STYLES)
def test_an_unknown_access_key_is_refused_with_not_found(emu, style):
    code, status, request_id = _error(lambda: _identity(emu, style, "LTAI5tNobodyHasThisKey", "whatever"))
    assert (code, status) == ("InvalidAccessKeyId.NotFound", 404)
    entry = emu.journal()[-1]
    assert entry["request_id"] == request_id and entry["error_code"] == "InvalidAccessKeyId.NotFound"
    assert "account" not in entry and "account_uid" not in entry


WRONG_SECRET = {"v3": "SignatureDoesNotMatch", "v2": "SignatureDoesNotMatch", "legacy": "SignatureDoesNotMatch"}


@pytest.mark.parametrize("style", STYLES)
def test_a_wrong_secret_is_refused(emu, style):
    a = emu.account("account-a")
    code, status, _ = _error(lambda: _identity(emu, style, a["access_key_id"], a["access_key_secret"] + "x"))
    assert (code, status) == (WRONG_SECRET[style], 400)
    entry = emu.journal()[-1]
    assert entry["error_code"] == "SignatureDoesNotMatch" and "account" not in entry


@pytest.mark.parametrize("style", STYLES)
def test_one_accounts_key_with_the_other_accounts_secret_is_refused(emu, style):
    """The mix-up a two-account runbook is most likely to make."""
    a, b = emu.account("account-a"), emu.account("account-b")
    code, _, _ = _error(lambda: _identity(emu, style, a["access_key_id"], b["access_key_secret"]))
    assert code == WRONG_SECRET[style]


def test_legacy_request_classes_see_the_servers_string_to_sign_equal_their_own(emu):
    """The legacy client compares the server's string to sign with its own: equal means the
    canonical request was right and only the secret wrong, which it reports as
    ``InvalidAccessKeySecret``. So this also proves the emulator canonicalises exactly as it."""
    a = emu.account("account-a")
    request = DescribeVpcsRequest()
    request.set_endpoint(emu.endpoint)
    request.set_protocol_type("http")
    request.set_VpcName("专线 a/b+c*d~e")
    client = legacy_client(dict(a, access_key_secret="wrong"), "cn-qingdao")
    code, status, _ = _error(lambda: client.do_action_with_exception(request))
    assert (code, status) == ("InvalidAccessKeySecret", 400)


def test_the_refusal_names_the_servers_string_to_sign_but_no_secret(emu):
    a = emu.account("account-a")
    with pytest.raises(ClientException) as info:
        _identity(emu, "v2", a["access_key_id"], "wrong")
    message = info.value.message
    assert "server string to sign is:POST&%2F&" in message and a["access_key_id"] in message
    assert a["access_key_secret"] not in message and "wrong" not in message


def test_an_unsigned_request_is_never_served_as_some_default_account(emu):
    request = http_request("POST", "/?Action=GetCallerIdentity&Version=2015-04-01&RegionId=cn-qingdao", emu.endpoint)
    data, sock = raw_exchange(emu.endpoint, request)
    sock.close()
    status, _, body = split_response(data)
    err = json.loads(body)
    assert status == 400 and err["Code"] == "MissingParameter" and "AccessKeyId" in err["Message"]
    assert "AccountId" not in err


def test_a_v3_header_without_credential_is_refused(emu):
    request = http_request(
        "POST",
        "/?RegionId=cn-qingdao",
        emu.endpoint,
        headers={
            "x-acs-action": "GetCallerIdentity",
            "x-acs-version": "2015-04-01",
            "Authorization": "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=00",
        },
    )
    status, _, body = split_response(raw_exchange(emu.endpoint, request)[0])
    assert status == 400 and json.loads(body)["Code"] == "IncompleteSignature"


def test_with_verification_off_keys_must_still_exist():
    server = make_server(world=with_timing(default_world(), scale=0), verify_signatures=False).start()
    try:
        emu = Emu(server)
        a = emu.account("account-a")
        assert _identity(emu, "v3", a["access_key_id"], "not-the-secret")["AccountId"] == a["uid"]
        code, status, _ = _error(lambda: _identity(emu, "v3", "LTAI5tNobodyHasThisKey", "x"))
        assert (code, status) == ("InvalidAccessKeyId.NotFound", 404)
        assert emu.control("health")["signatures"] == "off"
    finally:
        server.stop()
