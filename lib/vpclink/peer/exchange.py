"""Two operators, one account each: what a side takes from the other, and what it tells them.

Each operator runs only their own account's phases and steps (``vpclink run PARAMS --side ROLE``)
and receives the other side's values through a peer card (``peer.card``) or a form (``peer.form``).
This module holds the rules both the notebooks and the runner follow:

* the values at hand before asking: the phase's inputs, and what the shared parameter file says of
  the peer (region, VPC, CIDR, security group, account UID when given);
* a peer value that disagrees with the parameter file is an error naming the parameter field;
* when a phase must wait for the other operator, what that operator must do next and how this
  side resumes;
* importing a card into a run directory, so the run's records name (and keep) the card they used.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .. import phases
from ..params import FieldError, LinkParams, Role
from ..sides import peer_of
from . import card as peercard
from .values import FIELDS, ID_FIELDS, Local, PeerValues, input_key, utc_now

CARDS_DIR = "peer-cards"  # inside a run directory: every card the run imported, as received

# What the parameter file says of a side, by peer field (account_uid only when given there).
_FROM_PARAMS = ("account_uid", "region", "vpc_id", "vpc_cidr", "security_group_id")


class PeerMismatch(ValueError):
    """Values from the other side that disagree with the parameter file; ``errors`` name the fields."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        lines = "\n".join(f"  {e.field}: {e.message}" for e in errors)
        super().__init__(
            f"the peer's values disagree with the parameter file:\n{lines}\n"
            "Both operators must run the same parameter file; fix it (or ask for the right card)."
        )


def known_values(params: LinkParams, side: Role, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The peer's values at hand, by parameter name: the parameter file's, then the phase inputs."""
    peer = params.side(peer_of(side))
    known: dict[str, Any] = {
        input_key(peer.role, name): getattr(peer, name) for name in _FROM_PARAMS if getattr(peer, name)
    }
    known.update({k: v for k, v in inputs.items() if v not in ("", None, [], ())})
    return known


def local_view(
    params: LinkParams, side: Role, *, account_uid: str | None = None, known: Mapping[str, Any] | None = None
) -> Local:
    """What ``side`` knows for checking the peer's values: its own account, CIDR and resource IDs (the
    parameter file's, and those its phases found or created: ``known``, by output key) and what the
    shared parameter file says of the peer."""
    own, peer = params.side(side), params.side(peer_of(side))
    known = known or {}
    own_ids = tuple(
        str(value) for name in ID_FIELDS if (value := known.get(input_key(side, name)) or getattr(own, name, None))
    )
    declared = {name: str(getattr(peer, name)) for name in _FROM_PARAMS if getattr(peer, name)}
    return Local(
        account_uid=account_uid or own.account_uid,
        vpc_cidr=own.vpc_cidr,
        own_ids=own_ids,
        declared=declared,
        role=peer.role,
    )


def check_against_params(params: LinkParams, side: Role, values: Mapping[str, str], source: str) -> None:
    """Refuse peer values (field -> value) that contradict the parameter file, naming the parameter."""
    peer = params.side(peer_of(side))
    errors = []
    for name in _FROM_PARAMS:
        declared, given = getattr(peer, name), values.get(name)
        if declared and given and str(given) != str(declared):
            errors.append(
                FieldError(f"{peer.role}.{name}", f"the parameter file says {declared}, the {source} says {given}")
            )
    if errors:
        raise PeerMismatch(errors)


def peer_record(
    values: PeerValues, card: peercard.PeerCard | None, card_file: str | None, card_sha256: str | None
) -> dict[str, Any]:
    """What the records keep of the peer's values a phase used (JSON-serialisable)."""
    record: dict[str, Any] = {
        "role": values.role,
        "values": values.inputs(),
        "source": values.source,
        "confirmed_at": values.confirmed_at,
    }
    if card is not None:
        record["card"] = {
            "file": card_file,
            "sha256": card_sha256,
            "describes": card.describe(),
            "phases_done": list(card.phases_done),
            "checks": dict(card.checks),
        }
    elif values.card:  # pasted into the form: no file, the card's own description
        record["card"] = {"file": None, "sha256": None, "describes": values.card, "phases_done": None}
    return record


def next_for_peer(
    params: LinkParams,
    phase: str,
    side: Role,
    missing: Iterable[str],
    own_card: str | None,
    params_file: str | None = None,
) -> str:
    """What the other operator must do before ``phase`` can go on on ``side``, given the peer fields
    still missing; ``own_card``: the file name of this side's card, as they will receive it.

    They run their side up to the phase that produces the last missing value, or through their part of
    ``phase`` itself when the phase's sides act in turn and theirs comes first; they need this side's
    card when one of those phases needs a value of this side that the parameter file does not give.
    ``params_file``: the parameter file this side's run started from (the other operator holds the same)."""
    peer = peer_of(side)
    order = list(phases.ORDER)
    producers = [p for f in missing if (p := phases.producer(input_key(peer, f))) is not None]
    target = max(producers, key=lambda p: order.index(p.name)) if producers else phases.get(phase)
    current = phases.get(phase)
    peer_first = current.sequential and peer in current.sides and side in current.sides
    if peer_first and current.sides.index(peer) < current.sides.index(side):
        target = current if order.index(phase) > order.index(target.name) else target
    theirs = [p for p in phases.ALL if peer in p.sides and order.index(p.name) <= order.index(target.name)]
    known = set(known_values(params, peer, {}))
    needs_card = any(input_key(side, f) not in known for p in theirs for f in p.needs_from_peer(params))
    card = own_card or peercard.file_name(params.link, side)
    shared = shlex.quote(str(params_file)) if params_file else "<the shared parameter file>"
    command = f"vpclink run {shared} --side {peer}" + (f" --peer-card {shlex.quote(card)}" if needs_card else "")
    with_card = f" with {card}" if needs_card else ""
    return (
        f"the {peer}'s operator runs their side up to the {target.name} phase{with_card} ({command}) "
        "and sends you their peer card"
    )


def missing_message(phase: str, side: Role, errors: list[FieldError]) -> str:
    peer = peer_of(side)
    lines = "\n".join(f"  {e.field}: {e.message}" for e in errors)
    return f"the {phase} phase on the {side} side needs the {peer}'s values, not received yet:\n{lines}"


def missing_fields(errors: list[FieldError], peer: Role) -> list[str]:
    """The peer fields named by FieldErrors on parameters such as ``initiator_router_interface_id``."""
    prefix = f"{peer}_"
    return [e.field[len(prefix) :] for e in errors if e.field.startswith(prefix) and e.field[len(prefix) :] in FIELDS]


def resume_hint(
    run_dir: Path | None, *, needs_card: bool, own_card: Path | None, their_card: str = "THEIR_CARD"
) -> str:
    """How this side goes on once the other operator has done their part."""
    lines = []
    if own_card is not None and own_card.exists():
        lines.append(f"This side's peer card, for the other operator: {own_card}")
    if run_dir is not None:
        lines.append(
            f"Then continue this side: vpclink run --resume {run_dir}"
            + (f" --peer-card {shlex.quote(their_card)}" if needs_card else "")
        )
    else:
        lines.append(
            "Then set peer_card to the path of their card and run this notebook again"
            if needs_card
            else "Then run this notebook again"
        )
    return "\n".join(lines)


def import_card(run_dir: Path, source: str | Path, *, side: Role, link: str, local: Any = None) -> dict[str, Any]:
    """Check the other side's card, keep a copy in ``run_dir/peer-cards/`` and return its record
    (``file`` relative to the run directory, ``source`` name, ``sha256``, ``imported`` time). A card
    already imported (same digest) is not copied twice. The card is read once, as untrusted input
    (``peer.card.read_bytes``), and the copy is written from those bytes, under a name of its own
    (``N-<role>.peercard.json``), never through a link out of the run directory."""
    source = Path(source)
    expect: dict[str, Any] = {"expect_role": peer_of(side), "expect_link": link}
    if local is not None:
        expect["local"] = local
    data = peercard.read_bytes(source)
    card = peercard.from_bytes(data, str(source), **expect)
    return keep_card(run_dir, data, card, source.name)


def keep_card(run_dir: Path, data: bytes, card: peercard.PeerCard, source: str) -> dict[str, Any]:
    """Keep a checked card's bytes as received in ``run_dir/peer-cards/`` (once per content), under a
    name of its own (``N-<link>-<role>.peercard.json``), never through a link out of the run
    directory; returns its record (``file`` relative to the run directory, ``source``, ``sha256``...)."""
    digest = hashlib.sha256(data).hexdigest()
    directory = run_dir / CARDS_DIR
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise peercard.PeerCardError(
            str(directory), [FieldError("(run directory)", f"{CARDS_DIR} is not a directory of this run")]
        )
    directory.mkdir(mode=0o700, exist_ok=True)
    existing = sorted(p for p in directory.iterdir() if p.is_file() and not p.is_symlink())
    same = next((p for p in existing if _digest(p) == digest), None)
    target = same or directory / f"{len(existing) + 1}-{card.file_name()}"
    if same is None:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    return {
        "file": str(target.relative_to(run_dir)),
        "source": source,
        "sha256": digest,
        "describes": card.describe(),
        "phases_done": list(card.phases_done),
        "checks": dict(card.checks),
        "imported": utc_now(),
    }


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(peercard.read_bytes(path)).hexdigest()
    except (OSError, peercard.PeerCardError):
        return None
