"""What every phase kernel imports before its notebook runs (``vpclink.kernels.PRELOAD``).

A run starts one kernel per phase and side, so whatever the preload imports is paid sixteen times
per run, and by the analyst at every kernel restart. nbformat pulls in jsonschema and, where
JupyterLab is installed, its format checkers, whose grammar alone takes over a second to build:
the kernel has no use for them (the runner reads and renders the notebooks), so it must not load them.
"""

from __future__ import annotations

import json
import subprocess
import sys

from vpclink.kernels import PRELOAD

NOT_IN_A_KERNEL = ("nbformat", "jsonschema", "nbconvert", "papermill")


def test_the_kernel_preload_leaves_the_notebook_tooling_to_the_runner() -> None:
    probe = f"{PRELOAD}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(done.stdout))
    assert {"vpclink.notebook", "vpclink.cloud", "pandas"} <= loaded  # the preload does load the runbook
    # and what its first API call would load, once in the fork server rather than in every kernel
    sdk = {f"alibabacloud_{p}.client" for p in ("vpc20160428", "ecs20140526", "sts20150401", "vpcpeer20220101")}
    assert sdk | {"alibabacloud_credentials.client"} <= loaded, sorted(sdk - loaded)
    # with the models of the calls the phases make (the rest load on demand, importing.py)
    models = {
        "alibabacloud_vpc20160428.models._describe_router_interfaces_response_body",
        "alibabacloud_ecs20140526.models._describe_instances_response_body",
        "alibabacloud_sts20150401.models._get_caller_identity_response_body",
    }
    assert models <= loaded, sorted(models - loaded)
    assert "alibabacloud_vpc20160428.models._create_vpn_gateway_request" not in loaded
    assert not loaded & set(NOT_IN_A_KERNEL), sorted(loaded & set(NOT_IN_A_KERNEL))
