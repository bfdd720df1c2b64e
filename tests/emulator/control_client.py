"""A client for the emulator's control API (``/_emulator/...``), shared by the test helpers."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from alibabacloud_tea_openapi.utils_models import Config


def control(base_url: str, path: str, body: Any = None, method: str | None = None) -> Any:
    """Call ``/_emulator/<path>``: POST a JSON body when one is given, GET otherwise."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{base_url}/_emulator/{path}",
        data=data,
        method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class ControlMixin:
    """What a test does with any running emulator (a thread or a process): its control API and SDK
    configs for its accounts. The class provides ``endpoint`` (``host:port``)."""

    endpoint: str

    def control(self, path: str, body: Any = None, method: str | None = None) -> Any:
        return control(f"http://{self.endpoint}", path, body, method)

    def account(self, name: str) -> dict[str, Any]:
        return next(a for a in self.control("accounts")["accounts"] if a["name"] == name)

    def config(self, name: str, region: str, **extra: Any) -> Config:
        a = self.account(name)
        return Config(
            access_key_id=a["access_key_id"],
            access_key_secret=a["access_key_secret"],
            region_id=region,
            endpoint=self.endpoint,
            protocol="http",
            **extra,
        )
