"""RAM identities in a world: whose AccessKey signs a request, the roles an account offers, and who
may assume them (STS AssumeRole, ``products/sts.py``).

**Keys.** Every account of a world has one AccessKey pair. ``key_kind`` says whose it is:

* ``ram_user`` (the default): a RAM user's key (the user is ``ram_user``, by default named after
  the account). Alibaba Cloud recommends RAM users' keys for API access and the Alibaba Cloud CLI's
  ``RamRoleArn`` profile is a RAM user's key plus a role
  (https://www.alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair), so worlds that do
  not say otherwise can assume roles. GetCallerIdentity answers ``IdentityType: RAMUser`` and
  ``Arn: acs:ram::<uid>:user/<name>``; every other action acts as the account, as before.
* ``root``: the Alibaba Cloud account's own key. It may call everything except AssumeRole: "you
  cannot use the AccessKey pair of an Alibaba Cloud account to call AssumeRole", answered 403
  ``NoPermission`` (FAQ https://www.alibabacloud.com/help/doc-detail/39744.htm;
  https://help.aliyun.com/en/ram/support/faq-about-ram-roles-and-sts-tokens).

RAM users and roles hold every permission over VPC, ECS, VpcPeer and STS here (as with
``AdministratorAccess`` plus ``AliyunSTSAssumeRoleAccess``): the emulator does not evaluate RAM
policies, so an AssumeRole ``Policy`` is checked for its form and size, never applied.

**Roles** (``accounts[].roles``): ``name`` (RAM role names: up to 64 letters, digits, ``.`` and
``-``, case-insensitive), ``trusted`` (the trust policy's ``Principal.RAM`` list), optional
``max_session_duration`` (3600-43200 s, default 3600: RAM CreateRole ``MaxSessionDuration``,
https://www.alibabacloud.com/help/en/ram/developer-reference/api-ram-2015-05-01-createrole),
optional ``external_id`` (the trust policy's ``sts:ExternalId`` condition) and ``id``.

A ``trusted`` entry is, as the trust policy's principals are
(https://help.aliyun.com/en/ram/user-guide/edit-the-trust-policy-of-a-ram-role):

* ``acs:ram::<uid>:root``, or the name of an account of the world (short for it): any RAM user or
  role session of that account, the role's own or another ("cross-account access");
* ``acs:ram::<uid>:user/<name>``: that RAM user only;
* ``acs:ram::<uid>:role/<name>``: sessions of that role (role chaining) [inferred by analogy].

The IDs the API shows (a RAM user's ``UserId``, a role's ``RoleId``) are made up from the
account UID and the name, so they are stable across restarts; their lengths follow the metadata's
examples (16 and 18 digits). ``AssumedRoleUser.Arn`` is ``acs:ram::<uid>:role/<role>/<session>``
and ``AssumedRoleId`` ``<RoleId>:<session>`` (AssumeRole metadata examples; the ActionTrail sample
https://www.alibabacloud.com/help/doc-detail/289050.htm); GetCallerIdentity of a role session shows
the same ARN [inferred: the metadata gives no example for a role].
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field

from .schema import Strict, Text

KeyKind = Literal["ram_user", "root"]
ROLE_NAME = r"[A-Za-z0-9.-]{1,64}"
RAM_USER_NAME = r"[A-Za-z0-9._@-]{1,64}"
ARN = re.compile(
    rf"acs:ram::(?P<uid>\d{{16}}):(?:(?P<root>root)|user/(?P<user>{RAM_USER_NAME})|role/(?P<role>{ROLE_NAME}))"
)
MIN_SESSION_S, DEFAULT_MAX_SESSION_S, MAX_SESSION_S = 900, 3600, 43200


class Role(Strict):
    """One RAM role of an account, as the world file gives it."""

    name: Annotated[str, Field(pattern=rf"^{ROLE_NAME}$")]
    trusted: Annotated[list[Annotated[Text, Field(min_length=1, max_length=256)]], Field(min_length=1, max_length=50)]
    max_session_duration: Annotated[int, Field(ge=DEFAULT_MAX_SESSION_S, le=MAX_SESSION_S)] = DEFAULT_MAX_SESSION_S
    external_id: Annotated[str, Field(min_length=2, max_length=1224, pattern=r"^[\w+=,.@:/-]+$")] | None = None
    id: Annotated[Text, Field(pattern=r"^\d{18}$")] | None = None
    description: Annotated[str, Field(max_length=1024)] = ""


class _AccountFields(Protocol):
    """What the world schema's ``Account`` has that the checks below read."""

    name: str
    uid: str
    key_kind: KeyKind
    ram_user: str | None
    roles: list[Role]


@dataclass(frozen=True)
class Principal:
    """Who signed a request, as GetCallerIdentity tells it and the journal records it."""

    identity_type: str  # Account | RAMUser | AssumedRoleUser
    account_uid: str
    arn: str
    principal_id: str
    user_id: str | None = None  # the account or RAM user (not for a role session)
    role_id: str | None = None
    role_arn: str | None = None
    session: str | None = None

    @property
    def is_root(self) -> bool:
        return self.identity_type == "Account"


def user_name(account_name: str, ram_user: str | None) -> str:
    """The RAM user a ``ram_user`` key belongs to: ``ram_user``, else the account's name made fit."""
    if ram_user:
        return ram_user
    fitted = re.sub(r"[^A-Za-z0-9._@-]", "-", account_name)[:64]
    return fitted or "emulator-user"


def _digits(kind: str, uid: str, name: str, n: int) -> str:
    value = int.from_bytes(hashlib.sha256(f"{kind}:{uid}:{name.lower()}".encode()).digest()[:12], "big")
    return str(10 ** (n - 1) + value % (9 * 10 ** (n - 1)))


def role_id(uid: str, role: dict[str, Any]) -> str:
    return str(role.get("id") or _digits("role", uid, role["name"], 18))


def role_arn(uid: str, name: str) -> str:
    return f"acs:ram::{uid}:role/{name}"


@functools.lru_cache(maxsize=1024)  # every request signed with an account's key asks
def key_principal(uid: str, key_kind: str, ram_user: str) -> Principal:
    """The identity of an account's own AccessKey (``key_kind``, ``ram_user`` as ``world.Account`` has them)."""
    if key_kind == "root":
        return Principal("Account", uid, f"acs:ram::{uid}:root", uid, user_id=uid)
    user_id = _digits("user", uid, ram_user, 16)
    return Principal("RAMUser", uid, f"acs:ram::{uid}:user/{ram_user}", user_id, user_id=user_id)


def session_principal(uid: str, role: dict[str, Any], session: str) -> Principal:
    """The identity of a role session (temporary credentials from AssumeRole)."""
    rid = role_id(uid, role)
    arn = role_arn(uid, role["name"])
    return Principal(
        "AssumedRoleUser", uid, f"{arn}/{session}", f"{rid}:{session}", role_id=rid, role_arn=arn, session=session
    )


def find_role(world: dict[str, Any], uid: str, name: str) -> dict[str, Any] | None:
    """The role ``name`` (case-insensitive, as RAM names are) of the account ``uid``, or None."""
    for account in world.get("accounts") or []:
        if str(account["uid"]) == uid:
            return next((r for r in account.get("roles") or [] if r["name"].lower() == name.lower()), None)
    return None


def trusts(world: dict[str, Any], role: dict[str, Any], caller: Principal) -> bool:
    """Whether ``role``'s trust policy lets ``caller`` assume it. The account's own key (root) never
    may: the caller checks that first."""
    uids = {a["name"]: str(a["uid"]) for a in world.get("accounts") or []}
    for entry in role["trusted"]:
        m = ARN.fullmatch(entry)
        if m is None:  # an account's name: its root principal
            if uids.get(entry) == caller.account_uid:
                return True
            continue
        if m["uid"] != caller.account_uid:
            continue
        if m["root"]:
            return True
        if (
            m["user"]
            and caller.identity_type == "RAMUser"
            and caller.arn.lower().endswith(f":user/{m['user'].lower()}")
        ):
            return True
        if (
            m["role"]
            and caller.role_arn is not None
            and caller.role_arn.lower() == role_arn(m["uid"], m["role"]).lower()
        ):
            return True
    return False


def relations(accounts: Sequence[_AccountFields]) -> list[str]:
    """What relates keys, users and roles across a world's accounts, one line per problem."""
    out: list[str] = []
    names = {a.name: a.uid for a in accounts}
    users = {(a.uid, user_name(a.name, a.ram_user).lower()) for a in accounts if a.key_kind == "ram_user"}
    roles = {(a.uid, r.name.lower()) for a in accounts for r in a.roles}
    uids = set(names.values())
    for i, a in enumerate(accounts):
        where = f"accounts[{i}]"
        if a.key_kind == "root" and a.ram_user:
            out.append(f"{where}.ram_user: a root key belongs to no RAM user; drop ram_user or use key_kind: ram_user")
        seen: set[str] = set()
        for j, role in enumerate(a.roles):
            here = f"{where}.roles[{j}]"
            if role.name.lower() in seen:
                out.append(f"{here}.name: {role.name!r} is used twice in this account (RAM role names ignore case)")
            seen.add(role.name.lower())
            for k, entry in enumerate(role.trusted):
                wrong = _trusted_entry(entry, names, uids, users, roles)
                if wrong:
                    out.append(f"{here}.trusted[{k}]: {wrong}")
    return out


def _trusted_entry(
    entry: str, names: dict[str, str], uids: set[str], users: set[tuple[str, str]], roles: set[tuple[str, str]]
) -> str | None:
    m = ARN.fullmatch(entry)
    if m is None:
        if entry in names:
            return None
        return (
            f"{entry!r} is neither an account of this world ({', '.join(sorted(names))}) nor a principal ARN "
            "such as acs:ram::<16-digit uid>:root, acs:ram::<uid>:user/<name> or acs:ram::<uid>:role/<name>"
        )
    if m["uid"] not in uids:
        return f"{entry!r} names the UID {m['uid']}, which is not an account of this world"
    if m["user"] and (m["uid"], m["user"].lower()) not in users:
        return f"{entry!r} names a RAM user that holds no key in this world (a ram_user key of that account)"
    if m["role"] and (m["uid"], m["role"].lower()) not in roles:
        return f"{entry!r} names a role that account does not have"
    return None
