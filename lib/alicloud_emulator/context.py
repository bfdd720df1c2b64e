"""What a handler gets: the caller, the request's transaction and the world's settings.

Handlers never see HTTP. They read parameters through ``Params``, read and write resources
through ``ctx.tx`` and raise ``ApiError`` to refuse a request (which rolls it back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, missing
from .params import Params
from .regions import REGIONS
from .store import Tx
from .world import Account


@dataclass
class Context:
    tx: Tx
    account: Account
    action: str
    request_id: str
    params: Params
    world: dict[str, Any]
    accounts: list[Account] = field(default_factory=list)

    @property
    def uid(self) -> str:
        return self.account.uid

    @property
    def now(self) -> float:
        return self.tx.now

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
    """One API action: its handler, and whether it changes state (journal, ClientToken, faults)."""

    handler: Handler
    mutating: bool = False
    reads_at_view_time: bool = True
