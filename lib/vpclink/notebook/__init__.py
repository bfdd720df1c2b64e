"""The phase notebooks: what their cells call, and the template they are generated from.

``start(name, globals())`` reads a notebook's ``parameters`` cell and returns the
:class:`~vpclink.notebook.phase.PhaseNotebook` whose methods the cells call. The jobs are apart:
``settings`` (the parameters cell: names, safe defaults, checks), ``peer`` (the two-operator exchange),
``recorder`` (``run.json`` when an analyst runs a notebook), ``display`` (what the cells show),
``template`` and ``generate`` (the notebooks themselves, from the phases' declarations).
"""

from .phase import PhaseFailed, PhaseNotebook, start
from .settings import COMMON, NotebookParameterError, Settings

__all__ = ["COMMON", "NotebookParameterError", "PhaseFailed", "PhaseNotebook", "Settings", "start"]
