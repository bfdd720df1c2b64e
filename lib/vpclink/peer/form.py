"""Forms that ask an analyst for the peer's values a phase needs, when the parameters lack them.

A notebook uses two cells, so that "Run All" never waits on a form nobody sees:

    form = form.ask("acceptor", "acceptor", fields, known, interactive=interactive, local=..., link=...)
    form              # cell 1: shows the form (only if a needed value is missing) and returns

    peer = form.result()   # cell 2: the confirmed values, or an error naming each missing parameter
    print(peer.text())     #         plain text, so the record shows them where widgets do not render

Widget events reach the kernel only between cell executions, so cell 2 fails under "Run All" until
the analyst confirms the form and runs it again; that is the intended stop. In batch (papermill sets
``interactive=False``) no form is built: a missing or invalid value raises at once, naming the
parameter.

Each field is checked as it is typed and again on Confirm (``peer.values`` holds the rules); its error
appears beside it in an HTML widget with the CSS classes ``vpclink-error vpclink-error-<field>``, the
inputs carry ``vpclink-field-<field>``, the status line ``vpclink-status``. A peer card can be pasted
into the form to fill it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w

from ..params import FieldError, Role
from ..regions import REGIONS
from ..sides import peer_of
from . import card as peercard
from .values import FIELDS, Local, PeerValues, check_values, field_errors, input_key

_LABEL_WIDTH = "14em"
_ERROR_STYLE = "color:#b3261e"
_OK_STYLE = "color:#1b6e20"


class PeerValuesMissing(ValueError):
    """Peer values a phase needs are missing or invalid; ``errors`` names each parameter."""

    def __init__(self, summary: str, errors: list[FieldError], hint: str):
        self.errors = errors
        lines = "\n".join(f"  {e.field}: {e.message}" for e in errors)
        super().__init__(f"{summary}:\n{lines}\n{hint}")


def is_interactive(interactive: bool | None) -> bool:
    """Whether to show forms. ``None`` (auto) means yes inside a Jupyter kernel. A kernel cannot tell
    whether anyone is watching (papermill runs one too), so batch runners pass ``False``."""
    if interactive is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        return getattr(get_ipython(), "kernel", None) is not None
    if isinstance(interactive, bool):
        return interactive
    raise ValueError(f"interactive: must be True, False or None (auto), got {interactive!r}")


def _strip(value: Any) -> str:
    return "" if value is None else str(value).strip()


class PeerForm:
    """The peer values one phase needs on one side: a form when some are missing, else a settled
    result. ``result()`` gives the confirmed ``PeerValues``; ``on_confirm`` is called with them too."""

    def __init__(
        self,
        phase: str,
        role: Role,
        fields: tuple[str, ...],
        initial: Mapping[str, str],
        *,
        local: Local | None = None,
        link: str | None = None,
        on_confirm: Callable[[PeerValues], None] | None = None,
        settled: PeerValues | None = None,
    ):
        self.phase = phase
        self.role = role
        self.peer: Role = peer_of(role)
        self.fields = fields
        self.local = local or Local()
        self.link = link
        self.on_confirm = on_confirm
        self.confirmed: PeerValues | None = settled
        self.card: peercard.PeerCard | None = None
        self._tried = False  # after a first Confirm, empty required fields show as errors
        self.inputs: dict[str, w.Text | w.Combobox] = {}
        self.messages: dict[str, w.HTML] = {}
        self.widget: w.VBox | None = None
        if settled is None:
            self.widget = self._build(initial)

    # -- building --------------------------------------------------------------------------------
    def _build(self, initial: Mapping[str, str]) -> w.VBox:
        peer_title = self.peer.capitalize()
        rows = []
        for name in self.fields:
            spec = FIELDS[name]
            common = dict(
                value=initial.get(name, ""),
                description=f"{peer_title} {spec.label}",
                placeholder=spec.example,
                style={"description_width": _LABEL_WIDTH},
                layout=w.Layout(width="34em", flex="0 0 auto"),
            )  # the message wraps, not the input
            box = (
                w.Combobox(options=sorted(REGIONS), ensure_option=False, **common)
                if name == "region"
                else w.Text(**common)
            )
            box.add_class("vpclink-field").add_class(f"vpclink-field-{name}")
            message = w.HTML(layout=w.Layout(flex="1 1 auto"))
            message.add_class("vpclink-error").add_class(f"vpclink-error-{name}")
            box.observe(self._on_edit, names="value")
            self.inputs[name], self.messages[name] = box, message
            rows.append(w.HBox([box, message]))

        self.confirm_button = w.Button(description="Confirm", button_style="primary", icon="check")
        self.confirm_button.on_click(self._on_confirm)
        self.status = w.HTML()
        self.status.add_class("vpclink-status")
        self.output = w.Output()

        self.card_text = w.Textarea(
            placeholder=f"Paste the {self.peer}'s peer card here (the text of its .peercard.json file)",
            layout=w.Layout(width="34em", height="6em"),
        )
        self.card_text.add_class("vpclink-card-text")
        self.card_button = w.Button(description="Use card", icon="paste")
        self.card_button.on_click(self._on_card)
        self.card_message = w.HTML()
        self.card_message.add_class("vpclink-error").add_class("vpclink-error-card")

        title = w.HTML(
            f"<b>{html.escape(self.phase)} phase, {html.escape(self.role)} side:</b> "
            f"values from the {html.escape(self.peer)}'s operator (or their peer card)"
        )
        form = w.VBox(
            [
                title,
                *rows,
                w.HBox([self.confirm_button, self.status]),
                w.HTML(f"Or paste the {html.escape(self.peer)}'s peer card:"),
                w.HBox([self.card_text, w.VBox([self.card_button, self.card_message])]),
                self.output,
            ]
        )
        form.add_class("vpclink-peer-form")
        self._refresh()
        return form

    # -- state -----------------------------------------------------------------------------------
    def values(self) -> dict[str, str]:
        """The values as they stand in the form (stripped), field -> value."""
        if self.widget is None and self.confirmed is not None:
            return dict(self.confirmed.values)
        return {name: _strip(box.value) for name, box in self.inputs.items()}

    def errors(self) -> dict[str, str]:
        return check_values(self.values(), required=self.fields if self._tried else (), local=self.local)

    def _refresh(self) -> dict[str, str]:
        errors = self.errors()
        for name, message in self.messages.items():
            text = errors.get(name)
            message.value = f'<span style="{_ERROR_STYLE}">✗ {html.escape(text)}</span>' if text else ""
        return errors

    def _set_status(self, text: str, style: str) -> None:
        self.status.value = f'<span style="{style}">{html.escape(text)}</span>'

    # -- events ----------------------------------------------------------------------------------
    def _on_edit(self, _change: Mapping[str, Any]) -> None:
        self._refresh()
        if self.confirmed is not None:
            self.confirmed = None
            self._set_status("Changed after confirming: press Confirm again.", _ERROR_STYLE)

    def _on_confirm(self, _button: w.Button | None = None) -> None:
        self._tried = True
        errors = self._refresh()
        if errors:
            self.confirmed = None
            self._set_status(
                f"Not confirmed: fix {len(errors)} field(s): {', '.join(FIELDS[name].label for name in errors)}.",
                _ERROR_STYLE,
            )
            return
        values = self.values()
        from_card = self.card is not None and all(self.card.values().get(k) == v for k, v in values.items())
        confirmed = PeerValues(
            self.peer,
            values,
            "peer card" if from_card else "form",
            card=self.card.describe() if from_card and self.card else None,
        )
        self.confirmed = confirmed
        self._set_status("Confirmed: the next cell uses these values.", _OK_STYLE)
        self.output.outputs = ()  # one confirmation shown, the latest
        with self.output:  # in a kernel this lands in the Output widget only
            print(confirmed.text())
            if self.on_confirm:
                self.on_confirm(confirmed)

    def _on_card(self, _button: w.Button | None = None) -> None:
        try:
            card = peercard.parse(
                self.card_text.value, "pasted card", expect_role=self.peer, expect_link=self.link, local=self.local
            )
        except peercard.PeerCardError as e:
            items = "".join(f"<li>{html.escape(err.field)}: {html.escape(err.message)}</li>" for err in e.errors)
            self.card_message.value = f'<span style="{_ERROR_STYLE}">✗ Card not used:<ul>{items}</ul></span>'
            return
        self.card_message.value = ""
        self.card = card
        carried = card.values()
        for name, box in self.inputs.items():
            box.value = carried.get(name, "")
        lacking = [FIELDS[name].label for name in self.fields if name not in carried]
        note = f" It lacks: {', '.join(lacking)}; ask for a newer card." if lacking else ""
        self._set_status(f"Card {card.describe()} filled the form; check and press Confirm.{note}", _OK_STYLE)

    # -- reading the outcome ---------------------------------------------------------------------
    def result(self) -> PeerValues:
        """The confirmed values; raises ``PeerValuesMissing`` naming each missing or invalid
        parameter while the form is not confirmed."""
        if self.confirmed is not None:
            return self.confirmed
        current = self.values()
        errors = check_values(current, required=self.fields, local=self.local) or {
            name: "typed but not confirmed" for name in self.fields
        }
        raise PeerValuesMissing(
            f"The {self.phase} phase needs the {self.peer}'s values, not confirmed in the form yet",
            field_errors(errors, self.peer),
            "Fill the form above, press Confirm, then run this cell again.",
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        if self.widget is None:
            return {"text/plain": self.confirmed.text() if self.confirmed else ""}
        bundle = self.widget._repr_mimebundle_(**kwargs)
        needed_keys = ", ".join(input_key(self.peer, name) for name in self.fields)
        bundle["text/plain"] = f"Form asking for {needed_keys} (shown in JupyterLab)"
        return bundle


def ask(
    phase: str,
    role: Role,
    fields: tuple[str, ...],
    known: Mapping[str, Any],
    *,
    interactive: bool | None = None,
    local: Local | None = None,
    link: str | None = None,
    card: peercard.PeerCard | None = None,
    on_confirm: Callable[[PeerValues], None] | None = None,
) -> PeerForm:
    """The peer values ``fields`` that ``phase`` needs on ``role``'s side (``Phase.needs_from_peer``).

    ``known`` holds the values at hand by parameter name (``initiator_router_interface_id``: the
    notebook's parameters or earlier outputs); ``card`` a peer card the side imported, which fills
    the gaps. When all needed values are present and valid, the result is settled at once (no form).
    Otherwise, interactively a form asks for them; in batch ``PeerValuesMissing`` names each one."""
    peer = peer_of(role)
    if card is not None and card.role != peer:
        raise ValueError(f"card: this is the {card.role}'s card; the {role} side needs the {peer}'s")
    carried = card.values() if card else {}
    from_params = {name: _strip(known.get(input_key(peer, name))) for name in fields}
    initial = {name: from_params[name] or carried.get(name, "") for name in fields}
    errors = check_values(initial, required=fields, local=local)
    if not errors:
        used_card = card is not None and any(not from_params[n] for n in fields)
        settled = PeerValues(
            peer,
            initial,
            "peer card" if used_card else "parameters",
            card=card.describe() if used_card and card else None,
        )
        if on_confirm:
            on_confirm(settled)
        return PeerForm(phase, role, fields, initial, local=local, link=link, settled=settled)
    if not is_interactive(interactive):
        raise PeerValuesMissing(
            f"The {phase} phase on the {role} side needs the {peer}'s values",
            field_errors(errors, peer),
            f"Pass them as notebook parameters (papermill -p NAME VALUE) or import the {peer}'s peer card.",
        )
    return PeerForm(phase, role, fields, initial, local=local, link=link, on_confirm=on_confirm)


def settled(
    phase: str,
    role: Role,
    fields: tuple[str, ...],
    known: Mapping[str, Any],
    *,
    card: peercard.PeerCard | None = None,
) -> PeerForm:
    """The peer values ``fields`` at hand for ``phase`` on ``role``'s side, settled as they are: no form
    and no error for what is missing. For a plan that calls no API, where nothing uses them yet."""
    peer = peer_of(role)
    carried = card.values() if card else {}
    from_params = {name: _strip(known.get(input_key(peer, name))) for name in fields}
    values = {name: from_params[name] or carried.get(name, "") for name in fields}
    values = {name: value for name, value in values.items() if value}
    used_card = card is not None and any(name in values and not from_params[name] for name in fields)
    result = PeerValues(
        peer, values, "peer card" if used_card else "parameters", card=card.describe() if used_card and card else None
    )
    return PeerForm(phase, role, fields, values, settled=result)
