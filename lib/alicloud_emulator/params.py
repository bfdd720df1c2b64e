"""Request parameters: un-flattening the SDKs' dotted keys and typed, validated access.

The SDKs validate nothing (required fields included), so this is the only guard: every getter
raises a ``MissingParameter``/``InvalidParameter`` error that names the parameter.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any, Literal, overload

from .errors import ErrorCode, invalid, malformed, missing, unsupported

_INDEX = re.compile(r"^\d+$")
CIDR_MALFORMED = ErrorCode("InvalidCidrBlock.Malformed")


def unflatten(flat: dict[str, str]) -> dict[str, Any]:
    """Turn ``Permissions.1.IpProtocol=ICMP`` style keys into nested lists and dicts."""
    root: dict[str, Any] = {}
    nested = False
    for key, value in flat.items():
        if "." not in key:  # most keys: a plain value, unless a dotted key made it a node already
            if not isinstance(root.get(key), dict):
                root[key] = value
            continue
        nested = True
        *path, leaf = key.split(".")
        node = root
        for part in path:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(leaf), dict):
            node[leaf] = value
    if not nested:
        return root
    return {k: _lists(v) for k, v in root.items()}


def _lists(node: Any) -> Any:
    """A dict whose keys are all indexes (``1``, ``2`` ...) becomes a list in index order."""
    if not isinstance(node, dict):
        return node
    if node and all(_INDEX.match(k) for k in node):
        return [_lists(v) for _, v in sorted(node.items(), key=lambda kv: int(kv[0]))]
    return {k: _lists(v) for k, v in node.items()}


class Params:
    """Typed access to one request's parameters."""

    def __init__(self, values: dict[str, Any]):
        self.values = values

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        v = self.values.get(name)
        return v is not None and v != "" and v != []

    @overload
    def text(
        self,
        name: str,
        required: Literal[True],
        default: str | None = None,
        choices: Iterable[str] | None = None,
        pattern: str | None = None,
        max_len: int | None = None,
        code: str | ErrorCode | None = None,
    ) -> str: ...

    @overload
    def text(
        self,
        name: str,
        required: bool = False,
        *,
        default: str,
        choices: Iterable[str] | None = None,
        pattern: str | None = None,
        max_len: int | None = None,
        code: str | ErrorCode | None = None,
    ) -> str: ...

    @overload
    def text(
        self,
        name: str,
        required: bool = False,
        default: None = None,
        choices: Iterable[str] | None = None,
        pattern: str | None = None,
        max_len: int | None = None,
        code: str | ErrorCode | None = None,
    ) -> str | None: ...

    def text(
        self,
        name: str,
        required: bool = False,
        default: str | None = None,
        choices: Iterable[str] | None = None,
        pattern: str | None = None,
        max_len: int | None = None,
        code: str | ErrorCode | None = None,
    ) -> str | None:
        """A single string value. A value outside ``choices`` is refused with ``code`` (default
        ``Invalid<Name>.ValueNotSupported``), one that fails ``pattern`` with ``code`` (default
        ``Invalid<Name>.Malformed``), one longer than ``max_len`` with ``InvalidParameter``."""
        v = self.values.get(name)
        if v is None or v == "":
            if required:
                raise missing(name)
            return default
        if not isinstance(v, str):
            raise invalid(name, "expected a single value")
        if choices is not None:
            allowed = list(choices)
            if v not in allowed:
                raise _kind(code, unsupported(name))(
                    f'The specified {name} "{v}" is not valid; valid values: {", ".join(allowed)}.'
                )
        if pattern is not None and not re.fullmatch(pattern, v):
            raise _kind(code, malformed(name))(f'The specified {name} "{v}" is malformed.')
        if max_len is not None and len(v) > max_len:
            raise invalid(name, f"longer than {max_len} characters")
        return v

    @overload
    def integer(
        self,
        name: str,
        required: Literal[True],
        default: int | None = None,
        min: int | None = None,
        max: int | None = None,
    ) -> int: ...

    @overload
    def integer(
        self, name: str, required: bool = False, *, default: int, min: int | None = None, max: int | None = None
    ) -> int: ...

    @overload
    def integer(
        self, name: str, required: bool = False, default: None = None, min: int | None = None, max: int | None = None
    ) -> int | None: ...

    def integer(
        self,
        name: str,
        required: bool = False,
        default: int | None = None,
        min: int | None = None,
        max: int | None = None,
    ) -> int | None:
        v = self.values.get(name)
        if v is None or v == "":
            if required:
                raise missing(name)
            return default
        try:
            n = int(v)
        except (TypeError, ValueError):
            raise invalid(name, f'"{v}" is not an integer') from None
        if min is not None and n < min:
            raise invalid(name, f"{n} is below the minimum {min}")
        if max is not None and n > max:
            raise invalid(name, f"{n} is above the maximum {max}")
        return n

    def flag(self, name: str, default: bool = False) -> bool:
        v = self.values.get(name)
        if v is None or v == "":
            return default
        s = str(v).lower()
        if s in ("true", "1"):
            return True
        if s in ("false", "0"):
            return False
        raise invalid(name, f'"{v}" is not a boolean')

    def sequence(self, name: str, required: bool = False, max_items: int | None = None) -> list[Any]:
        """A ``Name.N`` list; a single plain value counts as a one-item list. More than
        ``max_items`` values are refused with ``InvalidParameter`` naming the limit."""
        v = self.values.get(name)
        if v is None or v == "" or v == []:
            if required:
                raise missing(name)
            return []
        if isinstance(v, dict):
            raise invalid(name, "expected a list")
        items = v if isinstance(v, list) else [v]
        if max_items is not None and len(items) > max_items:
            raise invalid(f"{name}.N", f"at most {max_items} values, got {len(items)}")
        return items

    def json_list(self, name: str) -> list[Any]:
        """A parameter the API defines as a JSON array in a string, e.g. ``InstanceIds``."""
        v = self.values.get(name)
        if v is None or v == "":
            return []
        try:
            parsed = json.loads(v)
        except (TypeError, ValueError):
            raise invalid(name, "expected a JSON array") from None
        if not isinstance(parsed, list):
            raise invalid(name, "expected a JSON array")
        return parsed

    @overload
    def cidr(self, name: str, required: Literal[True], code: str | ErrorCode = CIDR_MALFORMED) -> str: ...

    @overload
    def cidr(self, name: str, required: bool = False, code: str | ErrorCode = CIDR_MALFORMED) -> str | None: ...

    def cidr(self, name: str, required: bool = False, code: str | ErrorCode = CIDR_MALFORMED) -> str | None:
        v = self.text(name, required=required)
        if v is None:
            return None
        try:
            net = ipaddress.ip_network(v if "/" in v else v + "/32", strict=False)
        except ValueError:
            raise _kind(code, CIDR_MALFORMED)(f'Specified {name} "{v}" is not a valid CIDR block.') from None
        return str(net)


def _kind(code: str | ErrorCode | None, default: ErrorCode) -> ErrorCode:
    if code is None:
        return default
    return code if isinstance(code, ErrorCode) else ErrorCode(code)
