"""Offline format checks for Alibaba Cloud resource IDs and account UIDs.

Used by the parameter contract and by anything else that accepts an ID typed by a person (a form
asking for the peer's router interface ID, say). The checks are about shape only; whether the
resource exists is for the API to say.
"""

from __future__ import annotations

import re

# Prefix -> what the ID names, for messages ("this is a security group ID").
KINDS: dict[str, str] = {
    "vpc-": "VPC",
    "vsw-": "vSwitch",
    "vrt-": "VRouter",
    "vtb-": "route table",
    "rte-": "route entry",
    "ri-": "router interface",
    "sg-": "security group",
    "sgr-": "security group rule",
    "i-": "ECS instance",
}

_BODY = re.compile(r"[a-z0-9]{8,32}")
_UID = re.compile(r"[0-9]{16}")
# Beyond 2**53 a number that went through a JSON double may have been rounded.
_EXACT_INT_LIMIT = 2**53


def id_problem(value: object, prefix: str) -> str | None:
    """Why ``value`` is not an ID with ``prefix`` (a phrase to put after the value), or None.

    The phrase never repeats the value, so callers decide how (or whether) to show it.
    """
    kind = KINDS[prefix]
    a_kind = f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind} ID"
    rule = f"{a_kind} is {prefix} followed by 8 to 32 lowercase letters or digits"
    if not isinstance(value, str):
        return f"is not {a_kind}: {rule}"
    if value.startswith(prefix) and _BODY.fullmatch(value[len(prefix) :]):
        return None
    other = next((p for p in sorted(KINDS, key=len, reverse=True) if p != prefix and value.startswith(p)), None)
    if other is not None and _BODY.fullmatch(value[len(other) :]):
        other_kind = KINDS[other]
        return f"is {'an' if other_kind[0] in 'AEIOU' else 'a'} {other_kind} ID, not {a_kind}: {rule}"
    if value.strip() != value:
        return f"has leading or trailing spaces: {rule}"
    if value.lower() != value and value.lower().startswith(prefix):
        return f"has uppercase letters: {rule}"
    return f"is not {a_kind}: {rule}"


def parse_account_uid(value: object) -> str:
    """The 16-digit account UID as a string; raises ``ValueError`` with a phrase saying why not.

    YAML may give an int (accepted when exact) or a float (refused: digits may be lost).
    """
    quote = 'write it in quotes, e.g. "1234567890123456"'
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"is not an account UID: a UID is 16 digits; {quote}")
    if isinstance(value, float):
        raise ValueError(f"was read as a decimal number, which may have lost digits; {quote}")
    if isinstance(value, int) and value >= _EXACT_INT_LIMIT:
        raise ValueError(f"is a number above 2^53, where JSON tools round; check its digits and {quote}")
    text = str(value)
    if not _UID.fullmatch(text):
        digits = sum(c.isdigit() for c in text)
        what = f"has {len(text)} digits" if digits == len(text) else "is not all digits"
        raise ValueError(f"{what}: an Alibaba Cloud account UID is 16 digits; {quote}")
    return text
