"""API errors as the real service reports them: an HTTP status, a code and a message.

Every code a product can return is an ``ErrorCode`` (the code and its HTTP status) or a named
constructor made with ``@error`` (the same, plus how its message is built from its arguments).
Products keep theirs in one module each (``products/vpc_errors.py``, ``products/ecs_errors.py``),
and each action declares which of them it may raise (``products/catalog.py``), so the codes an
action can return are data that the conformance tests compare with the vendor's API metadata.

The few codes shared by every product (a missing or invalid parameter, an unknown region, a dry
run) are here. Messages name only what the caller sent or owns: never another account's
resource, name or UID.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class ApiError(Exception):
    """An error the API returns to the caller. Raising it rolls the request back."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after_ms: int | None = None

    def with_retry_after(self, ms: int | None) -> ApiError:
        """Ask the client to wait (``x-acs-retry-after``), as throttling does."""
        self.retry_after_ms = ms
        return self


class ErrorCode:
    """One documented error: its code and HTTP status. ``ErrorCode(...)(message)`` is the error."""

    __slots__ = ("code", "status")

    def __init__(self, code: str, status: int = 400) -> None:
        self.code = code
        self.status = status

    def __call__(self, message: str) -> ApiError:
        return ApiError(self.code, message, self.status)

    def __repr__(self) -> str:
        return f"ErrorCode({self.code!r}, {self.status})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorCode) and (self.code, self.status) == (other.code, other.status)

    def __hash__(self) -> int:
        return hash((self.code, self.status))


class Constructor(Generic[P]):
    """A named error constructor: its arguments make the message; it carries its ``ErrorCode``."""

    def __init__(self, kind: ErrorCode, message: Callable[P, str]) -> None:
        self.kind = kind
        self._message = message
        self.__name__ = getattr(message, "__name__", kind.code)
        self.__doc__ = message.__doc__

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def status(self) -> int:
        return self.kind.status

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> ApiError:
        return self.kind(self._message(*args, **kwargs))

    def __repr__(self) -> str:
        return f"<error {self.__name__}: {self.kind.code} {self.kind.status}>"


def error(code: str, status: int = 400) -> Callable[[Callable[P, str]], Constructor[P]]:
    """Decorate a function that returns a message: it becomes the constructor of that error."""

    def wrap(message: Callable[P, str]) -> Constructor[P]:
        return Constructor(ErrorCode(code, status), message)

    return wrap


# -- codes every product shares ---------------------------------------------------------------------
MISSING_PARAMETER = ErrorCode("MissingParameter")
INVALID_PARAMETER = ErrorCode("InvalidParameter")
REGION_NOT_FOUND = ErrorCode("InvalidRegionId.NotFound", 404)  # raised by ``Context.region``
DRY_RUN = ErrorCode("DryRunOperation")


@error("MissingParameter")
def missing(name: str) -> str:
    return f'The input parameter "{name}" that is mandatory for processing this request is not supplied.'


@error("MissingParameter")
def missing_one_of(names: str, why: str = "") -> str:
    """A parameter that is required only together with (or instead of) others."""
    return f"The input parameter {names} that is mandatory for processing this request is not supplied" + (
        f" ({why})." if why else "."
    )


@error("InvalidParameter")
def invalid(name: str, detail: str) -> str:
    return f'The specified parameter "{name}" is not valid: {detail}'


@error("DryRunOperation")
def dry_run_passed() -> str:
    return "Request validation has been passed with DryRun flag set."


def unsupported(name: str, status: int = 400) -> ErrorCode:
    """``Invalid<Name>.ValueNotSupported``: the code ``Params.text`` gives a value outside its choices."""
    return ErrorCode(f"Invalid{name}.ValueNotSupported", status)


def malformed(name: str, status: int = 400) -> ErrorCode:
    """``Invalid<Name>.Malformed``: the code ``Params.text`` gives a value that fails its pattern."""
    return ErrorCode(f"Invalid{name}.Malformed", status)


def not_found(code: str, message: str) -> ApiError:
    """A 404 with a code named at the call site (kept for modules not yet on named constructors)."""
    return ApiError(code, message, 404)
