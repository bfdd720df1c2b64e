"""Which errors each action may return, declared beside the action, as data.

A product's action table names each handler with the errors it may raise::

    "DeleteRouterInterface": action(delete_router_interface, REGION, RI_LOOKUP, vpc_errors.ri_status_error, ...)

``action`` wraps the handler in a ``Declared`` handler that knows the declared codes (each an
``ErrorCode``: code and HTTP status). An error whose code and status are not declared is a bug in
the emulator, not an answer: it becomes ``UndeclaredError``, which the server answers as any bug
(500 ``InternalError``), so a test that reaches an undeclared code fails at once and the
declarations stay the complete list. ``declared_errors`` reads them back; the conformance tests
compare them with the codes Alibaba's API metadata documents for each action.

An action that splits its work (``prepare``/``compute``, ``context.py``) declares once: its
``prepare`` is held to the same declaration as its handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

from ..context import Action, Context, Handler
from ..errors import ApiError, Constructor, ErrorCode
from ..params import Params

Raisable: TypeAlias = ErrorCode | Constructor[Any] | Iterable["Raisable"]


class UndeclaredError(RuntimeError):
    """A handler raised an error its action does not declare (an emulator bug)."""


def codes_of(*raises: Raisable) -> frozenset[ErrorCode]:
    """Flatten constructors, codes and groups of them into a set of ``ErrorCode``."""
    out: set[ErrorCode] = set()
    for r in raises:
        if isinstance(r, ErrorCode):
            out.add(r)
        elif isinstance(r, Constructor):
            out.add(r.kind)
        else:
            out |= codes_of(*r)
    return frozenset(out)


@dataclass(frozen=True)
class Declared:
    """A handler and the errors it may raise."""

    handler: Handler
    errors: frozenset[ErrorCode]

    def __call__(self, ctx: Context, p: Params) -> dict[str, Any]:
        try:
            return self.handler(ctx, p)
        except ApiError as e:
            if ErrorCode(e.code, e.status) not in self.errors:
                raise UndeclaredError(
                    f"{ctx.action} raised {e.code} ({e.status}), which its declaration does not list: {e.message}"
                ) from e
            raise


@dataclass(frozen=True)
class DeclaredPrepare:
    """An action's ``prepare`` (``context.py``), held to the action's declaration."""

    prepare: Callable[[Context, Params], Any]
    errors: frozenset[ErrorCode]

    def __call__(self, ctx: Context, p: Params) -> Any:
        return Declared(self.prepare, self.errors)(ctx, p)


def action(
    handler: Handler,
    *raises: Raisable,
    mutating: bool = False,
    prepare: Callable[[Context, Params], Any] | None = None,
    compute: Callable[[Any], Any] | None = None,
) -> Action:
    """An action table entry whose handler (and ``prepare``) may raise exactly the errors in ``raises``."""
    errors = codes_of(*raises)
    return Action(
        Declared(handler, errors),
        mutating=mutating,
        prepare=None if prepare is None else DeclaredPrepare(prepare, errors),
        compute=compute,
    )


def declared_errors(spec: Action) -> frozenset[ErrorCode] | None:
    """The errors an action declares, or ``None`` for an action that declares none."""
    return spec.handler.errors if isinstance(spec.handler, Declared) else None
