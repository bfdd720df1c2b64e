"""XML replies, for an RPC request that asks ``Format=XML``.

The cloud's RPC ``Format`` parameter takes ``JSON`` or ``XML`` (common request parameters,
https://www.alibabacloud.com/help/doc-detail/28138.htm). A success is ``<ActionResponse>`` holding
the same fields as the JSON body, an error is ``<Error>`` holding RequestId, HostId, Code,
Message and Recommend (https://www.alibabacloud.com/help/doc-detail/69008.htm shows both shapes;
the tea SDK reads ``Error`` from an XML error body, ``alibabacloud_tea_openapi`` ``do_request``).
A JSON list becomes its element repeated under the same name (``{"Vpcs": {"Vpc": [a, b]}}`` is
``<Vpcs><Vpc>a</Vpc><Vpc>b</Vpc></Vpcs>``), booleans are ``true``/``false``, and a null field is
left out. The content type is exactly ``text/xml;charset=utf-8``, the one the SDK parses as XML.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

CONTENT_TYPE = "text/xml;charset=utf-8"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry


def dumps(root: str, body: dict[str, Any]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{_tag(root)}>"]
    _children(body, parts)
    parts.append(f"</{_tag(root)}>")
    return "".join(parts).encode("utf-8")


def _children(body: dict[str, Any], parts: list[str]) -> None:
    for key, value in body.items():
        tag = _tag(key)
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, dict):
                parts.append(f"<{tag}>")
                _children(item, parts)
                parts.append(f"</{tag}>")
            elif isinstance(item, list):  # a list in a list has no name of its own: flatten it
                _children({key: item}, parts)
            else:
                parts.append(f"<{tag}>{_text(item)}</{tag}>")


def _tag(name: Any) -> str:
    name = str(name)
    return name if _NAME.fullmatch(name) and not name.lower().startswith("xml") else "item"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(_NOT_XML.sub("\ufffd", str(value)))
