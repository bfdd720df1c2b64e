"""Captures of a run's API calls (``vpclink-capture/1``), for parity tests against the emulator.

A capture keeps each call's request and the shape and code of its reply, with every identifying value
(resource IDs, account UIDs, IPs, CIDR blocks, ClientTokens) replaced by a placeholder and nothing
secret: the format is specified in the repository's ``docs/parity.md`` ("Capture format"), whose
reference implementation lives with the parity tests. ``Cloud(capture=DIR)`` writes one; the parity
replay (``pytest -m parity --capture-dir DIR``) sends the same requests to a fresh emulator and
reports every difference. The first person with real accounts turns their run into a parity test.

One file per run (``DIR/<run>.jsonl``), written by every phase of the run, each in its own process:
the placeholders of one file must name the same value throughout, and ``seq`` and ``elapsed_s`` must
continue from the last line. So the anonymizer's table (which holds the real values) is kept under the
per-user state directory, never beside the capture, and every append happens under a file lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from .locks import private_dir, state_home

FORMAT = "vpclink-capture/1"
PRODUCTS = {
    "vpc": ("Vpc", "2016-04-28"),
    "ecs": ("Ecs", "2014-05-26"),
    "sts": ("Sts", "2015-04-01"),
    "vpcpeer": ("VpcPeer", "2022-01-01"),
}
ACCOUNT_LABELS = {"initiator": "A", "acceptor": "B"}

# Reply fields whose values are states or documented enumerations: kept (``{"$enum": value}``).
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
# Request keys never captured: the protocol's own, and the ones carrying a credential.
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
SECRET = "{{secret}}"
_RESOURCE = re.compile(r"\b(?P<kind>[a-z]{1,5})-[0-9a-z]{6,}\**(?![0-9A-Za-z_])")
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
    """One capture file's placeholders: the same value is the same ``{{kind:n}}`` throughout."""

    seen: dict[str, str] = field(default_factory=dict)  # "kind\nvalue" -> placeholder
    counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: str, value: str) -> str:
        key = f"{kind}\n{value}"
        if key not in self.seen:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.seen[key] = "{{" + f"{kind}:{self.counts[kind]}" + "}}"
        return self.seen[key]

    def text(self, value: str) -> str:
        """``value`` with every identifying part replaced (resource IDs, CIDR blocks, IPs, UIDs)."""

        def resource(m: re.Match[str]) -> str:
            kind = m.group("kind")
            return self.placeholder(kind, m.group(0)) if kind in _RESOURCE_KINDS else m.group(0)

        out = _RESOURCE.sub(resource, value)
        out = _CIDR.sub(lambda m: self.placeholder("cidr", m.group(0)), out)
        out = _IP.sub(lambda m: self.placeholder("ip", m.group(0)), out)
        return _UID.sub(lambda m: self.placeholder("uid", m.group(0)), out)

    def request(self, params: dict[str, Any]) -> dict[str, Any]:
        return {k: self._value(k, v) for k, v in params.items() if k not in PROTOCOL}

    def _value(self, key: str, value: Any) -> Any:
        if key == "ClientToken" and isinstance(value, str):
            return self.placeholder("token", value)
        if SECRET_KEY.search(key) and key != "ClientToken":
            return SECRET
        if isinstance(value, dict):
            return {k: self._value(k, v) for k, v in value.items() if k not in PROTOCOL}
        if isinstance(value, list):
            return [self._value(key, v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, int) and not isinstance(value, bool) and _UID.fullmatch(str(value)):
            return self.placeholder("uid", str(value))
        return value

    def shape(self, value: Any, key: str = "") -> Any:
        """The reply's shape: its keys and JSON types, states and enumerations kept, identifying
        values as their placeholders (``{"$id": "{{ri:1}}"}``)."""
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
            return {"$id": replaced} if PLACEHOLDER.fullmatch(replaced) else "$string"
        if isinstance(value, int) and _UID.fullmatch(str(value)):
            return {"$id": self.placeholder("uid", str(value)), "$type": "integer"}
        return _SCALAR.get(type(value), "$string")


class CaptureWriter:
    """Appends one line per API call to ``directory/<name>.jsonl`` (see the module docstring).

    ``secrets`` are values that must never appear in a line (the credentials of the run's profiles):
    a line containing one is refused rather than written.
    """

    def __init__(self, directory: str | os.PathLike[str], name: str, *, secrets: tuple[str, ...] = ()):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120] or "capture"
        private = private_dir(state_home() / "captures")
        for n in range(1, 1000):  # a file this machine did not start (no table for it) is never continued
            self.path = self.directory / (f"{safe}.jsonl" if n == 1 else f"{safe}.{n}.jsonl")
            key = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:16]
            self._state = private / f"{key}.json"
            if self._state.exists() or not self.path.exists():
                break
        self._lock = FileLock(str(private / f"{key}.lock"), mode=0o600)
        self._secrets = tuple(s for s in secrets if s)

    def record(
        self,
        *,
        role: str,
        product: str,
        action: str,
        region: str,
        request: dict[str, Any],
        status: int,
        body: dict[str, Any],
        secrets: tuple[str, ...] = (),
        now: float | None = None,
    ) -> dict[str, Any]:
        """Append the capture line of one answered call; return it. ``secrets``: more values that must
        not be in it (the calling side's credentials); ``now``: the run's clock (seconds; default the
        wall clock), whose progress since the first line is ``elapsed_s``."""
        with self._lock:
            state = self._load()
            anonymizer = Anonymizer(dict(state["seen"]), dict(state["counts"]))
            now = time.time() if now is None else now
            began = state.get("began") or now
            capitalized, version = PRODUCTS[product]
            line = {
                "format": FORMAT,
                "seq": int(state["seq"]) + 1,
                "elapsed_s": round(max(0.0, now - began, float(state.get("elapsed", 0.0))), 3),
                "account": ACCOUNT_LABELS.get(role, "A"),
                "product": capitalized,
                "version": version,
                "action": action,
                "region": region,
                "request": anonymizer.request(request),
                "status": int(status),
                "error_code": body.get("Code") if status >= 400 else None,
                "response": anonymizer.shape(body),
            }
            text = json.dumps(line, sort_keys=False)
            if any(secret and secret in text for secret in (*self._secrets, *secrets)):
                raise ValueError(f"{action}: the capture line would hold a credential; nothing was written")
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(text + "\n")
            self._save(
                {
                    "seq": line["seq"],
                    "began": began,
                    "elapsed": line["elapsed_s"],
                    "seen": anonymizer.seen,
                    "counts": anonymizer.counts,
                }
            )
            return line

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict) or not self.path.exists():
            return {"seq": 0, "began": None, "elapsed": 0.0, "seen": {}, "counts": {}}
        return data

    def _save(self, data: dict[str, Any]) -> None:
        tmp = self._state.with_name(self._state.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self._state)


def request_map(request: Any) -> dict[str, Any]:
    """An SDK request model as the capture keeps it: its ``to_map()`` (API names, nested)."""
    if request is None:
        return {}
    mapped = request.to_map() if hasattr(request, "to_map") else dict(request)
    return {k: v for k, v in mapped.items() if v is not None}
