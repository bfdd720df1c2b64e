"""The conformance checks of one action against its vendored metadata, and their outcome.

For every action the emulator implements, on a fresh emulator with the action's baseline set up:

* ``missing``: each required parameter (metadata ``required``) dropped from the baseline is refused
  (4xx) with a ``Missing*`` code the metadata documents (for the action or product-wide), in a
  message that names the parameter;
* ``enum``: a value outside a documented enum (``enum`` or ``enumValueTitles``) is refused with a
  documented code;
* ``limit``: one over ``maxItems``, ``maxLength`` or ``maximum`` (one under ``minimum``) is refused
  with a documented code naming the parameter; an integer exactly at its documented bound is not
  refused for that parameter;
* ``field``: every field of the baseline's response is in the metadata's response schema with
  that JSON type;
* ``code``: every error the action declares (``products/catalog.py``) is documented for it, with
  its HTTP status; an action that declares none is ``undeclared``.

Where the action documents codes that name the parameter (``InvalidSpec.*`` for ``Spec``), a
refusal must use one of them. Every other answer is a ``Finding``; ``known.py`` decides which
findings ``docs/parity.md`` allows.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from alicloud_emulator.dispatch import PRODUCTS
from alicloud_emulator.products.catalog import declared_errors

from . import metadata
from .baselines import BASELINES, Baseline
from .metadata import ActionMeta, ErrorSpec, ParamSpec
from .sdk import CLIENTS, Reply, Session

BAD_ENUM = "NotADocumentedValue"


@dataclass(frozen=True)
class Finding:
    """A difference between the emulator and the metadata."""

    product: str
    action: str
    kind: str  # missing, enum, limit, field, code, undeclared, baseline, metadata
    subject: str  # the parameter, field path or "Code status"
    detail: str

    @property
    def key(self) -> tuple[str, str, str]:
        return f"{self.product}.{self.action}", self.kind, self.subject


@dataclass
class ActionResult:
    product: str
    action: str
    probes: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    implemented: frozenset[ErrorSpec] | None = None
    documented: frozenset[ErrorSpec] = frozenset()
    findings: list[Finding] = field(default_factory=list)
    sdk_only: set[str] = field(default_factory=set)  # fields the SDK model has, the 2024 schema not

    def find(self, kind: str, subject: str, detail: str) -> None:
        self.findings.append(Finding(self.product, self.action, kind, subject, detail))

    @property
    def codes_documented(self) -> int:
        """How many of the implemented codes the metadata documents (action or product-wide)."""
        if self.implemented is None:
            return 0
        return sum(
            1
            for e in self.implemented
            if ErrorSpec(e.code, e.status) in self.documented or ErrorSpec(e.code, e.status) in _common(self.product)
        )


def _common(product: str) -> frozenset[ErrorSpec]:
    actions = metadata.product(product)
    return next(iter(actions.values())).common if actions else frozenset()


def implemented_actions() -> list[tuple[str, str]]:
    return sorted((name, action) for name, _prefix, actions in PRODUCTS.values() for action in actions)


def run_all() -> list[ActionResult]:
    return [check(product, action) for product, action in implemented_actions()]


def check(product: str, action: str) -> ActionResult:
    result = ActionResult(product, action)
    meta = metadata.product(product).get(action)
    baseline = BASELINES.get((product, action))
    if meta is None:
        result.find(
            "metadata", "*", "no vendored metadata: run python -m tests.emulator.conformance.vendor (see its docstring)"
        )
        return result
    result.documented = meta.errors
    _check_codes(result, meta, product, action)
    if baseline is None:
        result.find("baseline", "*", "no baseline request: add one to tests/emulator/conformance/baselines.py")
        return result
    with Session() as s:
        params = baseline.setup(s)
        _probe(result, s, meta, baseline, params)
        reply = _send(s, meta, baseline, params)
        if not reply.ok:
            result.find(
                "baseline", "*", f"the baseline request is refused: {reply.status} {reply.code} {reply.message}"
            )
            return result
        result.fields = metadata.field_paths(reply.body)
        known_to_sdk = sdk_paths(product, action, reply.body) if reply.via == "model" else set()
        for path, what in metadata.schema_errors(meta.response, reply.body):
            if what.startswith("is not in") and path in known_to_sdk:
                result.sdk_only.add(path)
            else:
                result.find("field", path, what)
    return result


def sdk_paths(product: str, action: str, body: dict[str, Any]) -> set[str]:
    """The field paths of ``body`` that the official SDK's response model keeps: the SDK is generated
    from newer metadata than the vendored response schemas (``docs/parity.md``)."""
    cls = getattr(CLIENTS[product][1], f"{action}ResponseBody", None)
    if cls is None:
        return set()
    return metadata.field_paths(cls().from_map(copy.deepcopy(body)).to_map())


def _send(s: Session, meta: ActionMeta, baseline: Baseline, params: dict[str, Any]) -> Reply:
    return s.send(meta.product, meta.name, params, baseline.account, baseline.region, meta.styles)


def _check_codes(result: ActionResult, meta: ActionMeta, product: str, action: str) -> None:
    spec = next(actions for name, _prefix, actions in PRODUCTS.values() if name == product)[action]
    declared = declared_errors(spec)
    if declared is None:
        result.find("undeclared", "*", "the action declares no error codes (products/catalog.py)")
        return
    result.implemented = frozenset(ErrorSpec(e.code, e.status) for e in declared)
    for e in sorted(result.implemented, key=lambda e: (e.code, e.status)):
        if e not in meta.documented:
            result.find("code", f"{e.code} {e.status}", "declared by the emulator, not documented for the action")


# -- probes ---------------------------------------------------------------------------------------------------
def _probe(result: ActionResult, s: Session, meta: ActionMeta, baseline: Baseline, params: dict[str, Any]) -> None:
    for spec in meta.params:
        if spec.required:
            _missing(result, s, meta, baseline, params, spec)
        if spec.enum and spec.type == "string" and not spec.nested:
            changed = dict(params, **{spec.path: BAD_ENUM})
            _refused(result, s, meta, baseline, changed, spec, "enum", f"{spec.path}={BAD_ENUM}")
        for label, changed in _over_limits(spec, params):
            _refused(result, s, meta, baseline, changed, spec, "limit", label)
        for label, changed in _at_bounds(spec, params):
            result.probes.append(f"limit {label}")
            reply = _send(s, meta, baseline, changed)
            if not reply.ok and _names(reply.message, spec):
                result.find("limit", label, f"refused at the documented bound: {reply.status} {reply.code}")


def _missing(
    result: ActionResult, s: Session, meta: ActionMeta, baseline: Baseline, params: dict[str, Any], spec: ParamSpec
) -> None:
    result.probes.append(f"missing {spec.path}")
    if spec.path not in params:
        result.find("missing", spec.path, "the baseline succeeds without this required parameter")
        return
    reply = _send(s, meta, baseline, {k: v for k, v in params.items() if k != spec.path})
    if reply.ok:
        result.find("missing", spec.path, "accepted without it")
        return
    allowed = {e for e in meta.documented if e.code.startswith("Missing")}
    if ErrorSpec(str(reply.code), reply.status) not in allowed:
        result.find("missing", spec.path, f"answered {reply.code} {reply.status}; documented: {_codes(allowed)}")
    elif spec.path not in reply.message:
        result.find("missing", spec.path, f"the message does not name it: {reply.message}")


def _refused(
    result: ActionResult,
    s: Session,
    meta: ActionMeta,
    baseline: Baseline,
    changed: dict[str, Any],
    spec: ParamSpec,
    kind: str,
    label: str,
) -> None:
    result.probes.append(f"{kind} {label}")
    reply = _send(s, meta, baseline, changed)
    if reply.ok:
        result.find(kind, label, "accepted")
        return
    got = ErrorSpec(str(reply.code), reply.status)
    specific = {e for e in _naming(meta.errors, spec) if not e.code.startswith("Missing")}
    if got not in meta.documented:
        result.find(kind, label, f"answered {got.code} {got.status}, which is not documented for the action")
    elif specific and got not in specific:
        result.find(kind, label, f"answered {got.code} {got.status}; the action documents {_codes(specific)}")
    elif not _names(reply.message, spec):
        result.find(kind, label, f"the message does not name the parameter: {reply.message}")


def _codes(errors: set[ErrorSpec] | frozenset[ErrorSpec]) -> str:
    return ", ".join(sorted(f"{e.code} {e.status}" for e in errors)) or "none"


def _leaf(spec: ParamSpec) -> str:
    return spec.path.split(".")[-1] if spec.path.split(".")[-1] != "N" else spec.path.split(".")[-2]


def _naming(errors: frozenset[ErrorSpec], spec: ParamSpec) -> set[ErrorSpec]:
    """The action's documented codes that name the parameter (``InvalidSpec.*`` for ``Spec``)."""
    leaf = _leaf(spec).lower()
    return {e for e in errors if re.search(rf"(?<![a-z]){re.escape(leaf)}(?![a-z])", e.code.lower().replace(".", " "))}


def _names(message: str, spec: ParamSpec) -> bool:
    return _leaf(spec) in message or spec.path.replace(".N", "") in message


# -- values for the limit probes -------------------------------------------------------------------------------
def _over_limits(spec: ParamSpec, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    if spec.max_items is not None and spec.type == "array":
        out.append((f"{spec.path} {spec.max_items + 1} items", _with(params, spec.path, lambda cur: _grown(spec, cur))))
    if spec.max_length is not None and spec.type == "string":
        out.append(
            (
                f"{spec.path} {spec.max_length + 1} characters",
                _with(params, spec.path, lambda _: "a" * (spec.max_length + 1)),
            )
        )  # type: ignore[operator]
    if spec.type == "integer" and spec.maximum is not None:
        out.append((f"{spec.path}={spec.maximum + 1}", _with(params, spec.path, lambda _: spec.maximum + 1)))  # type: ignore[operator]
    if spec.type == "integer" and spec.minimum is not None:
        out.append((f"{spec.path}={spec.minimum - 1}", _with(params, spec.path, lambda _: spec.minimum - 1)))  # type: ignore[operator]
    return out


def _at_bounds(spec: ParamSpec, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if spec.type != "integer" or spec.nested:
        return []
    return [
        (f"{spec.path}={bound}", _with(params, spec.path, lambda _, b=bound: b))
        for bound in (spec.minimum, spec.maximum)
        if bound is not None
    ]


def _grown(spec: ParamSpec, current: Any) -> list[Any]:
    """``maxItems + 1`` distinct items, modelled on the baseline's first item when it has one."""
    assert spec.max_items is not None
    first = current[0] if isinstance(current, list) and current else _synthetic(spec.items or {})
    return [_variant(first, i) for i in range(spec.max_items + 1)]


def _synthetic(schema: dict[str, Any]) -> Any:
    if schema.get("type") == "object":
        return {k: _synthetic(v) for k, v in (schema.get("properties") or {}).items() if v.get("type") == "string"}
    return str(schema.get("example") or "x").split(",")[0]


def _variant(item: Any, i: int) -> Any:
    if isinstance(item, dict):
        out = copy.deepcopy(item)
        if isinstance(out.get("Key"), str):
            out["Key"] = f"{out['Key']}{i}"
        return out
    return f"{item}{i}" if isinstance(item, str) else item


def _with(params: dict[str, Any], path: str, change: Any) -> dict[str, Any]:
    """``params`` with the value at ``path`` (``Filter.N.Value`` means the first filter's) replaced
    by ``change(current value)``; a missing first item is made up from nothing."""
    out = copy.deepcopy(params)
    parts = path.split(".")
    node: Any = out
    for i, part in enumerate(parts[:-1]):
        if part == "N":
            continue
        nxt = parts[i + 1]
        if nxt == "N":
            lst = node.setdefault(part, [{}]) if isinstance(node, dict) else [{}]
            if not lst:
                lst.append({})
            node = lst[0]
        else:
            node = node.setdefault(part, {})
    last = parts[-1]
    node[last] = change(node.get(last))
    return out
