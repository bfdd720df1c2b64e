"""Server-side verification of the two signature styles the official SDKs send.

* ACS3-HMAC-SHA256 (the tea-openapi default): ``Authorization`` header, signed headers listed in it.
* HMAC-SHA1 RPC signature (legacy ``aliyun-python-sdk-core`` and tea ``signature_algorithm='v2'``):
  ``Signature`` and ``AccessKeyId`` in the query.

Both are recomputed from the decoded query, so the wire encoding of spaces (``+`` or ``%20``)
does not matter. This runs on every request, so the common case (values that need no
percent-encoding) skips ``quote``.

Temporary credentials add a security token, signed like the rest: the ``SecurityToken`` parameter
of the RPC signature, the ``x-acs-security-token`` header of ACS3, which must then be a signed
header (``credentials.py`` checks the token itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from .errors import ApiError

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch  # what percent-encoding leaves alone
# ASCII characters that percent-encoding escapes, as ``str.translate`` takes them
_ESCAPES = {c: f"%{c:02X}" for c in range(128) if not _UNRESERVED(chr(c))}


@dataclass(frozen=True)
class SignedRequest:
    """What a signature names: the caller's AccessKey ID, the style it used, for ACS3 the fields of
    its ``Authorization`` header, and the security token of temporary credentials."""

    access_key_id: str
    style: str  # "ACS3-HMAC-SHA256" | "HMAC-SHA1"
    fields: dict[str, str] = field(default_factory=dict)
    security_token: str | None = None


def _enc(s: str) -> str:
    """``quote(s, safe="~")``: RFC 3986 percent-encoding of UTF-8, upper-case hex."""
    if _UNRESERVED(s):
        return s
    return s.translate(_ESCAPES) if s.isascii() else quote(s, safe="~", encoding="utf-8")


def identify(
    method: str, query: dict[str, str], headers: dict[str, str], params: dict[str, str] | None = None
) -> SignedRequest:
    """Find the AccessKey ID (and security token) the request claims, before its secret is known.
    ``params`` is the query merged with a form body, where an RPC request may carry its token."""
    auth = headers.get("authorization", "")
    if auth.startswith("ACS3-"):
        style, _, rest = auth.partition(" ")
        fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
        ak = fields.get("Credential", "")
        if not ak:
            raise ApiError("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        token = headers.get("x-acs-security-token")
        if token is not None and "x-acs-security-token" not in fields.get("SignedHeaders", "").split(";"):
            raise ApiError(
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: x-acs-security-token must be a "
                "signed header.",
            )
        return SignedRequest(ak, style, fields, token)
    if "Signature" in query and "AccessKeyId" in query:
        return SignedRequest(query["AccessKeyId"], "HMAC-SHA1", security_token=(params or query).get("SecurityToken"))
    raise ApiError(
        "MissingParameter",
        'The input parameter "AccessKeyId" that is mandatory for processing this request is not supplied.',
    )


def verify(
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    signed: SignedRequest,
    secret: str,
    params: dict[str, str] | None = None,
) -> None:
    """Raise ``SignatureDoesNotMatch`` unless the request was signed with ``secret``.

    ``params`` is the query merged with a form body: the RPC signature covers both."""
    if signed.style == "HMAC-SHA1":
        signed_params = query if params is None else params
        to_sign = rpc_string_to_sign(method, {k: v for k, v in signed_params.items() if k != "Signature"})
        expected = base64.b64encode(hmac.digest((secret + "&").encode(), to_sign.encode(), "sha1")).decode()
        given = query.get("Signature", "")
    elif signed.style == "ACS3-HMAC-SHA256":
        payload_hash = headers.get("x-acs-content-sha256", EMPTY_SHA256)
        if payload_hash != (EMPTY_SHA256 if not body else hashlib.sha256(body).hexdigest()):
            raise ApiError("SignatureDoesNotMatch", "The request body does not match x-acs-content-sha256.")
        to_sign = acs3_string_to_sign(
            method, path, query, headers, signed.fields.get("SignedHeaders", ""), payload_hash
        )
        expected = hmac.digest(secret.encode(), to_sign.encode(), "sha256").hex()
        given = signed.fields.get("Signature", "")
    else:
        raise ApiError("IncompleteSignature", f"The signature method {signed.style} is not supported.")
    if not hmac.compare_digest(expected, given):
        # As the cloud does: the server's string to sign (no secret in it) lets a client tell a
        # wrong secret from a canonicalisation bug; the legacy SDK compares it with its own.
        raise ApiError(
            "SignatureDoesNotMatch",
            f"Specified signature does not match our calculation. server string to sign is:{to_sign}",
        )


def acs3_string_to_sign(
    method: str, path: str, query: dict[str, str], headers: dict[str, str], signed_headers: str, payload_hash: str
) -> str:
    canonical_query = "&".join([f"{k}={_enc(query[k])}" for k in sorted(query)])
    names = [h for h in signed_headers.split(";") if h]
    canonical_headers = "".join([f"{h}:{headers.get(h, '').strip()}\n" for h in names])
    canonical_request = "\n".join(
        [method, path or "/", canonical_query, canonical_headers, ";".join(names), payload_hash]
    )
    return "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode()).hexdigest()


def rpc_string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join([f"{_enc(k)}={_enc(params[k])}" for k in sorted(params)])
    return f"{method}&%2F&{_enc(canonical)}"
