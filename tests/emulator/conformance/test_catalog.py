"""Error codes as data (``products/catalog.py``): each action declares the errors it may raise, and
an undeclared one is an emulator bug, never an answer."""

from __future__ import annotations

from typing import Any

import pytest
from alicloud_emulator.errors import ApiError, ErrorCode, error
from alicloud_emulator.products import ecs, vpc
from alicloud_emulator.products.catalog import Declared, UndeclaredError, action, codes_of, declared_errors


@error("Known.Code", 403)
def known_code(what: str) -> str:
    return f"known: {what}"


class _Ctx:
    action = "Probe"


def _raising(err: ApiError) -> Any:
    def handler(ctx: Any, p: Any) -> dict[str, Any]:
        raise err

    return handler


def test_a_declared_error_passes_and_an_undeclared_one_is_a_bug() -> None:
    declared = Declared(_raising(known_code("x")), codes_of(known_code))
    with pytest.raises(ApiError) as caught:
        declared(_Ctx(), None)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.status, caught.value.message) == ("Known.Code", 403, "known: x")
    with pytest.raises(UndeclaredError, match=r"Other\.Code"):
        Declared(_raising(ApiError("Other.Code", "no")), codes_of(known_code))(_Ctx(), None)  # type: ignore[arg-type]
    # the same code with another status is another error
    with pytest.raises(UndeclaredError):
        Declared(_raising(ApiError("Known.Code", "no", 400)), codes_of(known_code))(_Ctx(), None)  # type: ignore[arg-type]


def test_groups_of_constructors_and_codes_flatten() -> None:
    assert codes_of(known_code, (ErrorCode("A"), [ErrorCode("B", 404)])) == {
        ErrorCode("Known.Code", 403),
        ErrorCode("A"),
        ErrorCode("B", 404),
    }
    assert declared_errors(action(lambda ctx, p: {}, ErrorCode("A"), mutating=True)) == {ErrorCode("A")}


def test_the_codes_of_an_action_are_readable_data() -> None:
    connect = declared_errors(vpc.ACTIONS["ConnectRouterInterface"])
    assert connect is not None and ErrorCode("IncorrectRIStatus") in connect
    assert ErrorCode("IncorrectStatus") not in connect
    delete = declared_errors(vpc.ACTIONS["DeleteRouterInterface"])
    assert delete is not None
    assert {ErrorCode("InvalidInstance.StatusError"), ErrorCode("RouterInterfaceReferredByRouteEntry")} <= delete
    authorize = declared_errors(ecs.ACTIONS["AuthorizeSecurityGroup"])
    assert authorize is not None and ErrorCode("InvalidSourceGroupId.Mismatch") in authorize
