"""The one template every phase notebook is made from, filled in from the phase's declaration.

A notebook is a document first: its opening says what the phase does and why, in the console's terms
and the API's (from ``Phase`` and the backend's ``Steps``); then the ``parameters`` cell (the contract
in ``settings.PARAMETERS``, then the phase's inputs), then one short cell per step, each after a line
that says what it shows. ``generate`` writes the notebooks; nothing here is edited per phase.
"""

from __future__ import annotations

import json
from typing import Any

import nbformat

from .. import phases
from ..phases.base import Phase
from .settings import PARAMETERS

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}

PARAMETERS_TEXT = """## Parameters

The defaults are safe: with `target = ""` this notebook makes no API call and shows the plan from the \
parameter file alone; with a target, nothing changes until `apply = True`. `vpclink run` sets these for \
each phase."""

PEER_TEXT = """## Values from the other account

When two operators each hold one account (`side` set), this phase takes what it needs from the other \
side (its account UID, VRouter, router interface, ...) from their peer card (`peer_card`) or, in \
JupyterLab, from the form below: fill it in or paste their card, press **Confirm**, then run the cells \
from the next one on. Each value is checked as it is typed. A value that disagrees with the parameter \
file (the peer's region or CIDR) is refused, naming the parameter. With one operator holding both \
profiles (the default) nothing is asked."""

PLAN_TEXT = """## Plan

The calls this phase would make, one row per step: which account (`side`), the API `action`, what it \
acts on, and the `intent` (`create`, `exists` = already done, `wait`, `check`, ...). Planning only reads."""

APPLY_TEXT = """## Apply

Makes the changes when `apply = True` and a `target` is set. Every step reads first and creates only \
what is missing, with a ClientToken derived from the run ID, so running this cell again (or the whole \
runbook after a crash) creates nothing twice."""

STATE_TEXT = """## Resulting state

What the cloud shows now, read back after the apply."""

PICTURE_TEXT = """## The link

Both VPCs with their accounts, regions and CIDR blocks, each side's end of the connection and its \
state, the routes, the security group rules and the ping result each way."""

OUTPUTS_TEXT = """## Outputs

What later phases need from this one. The runner reads them from this notebook (a JSON output) into \
`run.json` and passes them on as parameters."""

CARD_TEXT = """## Peer card

Two operators: this side's card for the other operator (account UID, region, VPC and CIDR, VRouter, \
router interface, security group, instance IP and the phases done here; never a credential), written \
into the run directory. Send it to them; they pass it as `peer_card` or paste it into their form."""

LEDGER_TEXT = """## Ledger

Every API call this notebook made, retries included: account, region, action, request ID, outcome and \
duration (and the parameters of every call that changes something). The run's `ledger.jsonl` holds \
the calls of all phases."""

RESULT_TEXT = "## Result"

START = 'from vpclink.notebook import start\n\nphase = start("{name}", globals())  # reads the parameters above'
ASK_PEER = "peer = phase.ask_peer()  # a form only when a value from the other account is missing\npeer"
USE_PEER = "phase.use_peer(peer)  # prints the values, checks them, records them with their source and time"


def opening(phase: Phase, backend: str | None = None) -> str:
    """The notebook's first cell: what the phase does, in the console and the API, and why."""
    steps = phase.steps[backend] if backend else next(iter(phase.steps.values()))
    after = " " if steps.console.startswith("(") else ": "  # "(account A): ..." names whose console it is
    return (
        f"# {phase.number} · {phase.title}\n\n{phase.summary}\n\n"
        f"**In the console**{after}{steps.console}\n\n"
        f"**In API terms**: {steps.api}\n\n"
        f"**{phase.why_heading}**: {phase.why}"
    )


def _literal(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def parameters_source(phase: Phase) -> str:
    """The ``parameters`` cell: the common names with their safe defaults, then the phase's inputs."""
    lines = []
    for p in PARAMETERS:
        code = f"{p.name}{': ' + p.annotation if p.annotation else ''} = {_literal(p.default)}"
        lines.append(f"{code:<24} # {p.comment}" if len(code) < 24 else f"{code}  # {p.comment}")
    if phase.input_keys:
        lines.append("# Outputs of earlier phases; empty: not known yet (the runner fills them in).")
        codes = []
        for key in phase.input_keys:
            producer = phases.producer(key)
            output = next(o for o in producer.outputs if o.key == key) if producer else None
            kind = output.kind if output else str
            default: Any = [] if kind is list else ""
            doc = f"{output.doc} ({producer.name})" if output and producer else "an earlier phase's output"
            codes.append((f"{key}: {kind.__name__} = {_literal(default)}", doc))
        width = max(len(c) for c, _ in codes) + 3
        lines += [f"{code:<{width}}# {doc}" for code, doc in codes]
    return "\n".join(lines)


def cells(phase: Phase) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The cells of ``phase``'s notebook: (id, type, source, metadata), in order."""
    out: list[tuple[str, str, str, dict[str, Any]]] = [
        ("intro", "markdown", opening(phase), {}),
        ("parameters-text", "markdown", PARAMETERS_TEXT, {}),
        ("parameters", "code", parameters_source(phase), {"tags": ["parameters"]}),
        ("start", "code", START.format(name=phase.name), {}),
        ("peer-text", "markdown", PEER_TEXT, {}),
        ("ask-peer", "code", ASK_PEER, {}),
        ("use-peer", "code", USE_PEER, {}),
        ("plan-text", "markdown", PLAN_TEXT, {}),
        ("plan", "code", "phase.plan()", {}),
        ("apply-text", "markdown", APPLY_TEXT, {}),
        ("apply", "code", "phase.apply()", {}),
        ("state-text", "markdown", STATE_TEXT, {}),
        ("verify", "code", "phase.verify()", {}),
    ]
    if phase.picture:
        out += [("picture-text", "markdown", PICTURE_TEXT, {}), ("picture", "code", "phase.picture()", {})]
    out += [
        ("outputs-text", "markdown", OUTPUTS_TEXT, {}),
        ("outputs", "code", "phase.outputs()", {}),
        ("card-text", "markdown", CARD_TEXT, {}),
        ("card", "code", "phase.export_card()", {}),
        ("ledger-text", "markdown", LEDGER_TEXT, {}),
        ("ledger", "code", "phase.ledger()", {}),
        ("result-text", "markdown", RESULT_TEXT, {}),
        ("check", "code", "phase.check()", {}),
    ]
    return out


def notebook(phase: Phase) -> nbformat.NotebookNode:
    """``phase``'s notebook, without outputs, validated against the notebook format's schema.

    Built as the format's plain structure and validated once, whole: nbformat's ``new_*_cell``
    validates each cell against a part of the schema, which its fast validator cannot do (about 0.1 s
    for the phases' notebooks, in every run, and in every link of a fleet)."""
    nb = nbformat.from_dict(
        {
            "nbformat": nbformat.v4.nbformat,
            "nbformat_minor": nbformat.v4.nbformat_minor,
            "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
            "cells": [_cell(phase, *cell) for cell in cells(phase)],
        }
    )
    nbformat.validate(nb)
    return nb


def _cell(phase: Phase, name: str, kind: str, source: str, metadata: dict[str, Any]) -> dict[str, Any]:
    cell_id = f"{phase.name.replace('_', '-')}-{name}"[:64]
    cell: dict[str, Any] = {"cell_type": kind, "id": cell_id, "metadata": metadata, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell
