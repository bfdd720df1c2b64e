"""What the phase notebooks' cells call, so that each cell is one or two readable lines.

A notebook reads its ``parameters`` cell into a :class:`Phase` and then shows, in order: the plan
(a table of intended calls), the apply (the outputs it produced), the resulting state, the outputs
(as a table for readers and as JSON under a custom mimetype for the runner) and the ledger of its
API calls. With the default parameters (``target = ""``) nothing calls an API: the plan comes from
the parameters alone. With a target but ``apply = False`` only reads are made.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

from . import offline, phases
from . import params as params_module
from .cloud import Cloud
from .ledger import Ledger
from .phases.base import PhaseContext, Step, rows_frame, steps_frame
from .picture import link_svg
from .state import COMMON_PARAMETERS, IDENTITIES_MIME, LEDGER_FILE, OUTPUTS_MIME, PLAN_MIME, RUN_FILE, VERIFY_MIME
from .waits import Progress

TARGETS = ("", "emulator", "alibabacloud")
# Phases whose apply only reads (discovery): they run whenever a target is given, so that a plan
# of later phases (a dry run) can use what they found.
READ_ONLY_PHASES = frozenset({"preflight"})
COMMON = COMMON_PARAMETERS


class NotebookParameterError(ValueError):
    """A notebook parameter with a value the notebook cannot use; the message names it."""


class PhaseFailed(RuntimeError):
    """The phase ran but did not reach its goal (e.g. the link does not verify)."""


def _display(*objs: Any, raw: bool = False) -> None:
    from IPython.display import display
    display(*objs, raw=raw)


def _markdown(text: str) -> None:
    from IPython.display import Markdown
    _display(Markdown(text))


def _record(mime: str, value: Any, summary: str) -> None:
    """A machine-readable record in the notebook: JSON under ``mime`` plus a plain-text fallback."""
    _display({mime: value, "text/plain": summary}, raw=True)


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value).replace("|", "\\|")


def _log_to_stdout() -> None:
    """Wait progress lines go to the cell's output, where the record keeps them."""
    logger = logging.getLogger("vpclink")
    if not any(getattr(h, "_vpclink", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        handler._vpclink = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class Phase:
    """One phase as a notebook runs it. Build it with :meth:`start`."""

    def __init__(self, name: str, *, params_file: str, run_dir: str = "", target: str = "", endpoint: str = "",
                 profiles_file: str = "", apply: bool = False, run_id: str = "",
                 inputs: Mapping[str, Any] | None = None):
        if target not in TARGETS:
            raise NotebookParameterError(f"target = {target!r}: expected \"\" (offline plan), \"emulator\" or \"alibabacloud\"")
        if target == "emulator" and not endpoint:
            raise NotebookParameterError("endpoint: the emulator's host:port is required with target = \"emulator\"")
        self.name = name
        self.module = phases.get(name)
        self.params = params_module.load(params_file)
        self.run_dir = Path(run_dir) if run_dir else None
        self.target = target
        self.applying = bool(apply) and bool(target)
        self.reads = bool(target) and (self.applying or name in READ_ONLY_PHASES)
        self.inputs = {k: v for k, v in (inputs or {}).items() if v not in ("", None, [], ())}
        self.outputs_: dict[str, Any] = {}
        self.applied = False
        self.cloud: Cloud | None = None
        if target:
            ledger = Ledger(self.run_dir / LEDGER_FILE if self.run_dir else None)
            self.cloud = Cloud(self.params, endpoint=endpoint or None, profiles_file=profiles_file or None,
                               ledger=ledger, phase=name, sides=tuple(self.module.SIDES))
            if self.run_dir:
                _log_to_stdout()
        progress = Progress("log" if self.run_dir else "auto")
        self.ctx = PhaseContext(self.params, self.cloud, dict(self.inputs),  # type: ignore[arg-type]
                                run_id or f"notebook-{self.params.link}", name, progress)

    @classmethod
    def start(cls, name: str, namespace: Mapping[str, Any]) -> "Phase":
        """The phase configured by the names of the ``parameters`` cell (pass ``globals()``)."""
        module = phases.get(name)
        missing = [k for k in COMMON if k not in namespace]
        if missing:
            raise NotebookParameterError(f"the parameters cell must define {', '.join(missing)}")
        phase = cls(name, **{k: namespace[k] for k in COMMON},
                    inputs={k: namespace.get(k, "") for k in module.INPUTS})
        phase.show_setting()
        return phase

    # -- cells --------------------------------------------------------------------------------
    def show_setting(self) -> None:
        mode = ("**offline plan** (no API call: set `target` to plan against the cloud)" if not self.target
                else "**apply**: changes are made" if self.applying
                else "**plan only** (`apply = False`): nothing is changed")
        rows = [f"| link | `{self.params.link}` |", f"| phase | {self.name} |", f"| mode | {mode} |",
                f"| target | {self.target or '(none)'} |"]
        for role in self.module.SIDES:
            s = self.params.side(role)
            rows.append(f"| {role} | profile `{s.profile}`, {s.region}, {s.vpc_id} ({s.vpc_cidr}) |")
        for key, value in self.inputs.items():
            rows.append(f"| input `{key}` | `{_cell(value)}` |")
        _markdown("| setting | value |\n|---|---|\n" + "\n".join(rows))

    def plan(self) -> Any:
        """The steps apply would take, as a table (read-only)."""
        if self.cloud is None:
            steps: list[Step] = offline.plan(self.name, self.params)
            _markdown(f"*{offline.NOTE}*")
        else:
            steps = self.module.plan(self.ctx)
        _record(PLAN_MIME, {"phase": self.name, "offline": self.cloud is None, "steps": [asdict(s) for s in steps]},
                f"{len(steps)} planned steps")
        return steps_frame(steps)

    def apply(self) -> None:
        """Make the changes (only with a target and ``apply = True``) and show the outputs."""
        if not self.reads:
            why = ("no target: this was an offline plan" if not self.target
                   else "apply = False: this was a plan only")
            _markdown(f"Nothing applied ({why}).")
            return
        if self.applying:
            outputs = self.module.apply(self.ctx)
        else:
            with self.cloud.read_only():  # type: ignore[union-attr]
                outputs = self.module.apply(self.ctx)
        missing = [k for k in self.module.OUTPUTS if k not in outputs]
        if missing:
            raise PhaseFailed(f"the {self.name} phase returned no {', '.join(missing)}")
        self.outputs_ = {k: outputs[k] for k in self.module.OUTPUTS}
        self.applied = True
        _markdown("Applied. Outputs:\n\n" + self._table(self.outputs_))

    def verify(self) -> Any:
        """The resulting state, as a table (read-only)."""
        if not self.applied:
            _markdown("Nothing to verify: nothing was applied.")
            return None
        rows = self.module.verify(self.ctx)
        _record(VERIFY_MIME, {"phase": self.name, "rows": rows}, f"{len(rows)} rows")
        return rows_frame(rows)

    def outputs(self) -> None:
        """Record the outputs: a table for readers, JSON for the runner and later phases."""
        _markdown(f"### Outputs of {self.name}\n\n" + (self._table(self.outputs_) if self.outputs_ else "(none)"))
        _record(OUTPUTS_MIME, {"phase": self.name, "applied": self.applied, "outputs": self.outputs_},
                ", ".join(f"{k}={v}" for k, v in self.outputs_.items()) or "no outputs")
        if self.applied and self.name == "preflight" and self.cloud is not None:
            identities = {role: self.cloud.identity(role) for role in self.module.SIDES}
            _record(IDENTITIES_MIME, identities, "identities: " + ", ".join(
                f"{r}={i.get('AccountId')}" for r, i in identities.items()))

    def ledger(self) -> Any:
        """This notebook's API calls (one row per call and retry), as a table."""
        import pandas as pd

        from .ledger import FIELDS
        rows = self.cloud.ledger.entries if self.cloud is not None else []
        if not rows:
            _markdown("No API call was made.")
        return pd.DataFrame(rows, columns=list(FIELDS))

    def picture(self) -> None:
        """The link as a picture: both VPCs, the router interfaces, routes, rules and ping results."""
        from IPython.display import SVG
        known = dict(self._run_outputs())
        known.update(self.inputs)
        known.update(self.outputs_)
        _display(SVG(link_svg(self.params, known)))

    def check(self) -> None:
        """Fail the notebook (and the run) when the phase did not reach its goal."""
        if self.applying and self.outputs_.get("verified") is False:
            raise PhaseFailed("the link does not verify: ping initiator -> acceptor "
                              f"{self.outputs_.get('ping_initiator_to_acceptor')}, acceptor -> initiator "
                              f"{self.outputs_.get('ping_acceptor_to_initiator')}")
        if self.applying and self.outputs_.get("teardown_complete") is False:
            raise PhaseFailed("teardown did not remove everything; see the verify table above")
        _markdown(f"**{self.name}: done.**" if self.applied else f"**{self.name}: planned.**")

    # -- helpers ------------------------------------------------------------------------------
    def _run_outputs(self) -> dict[str, Any]:
        """Outputs of earlier phases of this run, from run.json (for the picture)."""
        if not self.run_dir or not (self.run_dir / RUN_FILE).exists():
            return {}
        from .state import load
        try:
            return load(self.run_dir).merged_outputs()
        except ValueError:
            return {}

    @staticmethod
    def _table(values: Mapping[str, Any]) -> str:
        """A markdown table of the one-line values, then each multi-line value as a text block."""
        short = {k: v for k, v in values.items() if not (isinstance(v, str) and "\n" in v)}
        long = {k: v for k, v in values.items() if k not in short}
        text = "| output | value |\n|---|---|\n" + "\n".join(f"| `{k}` | `{_cell(v)}` |" for k, v in short.items())
        for k, v in long.items():
            text += f"\n\n`{k}`:\n\n```text\n{v.strip()}\n```"
        return text
