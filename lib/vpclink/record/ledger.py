"""The ledger: one JSON line per API call (retries included), for the run's record.

Each line: ``time, phase, side, account_uid, role, region, action, request_id, outcome ("ok" |
"error" | "retry"), error_code, duration_ms, mutating``. ``role`` is the ARN of the RAM role the call
acted as in that account (a ``RamRoleArn`` profile's ``ram_role_arn``), null for an AccessKey
profile. For every mutating call, also ``request``: the parameters it sent, under the API's names (as
SSM Automation records each step's resolved inputs). Parameters never hold a credential; a value
that looks like one anyway (a key pasted into a description) is masked, and so is any value under a
key named like a credential. Lines are appended and flushed one by one, so a run killed mid-phase
keeps every call it made.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import safe_files
from ..secretlike import credential_key, looks_like_credential, mask

FIELDS = (
    "time",
    "phase",
    "side",
    "account_uid",
    "role",
    "region",
    "action",
    "request_id",
    "outcome",
    "error_code",
    "duration_ms",
    "mutating",
)
OUTCOMES = ("ok", "error", "retry")
MAX_LEDGER = 512 << 20  # about a million calls
# Values vpclink derives itself and that reviewers need to see whole (a ClientToken is a digest of the
# run ID: random-looking, never a secret).
SHOWN_AS_IS = frozenset({"ClientToken"})


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def request_parameters(request: Any) -> dict[str, Any] | None:
    """The parameters an SDK request model sends (``to_map()``: the API's names), secrets masked."""
    if request is None:
        return None
    data = request.to_map() if hasattr(request, "to_map") else dict(request)
    masked = _masked(data, "")
    return masked if isinstance(masked, dict) else {"value": masked}


def _masked(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {str(k): _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v, key) for v in value]
    if key in SHOWN_AS_IS or value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if credential_key(key) or looks_like_credential(text):
        return mask(text)
    return value


class Ledger:
    """Calls recorded in memory (``entries``) and, with ``path``, appended to ``ledger.jsonl``."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(
        self,
        *,
        phase: str,
        side: str,
        account_uid: str | None,
        region: str,
        role_arn: str | None = None,
        action: str,
        request_id: str | None,
        outcome: str,
        error_code: str | None,
        duration_ms: float,
        mutating: bool,
        request: Any = None,
    ) -> dict[str, Any]:
        """Append one call; ``request`` (the SDK request model) is recorded for mutating calls only."""
        if outcome not in OUTCOMES:
            raise ValueError(f"ledger outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
        entry: dict[str, Any] = {
            "time": utc_now(),
            "phase": phase,
            "side": side,
            "account_uid": account_uid or "",
            "role": role_arn or None,
            "region": region,
            "action": action,
            "request_id": request_id or "",
            "outcome": outcome,
            "error_code": error_code or "",
            "duration_ms": round(duration_ms, 1),
            "mutating": mutating,
        }
        if mutating and request is not None:
            entry["request"] = request_parameters(request)
        with self._lock:
            self.entries.append(entry)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # 0600 like every record file; never through a link planted in the run directory
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                with os.fdopen(os.open(self.path, flags, 0o600), "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
                    f.flush()
        return entry

    @staticmethod
    def read(path: str | Path) -> list[dict[str, Any]]:
        """The entries of a ledger file; a torn last line (a killed run) is skipped."""
        p = Path(path)
        if not p.exists():
            return []
        try:  # a run directory is untrusted input: a regular file of bounded size, never a FIFO
            data = safe_files.read_bytes(p, max_bytes=MAX_LEDGER, what="ledger")
        except safe_files.UnsafeFile:
            return []
        out = []
        for line in data.decode("utf-8", errors="replace").splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue  # a line cut short by kill -9 is not a call we can account for
            if isinstance(entry, dict):
                out.append(entry)
        return out
