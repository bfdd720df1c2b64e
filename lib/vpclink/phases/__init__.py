"""The runbook's phases, in order; each module follows the contract in ``base``.

``PHASES`` lists the phases a run goes through (teardown is separate), ``NOTEBOOKS`` maps every
phase to its notebook stem, and ``get(name)`` returns a phase's module.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PHASES: tuple[str, ...] = ("preflight", "initiator", "acceptor", "connect", "routes", "security_groups", "verify")
NOTEBOOKS: dict[str, str] = {
    "preflight": "00_preflight",
    "initiator": "01_initiator",
    "acceptor": "02_acceptor",
    "connect": "03_connect",
    "routes": "04_routes",
    "security_groups": "05_security_groups",
    "verify": "06_verify",
    "teardown": "99_teardown",
}


def ordered(names: list[str]) -> list[str]:
    """``names`` in run order (teardown last)."""
    return sorted(names, key=list(NOTEBOOKS).index)


def get(name: str) -> ModuleType:
    """The module of phase ``name``; ``KeyError`` naming the valid phases otherwise."""
    if name not in NOTEBOOKS:
        raise KeyError(f"unknown phase {name!r}; phases: {', '.join(NOTEBOOKS)}")
    return importlib.import_module(f"{__name__}.{name}")
