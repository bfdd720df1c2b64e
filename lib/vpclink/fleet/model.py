"""What a valid fleet file gives: named VPCs and links, each link carrying the ``LinkParams`` that the
same link written as a single link file would give.

A ``Fleet`` exists only when every part of its file is valid (``spec.load_fleet``): there is no
partially valid fleet.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# A fleet link's backend is its link file's: one definition, in the parameter contract.
from ..params import BACKENDS, DEFAULT_BACKEND, Backend, LinkParams, Role
from .quota import Limit

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Backend", "Fleet", "FleetLink", "Vpc"]


@dataclass(frozen=True)
class Vpc:
    """One VPC of the fleet, declared once under its name in ``vpcs:``."""

    name: str
    profile: str
    region: str
    vpc_id: str
    vpc_cidr: str
    security_group_id: str
    account_uid: str | None = None
    instance_id: str | None = None

    @property
    def path(self) -> str:
        return f"vpcs.{self.name}"


@dataclass(frozen=True)
class FleetLink:
    """One item of ``links:``, expanded and validated as a single link."""

    index: int  # its position in links:
    name: str
    initiator: str  # VPC names
    acceptor: str
    params: LinkParams
    routes_listed: frozenset[Role]  # roles whose destinations the file lists (else the peer's vpc_cidr)

    @property
    def backend(self) -> Backend:
        """The link's backend, as its parameters have it (``defaults.backend`` under the link's own)."""
        return self.params.backend

    @property
    def path(self) -> str:
        return f"links[{self.index}]"

    def vpc(self, role: Role) -> str:
        return self.initiator if role == "initiator" else self.acceptor

    def role_of(self, vpc: str) -> Role:
        return "initiator" if vpc == self.initiator else "acceptor"

    def label(self) -> str:
        """How messages name the link: its name and where it is in the file."""
        return f"{self.name} ({self.path})"


@dataclass(frozen=True, eq=False)
class Fleet:
    name: str
    source: str
    vpcs: Mapping[str, Vpc]
    links: tuple[FleetLink, ...]
    documents: Mapping[str, Mapping[str, Any]]  # link name -> the equivalent link file's mapping
    # quotas: of the file (overrides of quota.TABLE)
    quotas: Mapping[str, Limit] = field(default_factory=lambda: MappingProxyType({}))

    def link_params(self) -> list[LinkParams]:
        """Each link's parameters, in the file's order."""
        return [link.params for link in self.links]

    def items(self) -> list[tuple[str, LinkParams]]:
        """``(link name, LinkParams)`` in the file's order."""
        return [(link.name, link.params) for link in self.links]

    def link(self, name: str) -> FleetLink:
        for link in self.links:
            if link.name == name:
                return link
        raise KeyError(name)

    def link_document(self, name: str) -> dict[str, Any]:
        """The link file (as a mapping, ready for YAML) that describes this link on its own: the VPCs'
        fields under initiator and acceptor, the defaults with the link's overrides merged in. Loading
        it with ``vpclink.params`` gives exactly ``link(name).params``."""
        return copy.deepcopy(dict(self.documents[name]))

    def links_of(self, vpc: str) -> list[FleetLink]:
        """The links with ``vpc`` at either end, in the file's order."""
        return [link for link in self.links if vpc in (link.initiator, link.acceptor)]
