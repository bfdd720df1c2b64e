"""Move a built and verified link from one backend to the other without rebuilding it.

``check`` refuses bad input before any call; ``move`` changes one route's next hop in place;
``engine`` runs the whole migration as steps, each of which reads what exists before it writes, so a
migration killed at any step and run again ends where an uninterrupted one would:

1. the old link is there (both of its hops, and each side's route through its own hop);
2. build the new hop with the target backend's own initiator, acceptor and connect steps;
3. per side, one at a time: move the route to the new hop in place (``ModifyRouteEntry`` with
   ``NewNextHopType``/``NewNextHopId``: one change, never delete-then-create), then ping both ways;
   a ping that fails puts that side's route back on the old hop (in place, pinged again) and stops;
4. remove the old hop (the teardown's own steps), leaving routes and security group rules alone.

A failure before the first route moves leaves the old link carrying traffic as before.
"""

from __future__ import annotations

from . import command
from .check import MigrateInputError, refuse_bad_input
from .engine import migrate, plan

__all__ = ["MigrateInputError", "command", "migrate", "plan", "refuse_bad_input"]
