"""The capture format (``vpclink-capture/1``): one JSON object per API call, one file per run.

This module is the reference implementation of the format ``docs/parity.md`` ("Capture format")
specifies: ``Anonymizer.call`` turns a real request and reply into a capture line, and
``read`` loads and validates a capture file. A writer elsewhere (``vpclink run --capture``) must
produce the same lines; ``shape`` and the placeholder rules are the contract.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "vpclink-capture/1"
PRODUCTS = {"Vpc": "2016-04-28", "Ecs": "2014-05-26", "Sts": "2015-04-01"}

# Fields whose values are states or documented enumerations: kept in the shape (``{"$enum": v}``).
KEPT = frozenset(
    {
        "Status",
        "BusinessStatus",
        "OppositeInterfaceStatus",
        "OppositeInterfaceBusinessStatus",
        "Role",
        "Spec",
        "OppositeInterfaceSpec",
        "RouterType",
        "OppositeRouterType",
        "ChargeType",
        "Type",
        "RouteTableType",
        "RouterTableType",
        "NextHopType",
        "Origin",
        "IpVersion",
        "IpProtocol",
        "PortRange",
        "Policy",
        "Direction",
        "NicType",
        "SecurityGroupType",
        "InstanceNetworkType",
        "IdentityType",
        "CommandType",
        "RepeatMode",
        "InvokeStatus",
        "InvocationStatus",
        "InvokeRecordStatus",
        "HealthCheckStatus",
        "InnerAccessPolicy",
    }
)
# Keys dropped from requests: the protocol's own, and anything that carries a credential.
PROTOCOL = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "Timestamp",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Signature",
        "AccessKeyId",
        "SecurityToken",
    }
)
SECRET_KEY = re.compile(r"secret|password|token|signature|credential|accesskey", re.I)
# Identifying values, replaced wherever they occur (whole values or inside text).
_RESOURCE = re.compile(r"\b(?P<kind>[a-z]{1,5})-[0-9a-z]{6,}\**(?![0-9A-Za-z_])")  # documentation masks with *
_RESOURCE_KINDS = frozenset(
    {"vpc", "vsw", "vtb", "vrt", "vbr", "ri", "rte", "sg", "sgr", "i", "eni", "t", "c", "rg", "dopt", "acl", "ngw"}
)
_CIDR = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}\b")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_UID = re.compile(r"\b\d{15,20}\b")
PLACEHOLDER = re.compile(r"\{\{(?P<kind>[a-z0-9]+):(?P<n>\d+)\}\}")
_SCALAR = {str: "$string", bool: "$boolean", int: "$integer", float: "$number", type(None): "$null"}


@dataclass
class Anonymizer:
    """Replaces identifying values by placeholders, the same value by the same placeholder
    throughout one capture file (``{{ri:1}}``, ``{{uid:2}}``, ``{{ip:1}}``, ``{{cidr:1}}``)."""

    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self.seen:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.seen[key] = f"{{{{{kind}:{self.counts[kind]}}}}}"
        return self.seen[key]

    def text(self, value: str) -> str:
        """``value`` with every identifying part replaced."""

        def resource(m: re.Match[str]) -> str:
            kind = m.group("kind")
            return self.placeholder(kind, m.group(0)) if kind in _RESOURCE_KINDS else m.group(0)

        out = _RESOURCE.sub(resource, value)
        out = _CIDR.sub(lambda m: self.placeholder("cidr", m.group(0)), out)
        out = _IP.sub(lambda m: self.placeholder("ip", m.group(0)), out)
        return _UID.sub(lambda m: self.placeholder("uid", m.group(0)), out)

    def request(self, params: dict[str, Any]) -> dict[str, Any]:
        """The action's parameters as the capture keeps them."""
        return {k: self._value(k, v) for k, v in params.items() if k not in PROTOCOL}

    def _value(self, key: str, value: Any) -> Any:
        if key == "ClientToken" and isinstance(value, str):
            return self.placeholder("token", value)
        if SECRET_KEY.search(key) and key != "ClientToken":
            return "{{secret}}"
        if isinstance(value, dict):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(key, v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, int) and not isinstance(value, bool) and _UID.fullmatch(str(value)):
            return self.placeholder("uid", str(value))
        return value

    def shape(self, value: Any, key: str = "") -> Any:
        """The response's shape: keys and JSON types; states and enums kept; identifying values as
        their placeholders (``{"$id": "{{ri:1}}"}``), so a replay can follow them."""
        if isinstance(value, dict):
            return {k: self.shape(v, k) for k, v in value.items() if not SECRET_KEY.search(k) or k == "NextToken"}
        if isinstance(value, list):
            return [self.shape(v, key) for v in value]
        if isinstance(value, bool):
            return {"$enum": value} if key in KEPT else "$boolean"
        if isinstance(value, str):
            if key in KEPT:
                return {"$enum": value}
            replaced = self.text(value)
            if PLACEHOLDER.fullmatch(replaced):
                return {"$id": replaced}
            return "$string"
        if isinstance(value, int) and _UID.fullmatch(str(value)):
            return {"$id": self.placeholder("uid", str(value)), "$type": "integer"}
        return _SCALAR.get(type(value), "$string")

    def call(
        self,
        seq: int,
        elapsed_s: float,
        account: str,
        product: str,
        action: str,
        region: str,
        params: dict[str, Any],
        status: int,
        body: dict[str, Any],
    ) -> dict[str, Any]:
        """One capture line."""
        return {
            "format": FORMAT,
            "seq": seq,
            "elapsed_s": round(float(elapsed_s), 3),
            "account": account,
            "product": product,
            "version": PRODUCTS[product],
            "action": action,
            "region": region,
            "request": self.request(params),
            "status": status,
            "error_code": body.get("Code") if status >= 400 else None,
            "response": self.shape(body),
        }


def plain_shape(value: Any, key: str = "") -> Any:
    """The shape of a reply without placeholder bookkeeping: what the replay compares against."""
    if isinstance(value, dict):
        return {k: plain_shape(v, k) for k, v in value.items() if not SECRET_KEY.search(k) or k == "NextToken"}
    if isinstance(value, list):
        return [plain_shape(v, key) for v in value]
    if isinstance(value, (bool, str)) and key in KEPT:
        return {"$enum": value}
    if isinstance(value, str) and PLACEHOLDER.fullmatch(Anonymizer().text(value)):
        return {"$id": value}
    if isinstance(value, int) and not isinstance(value, bool) and _UID.fullmatch(str(value)):
        return {"$id": str(value), "$type": "integer"}
    return _SCALAR.get(type(value), "$string")


class CaptureError(ValueError):
    """A capture line that does not follow the format; the message names the file, line and field."""


_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "seq": int,
    "elapsed_s": (int, float),
    "account": str,
    "product": str,
    "version": str,
    "action": str,
    "region": str,
    "request": dict,
    "status": int,
    "response": (dict, list),
}


def read(path: Path) -> list[dict[str, Any]]:
    """The calls of one capture file, validated, in order."""
    calls = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            call = json.loads(line)
        except ValueError as e:
            raise CaptureError(f"{where}: not JSON ({e})") from None
        if not isinstance(call, dict):
            raise CaptureError(f"{where}: a capture line is a JSON object")
        for key, kind in _REQUIRED.items():
            if not isinstance(call.get(key), kind) or isinstance(call.get(key), bool):
                raise CaptureError(f"{where}: {key} is missing or not a {getattr(kind, '__name__', kind)}")
        if call["format"] != FORMAT:
            raise CaptureError(f"{where}: format {call['format']!r}; this replay reads {FORMAT}")
        if PRODUCTS.get(call["product"]) != call["version"]:
            raise CaptureError(f"{where}: {call['product']} {call['version']} is not an emulated API version")
        if not re.fullmatch(r"[A-Z]", call["account"]):
            raise CaptureError(f"{where}: account is a label A, B, ... (got {call['account']!r})")
        if call.get("error_code") is not None and not isinstance(call["error_code"], str):
            raise CaptureError(f"{where}: error_code is a string or null")
        leaked = [k for k in _keys(call["request"]) if k in PROTOCOL]
        if leaked:
            raise CaptureError(f"{where}: protocol or credential parameters must not be captured: {leaked}")
        calls.append(call)
    if [c["seq"] for c in calls] != list(range(1, len(calls) + 1)):
        raise CaptureError(f"{path.name}: seq must count 1, 2, 3 ... in file order")
    return calls


def _keys(value: Any) -> list[str]:
    """Every key of a nested request, at any depth."""
    out: list[str] = []
    if isinstance(value, dict):
        for key, sub in value.items():
            out += [key, *_keys(sub)]
    elif isinstance(value, list):
        for sub in value:
            out += _keys(sub)
    return out
