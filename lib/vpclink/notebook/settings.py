"""A phase notebook's settings: the names its ``parameters`` cell defines, checked and read.

``PARAMETERS`` is the contract between the notebooks and whatever runs them: every phase notebook
declares these names (then the outputs of earlier phases its phase takes), with these safe defaults
(``target = ""``: an offline plan, no API call; ``apply = False``: nothing changes). The notebook
generator writes the cell from it, the runner sets every name, and :meth:`Settings.read` turns the
values into settings, refusing a bad one with a message that names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import params as params_module
from .. import phases
from ..params import LinkParams, Role
from ..phases.base import Phase
from ..sides import Acting, acting, parse_side, peer_of

TARGETS = ("", "emulator", "alibabacloud")
# Set in the kernels vpclink's runner starts: the runner keeps ``run.json`` for the notebooks it runs,
# so they need not (a notebook run any other way, in JupyterLab or by papermill alone, keeps its own).
RUNNER_ENV = "VPCLINK_RUNNER"


class NotebookParameterError(ValueError):
    """A notebook parameter with a value the notebook cannot use; the message names it."""


@dataclass(frozen=True)
class Parameter:
    """One name of the ``parameters`` cell: its safe default, its type annotation and its comment."""

    name: str
    default: Any
    annotation: str | None
    comment: str


PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "params_file",
        "../params/example.yaml",
        "str",
        "the link's parameter file (YAML; never holds credentials)",
    ),
    Parameter("run_dir", "", "str", "records directory of the run; empty: keep no records"),
    Parameter(
        "target", "", "str", 'empty: offline plan from the parameters only, no API call; or "emulator", "alibabacloud"'
    ),
    Parameter("endpoint", "", "str", 'host:port of an emulator (target "emulator"); empty otherwise'),
    Parameter(
        "profiles_file", "", "str", "credential profiles file; empty: the Alibaba Cloud CLI's ~/.aliyun/config.json"
    ),
    Parameter("apply", False, "bool", "False: plan only, nothing changes; True: make the changes"),
    Parameter("run_id", "", "str", "the run's ID: stable across resumes, part of every ClientToken"),
    Parameter(
        "interactive", None, None, "None: a form in JupyterLab asks for a missing peer value; False: batch, no form"
    ),
    Parameter(
        "side",
        "",
        "str",
        'empty: one operator holds both accounts\' profiles; "initiator" or "acceptor": this side only',
    ),
    Parameter(
        "peer_card", "", "str", "two operators: the other side's peer card (.peercard.json); empty: none received yet"
    ),
    Parameter(
        "capture_dir",
        "",
        "str",
        "keep a capture of every API call here for the parity replay (shapes and codes only); empty: none",
    ),
)
COMMON: tuple[str, ...] = tuple(p.name for p in PARAMETERS)
# Names added after notebooks were first copied out: a working copy made before them still runs.
OPTIONAL: frozenset[str] = frozenset({"capture_dir"})
REQUIRED: tuple[str, ...] = tuple(k for k in COMMON if k not in OPTIONAL)


@dataclass(frozen=True)
class Settings:
    """What the ``parameters`` cell says, checked: the phase, the link, where and how to act."""

    phase: Phase
    params_file: str
    params: LinkParams
    run_dir: Path | None
    target: str
    endpoint: str
    profiles_file: str
    apply: bool
    run_id: str
    interactive: bool | None
    side: Acting
    peer_card: str
    capture_dir: str = ""

    @classmethod
    def read(
        cls,
        name: str,
        *,
        params_file: str,
        run_dir: str = "",
        target: str = "",
        endpoint: str = "",
        profiles_file: str = "",
        apply: bool = False,
        run_id: str = "",
        interactive: bool | None = None,
        side: str = "",
        peer_card: str = "",
        capture_dir: str = "",
    ) -> Settings:
        if target not in TARGETS:
            raise NotebookParameterError(
                f'target = {target!r}: expected "" (offline plan), "emulator" or "alibabacloud"'
            )
        if target == "emulator" and not endpoint:
            raise NotebookParameterError('endpoint: the emulator\'s host:port is required with target = "emulator"')
        if interactive not in (None, True, False):
            raise NotebookParameterError(
                f"interactive = {interactive!r}: expected None (forms in JupyterLab), True or False (batch: no form)"
            )
        try:
            acting_side = parse_side(side)
        except ValueError as e:
            raise NotebookParameterError(str(e)) from None
        if peer_card and acting_side is None:
            raise NotebookParameterError(
                "peer_card: a peer card is for two operators; set side to this "
                'operator\'s side ("initiator" or "acceptor") too'
            )
        return cls(
            phase=phases.get(name),
            params_file=params_file,
            params=params_module.load(params_file),
            run_dir=Path(run_dir) if run_dir else None,
            target=target,
            endpoint=endpoint,
            profiles_file=profiles_file,
            apply=bool(apply),
            run_id=run_id,
            interactive=interactive,
            side=acting_side,
            peer_card=peer_card,
            capture_dir=capture_dir,
        )

    @classmethod
    def from_namespace(cls, name: str, namespace: Mapping[str, Any]) -> tuple[Settings, dict[str, Any]]:
        """The settings and the inputs given, from the names of the ``parameters`` cell (``globals()``)."""
        phase = phases.get(name)
        missing = [k for k in REQUIRED if k not in namespace]
        if missing:
            raise NotebookParameterError(f"the parameters cell must define {', '.join(missing)}")
        settings = cls.read(name, **{k: namespace[k] for k in COMMON if k in namespace})
        return settings, {k: namespace.get(k, "") for k in phase.input_keys}

    # -- what follows from them -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.phase.name

    @property
    def acting(self) -> tuple[Role, ...]:
        """The sides this notebook acts in: the phase's, or only this operator's."""
        return acting(self.phase.sides, self.side)

    @property
    def peer(self) -> Role | None:
        return peer_of(self.side) if self.side else None

    @property
    def applying(self) -> bool:
        """Changes are made: a target, ``apply = True``, and a side of this phase to act in."""
        return self.apply and bool(self.target) and bool(self.acting)

    @property
    def reads(self) -> bool:
        """The cloud is read: a target and a side to act in, and either applying or a phase that only
        reads (it runs whenever a target is given, so that a plan of later phases can use it)."""
        return bool(self.target) and bool(self.acting) and (self.applying or self.phase.kind == "discover")

    @property
    def batch(self) -> bool:
        return self.interactive is False
