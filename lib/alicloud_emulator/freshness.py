"""Request freshness: the timestamp a request was signed at, and its one-time nonce.

The cloud refuses a signed request whose time is more than 15 minutes from its own clock, and
one that reuses a nonce (Alibaba Cloud OpenAPI client-side error codes,
https://help.aliyun.com/en/document_detail/434846.html, and the common error code list
https://developer.aliyun.com/ask/278265):

* ``InvalidTimeStamp.Format`` (400) "Specified time stamp or date value is not well formatted.":
  not ISO 8601 UTC ``yyyy-MM-ddTHH:mm:ssZ``;
* ``InvalidTimeStamp.Expired`` (400) "Specified time stamp or date value is expired.": more than
  15 minutes before or after the time the server receives it;
* ``SignatureNonceUsed`` (400) "Specified signature nonce was used already.".

The RPC signature (HMAC-SHA1) carries them as the ``Timestamp`` and ``SignatureNonce`` query
parameters (common request parameters, https://www.alibabacloud.com/help/doc-detail/159973.htm);
ACS3-HMAC-SHA256 as the ``x-acs-date`` and ``x-acs-signature-nonce`` headers, which must be among
the signed headers like every ``x-acs-`` header (V3 request structure,
https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature). A missing
one is ``Missing<Name>`` as the common ``Missing{ParameterName}`` code has it.

The clock is the real wall clock, not the emulator's virtual one: the SDKs sign with the
machine's time. A nonce is remembered for 30 minutes after it was first seen (a request it was
signed for is refused as expired by then; the gateway's own note says 31 minutes,
https://developer.aliyun.com/ask/561619), per AccessKey, in memory: a restart forgets them, and
past ``MAX_NONCES`` the oldest are forgotten first, which only matters to a client that sends
hundreds of thousands of requests within the window.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import ApiError
from .signing import SignedRequest

SKEW_S = 15 * 60
NONCE_TTL_S = 2 * SKEW_S
MAX_NONCES = 200_000
_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z")


@dataclass(frozen=True)
class Stamp:
    """What a request says about when it was signed and its nonce, and where it said so."""

    timestamp: str | None
    nonce: str | None
    timestamp_name: str
    nonce_name: str


def stamp_of(signed: SignedRequest, query: dict[str, str], headers: dict[str, str]) -> Stamp:
    if signed.style == "ACS3-HMAC-SHA256":
        signed_headers = set(signed.fields.get("SignedHeaders", "").split(";"))
        for name in ("x-acs-date", "x-acs-signature-nonce"):
            if name in headers and name not in signed_headers:
                raise ApiError(
                    "IncompleteSignature",
                    f"The request signature does not conform to Aliyun standards: {name} must be a signed header.",
                )
        return Stamp(
            headers.get("x-acs-date"), headers.get("x-acs-signature-nonce"), "x-acs-date", "x-acs-signature-nonce"
        )
    return Stamp(query.get("Timestamp"), query.get("SignatureNonce"), "Timestamp", "SignatureNonce")


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 UTC time; ``ValueError`` if it is not one."""
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(g) for g in m.groups())
    return datetime(
        year, month, day, hour, minute, second, tzinfo=timezone.utc
    ).timestamp()  # ValueError if no such day


class Freshness:
    """The timestamp window and the nonces seen, for every request of one emulator."""

    def __init__(self, clock: Callable[[], float] = time.time, skew_s: float = SKEW_S):
        self.clock = clock
        self.skew_s = skew_s
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # key -> when it may be forgotten
        self._lock = threading.Lock()

    def check(self, access_key_id: str, stamp: Stamp) -> None:
        """Refuse a stale, future, malformed or replayed request; remember its nonce otherwise."""
        if not stamp.timestamp:
            raise _missing(stamp.timestamp_name)
        try:
            when = parse_timestamp(stamp.timestamp)
        except ValueError:
            raise ApiError(
                "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            ) from None
        now = self.clock()
        if abs(now - when) > self.skew_s:
            raise ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if not stamp.nonce:
            raise _missing(stamp.nonce_name)
        key = hashlib.blake2b(f"{access_key_id}\0{stamp.nonce}".encode(), digest_size=16).digest()
        with self._lock:
            while self._seen:
                oldest, expires = next(iter(self._seen.items()))
                if expires > now and len(self._seen) < MAX_NONCES:
                    break
                del self._seen[oldest]
            if key in self._seen:
                raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._seen[key] = now + NONCE_TTL_S


_MISSING = {"x-acs-date": "MissingTimestamp", "x-acs-signature-nonce": "MissingSignatureNonce"}


def _missing(name: str) -> ApiError:
    return ApiError(_MISSING.get(name, f"Missing{name}"), f"{name} is mandatory for this action.")
