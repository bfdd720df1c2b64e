"""Who signs a request: an account's AccessKey, or temporary credentials that STS AssumeRole issued.

**Temporary credentials** are an ``STS.``-prefixed AccessKeyId, a secret and a security token
(AssumeRole response, metadata of STS 2015-04-01; ``roles.py`` for the identity they carry). A
request signed with them sends the token beside the signature, signed like every other part:

* the RPC signature (HMAC-SHA1) as the ``SecurityToken`` parameter
  (``alibabacloud_tea_openapi`` ``do_rpcrequest``; ``alibabacloud_credentials`` for its own
  AssumeRole calls when the source credential is itself temporary);
* ACS3-HMAC-SHA256 as the ``x-acs-security-token`` header, which must be among the signed headers
  like every ``x-acs-`` header (``signing.identify``; V3 request structure,
  https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature).

The request then acts as the role's account. A bad token is refused before the signature is
checked, with the codes of Alibaba's public error centre
(https://error-center.alibabacloud.com/status/product/Public, as mirrored in SDK error constants);
their HTTP status and messages are not published, so 400 is chosen, as for the other
authentication-shape codes of the common client-error tables
(https://help.aliyun.com/document_detail/51132.html) [unverified]:

* ``MissingSecurityToken``: an ``STS.`` key without a token;
* ``InvalidSecurityToken.Malformed``: a token this emulator never issued (garbled, made up);
* ``InvalidSecurityToken.MismatchWithAccessKey``: a token issued with another AccessKeyId (or sent
  with an account's own key);
* ``InvalidSecurityToken.Expired``: the token's ``Expiration`` has passed.

**Expiry is on the real clock, not the virtual one.** ``alibabacloud-credentials`` decides when to
refresh by comparing ``Expiration`` with the machine's clock (``RamRoleArnCredentialsProvider``:
stale 15 minutes before it, ``provider/ram_role_arn.py``) and the SDKs sign with it; tests move the
virtual clock by hours to settle asynchronous steps. Expired on the virtual clock, a token would be
refused while the client, by its own clock, still holds it fresh and never refreshes: every call
would fail. On the real clock the client and the emulator always agree. ``Expiration`` is a whole
second in UTC without fractions (the provider parses exactly ``%Y-%m-%dT%H:%M:%SZ``).

Issued credentials live in the store (``meta``, which a world load wipes), so they survive a
restart, are shared by every process serving one ``--db``, and end with the world that issued them.
Their secret is kept as the account's own is (the database is private to its owner); the token is
kept only as its SHA-256 digest.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import roles
from .errors import ErrorCode
from .roles import Principal
from .signing import SignedRequest
from .store import Store, Tx
from .timefmt import iso
from .world import Account

STS_PREFIX = "STS."
MISSING_TOKEN = ErrorCode("MissingSecurityToken")
TOKEN_MALFORMED = ErrorCode("InvalidSecurityToken.Malformed")
TOKEN_MISMATCH = ErrorCode("InvalidSecurityToken.MismatchWithAccessKey")
TOKEN_EXPIRED = ErrorCode("InvalidSecurityToken.Expired")
KEY_NOT_FOUND = ErrorCode("InvalidAccessKeyId.NotFound", 404)
ERRORS = (MISSING_TOKEN, TOKEN_MALFORMED, TOKEN_MISMATCH, TOKEN_EXPIRED, KEY_NOT_FOUND)

_KEY = "sts:key:"  # meta key of an issued AccessKeyId -> its record
_TOKEN = "sts:token:"  # meta key of a token's digest -> the AccessKeyId it was issued with
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Caller:
    """A request's signer, known: the account it acts as, the secret that must have signed it, and
    the identity (the account's key, or a role session)."""

    account: Account
    secret: str
    principal: Principal


@dataclass(frozen=True)
class Issued:
    """What AssumeRole hands out."""

    access_key_id: str
    access_key_secret: str
    security_token: str
    expiration: int  # seconds since the epoch, real time


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(tx: Tx, principal: Principal, caller_arn: str, duration_s: int, now: float | None = None) -> Issued:
    """New temporary credentials of a role session, written in the AssumeRole's own transaction.
    Shapes follow the metadata's examples: ``STS.`` and 25 letters and digits, a 40-character
    secret, a long opaque token (no fixed length, the metadata says)."""
    issued_at = math.floor(time.time() if now is None else now)
    creds = Issued(
        access_key_id=STS_PREFIX + "".join(secrets.choice(_ALNUM) for _ in range(25)),
        access_key_secret="".join(secrets.choice(_ALNUM) for _ in range(40)),
        security_token="CAIS" + base64.b64encode(secrets.token_bytes(240)).decode(),
        expiration=issued_at + duration_s,
    )
    digest = _digest(creds.security_token)
    record: dict[str, Any] = {
        "uid": principal.account_uid,
        "role_arn": principal.role_arn,
        "role_id": principal.role_id,
        "session": principal.session,
        "secret": creds.access_key_secret,
        "token_sha256": digest,
        "issued": issued_at,
        "expires": creds.expiration,
        "assumed_by": caller_arn,
    }
    _forget_expired(tx, issued_at)
    tx.set_meta(_KEY + creds.access_key_id, record)
    tx.set_meta(_TOKEN + digest, creds.access_key_id)
    return creds


def _forget_expired(tx: Tx, now: float, keep_s: float = 24 * 3600.0) -> None:
    """Drop what expired a day ago: such a key is refused as malformed rather than expired."""
    old = tx.sql(
        "SELECT key, json_extract(value, '$.token_sha256') FROM meta WHERE key LIKE 'sts:key:%' "
        "AND json_extract(value, '$.expires') < ?",
        (now - keep_s,),
    )
    for key, digest in old:
        tx.sql("DELETE FROM meta WHERE key IN (?, ?)", (key, _TOKEN + str(digest)))


class Credentials:
    """Resolves the signer of each request against the world's keys and the issued credentials."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock  # the real clock (see the module docstring); tests may move it

    def caller(self, signed: SignedRequest, by_key: dict[str, Account], by_uid: dict[str, Account]) -> Caller:
        """The signer of a request, or the refusal its key and token earn."""
        key, token = signed.access_key_id, signed.security_token
        if key.startswith(STS_PREFIX):
            return self._session(key, token, by_uid)
        account = by_key.get(key)
        if account is None:
            raise KEY_NOT_FOUND("Specified access key is not found.")
        if token:  # a token beside a long-term key was issued for no key of the caller's
            self._refuse_token(token)
        return Caller(
            account, account.access_key_secret, roles.key_principal(account.uid, account.key_kind, account.ram_user)
        )

    def _session(self, key: str, token: str | None, by_uid: dict[str, Account]) -> Caller:
        if not token:
            raise MISSING_TOKEN("The SecurityToken is mandatory for an STS AccessKeyId; sign the request with it.")
        record = self.store.meta(_KEY + key)
        if record is None or record.get("token_sha256") != _digest(token):
            self._refuse_token(token)
        assert record is not None
        account = by_uid.get(str(record["uid"]))
        if account is None:  # the role's account left the world (a world load wipes tokens too)
            raise TOKEN_MALFORMED("Specified SecurityToken is malformed.")
        if self.clock() >= record["expires"]:
            raise TOKEN_EXPIRED("Specified SecurityToken is expired.")
        role = {"name": str(record["role_arn"]).rsplit("/", 1)[-1], "id": record["role_id"]}
        return Caller(
            account, str(record["secret"]), roles.session_principal(account.uid, role, str(record["session"]))
        )

    def _refuse_token(self, token: str) -> None:
        if self.store.meta(_TOKEN + _digest(token)) is not None:
            raise TOKEN_MISMATCH("Specified SecurityToken mismatch with the AccessKey.")
        raise TOKEN_MALFORMED("Specified SecurityToken is malformed.")

    # -- the control API ------------------------------------------------------------------------
    def listing(self) -> list[dict[str, Any]]:
        """Every issued credential, without its secret or token."""
        with self.store.transaction(write=False) as tx:
            rows = tx.sql("SELECT key, value FROM meta WHERE key LIKE 'sts:key:%' ORDER BY key")
        now = self.clock()
        out = []
        for key, value in rows:
            record = _loads(value)
            out.append(
                {
                    "access_key_id": key[len(_KEY) :],
                    "account_uid": record.get("uid"),
                    "role_arn": record.get("role_arn"),
                    "role_session": record.get("session"),
                    "assumed_by": record.get("assumed_by"),
                    "expiration": _iso(record.get("expires")),
                    "expired": now >= float(record.get("expires", 0)),
                }
            )
        return sorted(out, key=lambda c: (str(c["expiration"]), c["access_key_id"]))

    def expire(self, keys: list[str] | None) -> int:
        """End issued credentials now (all of them when ``keys`` is None): the next request signed
        with them is ``InvalidSecurityToken.Expired``, as when a client's clock ran ahead of a token's
        end. Returns how many were ended."""
        now = math.floor(self.clock())
        ended = 0
        with self.store.transaction() as tx:
            rows = tx.sql("SELECT key, value FROM meta WHERE key LIKE 'sts:key:%'")
            wanted = None if keys is None else {_KEY + k for k in keys}
            for key, value in rows:
                if wanted is not None and key not in wanted:
                    continue
                record = _loads(value)
                if float(record.get("expires", 0)) > now:
                    tx.set_meta(key, dict(record, expires=now))
                    ended += 1
        return ended


def _loads(value: str) -> dict[str, Any]:
    data = json.loads(value)
    return data if isinstance(data, dict) else {}


def _iso(epoch: Any) -> str | None:
    return iso(float(epoch)) if isinstance(epoch, (int, float)) else None
