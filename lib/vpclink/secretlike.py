"""Recognising text that looks like a credential, so it can be refused and never repeated.

Parameters, notebooks and records must never hold an AccessKey: credentials live in profiles. These
heuristics catch a key pasted into the wrong place. They err towards flagging random-looking tokens;
ordinary names (``tutorial-qingdao-beijing``, ``MyProductionLink``) and resource IDs pass.
"""

from __future__ import annotations

import re

# An AccessKey ID: LTAI followed by at least 12 letters or digits.
_ACCESS_KEY_ID = re.compile(r"LTAI[A-Za-z0-9]{12,}")
# Runs of base64/alphanumeric characters long enough to be a key, a secret or an STS token.
_TOKEN = re.compile(r"[A-Za-z0-9+/=]{20,}")
_HEX = re.compile(r"[0-9a-f]{32,}")
_PIECES = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[+/=]+")

# Key names (lowercased, with - and _ removed) that announce a credential.
_KEY_PREFIXES = ("accesskey",)
_KEY_PARTS = ("secret", "password", "passwd", "token")
_KEY_NAMES = frozenset({"credential", "credentials", "ak", "sk", "akid", "aksecret", "sts"})


def credential_key(key: object) -> bool:
    """True for a mapping key named like a credential (``access_key_id``, ``AccessKeySecret``,
    ``db_password``, ``security_token``, ``credentials``)."""
    if not isinstance(key, str):
        return False
    k = key.lower().replace("_", "").replace("-", "")
    return k.startswith(_KEY_PREFIXES) or any(p in k for p in _KEY_PARTS) or k in _KEY_NAMES


def access_key_id_in(text: str) -> bool:
    """True when ``text`` contains something shaped like an AccessKey ID."""
    return _ACCESS_KEY_ID.search(text) is not None


def _random_looking(token: str) -> bool:
    if _HEX.fullmatch(token) and any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
        return True
    if sum(c.isupper() for c in token) < 2 or sum(c.islower() for c in token) < 2:
        return False
    # Names split into words (``Qingdao``, ``VPC``, ``2024``); random text into scraps of one or two
    # characters. At 2.75 characters per piece, 99% of random 30-character keys are caught.
    return len(token) / len(_PIECES.findall(token)) < 2.75


def secret_in(text: str) -> bool:
    """True when ``text`` contains a long random-looking token (an AccessKey secret, an STS token)."""
    return any(_random_looking(t) for t in _TOKEN.findall(text))


def looks_like_credential(text: str) -> bool:
    """True when ``text`` holds an AccessKey ID or a secret-like token anywhere in it."""
    return access_key_id_in(text) or secret_in(text)


def mask(text: str) -> str:
    """A stand-in for a credential-like value that says what it was without revealing it."""
    if access_key_id_in(text):
        return "LTAI****"
    return f"<{len(text)} characters, not shown>"
