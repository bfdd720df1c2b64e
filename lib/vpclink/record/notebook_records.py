"""The records a phase notebook keeps in its own outputs, readable back with nbformat alone.

Each executed notebook holds its machine-readable records as display outputs under these custom
mimetypes (beside a plain-text summary), so the notebook itself is the record of its phase: the runner
reads them back (no kernel needed) into ``run.json``, and a reviewer can too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import nbformat

OUTPUTS_MIME = "application/vnd.vpclink.outputs+json"
PLAN_MIME = "application/vnd.vpclink.plan+json"
IDENTITIES_MIME = "application/vnd.vpclink.identities+json"
VERIFY_MIME = "application/vnd.vpclink.verify+json"
PEER_MIME = "application/vnd.vpclink.peer+json"  # the peer's values a phase used, their source and card
STEPS_MIME = "application/vnd.vpclink.steps+json"  # when each step of the phase ran
CARD_MIME = "application/vnd.vpclink.card+json"  # the peer card the phase exported (two operators)
SOFTWARE_MIME = "application/vnd.vpclink.software+json"  # what ran the notebook (provenance)
OUTCOMES_MIME = "application/vnd.vpclink.outcomes+json"  # what each step of the apply did (created, ...)
TRACEBACK_MIME = "application/vnd.vpclink.traceback+json"  # the full traceback behind a short message

# The notebook metadata key under which the runner stamps an executed notebook with what ran it.
METADATA_KEY = "vpclink"


def read_record(notebook: str | Path | nbformat.NotebookNode, mime: str) -> Any | None:
    """The last value a notebook displayed with ``mime``, or None. Works on any saved notebook."""
    return read_records(notebook, mime).get(mime)


def read_records(notebook: str | Path | nbformat.NotebookNode, *mimes: str) -> dict[str, Any]:
    """The last value a notebook displayed with each of ``mimes`` (absent ones left out)."""
    import nbformat  # imported here: kernels load this module, and nbformat costs them ~1 s

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data") or {}
            for mime in mimes:
                if mime in data:
                    value = data[mime]
                    found[mime] = json.loads(value) if isinstance(value, str) else value
    return found
