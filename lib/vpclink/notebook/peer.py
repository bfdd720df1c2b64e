"""The peer exchange inside a phase notebook (two operators, ``side`` set): the other side's card,
the values this phase needs from it (settled, a form, or a wait for the other operator), and this
side's card for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..peer import card as peercard
from ..peer import exchange
from ..peer.values import Local, PeerValues, check_values
from ..phases.base import WaitingForPeer
from .settings import NotebookParameterError, Settings

if TYPE_CHECKING:  # the form imports ipywidgets: only when a phase asks for the peer's values
    from ..peer.form import PeerForm


class PeerExchange:
    """What one side of a two-operator run takes from, and gives to, the other side in one phase."""

    def __init__(
        self,
        settings: Settings,
        account_uid: str | None,
        known: Mapping[str, Any] | None = None,
        params_file: str | None = None,
    ):
        self.settings = settings
        self.card: peercard.PeerCard | None = None
        self.card_file: str | None = None
        self.card_sha256: str | None = None
        self.params_file = params_file or settings.params_file  # as the run started from it
        self.local = Local()
        if settings.side is not None:
            self.local = exchange.local_view(settings.params, settings.side, account_uid=account_uid, known=known)
        if settings.peer_card:
            self._read_card(settings.peer_card)

    def _read_card(self, path: str) -> None:
        run_dir = self.settings.run_dir
        try:
            data = peercard.read_bytes(path)
            self.card = peercard.from_bytes(
                data, path, expect_role=self.settings.peer, expect_link=self.settings.params.link, local=self.local
            )
        except FileNotFoundError:
            raise NotebookParameterError(
                f"peer_card: {path} does not exist; give the path of the {self.settings.peer}'s .peercard.json file"
            ) from None
        if run_dir is not None and run_dir.is_dir():  # the run's records keep the card they used, as received
            kept = exchange.keep_card(run_dir, data, self.card, Path(path).name)
            self.card_file = kept["file"]
        else:
            self.card_file = Path(path).name
        self.card_sha256 = hashlib.sha256(data).hexdigest()

    @property
    def peer_progress(self) -> tuple[str, ...] | None:
        """The phases the other side has done, as its card says (None: no card)."""
        return self.card.phases_done if self.card else None

    def own_card_path(self) -> Path | None:
        """Where this side's card is written (two operators with records)."""
        if self.settings.run_dir is None or self.settings.side is None:
            return None
        return self.settings.run_dir / peercard.file_name(self.settings.params.link, self.settings.side)

    def waiting(self, text: str, *, needs_card: bool) -> WaitingForPeer:
        s = self.settings
        theirs = peercard.file_name(s.params.link, s.peer) if s.peer else "THEIR_CARD"
        hint = exchange.resume_hint(s.run_dir, needs_card=needs_card, own_card=self.own_card_path(), their_card=theirs)
        return WaitingForPeer(f"{text.rstrip('.')}.\n{hint}")

    # -- taking the other side's values ----------------------------------------------------------
    def ask(self, inputs: dict[str, Any], confirmed: PeerValues | None = None) -> PeerForm | None:
        """The other side's values this phase needs (None with one operator, or when the other
        operator runs this phase): settled from the parameters and the card, else a form in JupyterLab.
        In batch a value not received yet raises ``WaitingForPeer`` naming each parameter.
        ``confirmed``: the values confirmed in this notebook's form before its cells were run again,
        kept (still checked) rather than asked for a second time."""
        s = self.settings
        if s.side is None or s.peer is None or not s.acting:
            return None
        from ..peer import form

        fields = s.phase.needs_from_peer(s.params)
        known = exchange.known_values(s.params, s.side, inputs)
        if not s.target or not fields:
            return form.settled(s.name, s.side, fields, known, card=self.card)
        if (
            confirmed is not None
            and confirmed.role == s.peer
            and all(confirmed.values.get(f) for f in fields)
            and not check_values(confirmed.values, required=fields, local=self.local)
        ):
            return form.PeerForm(s.name, s.side, fields, confirmed.values, local=self.local, settled=confirmed)
        try:
            return form.ask(
                s.name,
                s.side,
                fields,
                known,
                interactive=s.interactive,
                local=self.local,
                link=s.params.link,
                card=self.card,
            )
        except form.PeerValuesMissing as e:
            if any(not err.message.startswith("required") for err in e.errors):
                raise  # a bad value is an error, not something to wait for
            missing = exchange.missing_fields(e.errors, s.peer)
            own = self.own_card_path()
            text = (
                exchange.missing_message(s.name, s.side, e.errors)
                + "\nNext, "
                + exchange.next_for_peer(
                    s.params, s.name, s.side, missing, own.name if own else None, params_file=self.params_file
                )
            )
            raise self.waiting(text, needs_card=True) from None

    def check(self, values: PeerValues) -> None:
        """Refuse values (and the card) that disagree with the parameter file, naming the parameter."""
        side = self.settings.side
        if side is None:
            return
        exchange.check_against_params(
            self.settings.params, side, values.values, f"{values.source} {values.card or ''}".strip()
        )
        if self.card is not None:
            exchange.check_against_params(self.settings.params, side, self.card.values(), f"peer card {self.card_file}")

    def record(self, values: PeerValues) -> dict[str, Any]:
        """What the records keep of the values used: their source, time and card."""
        return exchange.peer_record(values, self.card, self.card_file, self.card_sha256)

    # -- giving this side's values ---------------------------------------------------------------
    def export(self, known: dict[str, Any], done: list[str]) -> tuple[peercard.PeerCard, Path | None]:
        """This side's card from what the run knows, written into the run directory when there is one."""
        side = self.settings.side
        assert side is not None
        card = peercard.from_outputs(self.settings.params, side, known, phases_done=done)
        path = peercard.write(card, self.settings.run_dir) if self.settings.run_dir else None
        return card, path
