"""What the runbook costs over the bare API calls: time and number of calls, side by side.

Two ways to build the tutorial's link, each against a fresh emulator world with every asynchronous
step immediate (so neither measures the cloud's own delays):

* **runbook**: ``vpclink run params/example.yaml --emulator URL``, the CLI in its own process: seven
  phase notebooks executed by papermill, each in a fresh kernel, with records (HTML, run.json,
  ledger) and the secret scan.
* **plain script**: this file with ``--plain``, in its own process: the official SDK clients make
  the calls of the flow one after the other, with no checks, no records and no retries.

Printed: the wall time of each (median of ``--repeat`` runs) and their ratio; the runbook's API
calls from its ledger against the minimum the flow needs (the plain script's calls, which the
emulator's journal counts), per phase; and where the runbook's time goes.

The minimum the flow needs (26 calls), with every wait satisfied on its first poll:

* discovery, per side: GetCallerIdentity (the account UID the peer must name), DescribeVpcs (the
  VRouter ID), DescribeRouteTableList (the system route table), DescribeInstances (the IP to ping): 8
* CreateRouterInterface, then one DescribeRouterInterfaces until Idle, per side: 4 (B's interface
  is created with A's as its opposite, so B needs no ModifyRouterInterfaceAttribute)
* ModifyRouterInterfaceAttribute on A (B's interface as its opposite), ConnectRouterInterface on A: 2
* one DescribeRouterInterfaces per side until Active: 2
* CreateRouteEntry plus one DescribeRouteEntryList until Available, per side: 4
* AuthorizeSecurityGroup with both rules in one call, per side: 2
* RunCommand plus one DescribeInvocationResults, per side: 4

The runbook makes more: it reads before each change (that is what makes a second run or a resume
create nothing), validates the parameters against both accounts in preflight (vSwitches, security
groups, instance state), and reads each result back for the record. Measured on the example: 68
calls, 2.6 x the minimum (it was 90 before later phases took each side's account UID from
preflight's STS answer instead of asking STS again, 12 GetCallerIdentity calls down to 2, and before
preflight and security_groups showed the state their apply had just read rather than reading it a
third time: DescribeSecurityGroupAttribute 14 down to 10).

On a 2-core machine (``--repeat 5``, idle): **2.24 s against 0.77 s for the plain script, 2.9 x**
(goal 3 x: met; 2.25 s against 0.76 s, 2.9 x, in a second run), 80 calls; each phase 0.15-0.19 s in
papermill, the first 0.31 s (it waits for the fork server's imports). At the start of that work it was
3.41 s against 0.85 s (4.0 x), and 5.18 s against 1.43 s (3.6 x) before the SDK changes below; 8.84 s
against 1.11 s (7.9 x) before all of these, each measured with this script and a timeline of the
command's output:

* the kernel fork server is started by the command's process before the CLI's own imports
  (``vpclink.launch``), so that the two import side by side: the first phase starts about 1.4 s
  after the command instead of 3 s;
* imports with the garbage collector paused (``vpclink.importing``): about a quarter less CPU;
* the SDKs' model packages loaded one model at a time, on first use (``importing.sdk_models_on_demand``):
  0.3 s of CPU less in every process that uses the SDKs;
* no interpreter teardown at the end (``processes.leave``): 0.4-0.5 s;
* a kernel ready without jupyter_client's ``wait_for_ready``, which always drains IOPub until it has
  been quiet for 0.2 s (``kernels.Prestarted.ready``): 0.2 s per notebook; and a status lost before
  the client's IOPub subscription reached a new kernel asked again as soon as the kernel welcomes that
  subscription, not after 0.5 s (it struck 1 or 2 of the 7 notebooks once they got this short);
* what ipykernel imports as each kernel starts (its debugger: debugpy, about 140 modules) imported
  once by the fork server (``kernel_forks.KERNEL_MODULES``): 60 ms per kernel;
* the SDK's HTTP session for the run's endpoint made once by the fork server
  (``cloud.warm_sessions``): each kernel's first call made one, with an SSL context that loads the
  certificate store, about 20 ms;
* a killed kernel waited for in 2 ms steps instead of jupyter_client's 0.1 s (``ForkedProvisioner.kill``):
  about 0.1 s per notebook;
* the next kernel started as a task of the loop papermill runs the notebook on, not between two
  notebooks: 60-120 ms per notebook;
* papermill's saves: only as a code cell starts, compact JSON, written by a thread, and none by the
  engine after a notebook's end (``kernels.FewerSaves``);
* the HTML rendered by a render worker forked from the fork server (``record.render_worker``), not by
  a thread holding the runner's GIL, and started with the first page rather than with the run;
* no IPython history written by phase kernels.

What is left: the first phase waits for the fork server's imports (the SDKs, the credentials library
with aiohttp and apscheduler, pandas, ipykernel: about 1 s after the command starts); each of the seven
notebooks costs about 0.17 s, of which the twelve cells take most (a cell costs about 4 ms of messages
even when it does nothing); the last HTML rendering and the secret scan end the run.

Usage: ``python benchmarks/runbook_e2e.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "example.yaml"
VPCLINK = Path(sys.executable).with_name("vpclink")
READS = ("Describe", "Get", "List")


# -- the plain script ----------------------------------------------------------------------------


def plain(url: str) -> None:
    """The tutorial's calls with the official SDKs, nothing else (run in its own process)."""
    from alibabacloud_ecs20140526 import models as ecs
    from alibabacloud_ecs20140526.client import Client as EcsClient
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_tea_openapi.utils_models import Config
    from alibabacloud_vpc20160428 import models as vpc
    from alibabacloud_vpc20160428.client import Client as VpcClient
    from vpclink.params import load

    params = load(EXAMPLE)
    with urllib.request.urlopen(f"{url}/_emulator/accounts") as r:
        keys = {a["uid"]: a for a in json.loads(r.read())["accounts"]}
    endpoint = url.split("://", 1)[1]
    sides = {}
    for role in ("initiator", "acceptor"):
        s = params.side(role)
        account = keys[s.account_uid]
        cfg = Config(
            access_key_id=account["access_key_id"],
            access_key_secret=account["access_key_secret"],
            region_id=s.region,
            endpoint=endpoint,
            protocol="http",
        )
        sides[role] = {"side": s, "vpc": VpcClient(cfg), "ecs": EcsClient(cfg), "sts": StsClient(cfg)}

    def poll(read, done) -> Any:
        while True:
            value = read()
            if done(value):
                return value
            time.sleep(0.2)

    for c in sides.values():
        s = c["side"]
        c["uid"] = c["sts"].get_caller_identity().body.account_id
        vpcs = c["vpc"].describe_vpcs(vpc.DescribeVpcsRequest(region_id=s.region, vpc_id=s.vpc_id)).body
        c["vrt"] = vpcs.vpcs.vpc[0].vrouter_id
        tables = (
            c["vpc"]
            .describe_route_table_list(
                vpc.DescribeRouteTableListRequest(region_id=s.region, vpc_id=s.vpc_id, route_table_type="System")
            )
            .body
        )
        c["vtb"] = tables.router_table_list.router_table_list_type[0].route_table_id
        inst = (
            c["ecs"]
            .describe_instances(
                ecs.DescribeInstancesRequest(region_id=s.region, instance_ids=json.dumps([s.instance_id]))
            )
            .body.instances.instance[0]
        )
        c["ip"] = inst.vpc_attributes.private_ip_address.ip_address[0]
    a, b = sides["initiator"], sides["acceptor"]

    def ri_status(c: dict, ri: str) -> str:
        req = vpc.DescribeRouterInterfacesRequest(
            region_id=c["side"].region,
            filter=[vpc.DescribeRouterInterfacesRequestFilter(key="RouterInterfaceId", value=[ri])],
        )
        return c["vpc"].describe_router_interfaces(req).body.router_interface_set.router_interface_type[0].status

    def create_ri(c: dict, peer: dict, role: str, spec: str, opposite: str | None) -> str:
        req = vpc.CreateRouterInterfaceRequest(
            region_id=c["side"].region,
            role=role,
            router_type="VRouter",
            router_id=c["vrt"],
            spec=spec,
            opposite_region_id=peer["side"].region,
            opposite_router_type="VRouter",
            opposite_router_id=peer["vrt"],
            opposite_interface_owner_id=peer["uid"],
            opposite_interface_id=opposite,
            instance_charge_type="PostPaid",
        )
        ri = c["vpc"].create_router_interface(req).body.router_interface_id
        poll(lambda: ri_status(c, ri), lambda s: s == "Idle")
        return ri

    a["ri"] = create_ri(a, b, "InitiatingSide", params.spec, None)
    b["ri"] = create_ri(b, a, "AcceptingSide", "Negative", a["ri"])
    a["vpc"].modify_router_interface_attribute(
        vpc.ModifyRouterInterfaceAttributeRequest(
            region_id=a["side"].region,
            router_interface_id=a["ri"],
            opposite_interface_id=b["ri"],
            opposite_router_id=b["vrt"],
            opposite_router_type="VRouter",
            opposite_interface_owner_id=int(b["uid"]),
        )
    )
    a["vpc"].connect_router_interface(
        vpc.ConnectRouterInterfaceRequest(region_id=a["side"].region, router_interface_id=a["ri"])
    )
    for c in (a, b):
        poll(lambda c=c: ri_status(c, c["ri"]), lambda s: s == "Active")
    for c, peer in ((a, b), (b, a)):
        rte = (
            c["vpc"]
            .create_route_entry(
                vpc.CreateRouteEntryRequest(
                    region_id=c["side"].region,
                    route_table_id=c["vtb"],
                    destination_cidr_block=peer["side"].vpc_cidr,
                    next_hop_type="RouterInterface",
                    next_hop_id=c["ri"],
                )
            )
            .body.route_entry_id
        )
        poll(
            lambda c=c, rte=rte: (
                c["vpc"]
                .describe_route_entry_list(
                    vpc.DescribeRouteEntryListRequest(
                        region_id=c["side"].region, route_table_id=c["vtb"], route_entry_id=rte
                    )
                )
                .body.route_entrys.route_entry[0]
                .status
            ),
            lambda s: s == "Available",
        )
    for c, peer in ((a, b), (b, a)):
        perms = [
            ecs.AuthorizeSecurityGroupRequestPermissions(
                ip_protocol=r.protocol.upper(),
                port_range=r.port_range,
                source_cidr_ip=peer["side"].vpc_cidr,
                policy="accept",
                nic_type="intranet",
                priority="1",
            )
            for r in params.security_groups.rules
        ]
        c["ecs"].authorize_security_group(
            ecs.AuthorizeSecurityGroupRequest(
                region_id=c["side"].region, security_group_id=c["side"].security_group_id, permissions=perms
            )
        )
    for c, peer in ((a, b), (b, a)):
        invoke = (
            c["ecs"]
            .run_command(
                ecs.RunCommandRequest(
                    region_id=c["side"].region,
                    type="RunShellScript",
                    command_content=f"ping -c 4 -W 2 {peer['ip']}",
                    content_encoding="PlainText",
                    instance_id=[c["side"].instance_id],
                )
            )
            .body.invoke_id
        )
        result = poll(
            lambda c=c, invoke=invoke: (
                c["ecs"]
                .describe_invocation_results(
                    ecs.DescribeInvocationResultsRequest(
                        region_id=c["side"].region, invoke_id=invoke, content_encoding="PlainText"
                    )
                )
                .body.invocation.invocation_results.invocation_result[0]
            ),
            lambda r: r.invocation_status in ("Success", "Failed"),
        )
        assert result.exit_code == 0, result.output


# -- measuring ----------------------------------------------------------------------------------


def control(url: str, path: str, body: Any = None) -> Any:
    """A call to the emulator's control API (also used by the other benchmarks)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{url}/_emulator/{path}",
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _timed(argv: list[str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def measure(repeat: int) -> None:
    from alicloud_emulator.server import make_server
    from alicloud_emulator.world import default_world, with_timing

    server = make_server(world=with_timing(default_world(), scale=0)).start()
    url = server.url
    runbook_times, plain_times = [], []
    ledger: list[dict[str, Any]] = []
    phase_seconds: dict[str, list[float]] = {}
    plain_calls: Counter = Counter()
    try:
        for _ in range(repeat):
            control(url, "reset", {})
            seq = (control(url, "journal")["entries"] or [{"seq": 0}])[-1]["seq"]
            plain_times.append(_timed([sys.executable, __file__, "--plain", url]))
            plain_calls = Counter(e["action"] for e in control(url, f"journal?since={seq}")["entries"])

            control(url, "reset", {})
            with tempfile.TemporaryDirectory() as records:
                runbook_times.append(
                    _timed([str(VPCLINK), "run", str(EXAMPLE), "--records", records, "--emulator", url])
                )
                run_dir = next(p for p in Path(records).iterdir() if p.is_dir())
                ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
                for p in json.loads((run_dir / "run.json").read_text())["phases"]:
                    phase_seconds.setdefault(p["name"], []).append(p["seconds"])
    finally:
        server.stop()

    runbook, script = statistics.median(runbook_times), statistics.median(plain_times)
    minimum = sum(plain_calls.values())
    calls = Counter(e["phase"] for e in ledger)
    mutating = sum(1 for e in ledger if e["mutating"])
    retries = sum(1 for e in ledger if e["outcome"] == "retry")
    print(f"vpclink runbook end to end (emulator, zero delays, {repeat} run(s) each, medians)")
    print(f"  runbook  `vpclink run` (7 notebooks, records): {runbook:7.2f} s")
    print(f"  plain script, same flow, one process:          {script:7.2f} s")
    print(f"  ratio runbook / plain script:                   {runbook / script:7.1f} x")
    print(
        "  time in notebooks (papermill, per phase): "
        + ", ".join(f"{name} {statistics.median(v):.2f} s" for name, v in phase_seconds.items())
    )
    print(
        f"  API calls: runbook {len(ledger)} (mutating {mutating}, retries {retries}) vs minimum {minimum} "
        f"-> {len(ledger) / minimum:.1f} x"
    )
    print("  runbook calls per phase: " + ", ".join(f"{k} {v}" for k, v in calls.items()))
    print("  minimum calls per action: " + ", ".join(f"{k} {v}" for k, v in sorted(plain_calls.items())))
    runbook_actions = Counter(e["action"] for e in ledger)
    print("  runbook calls per action: " + ", ".join(f"{k} {v}" for k, v in sorted(runbook_actions.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plain", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain(args.plain)
    else:
        measure(args.repeat)


if __name__ == "__main__":
    main()
