"""The last check of every run: no secret of the credentials in any file of its records.

The runbook never writes a credential; this scan proves it for each run, searching every file of the
run directory for each secret of the target's credential profiles, as is, JSON-escaped and
HTML-escaped. A hit names the file and which credential field, never the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from ..targets import Secret


@dataclass(frozen=True)
class SecretHit:
    file: str  # path relative to the run directory
    label: str  # which credential field, never its value


def scan_for_secrets(run_dir: str | Path, secrets: Iterable[Secret]) -> list[SecretHit]:
    """Every file of the run directory that contains any of the secrets, as is or escaped."""
    run_dir = Path(run_dir)
    needles: list[tuple[str, list[bytes]]] = []
    for s in secrets:
        if len(s.value) >= 8:  # shorter values would match by chance; real keys are far longer
            forms = {s.value, json.dumps(s.value)[1:-1], escape(s.value)}
            needles.append((s.label, [f.encode() for f in forms]))
    hits: list[SecretHit] = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for label, encoded in needles:
            if any(f in data for f in encoded):
                hits.append(SecretHit(str(path.relative_to(run_dir)), label))
    return hits
