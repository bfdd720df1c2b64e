"""STS 2015-04-01: who is calling (GetCallerIdentity) and role sessions (AssumeRole).

Sources: Alibaba's API metadata for STS 2015-04-01 (vendored under
``tests/data/api_metadata/sts-2015-04-01.json``: parameters, response schemas, error codes), the
reference pages https://help.aliyun.com/en/ram/developer-reference/api-sts-2015-04-01-assumerole
and .../api-sts-2015-04-01-getcalleridentity, and the RAM FAQ on roles and STS tokens
(https://www.alibabacloud.com/help/doc-detail/39744.htm). Identities, roles and trust:
``roles.py``; issued credentials and how requests signed with them are checked: ``credentials.py``.

**GetCallerIdentity** answers for the signer: ``Account`` (an account's root key: ``UserId`` the
account UID, ``Arn`` ``acs:ram::<uid>:root``), ``RAMUser`` (``UserId`` the user's ID, ``Arn``
``acs:ram::<uid>:user/<name>``) or ``AssumedRoleUser`` (a role session: ``AccountId`` the role's
account, ``RoleId``, ``PrincipalId`` ``<RoleId>:<session>``, no ``UserId``: the metadata returns
it "only when the caller is an Alibaba Cloud account or a RAM user", and ``RoleId`` "only when the
caller is a RAM role").

**AssumeRole** (metadata parameters and error table):

* ``RoleArn`` ``acs:ram::<uid>:role/<name>``, else ``InvalidParameter.RoleArn``; a role the
  account does not have: 404 ``EntityNotExist.Role`` "The specified Role not exists .";
* ``RoleSessionName`` 2-64 letters, digits and ``. @ - _``, else ``InvalidParameter.RoleSessionName``;
* ``DurationSeconds`` 900 up to the role's ``max_session_duration`` (default 3600), else
  ``InvalidParameter.DurationSeconds`` (the documented message says "15min/1hr", the bounds of a
  role with the default maximum; the emulator states the role's own);
* ``Policy`` at most 2048 bytes (``InvalidParameter.PolicySize``), a JSON policy document with
  ``Version`` and a ``Statement`` list (``InvalidParameter.PolicyGrammar``); accepted, not
  enforced (``roles.py``);
* ``ExternalId`` 2-1224 characters of ``[\\w+=,.@:/-]`` (``InvalidParameter.ExternalId``); a role
  whose trust policy requires one refuses any other with ``NoPermission``;
* 403 ``NoPermission`` "You are not authorized to do this action. You should be authorized by
  RAM." when the caller is an account's root key, or the role's trust policy does not name it (the
  three causes of the FAQ; every RAM user here holds ``sts:AssumeRole``);
* a missing ``RoleArn`` or ``RoleSessionName`` is the gateway's ``MissingParameter``, which the
  metadata does not list for STS (``docs/parity.md``, known differences).

The credentials act as the role's account until ``Expiration`` (UTC, whole seconds, the real
clock: ``credentials.py`` says why). ``SourceIdentity`` (SDK 1.2.0, not in the metadata) is
accepted and not used.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import credentials, roles
from ..context import Action, Context
from ..errors import MISSING_PARAMETER, error
from ..params import Params
from ..roles import Principal
from ..timefmt import iso
from .catalog import action

ROLE_ARN = re.compile(rf"acs:ram::(?P<uid>\d{{16}}):role/(?P<name>{roles.ROLE_NAME})")
SESSION_NAME = re.compile(r"[\w.@-]{2,64}", re.ASCII)
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
MAX_POLICY_BYTES = 2048


@error("InvalidParameter.RoleArn")
def bad_role_arn() -> str:
    return "The parameter RoleArn is wrongly formed."


@error("InvalidParameter.RoleSessionName")
def bad_session_name() -> str:
    return "The parameter RoleSessionName is wrongly formed."


@error("InvalidParameter.DurationSeconds")
def bad_duration(max_s: int) -> str:
    top = f"{max_s // 3600}hr" if max_s % 3600 == 0 else f"{max_s}s"
    return f"The Min/Max value of DurationSeconds is 15min/{top}."


@error("InvalidParameter.PolicySize")
def policy_too_large() -> str:
    return f"The size of Policy must be smaller than {MAX_POLICY_BYTES} bytes."


@error("InvalidParameter.PolicyGrammar")
def policy_grammar(detail: str) -> str:
    return f"The parameter Policy has not passed grammar check: {detail}"


@error("InvalidParameter.ExternalId")
def bad_external_id() -> str:
    return "The parameter ExternalId is wrongly formed."


@error("NoPermission", 403)
def no_permission(why: str) -> str:
    return f"You are not authorized to do this action. You should be authorized by RAM. ({why})"


@error("EntityNotExist.Role", 404)
def role_not_found() -> str:
    return "The specified Role not exists ."


def _caller(ctx: Context) -> Principal:
    if ctx.principal is not None:
        return ctx.principal
    return roles.key_principal(ctx.uid, ctx.account.key_kind, ctx.account.ram_user)


def get_caller_identity(ctx: Context, p: Params) -> dict[str, Any]:
    who = _caller(ctx)
    out = {
        "AccountId": who.account_uid,
        "PrincipalId": who.principal_id,
        "IdentityType": who.identity_type,
        "Arn": who.arn,
    }
    if who.user_id is not None:
        out["UserId"] = who.user_id
    if who.role_id is not None:
        out["RoleId"] = who.role_id
    return out


def _text(p: Params, name: str) -> str:
    value = p.raw(name)
    if value is None or value == "":
        raise MISSING_PARAMETER(
            f'The input parameter "{name}" that is mandatory for processing this request is not supplied.'
        )
    if not isinstance(value, str):
        raise {"RoleArn": bad_role_arn, "RoleSessionName": bad_session_name}[name]()
    return value


def _policy(p: Params) -> None:
    text = p.raw("Policy")
    if text is None or text == "":
        return
    if not isinstance(text, str):
        raise policy_grammar("a JSON policy document is required")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise policy_too_large()
    try:
        doc = json.loads(text)
    except ValueError:
        raise policy_grammar("not JSON") from None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if not isinstance(statements, list) or not statements or "Version" not in doc:
        raise policy_grammar('a document {"Version": "1", "Statement": [...]} is required')
    for s in statements:
        if not isinstance(s, dict) or s.get("Effect") not in ("Allow", "Deny") or "Action" not in s:
            raise policy_grammar("each statement needs an Effect (Allow or Deny) and an Action")


def _duration(p: Params, max_s: int) -> int:
    value = p.raw("DurationSeconds")
    if value is None or value == "":
        return roles.DEFAULT_MAX_SESSION_S
    if not isinstance(value, str) or not value.isdigit() or not roles.MIN_SESSION_S <= int(value) <= max_s:
        raise bad_duration(max_s)
    return int(value)


def assume_role(ctx: Context, p: Params) -> dict[str, Any]:
    arn, session = _text(p, "RoleArn"), _text(p, "RoleSessionName")
    m = ROLE_ARN.fullmatch(arn)
    if m is None:
        raise bad_role_arn()
    if not SESSION_NAME.fullmatch(session):
        raise bad_session_name()
    external_id = p.raw("ExternalId")
    if external_id not in (None, "") and (not isinstance(external_id, str) or not EXTERNAL_ID.fullmatch(external_id)):
        raise bad_external_id()
    _policy(p)
    caller = _caller(ctx)
    if caller.is_root:
        raise no_permission("an Alibaba Cloud account's own AccessKey cannot assume a role; use a RAM user's")
    role = roles.find_role(ctx.world, m["uid"], m["name"])
    if role is None:
        raise role_not_found()
    duration = _duration(p, int(role.get("max_session_duration", roles.DEFAULT_MAX_SESSION_S)))
    if not roles.trusts(ctx.world, role, caller):
        raise no_permission("the role's trust policy does not name the caller")
    if role.get("external_id") and external_id != role["external_id"]:
        raise no_permission("the role's trust policy requires another ExternalId")
    session_of = roles.session_principal(m["uid"], role, session)
    issued = credentials.issue(ctx.tx, session_of, caller.arn, duration)
    return {
        "Credentials": {
            "AccessKeyId": issued.access_key_id,
            "AccessKeySecret": issued.access_key_secret,
            "SecurityToken": issued.security_token,
            "Expiration": iso(issued.expiration),
        },
        "AssumedRoleUser": {"Arn": session_of.arn, "AssumedRoleId": session_of.principal_id},
    }


ACTIONS: dict[str, Action] = {
    "GetCallerIdentity": action(get_caller_identity),
    "AssumeRole": action(
        assume_role,
        MISSING_PARAMETER,
        bad_role_arn,
        bad_session_name,
        bad_duration,
        policy_too_large,
        policy_grammar,
        bad_external_id,
        no_permission,
        role_not_found,
        mutating=True,
    ),
}
