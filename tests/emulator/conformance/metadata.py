"""The vendored API metadata as parameter specs, response schemas and documented error codes."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "api_metadata"
FILES = {
    "Vpc": "vpc-2016-04-28.json",
    "Ecs": "ecs-2014-05-26.json",
    "Sts": "sts-2015-04-01.json",
    "VpcPeer": "vpcpeer-2022-01-01.json",
}
VERSIONS = {"Vpc": "2016-04-28", "Ecs": "2014-05-26", "Sts": "2015-04-01", "VpcPeer": "2022-01-01"}

# JSON types the metadata's scalar types allow in a response.
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class ParamSpec:
    """One request parameter, nested ones by their dotted path (``Filter.N.Value``)."""

    path: str
    type: str
    required: bool = False
    enum: tuple[str, ...] = ()
    max_items: int | None = None
    max_length: int | None = None
    maximum: int | None = None
    minimum: int | None = None
    style: str | None = None
    items: dict[str, Any] | None = None  # the item schema of an array
    example: str | None = None

    @property
    def top(self) -> str:
        return self.path.split(".")[0]

    @property
    def nested(self) -> bool:
        return "." in self.path


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int


@dataclass
class ActionMeta:
    product: str
    version: str
    name: str
    deprecated: bool
    params: list[ParamSpec]
    response: dict[str, Any]
    errors: frozenset[ErrorSpec]
    common: frozenset[ErrorSpec]
    demo: dict[str, Any] | None = None
    styles: dict[str, str] = field(default_factory=dict)

    @property
    def documented(self) -> frozenset[ErrorSpec]:
        """The action's own codes and the product-wide ones."""
        return self.errors | self.common

    def param(self, path: str) -> ParamSpec | None:
        return next((p for p in self.params if p.path == path), None)


def _number(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _specs(schema: dict[str, Any], path: str, style: str | None) -> list[ParamSpec]:
    enum = schema.get("enum") or list(schema.get("enumValueTitles") or {})
    spec = ParamSpec(
        path=path,
        type=schema.get("type", "string"),
        required=bool(schema.get("required")) and "." not in path,
        enum=tuple(str(v) for v in enum),
        max_items=_number(schema.get("maxItems")),
        max_length=_number(schema.get("maxLength")),
        maximum=_number(schema.get("maximum")),
        minimum=_number(schema.get("minimum")),
        style=style,
        items=schema.get("items") if schema.get("type") == "array" else None,
        example=schema.get("example"),
    )
    out = [spec]
    if spec.type == "array" and isinstance(schema.get("items"), dict):
        item = schema["items"]
        if item.get("type") == "object":
            for name, sub in (item.get("properties") or {}).items():
                out += _specs(sub, f"{path}.N.{name}", style)
    elif spec.type == "object" and style != "json":
        for name, sub in (schema.get("properties") or {}).items():
            out += _specs(sub, f"{path}.{name}", style)
    return out


def _error_specs(raw: dict[str, Any]) -> frozenset[ErrorSpec]:
    return frozenset(
        ErrorSpec(e["errorCode"].strip(), int(status)) for status, errors in (raw or {}).items() for e in errors
    )


@functools.cache
def product(name: str) -> dict[str, ActionMeta]:
    """Every vendored action of ``name`` (``Vpc``, ``Ecs``, ``Sts``)."""
    data = json.loads((DATA / FILES[name]).read_text(encoding="utf-8"))
    common = frozenset(ErrorSpec(c["code"], int(c["status"])) for c in data["common_errors"])
    out = {}
    for action, api in data["apis"].items():
        params: dict[str, ParamSpec] = {}
        styles = {}
        for p in api["parameters"]:
            styles[p["name"]] = p.get("style") or ""
            for spec in _specs(p["schema"], p["name"], p.get("style")):
                params.setdefault(spec.path, spec)  # the metadata lists some parameters twice
        errors = _error_specs(api.get("errorCodes") or {})
        if _documents_dry_run(api["parameters"]):
            errors |= {ErrorSpec("DryRunOperation", 400)}
        out[action] = ActionMeta(
            product=name,
            version=data["version"],
            name=action,
            deprecated=bool(api.get("deprecated")),
            params=list(params.values()),
            response=((api.get("responses") or {}).get("200") or {}).get("schema") or {},
            errors=errors,
            common=common,
            demo=_demo(api.get("responseDemo")),
            styles=styles,
        )
    return out


def _documents_dry_run(parameters: list[dict[str, Any]]) -> bool:
    """A ``DryRun`` parameter whose description says a passed check answers ``DryRunOperation``
    documents that code for its action, even where the error table omits it."""
    return any(
        p["name"] == "DryRun" and "DryRunOperation" in (p["schema"].get("description") or "") for p in parameters
    )


def sources(name: str) -> dict[str, Any]:
    data = json.loads((DATA / FILES[name]).read_text(encoding="utf-8"))
    return {"taken": data["taken"], **data["sources"]}


def _demo(raw: Any) -> dict[str, Any] | None:
    """The JSON response example of an action, when the metadata has one."""
    for entry in raw or []:
        if entry.get("type") == "json" and entry.get("example"):
            try:
                value = json.loads(entry["example"])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def schema_errors(schema: dict[str, Any], value: Any, path: str = "") -> list[tuple[str, str]]:
    """Fields of ``value`` that the schema does not have, or whose JSON type differs:
    ``(path, what)`` with ``path`` like ``Vpcs.Vpc[].VpcId``."""
    out: list[tuple[str, str]] = []
    kind = schema.get("type")
    if kind is None:
        return out
    allowed = JSON_TYPES.get(kind, ())
    if allowed and (not isinstance(value, allowed) or (kind in ("integer", "number") and isinstance(value, bool))):
        return [(path or "(body)", f"is {type(value).__name__}, the metadata says {kind}")]
    if kind == "object" and isinstance(value, dict):
        props = schema.get("properties")
        if props is None:  # a free-form object
            return out
        for key, sub in value.items():
            where = f"{path}.{key}" if path else key
            if key not in props:
                out.append((where, "is not in the metadata's response schema"))
            else:
                out += schema_errors(props[key], sub, where)
    elif kind == "array" and isinstance(value, list):
        for item in value:
            out += schema_errors(schema.get("items") or {}, item, f"{path}[]")
    return out


def field_paths(value: Any, path: str = "") -> set[str]:
    """Every field path of a response body (``Vpcs.Vpc[].VpcId``), to count what was checked."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            where = f"{path}.{key}" if path else key
            out.add(where)
            out |= field_paths(sub, where)
    elif isinstance(value, list):
        for item in value:
            out |= field_paths(item, f"{path}[]")
    return out
