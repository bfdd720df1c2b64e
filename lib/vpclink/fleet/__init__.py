"""Many links at once: a fleet file of named VPCs and links, checked before any API call.

- ``load_fleet(path) -> Fleet`` (``ParamsError`` naming every problem, as ``vpclink.params.load``);
  ``parse_fleet(data)`` for a document already read; ``is_fleet(mapping_or_path)``;
  ``load_any(path)`` for either kind of file; ``load_link(path)`` refusing a fleet file by name.
- ``Fleet.link_params()`` / ``Fleet.items()``: each link's ``LinkParams``, exactly what the same link
  written as a link file gives (``Fleet.link_document(name)`` is that file).
- ``check_topology(fleet)`` and ``check_against_cloud(fleet, existing_interfaces=...,
  existing_routes=..., existing_rules=..., route_tables=...)``: what the links add up to on each VPC.

Running a fleet (imported by name, not here: the engine brings Dask): ``command`` (the CLI's side),
``run`` (each link as ``vpclink run`` in a subprocess, resume, teardown), ``rate`` (``--max-concurrency``,
``--max-errors``), ``engine`` (Dask, local or ``--scheduler``), ``coordinator`` and ``quota`` (API quotas
and route-table locks shared by every process of a fleet), ``record`` (``fleet.json``, ``index.html``),
``world`` (the emulator world of a fleet), ``existing`` (what the cloud already holds, for ``plan`` and
``run``'s topology check), ``preview`` (``teardown FLEET_RUN_DIR --dry-run``).
"""

from .model import BACKENDS, DEFAULT_BACKEND, Backend, Fleet, FleetLink, Vpc
from .spec import is_fleet, load_any, load_fleet, load_link, parse_fleet
from .topology import TOPOLOGY_LIMITS, Existing, check_against_cloud, check_topology

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "TOPOLOGY_LIMITS",
    "Backend",
    "Existing",
    "Fleet",
    "FleetLink",
    "Vpc",
    "check_against_cloud",
    "check_topology",
    "is_fleet",
    "load_any",
    "load_fleet",
    "load_link",
    "parse_fleet",
]
