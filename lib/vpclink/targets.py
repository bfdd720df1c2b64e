"""Where a run's API calls go, and the credentials it may use there.

A :class:`Target` tells the notebooks which endpoint to call and which credential profiles file to
read; it also knows every secret of those credentials, so the runner can prove that none of them
reached the records. The secrets are held here only to be searched for; they are never printed,
passed to a notebook or written anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .params import ROLES, LinkParams
from .profiles import profiles_path

# Fields of an Alibaba Cloud CLI profile that hold key material.
SECRET_FIELDS = ("access_key_id", "access_key_secret", "sts_token")


class TargetError(RuntimeError):
    """The run cannot reach its target; the message says what to do."""


@dataclass(frozen=True)
class Secret:
    label: str  # e.g. "access_key_secret of profile vpclink-a": safe to print
    value: str = field(repr=False)


@dataclass
class Target:
    name: str  # "emulator" | "alibabacloud"
    endpoint: str  # "host:port" of an emulator; "" for the real cloud's endpoints
    profiles_file: str  # "" = the Alibaba Cloud CLI's ~/.aliyun/config.json
    emulator: str = ""  # "embedded", the URL of a running emulator, or "" (real cloud)
    control_url: str = ""  # base URL of the emulator's control API, when there is one
    secrets: list[Secret] = field(default_factory=list, repr=False)
    _close: Callable[[], None] | None = field(default=None, repr=False)
    # Seconds the target's describes may lag (an emulator says; None: the runbook's default allowance,
    # ``waits.DEFAULT_READ_LAG``). A run passes it to each phase (``PhaseContext.read_lag``).
    read_lag: float | None = None
    # Where the run writes its capture of every API call (``capture.py``); "" for none.
    capture_dir: str = ""
    # The profiles file the user named (``--profiles FILE``), as an absolute path: recorded in
    # ``run.json`` (the path, never its content) so that a resume and a teardown use it again. "" when
    # vpclink wrote the profiles itself (an emulator's accounts) or the CLI's own file is read.
    given_profiles: str = ""

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def profile_secrets(profiles_file: str | Path | None, names: list[str]) -> list[Secret]:
    """The key material of the named profiles (and of the profiles they chain from)."""
    path = profiles_path(profiles_file)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError(
            f"{path} does not exist: create the credential profiles "
            f"{', '.join(names)} with `aliyun configure --profile NAME`"
        ) from None
    except (OSError, json.JSONDecodeError) as e:
        raise TargetError(
            f"{path}: cannot be read as an Alibaba Cloud CLI profiles file ({type(e).__name__})"
        ) from None
    profiles = {p.get("name"): p for p in config.get("profiles", []) if isinstance(p, dict)}
    secrets: list[Secret] = []
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        profile = profiles.get(name)
        if profile is None:
            raise TargetError(
                f"profile {name!r} is not in {path} (profiles there: "
                f"{', '.join(sorted(str(n) for n in profiles)) or 'none'}); "
                f"create it with `aliyun configure --profile {name}`"
            )
        for key in SECRET_FIELDS:
            value = profile.get(key)
            if isinstance(value, str) and value:
                secrets.append(Secret(f"{key} of profile {name}", value))
        if profile.get("source_profile"):
            todo.append(profile["source_profile"])
    return secrets


def alibabacloud(params: LinkParams, profiles_file: str = "", side: str | None = None, capture_dir: str = "") -> Target:
    """The real cloud, with the credential profiles named in the parameters (``side``'s only, for
    one of two operators: the other profile need not exist). ``capture_dir``: keep a capture of the
    run's calls there (``capture.py``: shapes and codes, no credential, no identifying value)."""
    names = sorted({params.side(r).profile for r in ROLES if side in (None, "", r)})
    given = str(profiles_path(profiles_file).resolve()) if profiles_file else ""
    return Target(
        "alibabacloud",
        endpoint="",
        profiles_file=given,
        secrets=profile_secrets(given or None, names),
        capture_dir=capture_dir,
        given_profiles=given,
    )
