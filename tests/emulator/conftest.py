"""Fixtures: an emulator in a background thread and the official SDK clients of both accounts."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_vpc20160428.client import Client as VpcClient
from alicloud_emulator.server import make_server
from alicloud_emulator.world import default_world, with_timing
from darabonba.model import DaraModel

from .control_client import ControlMixin


@dataclass
class Side:
    """One account's view: its identity and SDK clients bound to one region."""

    name: str
    uid: str
    region: str
    vpc: VpcClient
    ecs: EcsClient
    sts: StsClient


class Emu(ControlMixin):
    """A running emulator and helpers to drive its control API."""

    def __init__(self, server):
        self.server = server
        self.endpoint = server.endpoint
        self.url = server.url

    def advance(self, seconds: float) -> None:
        self.control("clock", {"advance": seconds})

    def faults(self, *rules: dict[str, Any]) -> Any:
        return self.control("faults", list(rules))

    def journal(self, **filters: str) -> list[dict[str, Any]]:
        qs = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.control("journal" + (f"?{qs}" if qs else ""))["entries"]

    def state(self) -> dict[str, Any]:
        return self.control("state")["accounts"]

    def side(self, name: str, region: str) -> Side:
        cfg = self.config(name, region)
        return Side(name, self.account(name)["uid"], region, VpcClient(cfg), EcsClient(cfg), StsClient(cfg))


def start_emulator(world: dict[str, Any] | None = None, db: str | None = None) -> Emu:
    return Emu(make_server(db=db, world=world if world is not None else with_timing(default_world(), scale=0)).start())


@pytest.fixture
def emu() -> Emu:
    """The tutorial world with every asynchronous step immediate."""
    e = start_emulator()
    yield e
    e.server.stop()


@pytest.fixture
def slow_emu() -> Emu:
    """The tutorial world with its demo delays; tests move time with ``emu.advance``."""
    e = start_emulator(default_world())
    yield e
    e.server.stop()


@pytest.fixture
def a(emu: Emu) -> Side:
    return emu.side("account-a", "cn-qingdao")


@pytest.fixture
def b(emu: Emu) -> Side:
    return emu.side("account-b", "cn-beijing")


def roundtrip(body_cls: Callable[[], Any], body: dict[str, Any]) -> None:
    """The SDK's response model must keep every key the emulator sent, with its type."""
    model = body_cls().from_map(body)
    again = model.to_map()
    assert again == body, f"SDK model dropped or changed keys: {set(body) ^ set(again)}"
    wrong = _type_errors(model, type(model).__name__)
    assert not wrong, "values whose JSON type differs from the SDK model's:\n" + "\n".join(wrong)


def _type_errors(model: Any, where: str) -> list[str]:
    """Compare each field a response model holds with its declared type hint, recursively.
    The models' ``from_map`` copies values without converting them, so a ``"5"`` where the
    API returns ``5`` survives the round trip; only this check catches it."""
    errors: list[str] = []
    for attr, hint in typing.get_type_hints(type(model).__init__).items():
        if attr == "return":
            continue
        errors += _value_errors(getattr(model, attr, None), hint, f"{where}.{attr}")
    return errors


def _value_errors(value: Any, hint: Any, where: str) -> list[str]:
    if value is None:
        return []
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, list):
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [e for i, v in enumerate(value) for e in _value_errors(v, args[0] if args else Any, f"{where}[{i}]")]
    if origin in (dict, dict):
        return [] if isinstance(value, dict) else [f"{where}: {value!r} is not an object"]
    if hint is Any:
        return []
    if isinstance(hint, type) and issubclass(hint, DaraModel):
        return (
            _type_errors(value, where) if isinstance(value, hint) else [f"{where}: {value!r} is not a {hint.__name__}"]
        )
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif hint is str:
        ok = isinstance(value, str)
    else:
        ok = True  # a hint this check does not know; the to_map() equality above still holds
    return (
        []
        if ok
        else [f"{where}: {value!r} is {type(value).__name__}, the SDK declares {getattr(hint, '__name__', hint)}"]
    )
