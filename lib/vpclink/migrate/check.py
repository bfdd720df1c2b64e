"""What a migration refuses before it makes any call: each refusal names the field."""

from __future__ import annotations

from ..params import SPEC_BY_MBPS, LinkParams

BACKENDS = ("router_interface", "vpc_peer")


class MigrateInputError(ValueError):
    """Bad input for a migration: the message names the field and what would be valid."""


def refuse_bad_input(params: LinkParams, to: str) -> None:
    """Raise :class:`MigrateInputError` unless ``params`` (the link as built) can move to backend ``to``."""
    if to not in BACKENDS:
        raise MigrateInputError(f"--to: {to!r} is not a backend (valid: {', '.join(BACKENDS)})")
    if params.backend == to:
        other = next(b for b in BACKENDS if b != to)
        raise MigrateInputError(
            f"--to: the parameter file says the link {params.link} runs on backend {to} already (a finished "
            f"migration writes the new backend there); to move it back, give --to {other}"
        )
    # A router interface is bought by bandwidth: moving back needs one the Spec table knows.
    if to == "router_interface" and params.bandwidth_mbps not in SPEC_BY_MBPS:
        valid = ", ".join(str(m) for m in sorted(SPEC_BY_MBPS))
        raise MigrateInputError(
            f"bandwidth_mbps: a router interface needs one of {valid} Mbps "
            f"(got {params.bandwidth_mbps if params.bandwidth_mbps is not None else 'none'})"
        )
    if not any(params.routes.get(role) for role in ("initiator", "acceptor")):
        raise MigrateInputError("routes: the link routes nothing, so there is no route to move")
