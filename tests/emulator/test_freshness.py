"""Request freshness as the cloud checks it: a timestamp more than 15 minutes off the server's
wall clock, a malformed one and a reused nonce are refused with the documented codes, in both
signature styles. The official SDKs sign every request with the current time and a fresh nonce,
so they keep working (every other test shows it); here they are made to send what a host with a
skewed clock or a replaying attacker would, and hand-made requests send what no SDK can."""

from __future__ import annotations

import base64
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from unittest import mock
from urllib.parse import urlencode

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alicloud_emulator.freshness import parse_timestamp
from alicloud_emulator.signing import EMPTY_SHA256, acs3_string_to_sign, rpc_string_to_sign

from .support import call, connect, http_request, raw_exchange, signed_path, split_response


def _stamp(offset_s: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _identity(emu, style: str, *, stamp: str | None = None, nonce: str | None = None, account: str = "account-a"):
    """GetCallerIdentity through the official client, signed in ``style`` with the given timestamp
    and nonce in place of its own (V2: the Timestamp/SignatureNonce parameters, V3: the
    x-acs-date/x-acs-signature-nonce headers)."""
    extra = {"signature_algorithm": "v2"} if style == "v2" else {}
    cfg = emu.config(account, "cn-qingdao", **extra)
    if style == "v2":
        query = {k: v for k, v in (("Timestamp", stamp), ("SignatureNonce", nonce)) if v is not None}
        return call(cfg, "sts", "GetCallerIdentity", query)
    headers = {k: v for k, v in (("x-acs-date", stamp), ("x-acs-signature-nonce", nonce)) if v is not None}
    return call(cfg, "sts", "GetCallerIdentity", headers=headers)


def _refused(fn) -> tuple[str, int, str]:
    with pytest.raises(ClientException) as info:
        fn()
    return info.value.code, info.value.status_code, info.value.message


STYLES = ["v3", "v2"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("offset_s", [-2 * 3600, -16 * 60, 16 * 60, 24 * 3600])
def test_a_timestamp_more_than_15_minutes_off_is_expired(emu, style, offset_s):
    code, status, message = _refused(lambda: _identity(emu, style, stamp=_stamp(offset_s)))
    assert (code, status) == ("InvalidTimeStamp.Expired", 400)
    assert "expired" in message
    entry = emu.journal(action="GetCallerIdentity")[-1]
    assert (entry["status"], entry["error_code"]) == (400, "InvalidTimeStamp.Expired")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("offset_s", [-14 * 60, 14 * 60])
def test_a_timestamp_within_15_minutes_is_accepted(emu, style, offset_s):
    """A host clock a few minutes off still works, as with the cloud."""
    assert _identity(emu, style, stamp=_stamp(offset_s))["statusCode"] == 200


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(
    "stamp",
    [
        "yesterday",
        "2024-01-01 00:00:00",
        "2024-13-01T00:00:00Z",
        "2024-01-01T25:00:00Z",
        "2024-01-01T00:00:00+08:00",
        "1704067200",
        "2024-1-1T0:0:0Z",
    ],
)
def test_a_malformed_timestamp_is_refused(emu, style, stamp):
    code, status, _ = _refused(lambda: _identity(emu, style, stamp=stamp))
    assert (code, status) == ("InvalidTimeStamp.Format", 400)


@pytest.mark.parametrize("style", STYLES)
def test_a_reused_nonce_is_refused_and_a_fresh_one_is_not(emu, style):
    nonce = f"replayed-{style}-{time.monotonic_ns()}"
    assert _identity(emu, style, nonce=nonce)["statusCode"] == 200
    code, status, message = _refused(lambda: _identity(emu, style, nonce=nonce))
    assert (code, status) == ("SignatureNonceUsed", 400) and "used already" in message
    assert _identity(emu, style, nonce=nonce + "-2")["statusCode"] == 200
    # a nonce is one account's: the other account's request with the same nonce is its own
    assert _identity(emu, style, nonce=nonce, account="account-b")["statusCode"] == 200


def test_a_captured_request_replayed_byte_for_byte_is_refused(emu):
    """What an attacker who saw one request would send: the same bytes again."""
    request = http_request(
        "POST",
        signed_path(emu.account("account-a"), "sts", "GetCallerIdentity", {"RegionId": "cn-qingdao"}),
        emu.endpoint,
    )
    first, sock = raw_exchange(emu.endpoint, request)
    sock.close()
    again, sock = raw_exchange(emu.endpoint, request)
    sock.close()
    assert split_response(first)[0] == 200
    status, _, body = split_response(again)
    assert (status, json.loads(body)["Code"]) == (400, "SignatureNonceUsed")


def test_a_refused_signature_does_not_use_up_the_nonce(emu):
    """Only a request that proves its key spends a nonce: a forger cannot block a client's next one."""
    a = emu.account("account-a")
    nonce = f"mine-{time.monotonic_ns()}"
    forged = dict(a, access_key_secret="not-the-secret")
    query = {"RegionId": "cn-qingdao", "SignatureNonce": nonce}
    status, _, body = split_response(
        raw_exchange(emu.endpoint, http_request("POST", _with_nonce(forged, query), emu.endpoint))[0]
    )
    assert (status, json.loads(body)["Code"]) == (400, "SignatureDoesNotMatch")
    assert _identity(emu, "v2", nonce=nonce)["statusCode"] == 200


def _with_nonce(account, params):
    """A path signed by the legacy SDK's own signer, with our SignatureNonce instead of its own."""
    nonce = params.pop("SignatureNonce")
    with mock.patch("aliyunsdkcore.auth.composer.rpc_signature_composer.helper.get_uuid", return_value=nonce):
        return signed_path(account, "sts", "GetCallerIdentity", params)


@pytest.mark.parametrize("missing", ["Timestamp", "SignatureNonce"])
def test_a_v2_request_without_timestamp_or_nonce_is_refused(emu, missing):
    """The emulator's own RPC signer signs what no SDK sends (the SDKs always add both)."""
    a = emu.account("account-a")
    params = {
        "Action": "GetCallerIdentity",
        "Version": "2015-04-01",
        "AccessKeyId": a["access_key_id"],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "Timestamp": _stamp(0),
        "SignatureNonce": f"n-{time.monotonic_ns()}",
        "Format": "JSON",
    }
    del params[missing]
    to_sign = rpc_string_to_sign("POST", params)
    params["Signature"] = base64.b64encode(
        hmac.digest((a["access_key_secret"] + "&").encode(), to_sign.encode(), "sha1")
    ).decode()
    status, _, body = split_response(
        raw_exchange(emu.endpoint, http_request("POST", "/?" + urlencode(params), emu.endpoint))[0]
    )
    err = json.loads(body)
    assert (status, err["Code"]) == (400, f"Missing{missing}") and missing in err["Message"]


def test_v3_date_and_nonce_must_be_signed_headers(emu):
    """An unsigned x-acs-date could be rewritten in transit to replay an old request."""
    a = emu.account("account-a")
    headers = {
        "host": emu.endpoint,
        "x-acs-action": "GetCallerIdentity",
        "x-acs-version": "2015-04-01",
        "x-acs-date": _stamp(0),
        "x-acs-signature-nonce": f"n-{time.monotonic_ns()}",
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    signed = "host;x-acs-action;x-acs-content-sha256;x-acs-version"  # date and nonce left out
    to_sign = acs3_string_to_sign("POST", "/", {}, headers, signed, EMPTY_SHA256)
    signature = hmac.digest(a["access_key_secret"].encode(), to_sign.encode(), "sha256").hex()
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={a['access_key_id']},SignedHeaders={signed},Signature={signature}"
    )
    head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "Content-Length: 0\r\n\r\n"
    sock = connect(emu.endpoint)
    try:
        sock.sendall(head.encode())
        status, _, body = split_response(sock.recv(65536))
    finally:
        sock.close()
    err = json.loads(body)
    assert (status, err["Code"]) == (400, "IncompleteSignature") and "x-acs-date" in err["Message"]


def test_timestamps_parse_as_iso_8601_utc():
    assert parse_timestamp("2024-01-01T00:00:00Z") == 1704067200.0
    assert parse_timestamp("2024-01-01T00:00:00.123Z") == 1704067200.0
    for bad in ("2024-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "2024-01-01T00:00:00z", "", "9" * 40):
        with pytest.raises(ValueError):
            parse_timestamp(bad)
