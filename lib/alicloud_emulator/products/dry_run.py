"""``DryRun=true``: validate everything, change nothing, answer with the documented error."""

from __future__ import annotations

from ..errors import dry_run_passed
from ..params import Params


def stop_if_dry_run(p: Params) -> None:
    """Call after every check and before any write: a dry run ends here, rolled back."""
    if p.flag("DryRun"):
        raise dry_run_passed()
