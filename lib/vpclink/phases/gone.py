"""The end of one delete in a teardown: wait until the API says the resource is gone, note it, forget it.

Shared by the router-interface teardown (route entries, router interfaces) and the VPC peering
teardown (the peering connection), so that how a delete is awaited and recorded changes in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..params import Role
from ..waits import GONE, wait_for
from .base import PhaseContext

if TYPE_CHECKING:
    from .teardown import Sweep  # for the type only: teardown imports this module


def confirm_gone(
    ctx: PhaseContext,
    role: Role,
    sweep: Sweep,
    *,
    first: str,
    probe: Callable[[], str],
    timeout: float,
    what: str,
    action: str,
    target: str,
    resource_id: str,
    answered_by: str = "",
    shown_as: str = "",
    detail: str = "confirmed gone by the API",
) -> bool:
    """Wait until ``probe`` answers ``GONE``, then count the delete in ``sweep``, record it and
    forget ``resource_id`` in ``role``'s register. Whether the resource was there.

    ``first`` is its state before the wait (the first probe's answer, or a read): ``GONE`` records
    "already gone" and waits for nothing. ``answered_by`` is the API action ``probe`` calls, named in
    the wait's goal (default ``action``: the delete itself, repeated); ``shown_as`` names the
    resource in the wait (default ``resource_id``). Without a ``resource_id`` (a route named by its
    destination, which no list showed) an "already gone" is not recorded and nothing is forgotten:
    there is no ID to note.
    """
    if first == GONE:
        if resource_id:
            ctx.outcome(role, action, target, "already gone", resource_id, "the API does not know it")
            forget(ctx, role, resource_id)
        return False
    wait_for(
        probe,
        what=what,
        resource_id=shown_as or resource_id,
        expected=(GONE,),
        timeout=timeout,
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        goal=f"gone ({answered_by or action} answers that it does not exist)",
    )
    sweep.deleted(ctx)
    ctx.outcome(role, action, target, "deleted", resource_id, detail)
    if resource_id:
        forget(ctx, role, resource_id)
    return True


def forget(ctx: PhaseContext, role: Role, resource_id: str) -> None:
    """The register's step that created ``resource_id`` has spent its generation."""
    register = ctx.register(role)
    for step, noted in register.ids().items():
        if noted == resource_id:
            register.gone(step)
