"""The ledger: one JSON line per API call (retries included), for the run's record.

Each line: ``time, phase, side, account_uid, region, action, request_id, outcome ("ok" | "error"
| "retry"), error_code, duration_ms, mutating``. Parameters are not recorded (they never hold
secrets, but the table stays readable); the resource a call acted on is in the phase's outputs.
Lines are appended and flushed one by one, so a run killed mid-phase keeps every call it made.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FIELDS = (
    "time",
    "phase",
    "side",
    "account_uid",
    "region",
    "action",
    "request_id",
    "outcome",
    "error_code",
    "duration_ms",
    "mutating",
)
OUTCOMES = ("ok", "error", "retry")


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
        action: str,
        request_id: str | None,
        outcome: str,
        error_code: str | None,
        duration_ms: float,
        mutating: bool,
    ) -> dict[str, Any]:
        if outcome not in OUTCOMES:
            raise ValueError(f"ledger outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
        entry = {
            "time": utc_now(),
            "phase": phase,
            "side": side,
            "account_uid": account_uid or "",
            "region": region,
            "action": action,
            "request_id": request_id or "",
            "outcome": outcome,
            "error_code": error_code or "",
            "duration_ms": round(duration_ms, 1),
            "mutating": mutating,
        }
        with self._lock:
            self.entries.append(entry)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
                    f.flush()
        return entry

    @staticmethod
    def read(path: str | Path) -> list[dict[str, Any]]:
        """The entries of a ledger file; a torn last line (a killed run) is skipped."""
        p = Path(path)
        if not p.exists():
            return []
        out = []
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out
