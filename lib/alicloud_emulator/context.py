"""What a handler gets: the caller, the request's transaction and the world's settings.

Handlers never see HTTP. They read parameters through ``Params``, read and write resources
through ``ctx.tx`` and raise ``ApiError`` to refuse a request (which rolls it back).

An action whose work is costly (simulating a command on many instances) splits it so that no
other request waits for it: ``prepare(ctx, params)`` validates and reads what the work needs in
a read-only transaction, ``compute(prepared)`` does the work outside the store's lock (it sees no
store), and ``handler(ctx, params)`` records the outcome, found in ``ctx.computed``, in the
action's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from .errors import ApiError, missing
from .params import Params
from .regions import REGIONS
from .roles import Principal
from .store import Tx
from .world import Account
from .world_schema import Behaviour


@dataclass
class Context:
    tx: Tx
    account: Account
    action: str
    request_id: str
    params: Params
    world: dict[str, Any]
    accounts: list[Account] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)
    computed: Any = None  # what the action's ``compute`` returned, for its handler
    principal: Principal | None = None  # who signed the request (roles.py): STS reads it

    @property
    def uid(self) -> str:
        return self.account.uid

    @property
    def now(self) -> float:
        return self.tx.now

    @overload
    def region(self, required: Literal[True] = True) -> str: ...
    @overload
    def region(self, required: bool) -> str | None: ...
    def region(self, required: bool = True) -> str | None:
        """The request's ``RegionId``; the V3 SDK never adds it by itself, so it is checked here."""
        region = self.params.text("RegionId")
        if region is None:
            if required:
                raise missing("RegionId")
            return None
        if region not in REGIONS:
            raise ApiError(
                "InvalidRegionId.NotFound", f'The specified RegionId "{region}" does not exist in our records.', 404
            )
        return region

    def timing(self, key: str) -> float:
        return float((self.world.get("timing") or {}).get(key, 0.0))

    def account_by_uid(self, uid: str | None) -> Account | None:
        return next((a for a in self.accounts if a.uid == str(uid)), None)


Handler = Callable[[Context, Params], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    """One API action: its handler, and whether it changes state (journal, ClientToken, faults).

    ``reads_at_view_time``: a describe that may be served as of an earlier moment (read lag, the
    ``stale_read`` fault). ``prepare``/``compute``: the costly part, outside the store's lock (see
    the module docstring)."""

    handler: Handler
    mutating: bool = False
    reads_at_view_time: bool = True
    prepare: Callable[[Context, Params], Any] | None = None
    compute: Callable[[Any], Any] | None = None
