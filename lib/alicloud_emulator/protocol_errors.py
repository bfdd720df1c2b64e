"""The errors any action may return before its handler runs, from the request pipeline
(``dispatch.py``): its signature, credentials, freshness, product and action, and API quota.

No action declares them (``products/catalog.py`` holds what a handler may raise), so the conformance
test never compares them with one action's metadata; ``docs/parity.md`` ("Protocol-level errors")
lists those the vendored metadata lacks. A fault rule may answer any code it names; that is the
rule's choice, not the pipeline's, and is not listed.
"""

from __future__ import annotations

from .credentials import ERRORS as CREDENTIAL_ERRORS
from .errors import ErrorCode
from .quotas import THROTTLED

# code -> where the pipeline raises it
PROTOCOL_ERRORS: dict[ErrorCode, str] = {
    ErrorCode("MissingParameter"): "signing.identify: no AccessKeyId or Authorization",
    ErrorCode("IncompleteSignature"): "signing: an ACS3 header without Credential, an x-acs- header not signed",
    ErrorCode("SignatureDoesNotMatch"): "signing.verify",
    **{e: "credentials.Credentials.caller" for e in CREDENTIAL_ERRORS},
    ErrorCode("InvalidTimeStamp.Format"): "freshness",
    ErrorCode("InvalidTimeStamp.Expired"): "freshness",
    ErrorCode("MissingTimestamp"): "freshness",
    ErrorCode("MissingSignatureNonce"): "freshness",
    ErrorCode("SignatureNonceUsed"): "freshness",
    ErrorCode("InvalidVersion"): "dispatch.resolve",
    ErrorCode("InvalidAction.NotFound", 404): "dispatch.resolve",
    THROTTLED: "quotas.Limiter.admit",
}
