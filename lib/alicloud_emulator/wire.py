"""The wire format: requests as the SDKs send them, replies as the SDKs parse them.

Parameters come from the query string (and, tolerated, a form body); ``+`` means a space. A reply
is the whole HTTP response in one buffer, so the server writes it in one send: a split write
costs ~44 ms per call on loopback (Nagle plus delayed ACK).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # query merged with a form body

    @classmethod
    def parse(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> "Request":
        path, _, qs = target.partition("?")
        query = dict(parse_qsl(qs, keep_blank_values=True))
        params = dict(query)
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return cls(method, path or "/", query, headers, body, params)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    drop: bool = False  # close the connection without answering

    @classmethod
    def dropped(cls) -> "Reply":
        return cls(0, {}, b"", drop=True)

    def to_bytes(self) -> bytes:
        reason = HTTPStatus(self.status).phrase if self.status in HTTPStatus._value2member_map_ else ""
        head = [f"HTTP/1.1 {self.status} {reason}"]
        headers = dict(self.headers, **{"Content-Length": str(len(self.body))})
        head += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(body: dict[str, Any], request_id: str, status: int = 200) -> Reply:
    return Reply(status, {"Content-Type": "application/json;charset=utf-8", "x-acs-request-id": request_id}, _dumps(body))


def error_reply(status: int, code: str, message: str, request_id: str, host: str,
                retry_after_ms: int | None = None) -> Reply:
    product = host.split(".", 1)[0].capitalize()
    body = {"RequestId": request_id, "HostId": host, "Code": code, "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product={product}&requestId={request_id}"}
    reply = json_reply(body, request_id, status)
    if retry_after_ms:
        reply.headers["x-acs-retry-after"] = str(int(retry_after_ms))
    return reply


def control_reply(body: Any, status: int = 200) -> Reply:
    return Reply(status, {"Content-Type": "application/json;charset=utf-8"}, _dumps(body))
