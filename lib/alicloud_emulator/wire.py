"""The wire format: requests as the SDKs send them, replies as the SDKs parse them.

Parameters come from the query string (and, tolerated, a form body); ``+`` means a space. A reply
is the whole HTTP response in one buffer, so the server writes it in one send: a split write
costs ~44 ms per call on loopback (Nagle plus delayed ACK). A reply's body is JSON, or XML when
the request asked ``Format=XML`` (``xmlcodec.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from . import xmlcodec
from .jsoncodec import dumps


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # query merged with a form body

    @classmethod
    def parse(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        path, _, qs = target.partition("?")
        query = parse_form(qs)
        params = dict(query)
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_form(body.decode("utf-8", "replace")))
        return cls(method, path or "/", query, headers, body, params)


def parse_form(qs: str) -> dict[str, str]:
    """``a=1&b=x+y`` as ``{"a": "1", "b": "x y"}``: what ``dict(urllib.parse.parse_qsl(qs,
    keep_blank_values=True))`` returns (a later repeat of a name wins), without its per-field
    overhead. Only a part with ``%`` or ``+`` in it needs decoding, and most have neither."""
    out: dict[str, str] = {}
    for part in qs.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name = unquote(name.replace("+", " "), errors="replace")
            value = unquote(value.replace("+", " "), errors="replace")
        out[name] = value
    return out


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    drop: bool = False  # close the connection without answering

    @classmethod
    def dropped(cls) -> Reply:
        return cls(0, {}, b"", drop=True)

    def to_bytes(self) -> bytes:
        status_line = _STATUS_LINES.get(self.status) or f"HTTP/1.1 {self.status} "
        head = "".join(
            [
                status_line,
                *[f"\r\n{k}: {v}" for k, v in self.headers.items()],
                f"\r\nContent-Length: {len(self.body)}\r\n\r\n",
            ]
        )
        return head.encode("latin-1") + self.body


_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}" for s in HTTPStatus}


def json_reply(body: dict[str, Any], request_id: str, status: int = 200) -> Reply:
    return Reply(
        status, {"Content-Type": "application/json;charset=utf-8", "x-acs-request-id": request_id}, dumps(body)
    )


def api_reply(body: dict[str, Any], request_id: str, xml_root: str | None = None, status: int = 200) -> Reply:
    """An API answer: JSON, or XML under ``xml_root`` when the request asked for XML."""
    if xml_root is None:
        return json_reply(body, request_id, status)
    return Reply(
        status, {"Content-Type": xmlcodec.CONTENT_TYPE, "x-acs-request-id": request_id}, xmlcodec.dumps(xml_root, body)
    )


def error_reply(
    status: int,
    code: str,
    message: str,
    request_id: str,
    host: str,
    retry_after_ms: int | None = None,
    xml: bool = False,
) -> Reply:
    product = host.split(".", 1)[0].capitalize()
    body = {
        "RequestId": request_id,
        "HostId": host,
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product={product}&requestId={request_id}",
    }
    reply = api_reply(body, request_id, "Error" if xml else None, status)
    if retry_after_ms:
        reply.headers["x-acs-retry-after"] = str(int(retry_after_ms))
    return reply


def control_reply(body: Any, status: int = 200) -> Reply:
    return Reply(status, {"Content-Type": "application/json;charset=utf-8"}, dumps(body))
