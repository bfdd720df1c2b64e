"""Creating a resource once, whatever runs at once and however late the cloud's reads are.

A step that creates (a router interface, a route) first looks for what exists, under the lock of its
side (``PhaseContext.exclusive``). A list may lag: a resource created seconds ago by another run may
be missing from it. So "not found" never leads straight to a second resource: the create carries the
step's ClientToken, which is the same for every run of the link (``PhaseContext.token``), and the
cloud answers a repeated token with the resource the first request created. The create is therefore
also an authoritative *find*. The other way round, a list may still show a resource deleted seconds
ago, as it was: the lookups that come before a create (``lookup.router_interface``, ``peering.find``)
read a name hit again by its ID, so that a deleted resource is never taken for the step's own.

**Generations.** A token's answer outlives its resource: after a teardown, the same token would
name the deleted interface. ``create_once`` therefore reads the answered ID *by ID* (a describe by
ID is not served from a lagging list) and, when the resource is gone, moves on to the step's next
generation (the next token). Every run walks the same chain of tokens from the same start and stops
at the first whose resource is alive, so concurrent runs still meet on one token. When the read by ID
does not show the answered resource, that read may lag too (it then says nothing about a create made
a moment ago), so a write decides: ``probe`` sets the resource's name to the name it has (a change of
nothing), and the API answers from the present: "not found" is gone, anything else is alive. Without a
probe, the read-lag allowance (``lag_allowance``) must pass before "not shown" counts as gone. The
chain starts at generation 0, or where this machine's register says the last teardown left it.

**The token's validity window** bounds what the chain must cover: the cloud remembers a token for a
limited time (hours; Alibaba does not publish the figure for VPC), after which the same token creates
anew. That is safe, because a resource old enough for its token to have expired is long visible to
the lookup by name that comes before the create; the chain only has to cover the recent past, which
lists may not show yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..cloud import CloudError
from ..params import Role
from ..waits import GONE, wait_for, wait_while
from .base import PhaseContext, PhaseError

# How many deleted generations of one step to walk past before giving up (each is a teardown and a
# recreate of the same link within the cloud's ClientToken window).
MAX_GENERATIONS = 32
PARAMETER_MISMATCH = "IdempotentParameterMismatch"
DELETING = ("Deleting",)
# What a probe answers: the API knows the resource, or it does but it is changing state (try again).
ALIVE, BUSY = "exists", "changing state"


@dataclass(frozen=True)
class Made:
    """The resource a create step ended with: its ID, whether a create of this step made it in this
    call (False: it existed, e.g. another run's create answered through the shared token), and the
    generation of the token that named it."""

    resource_id: str
    created: bool
    generation: int


def create_once(
    ctx: PhaseContext,
    role: Role,
    step: str,
    *,
    send: Callable[[str], str],
    state: Callable[[str], str],
    find: Callable[[], str | None],
    what: str,
    probe: Callable[[str], str] | None = None,
) -> Made:
    """Create the step's resource unless a run already did; see the module docstring.

    ``send(token)`` sends the create with that ClientToken and returns the answered ID; ``state(id)``
    reads the resource by ID (``GONE`` when absent); ``find()`` looks for it by name (a list), for
    when the token was taken by a request with other parameters; ``probe(id)`` asks the API itself with
    a write that changes nothing (``ALIVE``, ``BUSY`` while it is changing state, or ``GONE``). Call it
    holding ``role``'s lock.
    """
    register = ctx.register(role)
    noted = register.get(step)
    start = int(noted.get("generation") or 0)
    clock = ctx.cloud.clock
    for generation in range(start, start + MAX_GENERATIONS):
        began = clock.now()
        try:
            resource_id = send(ctx.token(role, step, generation))
        except CloudError as e:
            if e.code != PARAMETER_MISMATCH:
                raise
            # The token was used by a create with other parameters (the link's parameters changed
            # between two runs). Its resource, if alive, carries our name: wait for a list to show it.
            found = wait_while(
                lambda: find() or GONE,
                pending=(GONE,),
                what=what,
                resource_id=f"created with ClientToken generation {generation}",
                timeout=ctx.lag_allowance(),
                progress=ctx.progress,
                clock=clock,
                goal="visible in a list (reads may lag)",
                began=began,
            )
            if found != GONE:
                register.note(step, found, generation, ctx.run_id)
                return Made(found, False, generation)
            continue
        read = _reader(state, resource_id)
        seen = read()
        if seen == GONE and probe is not None:
            asked = wait_for(
                _reader(probe, resource_id),
                what=what,
                resource_id=resource_id,
                expected=(ALIVE, GONE),
                timeout=ctx.timeout("router_interface"),
                progress=ctx.progress,
                clock=clock,
                goal="known to the API or not (a write that changes nothing)",
            )
            seen = GONE if asked == GONE else ALIVE
        elif seen == GONE:
            seen = wait_while(
                read,
                pending=(GONE,),
                what=what,
                resource_id=resource_id,
                timeout=ctx.lag_allowance(),
                progress=ctx.progress,
                clock=clock,
                goal="visible (reads may lag)",
                began=began,
            )
        if seen in DELETING:
            wait_for(
                read,
                what=what,
                resource_id=resource_id,
                expected=(GONE,),
                timeout=ctx.timeout("router_interface"),
                progress=ctx.progress,
                clock=clock,
            )
            seen = GONE
        if seen == GONE:
            continue  # an earlier generation's resource, deleted since: the next token
        before = noted.get("id") == resource_id
        register.note(step, resource_id, generation, ctx.run_id)
        return Made(resource_id, not before, generation)
    raise PhaseError(
        f"{what}: the ClientTokens of {MAX_GENERATIONS} generations of this step all name {what}s that were "
        "deleted since; the link has been created and torn down that often within the cloud's token window. "
        "Rename the link (a new name starts new tokens) or try again later"
    )


def _reader(state: Callable[[str], str], resource_id: str) -> Callable[[], str]:
    return lambda: state(resource_id)
