"""How vpclink loads code (``vpclink.importing``): the SDKs' model packages one model at a time, and a
runner's process that never loads the SDK clients it does not call.

Each check runs in a fresh interpreter, since what a process has imported is the thing under test."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from vpclink.importing import model_index

MODELS = ("alibabacloud_vpc20160428.models", "alibabacloud_ecs20140526.models", "alibabacloud_sts20150401.models")


def _python(code: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_sdk_call_works_with_its_models_loaded_on_demand() -> None:
    # the official VPC client against the emulator, in a process that imported vpclink first
    found = _python(
        """
        import json, sys, urllib.request
        import vpclink
        from alibabacloud_tea_openapi.utils_models import Config
        from alibabacloud_vpc20160428 import models
        from alibabacloud_vpc20160428.client import Client
        from alicloud_emulator.server import make_server
        from alicloud_emulator.world import default_world

        server = make_server(world=default_world()).start()
        try:
            loaded_before = sum(1 for m in sys.modules if m.startswith("alibabacloud_vpc20160428.models."))
            with urllib.request.urlopen(server.url + "/_emulator/accounts") as r:
                account = json.loads(r.read())["accounts"][0]
            config = Config(
                access_key_id=account["access_key_id"],
                access_key_secret=account["access_key_secret"],
                region_id="cn-qingdao",
                endpoint=server.url.split("://")[1],
                protocol="http",
            )
            client = Client(config)
            body = client.describe_vpcs(models.DescribeVpcsRequest(region_id="cn-qingdao")).body
            loaded_after = sum(1 for m in sys.modules if m.startswith("alibabacloud_vpc20160428.models."))
            print(json.dumps({
                "kind": type(models).__name__,
                "vpcs": [v.vpc_id for v in body.vpcs.vpc],
                "response": type(body).__name__,
                "before": loaded_before,
                "after": loaded_after,
            }))
        finally:
            server.stop()
        """
    )
    assert isinstance(found, dict)
    assert found["kind"] == "_ModelsOnDemand"
    assert found["vpcs"] and all(v.startswith("vpc-") for v in found["vpcs"])
    assert found["response"] == "DescribeVpcsResponseBody"
    # the package holds about 1,200 model modules; the call needed a handful
    assert found["before"] <= 5, found
    assert 0 < found["after"] - found["before"] <= 30, found


def test_a_models_package_on_demand_has_every_name_the_package_has() -> None:
    code = """
        import json, importlib
        {first}
        names = {{}}
        for package in {packages!r}:
            module = importlib.import_module(package)
            # the generated __all__ lists the classes themselves; the package on demand, their names
            public = sorted(n if isinstance(n, str) else n.__name__ for n in module.__all__)
            names[package] = {{"all": public, "resolved": all(getattr(module, n) is not None for n in public),
                               "kind": type(module).__name__}}
        print(json.dumps(names))
    """
    eager = _python(code.format(first="", packages=MODELS))
    lazy = _python(code.format(first="import vpclink", packages=MODELS))
    assert isinstance(eager, dict) and isinstance(lazy, dict)
    for package in MODELS:
        assert eager[package]["kind"] == "module" and lazy[package]["kind"] == "_ModelsOnDemand"
        assert lazy[package]["all"] == eager[package]["all"]
        assert lazy[package]["resolved"]


def test_a_models_package_of_another_layout_is_imported_as_usual() -> None:
    generated = (
        "# generated\nfrom __future__ import annotations\n\nfrom ._a import A\nfrom ._b import (\n    B,\n    C\n)\n\n"
        "__all__ = [\n    A,\n    B,\n    C\n]\n"
    )
    assert model_index(generated) == ({"A": "_a", "B": "_b", "C": "_b"}, ["A", "B", "C"])
    # anything else in the file (code, an absolute import) and the package is left to its own loader
    assert model_index(generated + "VERSION = '1'\n") is None
    assert model_index(generated + "from darabonba.model import DaraModel\n") is None
    assert model_index("") is None


def test_the_runner_process_loads_no_sdk_client_and_no_credentials_library() -> None:
    loaded = _python(
        """
        import json, sys
        import vpclink.cli, vpclink.kernels, vpclink.runner, vpclink.embedded
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert isinstance(loaded, list)
    clients = [m for m in loaded if m.startswith("alibabacloud_") and m.endswith(".client")]
    assert clients == [], clients
    assert not [m for m in loaded if m.startswith(("alibabacloud_credentials", "aiohttp"))]
