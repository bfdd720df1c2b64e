"""A client for the emulator's control API (``/_emulator/...``), shared by the test helpers."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def control(base_url: str, path: str, body: Any = None, method: str | None = None) -> Any:
    """Call ``/_emulator/<path>``: POST a JSON body when one is given, GET otherwise."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base_url}/_emulator/{path}", data=data,
                                 method=method or ("POST" if data is not None else "GET"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())
