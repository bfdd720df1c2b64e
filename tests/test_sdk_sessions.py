"""The SDK's HTTP session for an endpoint made ahead of the first call (``cloud.warm_sessions``), as a
kernel fork server makes it for the kernels of a run: the call then finds it and makes no SSL context
of its own (each of which loads the system's certificate store).

Each check runs in a fresh interpreter: the SDK keeps its sessions for the life of the process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

CALL = """
import json, ssl, urllib.request
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models
from alibabacloud_vpc20160428.client import Client
from alicloud_emulator.server import make_server
from alicloud_emulator.world import default_world
from darabonba.core import DaraCore
from vpclink.cloud import warm_sessions

server = make_server(world=default_world()).start()
try:
    if WARM:
        warm_sessions([server.url])  # as the runner names an emulator: a URL with its scheme
    made = []
    create = ssl.create_default_context
    ssl.create_default_context = lambda *a, **k: made.append(1) or create(*a, **k)
    before = sorted(DaraCore._sessions)
    with urllib.request.urlopen(server.url + "/_emulator/accounts") as r:
        account = json.loads(r.read())["accounts"][0]
    config = Config(
        access_key_id=account["access_key_id"], access_key_secret=account["access_key_secret"],
        region_id="cn-qingdao", endpoint=server.url.split("://")[1], protocol="http",
    )
    body = Client(config).describe_vpcs(models.DescribeVpcsRequest(region_id="cn-qingdao")).body
    print(json.dumps({"vpcs": len(body.vpcs.vpc), "before": before, "after": sorted(DaraCore._sessions),
                      "contexts": len(made)}))
finally:
    server.stop()
"""


def _call(warm: bool) -> dict:
    code = f"WARM = {warm}\n" + textwrap.dedent(CALL)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("warm", [True, False], ids=["warmed", "cold"])
def test_a_call_to_a_warmed_endpoint_makes_no_session_or_ssl_context_of_its_own(warm: bool) -> None:
    seen = _call(warm)
    assert seen["vpcs"] > 0  # the call itself worked
    if warm:
        # the session the call used is the one made ahead: keyed as the SDK keys it
        assert len(seen["before"]) == 1 and seen["after"] == seen["before"] and seen["contexts"] == 0
    else:  # what a kernel's first call costs without it
        assert seen["before"] == [] and len(seen["after"]) == 1 and seen["contexts"] == 1
