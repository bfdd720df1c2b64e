"""The parameter contract: one YAML file describes one link.

Everything is validated before any API call; every problem is reported at once, each naming the
field and what would be valid. Credentials are referenced by profile name only.

Example (``params/example.yaml``)::

    link: tutorial-qingdao-beijing
    initiator:                      # account A: creates the initiator router interface
      profile: vpclink-a            # credential profile (Alibaba Cloud CLI ~/.aliyun/config.json)
      account_uid: "1637243907412983"   # optional; checked against STS GetCallerIdentity
      region: cn-qingdao
      vpc_id: vpc-...
      vpc_cidr: 192.168.0.0/16      # checked against DescribeVpcs in preflight
      security_group_id: sg-...
      instance_id: i-...            # optional: the ECS instance that pings the peer
    acceptor: { ... same fields ... }
    bandwidth_mbps: 2               # -> Spec Mini.2 (the initiator's; the acceptor's is Negative)
    routes:                         # destinations routed through the router interface
      initiator: [172.16.0.0/16]    # in VPC1's route table (default: the acceptor's vpc_cidr)
      acceptor: [192.168.0.0/16]    # in VPC2's route table (default: the initiator's vpc_cidr)
    security_groups:
      mode: cidr                    # cidr: authorize the peer CIDR (required across regions)
                                    # group: peer security group + peer account (one region only)
      rules:
        - {protocol: icmp}
        - {protocol: tcp, port_range: 22/22}
    timeouts:                       # seconds; waits poll with backoff up to these
      router_interface: 300
      route_entry: 120
      command: 120
    verify:
      ping_count: 4
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["initiator", "acceptor"]
ROLES: tuple[Role, Role] = ("initiator", "acceptor")

# Router interface Spec by bandwidth in Mbps (CreateRouterInterface); the acceptor's is "Negative".
SPEC_BY_MBPS: dict[int, str] = {
    2: "Mini.2", 5: "Mini.5", 10: "Small.1", 20: "Small.2", 50: "Small.5", 100: "Middle.1",
    200: "Middle.2", 500: "Middle.5", 1000: "Large.1", 2000: "Large.2", 5000: "Large.5", 10000: "Xlarge.1",
}


@dataclass(frozen=True)
class Side:
    """One account's end of the link."""

    role: Role
    profile: str
    region: str
    vpc_id: str
    vpc_cidr: str
    security_group_id: str
    account_uid: str | None = None
    instance_id: str | None = None


@dataclass(frozen=True)
class Rule:
    """An ingress rule each side opens to the peer: ``protocol`` in icmp/tcp/udp/all; ``port_range``
    ``a/b`` for tcp/udp, ``-1/-1`` otherwise."""

    protocol: str
    port_range: str = "-1/-1"
    description: str = ""


@dataclass(frozen=True)
class SecurityGroups:
    mode: Literal["cidr", "group"] = "cidr"
    rules: tuple[Rule, ...] = (Rule("icmp"),)


@dataclass(frozen=True)
class Timeouts:
    router_interface: float = 300.0
    route_entry: float = 120.0
    command: float = 120.0


@dataclass(frozen=True)
class Verify:
    ping_count: int = 4


@dataclass(frozen=True)
class LinkParams:
    link: str
    initiator: Side
    acceptor: Side
    bandwidth_mbps: int
    routes: dict[Role, tuple[str, ...]]
    security_groups: SecurityGroups = field(default_factory=SecurityGroups)
    timeouts: Timeouts = field(default_factory=Timeouts)
    verify: Verify = field(default_factory=Verify)

    @property
    def spec(self) -> str:
        return SPEC_BY_MBPS[self.bandwidth_mbps]

    def side(self, role: Role) -> Side:
        return self.initiator if role == "initiator" else self.acceptor

    def peer(self, role: Role) -> Side:
        return self.acceptor if role == "initiator" else self.initiator

    @property
    def same_region(self) -> bool:
        return self.initiator.region == self.acceptor.region


@dataclass(frozen=True)
class FieldError:
    field: str     # dotted path, e.g. "acceptor.vpc_id"
    message: str   # what is wrong and what would be valid


class ParamsError(ValueError):
    """Every problem found in a parameter file."""

    def __init__(self, source: str, errors: list[FieldError]):
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {e.field}: {e.message}" for e in errors)
        super().__init__(f"{source}: {len(errors)} invalid parameter(s):\n{lines}")


# To be implemented (validation, loading): see the module docstring for the contract.
def parse(data: object, source: str = "<parameters>") -> LinkParams:
    raise NotImplementedError


def load(path: str) -> LinkParams:
    raise NotImplementedError
