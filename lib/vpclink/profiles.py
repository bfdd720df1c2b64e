"""Credential profiles: the Alibaba Cloud CLI's ``config.json``, read by ``alibabacloud-credentials``.

The runbook never holds a key itself: a parameter file names a profile, and the SDK's
``CLIProfileCredentialsProvider`` turns it into credentials when a client signs a request. This
module checks beforehand that the profile exists (so a typo is reported with the parameter field
and the profile names on offer, never with a key), and writes profile files for local emulators.

**RAM roles.** A ``RamRoleArn`` profile is an AccessKey (typically a central account's RAM user) plus
the ARN of a role to assume, in the account the side acts in; the credentials library sends STS
AssumeRole with the key and signs every call with the temporary credentials it gets back. On the
real cloud the library goes to its own STS endpoint (``sts.aliyuncs.com``, or the profile's
``sts_region``), unchanged. An emulator serves STS on its one endpoint, over plain HTTP: for it,
:func:`credential_client` is given ``sts_endpoint`` (``http://host:port``) and builds the library's
``RamRoleArnCredentialsProvider`` from the profile's fields with that endpoint, the provider's own
``sts_endpoint`` option (its ``https://`` default is overridden by a URL with a scheme).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alibabacloud_credentials.client import Client as CredentialClient

DEFAULT_PROFILES_FILE = Path("~") / ".aliyun" / "config.json"

# The profile modes CLIProfileCredentialsProvider understands.
MODES = ("AK", "StsToken", "RamRoleArn", "EcsRamRole", "OIDC", "ChainableRamRoleArn", "CloudSSO", "OAuth", "External")
# The modes that assume a RAM role through STS AssumeRole with the profile's ``ram_role_arn``.
ROLE_MODES = ("RamRoleArn", "ChainableRamRoleArn")
# A RAM role's ARN (RAM CreateRole's ``Arn``: acs:ram::<account UID>:role/<role name>, the name up to
# 64 letters, digits, "." and "-"; https://www.alibabacloud.com/help/en/ram/developer-reference/api-ram-2015-05-01-createrole).
ROLE_ARN = re.compile(r"acs:ram::(?P<uid>\d{16}):role/(?P<name>[A-Za-z0-9.-]{1,64})")
ROLE_ARN_FORM = "acs:ram::<16-digit account UID>:role/<role name>"
# STS AssumeRole's DurationSeconds: 900 s up to the role's MaxSessionDuration, at most 43200 s
# (https://www.alibabacloud.com/help/en/ram/developer-reference/api-sts-2015-04-01-assumerole); the
# credentials library refuses less than 900 itself (provider/ram_role_arn.py), 0 included.
MIN_SESSION_SECONDS, MAX_SESSION_SECONDS = 900, 43200
# AssumeRole's RoleSessionName: 2-64 letters, digits, ".", "@", "-" and "_" (same page).
SESSION_NAME = re.compile(r"[A-Za-z0-9_.@-]{2,64}")


class ProfileError(ValueError):
    """A credential profile that cannot be used; ``field`` is the parameter that named it."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class AkProfile:
    """An AccessKey profile, for writing a profiles file (an emulator's accounts, tests)."""

    name: str
    access_key_id: str
    access_key_secret: str
    region_id: str = "cn-hangzhou"

    def __repr__(self) -> str:  # never show the secret
        return f"AkProfile(name={self.name!r}, region_id={self.region_id!r})"


def profiles_path(profiles_file: str | os.PathLike[str] | None) -> Path:
    """The profiles file to read: the given one, else the CLI's ``~/.aliyun/config.json``."""
    return Path(profiles_file).expanduser() if profiles_file else DEFAULT_PROFILES_FILE.expanduser()


def check_profile(name: str, profiles_file: str | os.PathLike[str] | None, *, field: str) -> Path:
    """The profiles file holding a usable profile ``name``; ``ProfileError`` naming ``field`` if not."""
    return _profile(name, profiles_file, field=field)[0]


# Fields of a profile that hold key material (as ``targets.SECRET_FIELDS``).
KEY_FIELDS = ("access_key_id", "access_key_secret", "sts_token")
# Key material of the profiles this process built clients for: masked in what the credentials
# library logs (``_LogScrubber``).
_KEYS: set[str] = set()


def key_material(name: str, profiles_file: str | os.PathLike[str] | None) -> tuple[str, ...]:
    """The key material of profile ``name`` and of the profiles it chains from (``source_profile``),
    to be masked wherever a message might repeat it; empty if the file cannot be read."""
    try:
        config = json.loads(profiles_path(profiles_file).read_text(encoding="utf-8"))
        by_name = {p.get("name"): p for p in config.get("profiles", []) if isinstance(p, dict)}
    except (OSError, ValueError, AttributeError):
        return ()
    found: list[str] = []
    todo, seen = [name], set()
    while todo:
        current = todo.pop()
        profile = by_name.get(current)
        if current in seen or profile is None:
            continue
        seen.add(current)
        found += [v for k in KEY_FIELDS if isinstance(v := profile.get(k), str) and v]
        if isinstance(profile.get("source_profile"), str):
            todo.append(profile["source_profile"])
    return tuple(found)


class _LogScrubber(logging.Filter):
    """Masks known key material in the credentials library's own log lines. Its ``credentials`` logger
    writes to stderr whatever STS answered a refused AssumeRole, and the answer to a bad signature
    repeats the string to sign, AccessKeyId included (the cloud's ``SignatureDoesNotMatch`` message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        keys = [k for k in _KEYS if k]
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if any(k in text for k in keys):
            for k in keys:
                text = text.replace(k, "***")
            record.msg, record.args, record.exc_info, record.exc_text = text, (), None, None
        return True


_CREDENTIALS_LOG = logging.getLogger("credentials")  # alibabacloud_credentials/provider/refreshable.py
if not any(isinstance(f, _LogScrubber) for f in _CREDENTIALS_LOG.filters):
    _CREDENTIALS_LOG.addFilter(_LogScrubber())


def check_profiles(named: Iterable[tuple[str, str]], profiles_file: str | os.PathLike[str] | None) -> list[str]:
    """``vpclink check``'s look at the credential profiles a file names, as (field, profile name)
    pairs: one line per unusable one, naming the field and what is valid; no line when all are fine."""
    problems: list[str] = []
    for field, name in named:
        try:
            check_profile(name, profiles_file, field=field)
        except ProfileError as e:
            problems.append(str(e))
    return problems


def role_arn(name: str, profiles_file: str | os.PathLike[str] | None, *, field: str) -> str | None:
    """The RAM role profile ``name`` assumes (its ``ram_role_arn``), None for a profile with no role."""
    profile = _profile(name, profiles_file, field=field)[1]
    return str(profile["ram_role_arn"]) if profile.get("mode") in ROLE_MODES else None


def _profile(name: str, profiles_file: str | os.PathLike[str] | None, *, field: str) -> tuple[Path, dict[str, Any]]:
    path = profiles_path(profiles_file)
    if not path.is_file():
        raise ProfileError(
            field,
            f"profile {name!r} cannot be read: the profiles file {path} does not exist "
            "(create it with `aliyun configure --profile NAME`)",
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProfileError(field, f"the profiles file {path} is not valid JSON ({type(e).__name__})") from None
    profiles = config.get("profiles") if isinstance(config, dict) else None
    if not isinstance(profiles, list):
        raise ProfileError(field, f'the profiles file {path} has no "profiles" list')
    found = next((p for p in profiles if isinstance(p, dict) and p.get("name") == name), None)
    if found is None:
        names = sorted(str(p.get("name")) for p in profiles if isinstance(p, dict) and p.get("name"))
        raise ProfileError(
            field, f"no profile named {name!r} in {path}; profiles there: {', '.join(names) if names else 'none'}"
        )
    if found.get("mode") not in MODES:
        raise ProfileError(
            field, f"profile {name!r} has mode {found.get('mode')!r}; supported modes: {', '.join(MODES)}"
        )
    if found.get("mode") in ROLE_MODES:
        _check_role_profile(found, profiles, path, field=field)
    return path, found


def _check_role_profile(profile: dict[str, Any], profiles: list[Any], path: Path, *, field: str) -> None:
    """A ``RamRoleArn`` (or ``ChainableRamRoleArn``) profile has what AssumeRole needs: the role's
    ARN, a session duration STS accepts, and its key (or the profile it chains from). Messages name
    the profile's field and what is valid, never a value of a key field."""
    name, mode = profile.get("name"), profile.get("mode")
    where = f"profile {name!r} (mode {mode}) in {path}"
    arn = profile.get("ram_role_arn")
    if not isinstance(arn, str) or not arn:
        raise ProfileError(field, f"{where} has no ram_role_arn: give the ARN of the role to assume, {ROLE_ARN_FORM}")
    if not ROLE_ARN.fullmatch(arn):
        raise ProfileError(field, f"{where}: ram_role_arn is not a RAM role's ARN; valid: {ROLE_ARN_FORM}")
    seconds = profile.get("expired_seconds")
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not MIN_SESSION_SECONDS <= seconds <= MAX_SESSION_SECONDS
    ):
        raise ProfileError(
            field,
            f"{where}: expired_seconds must be a whole number of seconds from {MIN_SESSION_SECONDS} up to the "
            f"role's maximum session duration (at most {MAX_SESSION_SECONDS}; STS AssumeRole DurationSeconds), "
            "or left out for 3600",
        )
    session = profile.get("ram_session_name")
    if session not in (None, "") and not (isinstance(session, str) and SESSION_NAME.fullmatch(session)):
        raise ProfileError(
            field, f"{where}: ram_session_name must be 2-64 letters, digits, '.', '@', '-' or '_', or left out"
        )
    if mode == "ChainableRamRoleArn":
        source = profile.get("source_profile")
        if not isinstance(source, str) or not any(isinstance(p, dict) and p.get("name") == source for p in profiles):
            raise ProfileError(field, f"{where}: source_profile must name another profile of that file")
        return
    for key in ("access_key_id", "access_key_secret"):
        if not isinstance(profile.get(key), str) or not profile.get(key):
            raise ProfileError(
                field, f"{where} has no {key}: the AccessKey that assumes the role (a RAM user's, not an account's)"
            )


def load_credentials_library() -> None:
    """Import alibabacloud-credentials now, rather than when the first credentials client is made:
    the commands that only read profiles (the runner, ``check``) never load it."""
    import alibabacloud_credentials.client
    import alibabacloud_credentials.provider.cli_profile  # noqa: F401


def credential_client(
    name: str, profiles_file: str | os.PathLike[str] | None, *, field: str, sts_endpoint: str | None = None
) -> CredentialClient:
    """A credentials client for profile ``name``, for ``Config(credential=...)``.

    ``sts_endpoint`` (``http://host:port``, an emulator's): where a RAM role profile sends AssumeRole.
    Without it the library's ``CLIProfileCredentialsProvider`` reads the profile, as the CLI does."""
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.provider.cli_profile import CLIProfileCredentialsProvider

    path, profile = _profile(name, profiles_file, field=field)
    _KEYS.update(key_material(name, path))
    if sts_endpoint and profile.get("mode") in ROLE_MODES:
        config = json.loads(path.read_text(encoding="utf-8"))
        by_name = {p.get("name"): p for p in config.get("profiles", []) if isinstance(p, dict)}
        return CredentialClient(provider=_provider(profile, by_name, sts_endpoint, path=path, field=field, seen=set()))
    return CredentialClient(provider=CLIProfileCredentialsProvider(profile_name=name, profile_file=str(path)))


def _provider(
    profile: dict[str, Any],
    by_name: dict[Any, dict[str, Any]],
    sts_endpoint: str,
    *,
    path: Path,
    field: str,
    seen: set[str],
) -> Any:  # an alibabacloud_credentials_api.ICredentialsProvider
    """The provider ``CLIProfileCredentialsProvider`` would build for ``profile``, with AssumeRole sent to
    ``sts_endpoint`` (the same fields, read the same way: cli_profile.py of alibabacloud-credentials)."""
    from alibabacloud_credentials.provider import (
        RamRoleArnCredentialsProvider,
        StaticAKCredentialsProvider,
        StaticSTSCredentialsProvider,
    )
    from alibabacloud_credentials.provider.cli_profile import CLIProfileCredentialsProvider

    name, mode = str(profile.get("name")), profile.get("mode")
    if name in seen:
        raise ProfileError(field, f"profile {name!r} in {path}: its source_profile chain comes back to it")
    seen.add(name)
    if mode == "AK":
        return StaticAKCredentialsProvider(
            access_key_id=profile.get("access_key_id"), access_key_secret=profile.get("access_key_secret")
        )
    if mode == "StsToken":
        return StaticSTSCredentialsProvider(
            access_key_id=profile.get("access_key_id"),
            access_key_secret=profile.get("access_key_secret"),
            security_token=profile.get("sts_token"),
        )
    if mode in ROLE_MODES:
        if mode == "ChainableRamRoleArn":
            source = by_name.get(profile.get("source_profile"))
            if source is None:
                raise ProfileError(field, f"profile {name!r} in {path}: source_profile must name another profile")
            before = _provider(source, by_name, sts_endpoint, path=path, field=field, seen=seen)
        else:
            before = StaticAKCredentialsProvider(
                access_key_id=profile.get("access_key_id"), access_key_secret=profile.get("access_key_secret")
            )
        return RamRoleArnCredentialsProvider(
            credentials_provider=before,
            role_arn=profile.get("ram_role_arn"),
            role_session_name=profile.get("ram_session_name"),
            duration_seconds=profile.get("expired_seconds"),  # None: the library's default, 3600
            policy=profile.get("policy"),
            external_id=profile.get("external_id"),
            sts_endpoint=sts_endpoint,
        )
    return CLIProfileCredentialsProvider(profile_name=name, profile_file=str(path))


def write_profiles(path: str | os.PathLike[str], profiles: Iterable[AkProfile], current: str | None = None) -> Path:
    """Write an AccessKey profiles file readable by its owner only (0600)."""
    items = list(profiles)
    data = {
        "current": current or (items[0].name if items else ""),
        "profiles": [
            {
                "name": p.name,
                "mode": "AK",
                "access_key_id": p.access_key_id,
                "access_key_secret": p.access_key_secret,
                "region_id": p.region_id,
                "output_format": "json",
                "language": "en",
            }
            for p in items
        ],
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.chmod(target, 0o600)  # an existing file keeps its mode through O_CREAT
    return target
