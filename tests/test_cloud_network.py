"""A network that is down fails fast and once: a name that does not resolve and a port nobody listens on
are not retried like throttling (once, after a short pause), and the error names the endpoint once."""

from __future__ import annotations

import socket
import time

import pytest
from alibabacloud_vpc20160428 import models as vpc
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)
from vpclink.cloud import UNREACHABLE, Cloud, CloudError
from vpclink.retries import RetryPolicy
from vpclink.waits import RealClock


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


@pytest.mark.parametrize(
    "endpoint, reason",
    [
        ("vpc.does-not-resolve.invalid:80", "does not resolve (DNS)"),
        (f"127.0.0.1:{_closed_port()}", "connection was refused"),
    ],
    ids=["dns", "refused"],
)
def test_an_unreachable_endpoint_fails_fast_once_and_names_the_endpoint(rig: Rig, endpoint: str, reason: str) -> None:
    cloud = Cloud(
        rig.params,
        endpoint=endpoint,
        profiles_file=str(rig.profiles_file),
        ledger=rig.ledger,
        phase="preflight",
        clock=RealClock(),
        retry=RetryPolicy(),  # the default policy: 14 attempts over up to 120 s for throttling
        account_uids={"initiator": "1637243907412983"},
    )
    began = time.monotonic()
    with pytest.raises(CloudError) as e:
        cloud.call("initiator", "vpc", "DescribeVpcs", vpc.DescribeVpcsRequest(region_id="cn-qingdao"), mutating=False)
    took = time.monotonic() - began
    assert e.value.code == UNREACHABLE and not e.value.ambiguous
    message = str(e.value)
    assert endpoint in message and reason in message
    assert message.count(endpoint) == 1 and "Max retries" not in message  # the raw error is not repeated
    tries = [x for x in rig.ledger.entries if x["action"] == "DescribeVpcs"]
    assert [x["outcome"] for x in tries] == ["retry", "error"]  # tried twice in all
    assert took < 10, took  # one short pause, not the throttling budget


def test_a_refused_write_is_not_sent_twice_blindly_but_may_be_retried_once(rig: Rig) -> None:
    """Nothing left the machine, so even a write without a ClientToken is safe to send once more."""
    cloud = Cloud(
        rig.params,
        endpoint=f"127.0.0.1:{_closed_port()}",
        profiles_file=str(rig.profiles_file),
        ledger=rig.ledger,
        phase="connect",
        clock=RealClock(scale=0),
        account_uids={"initiator": "1637243907412983"},
    )
    req = vpc.ConnectRouterInterfaceRequest(region_id="cn-qingdao", router_interface_id="ri-m5e1abcdefgh12345678")
    with pytest.raises(CloudError) as e:
        cloud.call("initiator", "vpc", "ConnectRouterInterface", req, mutating=True)
    assert e.value.code == UNREACHABLE
    assert len([x for x in rig.ledger.entries if x["action"] == "ConnectRouterInterface"]) == 2
