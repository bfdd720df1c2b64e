"""What the emulator's input schemas (world files, fault rules, control values) share on pydantic v2.

Models are strict (``"5"`` is not a number, ``true`` is not 1) and refuse unknown fields. A
``ValidationError`` becomes one line per problem, ``field.path: what is wrong``, with what would
be valid (and a "did you mean" for a misspelt field). Pydantic's errors carry the raw input value;
``problems`` never reads it, so a secret in a bad field is never repeated.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

MAX_SECONDS = 366 * 24 * 3600.0  # no delay, lag or window the emulator models is longer than a year


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _text_of_number(value: Any) -> Any:
    """YAML reads an unquoted ``1637243907412983`` as a number; an ID-like field means the text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


# A string that YAML may have read as a whole number (UIDs, names, keys, seeds).
Text = Annotated[str, BeforeValidator(_text_of_number)]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]


def problems(error: ValidationError, root: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
    """One ``field: message`` line per problem; never the value that was given."""
    out = []
    for e in error.errors(include_url=False, include_input=False, include_context=False):
        loc = path(e["loc"], prefix)
        if e["type"] == "extra_forbidden":
            out.append(f"{loc}: unknown field{_valid_fields(root, e['loc'])}")
            continue
        msg = str(e["msg"])
        for lead in ("Value error, ", "Assertion failed, "):
            if msg.startswith(lead):
                msg = msg[len(lead) :]
        if e["type"] == "missing":
            msg = "required"
        out.append(f"{loc}: {msg}" if loc else msg)
    return out


def path(loc: tuple[Any, ...], prefix: str = "") -> str:
    """``("vpcs", 0, "cidr")`` as ``vpcs[0].cidr``."""
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _valid_fields(root: type[BaseModel] | None, loc: tuple[Any, ...]) -> str:
    """``; valid fields: ...`` for the model that holds the unknown field at ``loc``."""
    model = _model_at(root, loc[:-1]) if root is not None else None
    if model is None:
        return ""
    names = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{hint}; valid fields: {', '.join(names)}"


def _model_at(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    for part in loc:
        model = _unwrap(model)
        if isinstance(part, int):
            args = typing.get_args(model)
            model = args[0] if args else None
        elif isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
            model = model.model_fields[part].annotation
        else:
            return None
    model = _unwrap(model)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(hint: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` as ``X``."""
    while True:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            hint = typing.get_args(hint)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(members) != 1:
                return hint
            hint = members[0]
        else:
            return hint


def finite(value: float) -> bool:
    return not (math.isinf(value) or math.isnan(value))
