"""The runbook's phases: the registry of their declarations, in order.

Each phase module declares one :class:`~vpclink.phases.base.Phase` (``PHASE``) and holds everything
about that phase; this registry lists them by number. ``ALL`` is every declared phase, ``ORDER`` their
names, ``RUN`` the phases a run goes through (those that remove the link are run by ``teardown``
instead: ``REMOVE``), ``DISCOVER`` the read-only ones a run always starts with. ``get(name)`` returns
one declaration and ``producer(key)`` the phase whose output a key is.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import acceptor, connect, initiator, preflight, routes, security_groups, teardown, verify
from .base import Phase

ALL: tuple[Phase, ...] = tuple(
    sorted(
        (m.PHASE for m in (preflight, initiator, acceptor, connect, routes, security_groups, verify, teardown)),
        key=lambda p: p.number,
    )
)
_BY_NAME: dict[str, Phase] = {p.name: p for p in ALL}
ORDER: tuple[str, ...] = tuple(p.name for p in ALL)
RUN: tuple[str, ...] = tuple(p.name for p in ALL if p.kind != "remove")
REMOVE: tuple[str, ...] = tuple(p.name for p in ALL if p.kind == "remove")
DISCOVER: tuple[str, ...] = tuple(p.name for p in ALL if p.kind == "discover")


def get(name: str) -> Phase:
    """The declaration of phase ``name``; ``KeyError`` naming the valid phases otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown phase {name!r}; phases: {', '.join(ORDER)}") from None


def ordered(names: Iterable[str]) -> list[str]:
    """``names`` in run order."""
    return sorted(names, key=ORDER.index)


def producer(key: str) -> Phase | None:
    """The first phase whose outputs include ``key``, or None."""
    return next((p for p in ALL if key in p.output_keys), None)
