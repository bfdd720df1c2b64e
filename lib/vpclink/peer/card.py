"""Peer cards: the small file one operator sends the other, with what the other side needs.

When each account is run by a different person, neither can describe the other's resources. After a
phase, a side exports a card (its account UID, region, VPC, VRouter, router interface, security
group, instance IP); the other side imports it from a file or pastes it into the form. A card is
validated like a form (``peer.values``) and never carries a secret: it has a fixed set of keys, every
value has a strict format, and anything shaped like an AccessKey is refused, on reading and on writing.

Format: JSON (YAML is accepted when pasting)::

    {"vpclink_peer_card": 1, "link": "tutorial-qingdao-beijing", "role": "initiator",
     "account_uid": "1637243907412983", "region": "cn-qingdao", "vpc_id": "vpc-...",
     "vpc_cidr": "192.168.0.0/16", "vrouter_id": "vrt-...", "router_interface_id": "ri-...",
     "security_group_id": "sg-...", "instance_ip": "192.168.1.10", "created": "2026-01-01T00:00:00Z",
     "phases_done": ["preflight", "initiator"]}

``phases_done`` lists the phases the side has completed when it wrote the card, so the other side can
tell what its operator must still do (e.g. whether the peer's routes and rules are in place before a
failed ping is called a failure).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import fields as F
from .. import phases, safe_files
from ..ids import parse_account_uid
from ..params import LINK_NAME, ROLES, FieldError, FieldErrors, LinkParams, Role
from ..phases.base import produced_by
from ..record.run import params_dict
from ..secretlike import credential_key, looks_like_credential
from ..sides import key_owner
from .values import Local, check_values, utc_now

VERSION = 1
MAX_BYTES = 64 * 1024  # a card is about 600 bytes
MAX_DEPTH = 4  # a card is one object with one list in it
_VERSION_KEY = "vpclink_peer_card"
_REQUIRED = ("link", "role", "account_uid", "region", "vpc_id", "vpc_cidr", "vrouter_id", "created")
_OPTIONAL = ("router_interface_id", "security_group_id", "instance_ip")  # known after later phases
_PEER_FIELDS = ("account_uid", "region", "vpc_id", "vpc_cidr", "vrouter_id", *_OPTIONAL)
_PROGRESS = "phases_done"
_CHECKS = "checks"
_CHECK_VALUE = re.compile(r"[A-Za-z][A-Za-z ]{0,31}")


class PeerCardError(FieldErrors):
    """Every problem found in a peer card, each naming the key and what would be valid."""

    headline = "not a valid peer card ({n} problem(s))"


@dataclass(frozen=True)
class PeerCard:
    """One side's card. Constructing one validates it, so an invalid card never exists."""

    link: str
    role: Role
    account_uid: str
    region: str
    vpc_id: str
    vpc_cidr: str
    vrouter_id: str
    created: str
    router_interface_id: str | None = None
    security_group_id: str | None = None
    instance_ip: str | None = None
    phases_done: tuple[str, ...] = ()  # the phases the side had completed, in run order
    # What the side's checks found (the outputs of the phases that prove the link, its own and the
    # link's: ``{"ping_initiator_to_acceptor": "ok", "verified": true}``), so the other side's record
    # can show the whole link once both cards are in.
    checks: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if problems := _problems(asdict(self)):
            raise PeerCardError("peer card", problems)

    def values(self) -> dict[str, str]:
        """The peer values it carries (field -> value), without the unknown ones."""
        return {name: getattr(self, name) for name in _PEER_FIELDS if getattr(self, name)}

    def to_json(self) -> str:
        return json.dumps({_VERSION_KEY: VERSION, **asdict(self)}, indent=2) + "\n"

    @property
    def fingerprint(self) -> str:
        """A short digest of the card's content, so records can name the exact card they used."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def describe(self) -> str:
        return f"{self.link}/{self.role} created {self.created} (sha256 {self.fingerprint})"

    def file_name(self) -> str:
        return file_name(self.link, self.role)


def file_name(link: str, role: str) -> str:
    """The file name of ``role``'s card (in its run directory, and as sent)."""
    return f"{link}-{role}.peercard.json"


def _problems(data: Mapping[str, Any], local: Local | None = None) -> list[FieldError]:
    """Everything wrong with a card's key/value mapping (version key excluded)."""
    errors: list[FieldError] = []
    known = set(_REQUIRED) | set(_OPTIONAL) | {_PROGRESS, _CHECKS}
    for key in data:
        if key not in known:
            why = "a peer card never carries credentials" if credential_key(key) else "unknown key"
            errors.append(
                FieldError(
                    F.key_label(key),
                    f"{why}; a card holds only: {', '.join((*_REQUIRED, *_OPTIONAL, _PROGRESS, _CHECKS))}",
                )
            )
    role_value = data.get("role")
    errors += _check_problems(data.get(_CHECKS), role_value if role_value in ROLES else None)
    progress = data.get(_PROGRESS) or ()
    if not isinstance(progress, (list, tuple)) or any(p not in phases.RUN for p in progress):
        errors.append(FieldError(_PROGRESS, f"must be a list of phase names ({', '.join(phases.RUN)})"))
    strings: dict[str, str] = {}
    for key in _REQUIRED + _OPTIONAL:
        value = data.get(key)
        if value is None or value == "":
            if key in _REQUIRED:
                errors.append(FieldError(key, "required"))
            continue
        if not isinstance(value, str):
            errors.append(FieldError(key, f"must be a string (quote it), got {type(value).__name__}"))
            continue
        strings[key] = value

    link = strings.get("link")
    if link is not None and (looks_like_credential(link) or not LINK_NAME.fullmatch(link)):
        errors.append(
            FieldError(
                "link",
                "must be the link name: 2-64 characters, a letter first, "
                "then letters, digits, '-', '_', '.' (never a credential)",
            )
        )
    role = strings.get("role")
    if role is not None and role not in ROLES:
        errors.append(FieldError("role", f"must be one of {', '.join(ROLES)}"))
    created = strings.get("created")
    if created is not None:
        try:
            datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            errors.append(FieldError("created", "must be a UTC time such as 2026-01-01T00:00:00Z"))
    peer = {k: v for k, v in strings.items() if k in _PEER_FIELDS}
    errors += [FieldError(k, m) for k, m in check_values(peer, local=local).items()]
    return errors


def check_keys(role: Role | None) -> tuple[str, ...]:
    """The outputs a card of ``role`` may carry as ``checks``: those of the phases that prove the link
    (kind ``check``) that belong to that side or to the link as a whole."""
    keys = [k for p in phases.ALL if p.kind == "check" for k in p.output_keys]
    return tuple(k for k in keys if key_owner(k) in (None, role))


def _check_problems(checks: Any, role: Role | None) -> list[FieldError]:
    if checks is None:
        return []
    if not isinstance(checks, dict):
        return [FieldError(_CHECKS, "must be an object of check results")]
    allowed = check_keys(role)
    problems = []
    for key, value in checks.items():
        if key not in allowed:
            problems.append(
                FieldError(f"{_CHECKS}.{F.key_label(key)}", f"not a check result of this side: {', '.join(allowed)}")
            )
        elif not (isinstance(value, bool) or (isinstance(value, str) and _CHECK_VALUE.fullmatch(value))):
            problems.append(FieldError(f"{_CHECKS}.{key}", "must be true, false or a word such as ok"))
    return problems


def checks_from(outputs: Mapping[str, Any], role: Role) -> dict[str, Any]:
    """The check results a card of ``role`` carries, from the (merged) outputs of its run."""
    found = {k: outputs[k] for k in check_keys(role) if k in outputs}
    return {k: v for k, v in found.items() if not _check_problems({k: v}, role)}


def from_dict(
    data: Any,
    source: str = "<peer card>",
    *,
    expect_role: Role | None = None,
    expect_link: str | None = None,
    local: Local | None = None,
) -> PeerCard:
    """A card from its decoded content, checked against what the importing side expects: the peer's
    role, this link's name, and this side's own account and CIDR (no overlap)."""
    if not isinstance(data, dict):
        raise PeerCardError(source, [FieldError("(card)", "must be a JSON object of key: value pairs")])
    body: dict[str, Any] = {str(k): (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    version = body.pop(_VERSION_KEY, None)
    errors: list[FieldError] = []
    if version != VERSION:
        errors.append(FieldError(_VERSION_KEY, f"must be {VERSION} (the card format version); got {version!r}"))
    if isinstance(body.get("account_uid"), (int, float)):  # unquoted in pasted YAML
        try:
            body["account_uid"] = parse_account_uid(body["account_uid"])
        except ValueError as e:
            errors.append(FieldError("account_uid", str(e)))
            body.pop("account_uid")
    if isinstance(body.get("created"), datetime):  # YAML reads an unquoted time
        created = body["created"]
        if created.tzinfo is None:  # PyYAML drops a "Z" it has applied
            created = created.replace(tzinfo=timezone.utc)
        body["created"] = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    role = body.get("role")
    if expect_role and role in ("initiator", "acceptor") and role != expect_role:
        # The wrong side's card (often this side's own): its IDs would then clash with this side's,
        # which says less than the one thing to fix.
        errors.append(FieldError("role", f"this is the {role}'s card; this side needs the {expect_role}'s"))
        raise PeerCardError(source, errors)
    reported = {e.field for e in errors}
    errors += [e for e in _problems(body, local) if e.field not in reported]
    if not errors and expect_link and body["link"] != expect_link:
        errors.append(FieldError("link", f"the card is for link {body['link']!r}, this run is for {expect_link!r}"))
    if errors:
        raise PeerCardError(source, errors)
    if _PROGRESS in body:
        body[_PROGRESS] = tuple(body[_PROGRESS] or ())
    body[_CHECKS] = dict(body.get(_CHECKS) or {})
    return PeerCard(**body)


def parse(text: str, source: str = "<pasted card>", **expect: Any) -> PeerCard:
    """A card from pasted JSON or YAML text; ``expect`` as for ``from_dict``. Untrusted text: its size
    and nesting are bounded, and a problem is a ``PeerCardError``, never a parser's traceback."""
    if len(text) > MAX_BYTES:
        raise PeerCardError(source, [FieldError("(card)", f"is over {MAX_BYTES // 1024} KB: a card is about 1 KB")])
    if text.lstrip().startswith(("{", "[")):  # JSON, as vpclink writes cards: its own error says where
        try:
            return from_dict(safe_files.parse_json(text, source, max_depth=MAX_DEPTH), source, **expect)
        except safe_files.UnsafeFile as e:
            raise PeerCardError(source, [FieldError("(card)", e.problem)]) from None
    try:
        document = safe_files.parse_yaml(text, source, max_depth=MAX_DEPTH, max_nodes=1000, max_expanded=1000)
    except safe_files.UnsafeFile as e:
        raise PeerCardError(
            source, [FieldError("(card)", f"{e.problem}; paste the whole .peercard.json file")]
        ) from None
    if document.duplicates:
        keys = ", ".join(sorted({F.key_label(d.loc[-1]) for d in document.duplicates}))
        raise PeerCardError(source, [FieldError("(card)", f"repeats the key(s) {keys}: keep one of each")])
    return from_dict(document.data, source, **expect)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """A card file's bytes, read as untrusted input (a regular file of at most ``MAX_BYTES``)."""
    try:
        return safe_files.read_bytes(path, max_bytes=MAX_BYTES, what="peer card (.peercard.json)")
    except safe_files.UnsafeFile as e:
        if not os.path.lexists(path):
            raise FileNotFoundError(str(path)) from None
        raise PeerCardError(str(path), [FieldError("(file)", e.problem)]) from None


def from_bytes(data: bytes, source: str, **expect: Any) -> PeerCard:
    try:
        text = safe_files.decode(data, source)
    except safe_files.UnsafeFile as e:
        raise PeerCardError(source, [FieldError("(file)", e.problem)]) from None
    return parse(text, source, **expect)


def read(path: str | os.PathLike[str], **expect: Any) -> PeerCard:
    """A card from a file; ``expect`` as for ``from_dict``. ``FileNotFoundError`` when it does not exist,
    ``PeerCardError`` for anything else wrong with it (a FIFO, huge, not UTF-8, too deep, invalid)."""
    return from_bytes(read_bytes(path), str(path), **expect)


def write(card: PeerCard, path: str | os.PathLike[str]) -> Path:
    """Write ``card`` as JSON (atomically: a reader never sees half a card). A directory ``path``
    gets the card's own file name."""
    target = Path(path)
    if target.is_dir():
        target = target / card.file_name()
    text = card.to_json()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".peercard-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)  # like every record file
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return target


def _card(
    link: str,
    role: Role,
    side: Mapping[str, Any],
    outputs: Mapping[str, Any],
    created: str | None,
    phases_done: Iterable[str] = (),
) -> PeerCard:
    def output(name: str) -> Any:
        return outputs.get(f"{role}_{name}") or None

    uid = output("account_uid") or side.get("account_uid")
    missing = [
        FieldError(
            f"{role}_{name}", f"not in the run's outputs yet: run the {produced_by(f'{role}_{name}')} phase first"
        )
        for name, value in (("account_uid", uid), ("vrouter_id", output("vrouter_id")))
        if not value
    ]
    if missing:
        raise PeerCardError(f"{role} side of {link}", missing)
    return PeerCard(
        link=link,
        role=role,
        account_uid=str(uid),
        region=side["region"],
        vpc_id=side["vpc_id"],
        vpc_cidr=side["vpc_cidr"],
        vrouter_id=output("vrouter_id"),
        created=created or utc_now(),
        router_interface_id=output("router_interface_id"),
        security_group_id=side.get("security_group_id") or None,
        instance_ip=output("instance_ip"),
        phases_done=tuple(p for p in phases.RUN if p in set(phases_done)),
        checks=checks_from(outputs, role),
    )


def from_outputs(
    params: LinkParams,
    role: Role,
    outputs: Mapping[str, Any],
    *,
    created: str | None = None,
    phases_done: Iterable[str] = (),
) -> PeerCard:
    """``role``'s card from the parameters and the (merged) outputs of the phases run so far;
    ``phases_done``: the phases that side has completed."""
    return _card(params.link, role, params_dict(params)[role], outputs, created, phases_done)


def from_run(run_dir: str | os.PathLike[str], role: Role) -> PeerCard:
    """``role``'s card from a run directory's ``run.json`` (parameters as loaded, merged outputs)."""
    from ..record.run import RunState

    run = RunState.load(Path(run_dir))
    return _card(run.link, role, run.params[role], run.merged_outputs(), None, run.phases_done())


def file_digest(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a card file as received (``sha256sum`` shows the same), for the records."""
    return hashlib.sha256(read_bytes(path)).hexdigest()
