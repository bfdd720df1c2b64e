"""Which side of the link acts: one type for the whole library.

Inside the library the side a run or a notebook acts in is ``Role | None``: ``"initiator"`` or
``"acceptor"`` for one of two operators (each holds one account), ``None`` for one operator who holds
both accounts' profiles. Notebook parameters and command-line options spell "one operator" as an empty
string; :func:`parse_side` and :func:`side_text` convert at those boundaries, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .params import ROLES, Role

# The side a run acts in: a role, or None when one operator holds both accounts.
Acting = Role | None


def peer_of(role: Role) -> Role:
    """The other side's role."""
    if role not in ROLES:
        raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    return "acceptor" if role == "initiator" else "initiator"


def parse_side(value: Any, field: str = "side") -> Acting:
    """A side as notebooks and the CLI spell it ("" or None: one operator) -> ``Role | None``."""
    if value in ("", None):
        return None
    if value in ROLES:
        return value  # type: ignore[no-any-return]
    raise ValueError(
        f'{field} = {value!r}: expected "" (one operator holds both accounts\' profiles), "initiator" or "acceptor"'
    )


def side_text(side: Acting) -> str:
    """``side`` as a notebook parameter or a CLI option value ("" for one operator)."""
    return side or ""


def acting(sides: Iterable[Role], side: Acting) -> tuple[Role, ...]:
    """Those of ``sides`` a run acting in ``side`` acts in: all of them, or only ``side``."""
    return tuple(r for r in sides if side is None or r == side)


def key_owner(key: str) -> Role | None:
    """The side an output key belongs to: the role it names first (``ping_acceptor_to_initiator``
    is the acceptor's), or None for a key of the link (``connection_status``, ``verified``)."""
    named = sorted((key.find(role), role) for role in ROLES if role in key)
    return named[0][1] if named else None


def side_keys(keys: Iterable[str], side: Acting) -> tuple[str, ...]:
    """The keys a run acting only in ``side`` produces (all of them when ``side`` is None)."""
    return tuple(k for k in keys if side is None or key_owner(k) in (None, side))
