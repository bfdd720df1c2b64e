"""STS 2015-04-01: who is calling."""

from __future__ import annotations

from typing import Any

from ..context import Action, Context
from ..params import Params
from .catalog import action


def get_caller_identity(ctx: Context, p: Params) -> dict[str, Any]:
    uid = ctx.uid
    return {
        "AccountId": uid,
        "UserId": uid,
        "PrincipalId": uid,
        "IdentityType": "Account",
        "Arn": f"acs:ram::{uid}:root",
    }


ACTIONS: dict[str, Action] = {"GetCallerIdentity": action(get_caller_identity)}
