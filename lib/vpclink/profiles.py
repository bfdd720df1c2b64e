"""Credential profiles: the Alibaba Cloud CLI's ``config.json``, read by ``alibabacloud-credentials``.

The runbook never holds a key itself: a parameter file names a profile, and the SDK's
``CLIProfileCredentialsProvider`` turns it into credentials when a client signs a request. This
module checks beforehand that the profile exists (so a typo is reported with the parameter field
and the profile names on offer, never with a key), and writes profile files for local emulators.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.provider.cli_profile import CLIProfileCredentialsProvider

DEFAULT_PROFILES_FILE = Path("~") / ".aliyun" / "config.json"

# The profile modes CLIProfileCredentialsProvider understands.
MODES = ("AK", "StsToken", "RamRoleArn", "EcsRamRole", "OIDC", "ChainableRamRoleArn", "CloudSSO", "OAuth", "External")


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
    return path


def credential_client(name: str, profiles_file: str | os.PathLike[str] | None, *, field: str) -> CredentialClient:
    """A credentials client for profile ``name``, for ``Config(credential=...)``."""
    path = check_profile(name, profiles_file, field=field)
    return CredentialClient(provider=CLIProfileCredentialsProvider(profile_name=name, profile_file=str(path)))


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
