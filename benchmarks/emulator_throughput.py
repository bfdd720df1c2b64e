"""Emulator throughput, as a ratio to the client-side limit.

The same official SDK client, in one thread, calls (1) the emulator and (2) a trivial static
responder that answers every request with a canned copy of the emulator's own reply in one send.
(2) is what the client itself can do (the SDK's own cost per call), so ``emulator / static`` says
how much of that the emulator keeps. Measured for a describe and a create, with ``--db`` (a file
in a temporary directory: WAL, one transaction per request) and in memory, plus the time of the
whole cross-account flow with zero delays. Each server runs in its own process, so client and
server never share a GIL.

    python benchmarks/emulator_throughput.py [--calls N] [--rounds R]

Targets with ``--db``: describe >= 0.7, create >= 0.5. Other processes on the machine move calls
per second from moment to moment, so within each round the two servers take turns every few
dozen calls, the round's ratio compares their totals, and the median over the rounds is reported
with its range. Each create round starts from the world as loaded (untimed), so a group holds
the tens of rules a real one does. The server CPU per call beside each ratio (user + system, all
threads, from the kernel's per-thread run time) moves less with the machine's load, so it is the
figure to compare across changes; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient
from alicloud_emulator.world import default_world

TARGETS = {"describe": 0.7, "create": 0.5}
GROUPS = 40  # security groups the create benchmark rotates over, so no group grows past ~100 rules


# -- the static responder (its own process) ------------------------------------------------------------
def static_responder(port_file: str, reply_file: str) -> None:
    """Answer every HTTP/1.1 request on a kept-alive connection with the canned reply, in one send."""
    body = Path(reply_file).read_bytes()
    reply = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\n"
        b"x-acs-request-id: 00000000-0000-0000-0000-000000000000\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    listener = socket.create_server(("127.0.0.1", 0))
    Path(port_file + ".tmp").write_text(str(listener.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)

    def serve(conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                conn.sendall(reply)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


# -- processes -----------------------------------------------------------------------------------------
class Server:
    def __init__(self, cmd: list[str], workdir: Path, name: str):
        self.port_file = workdir / f"{name}.port"
        self.port_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [*cmd, "--port-file", str(self.port_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start")
            time.sleep(0.02)
        self.endpoint = f"127.0.0.1:{self.port_file.read_text()}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def emulator(workdir: Path, world: Path, db: Path | None) -> Server:
    script = Path(sys.executable).with_name("alicloud-emulator")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "alicloud_emulator"]
    cmd += ["serve", "--port", "0", "--world", str(world)] + (["--db", str(db)] if db else [])
    return Server(cmd, workdir, f"emulator-{'db' if db else 'mem'}")


def static(workdir: Path, reply: bytes, name: str) -> Server:
    reply_file = workdir / f"{name}.json"
    reply_file.write_bytes(reply)
    return Server([sys.executable, __file__, "--static-responder", str(reply_file)], workdir, name)


# -- the world and the calls ---------------------------------------------------------------------------
def bench_world() -> dict[str, Any]:
    world = default_world()
    world["timing"] = {k: 0 for k in world["timing"]}
    # thousands of calls of one action a minute, far over the published API quotas: measured without them
    world["behaviour"] = {"quotas": {"enabled": False}}
    vpc1 = world["vpcs"][0]
    vpc1["security_groups"] += [{"name": f"bench-{i}"} for i in range(GROUPS)]
    return world


def clients(endpoint: str, account: dict[str, str], region: str) -> tuple[VpcClient, EcsClient]:
    cfg = Config(
        access_key_id=account["access_key_id"],
        access_key_secret=account["access_key_secret"],
        region_id=region,
        endpoint=endpoint,
        protocol="http",
    )
    return VpcClient(cfg), EcsClient(cfg)


def control(endpoint: str, path: str, body: Any = None) -> Any:
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"http://{endpoint}/_emulator/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def describe_call(vpc: VpcClient) -> Callable[[], Any]:
    request = vpc_models.DescribeRouterInterfacesRequest(region_id="cn-qingdao", page_size=50)
    return lambda: vpc.describe_router_interfaces(request)


def create_call(ecs: EcsClient, groups: list[str]) -> Callable[[], Any]:
    """AuthorizeSecurityGroup, a new rule each call, spread over the benchmark's groups."""
    counter = itertools.count()

    def authorize() -> Any:
        n = next(counter)
        port = 1 + n // len(groups)
        return ecs.authorize_security_group(
            ecs_models.AuthorizeSecurityGroupRequest(
                region_id="cn-qingdao",
                security_group_id=groups[n % len(groups)],
                permissions=[
                    ecs_models.AuthorizeSecurityGroupRequestPermissions(
                        ip_protocol="TCP",
                        port_range=f"{port}/{port}",
                        source_cidr_ip="172.16.0.0/16",
                        description=f"bench rule {n}",
                    )
                ],
            )
        )

    return authorize


CHUNK = 100  # calls in a row to one server before switching to the other


def interleaved(sides: dict[str, tuple[Callable[[], Any], int]], calls: int) -> dict[str, tuple[float, float]]:
    """Each side's (calls per second, server CPU seconds per call) over ``calls`` calls, after a
    warm-up. The sides take turns every ``CHUNK`` calls (who goes first alternating), so a moment
    of load from other processes falls on both alike."""
    for fn, _ in sides.values():
        for _ in range(min(50, calls)):
            fn()
    seconds = dict.fromkeys(sides, 0.0)
    cpu = dict.fromkeys(sides, 0.0)
    names = list(sides)
    for turn, start in enumerate(range(0, calls, CHUNK)):
        for name in names if turn % 2 == 0 else names[::-1]:
            fn, pid = sides[name]
            before = cpu_by_thread(pid)
            started = time.perf_counter()
            for _ in range(min(CHUNK, calls - start)):
                fn()
            seconds[name] += time.perf_counter() - started
            cpu[name] += cpu_since(pid, before)
    return {name: (calls / seconds[name], cpu[name] / calls) for name in sides}


def cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) each thread of a process has used so far (Linux; elsewhere
    nothing). The kernel counts a thread's run time in nanoseconds, where the process's own
    counters tick every 10 ms, too coarse for a few hundred calls."""
    used: dict[str, float] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return used
    for task in tasks:
        try:
            used[task.name] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, IndexError, ValueError):
            continue  # the thread ended meanwhile
    return used


def cpu_since(pid: int, before: dict[str, float]) -> float:
    """CPU seconds the process has used since ``before`` (a thread that ended in between loses
    its last moments: the benchmark's calls all go through one connection, so one thread)."""
    return sum(t - before.get(tid, 0.0) for tid, t in cpu_by_thread(pid).items())


# -- the full flow -------------------------------------------------------------------------------------
def full_flow(endpoint: str) -> tuple[float, int]:
    """The runbook's calls, both accounts, zero delays: (seconds, API calls)."""
    a, b = control(endpoint, "accounts")["accounts"]
    (vpc_a, ecs_a), (vpc_b, ecs_b) = clients(endpoint, a, "cn-qingdao"), clients(endpoint, b, "cn-beijing")
    world = default_world()
    v1, v2 = world["vpcs"]
    calls = 0
    started = time.perf_counter()
    ri_a = vpc_a.create_router_interface(
        vpc_models.CreateRouterInterfaceRequest(
            region_id="cn-qingdao",
            role="InitiatingSide",
            router_type="VRouter",
            router_id=v1["vrouter_id"],
            spec="Mini.2",
            opposite_region_id="cn-beijing",
        )
    ).body.router_interface_id
    ri_b = vpc_b.create_router_interface(
        vpc_models.CreateRouterInterfaceRequest(
            region_id="cn-beijing",
            role="AcceptingSide",
            router_type="VRouter",
            router_id=v2["vrouter_id"],
            spec="Negative",
            opposite_region_id="cn-qingdao",
        )
    ).body.router_interface_id
    vpc_b.modify_router_interface_attribute(
        vpc_models.ModifyRouterInterfaceAttributeRequest(
            region_id="cn-beijing",
            router_interface_id=ri_b,
            opposite_interface_id=ri_a,
            opposite_router_type="VRouter",
            opposite_router_id=v1["vrouter_id"],
            opposite_interface_owner_id=int(a["uid"]),
        )
    )
    vpc_a.modify_router_interface_attribute(
        vpc_models.ModifyRouterInterfaceAttributeRequest(
            region_id="cn-qingdao",
            router_interface_id=ri_a,
            opposite_interface_id=ri_b,
            opposite_router_type="VRouter",
            opposite_router_id=v2["vrouter_id"],
            opposite_interface_owner_id=int(b["uid"]),
        )
    )
    vpc_a.connect_router_interface(
        vpc_models.ConnectRouterInterfaceRequest(region_id="cn-qingdao", router_interface_id=ri_a)
    )
    calls += 5
    for vpc, region, _ri in ((vpc_a, "cn-qingdao", ri_a), (vpc_b, "cn-beijing", ri_b)):
        status = (
            vpc.describe_router_interfaces(vpc_models.DescribeRouterInterfacesRequest(region_id=region))
            .body.router_interface_set.router_interface_type[0]
            .status
        )
        calls += 1
        assert status == "Active", status
    for vpc, region, side, peer, ri in ((vpc_a, "cn-qingdao", v1, v2, ri_a), (vpc_b, "cn-beijing", v2, v1, ri_b)):
        vpc.create_route_entry(
            vpc_models.CreateRouteEntryRequest(
                region_id=region,
                route_table_id=side["route_table_id"],
                destination_cidr_block=peer["cidr"],
                next_hop_type="RouterInterface",
                next_hop_id=ri,
            )
        )
        calls += 1
    for ecs, region, side, peer in ((ecs_a, "cn-qingdao", v1, v2), (ecs_b, "cn-beijing", v2, v1)):
        ecs.authorize_security_group(
            ecs_models.AuthorizeSecurityGroupRequest(
                region_id=region,
                security_group_id=side["security_groups"][0]["id"],
                permissions=[
                    ecs_models.AuthorizeSecurityGroupRequestPermissions(
                        ip_protocol="ICMP", port_range="-1/-1", source_cidr_ip=peer["cidr"]
                    )
                ],
            )
        )
        calls += 1
    for ecs, region, side, peer in ((ecs_a, "cn-qingdao", v1, v2), (ecs_b, "cn-beijing", v2, v1)):
        invoke = ecs.run_command(
            ecs_models.RunCommandRequest(
                region_id=region,
                type="RunShellScript",
                command_content=f"ping -c 3 {peer['instances'][0]['private_ip']}",
                instance_id=[side["instances"][0]["id"]],
            )
        ).body.invoke_id
        result = ecs.describe_invocation_results(
            ecs_models.DescribeInvocationResultsRequest(region_id=region, invoke_id=invoke)
        ).body.invocation.invocation_results.invocation_result[0]
        calls += 2
        output = base64.b64decode(result.output).decode()
        assert result.exit_code == 0, output
    return time.perf_counter() - started, calls


# -- main ----------------------------------------------------------------------------------------------
def median(xs: list[float]) -> float:
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def measure(
    label: str,
    emu_fn: Callable[[], Any],
    emu_pid: int,
    static_fn: Callable[[], Any],
    static_pid: int,
    calls: int,
    rounds: int,
    target: float | None,
    prepare: Callable[[], Any] = lambda: None,
) -> float:
    emu, static, ratios = [], [], []
    for _ in range(rounds):
        prepare()  # untimed
        got = interleaved({"emulator": (emu_fn, emu_pid), "static": (static_fn, static_pid)}, calls)
        emu.append(got["emulator"])
        static.append(got["static"])
        ratios.append(got["emulator"][0] / got["static"][0])
    ratio = median(ratios)
    verdict = "" if target is None else f"   target >= {target:.2f}: {'met' if ratio >= target else 'MISSED'}"
    print(
        f"{label}\n"
        f"    calls/s   emulator {median([r for r, _ in emu]):5.0f}   static {median([r for r, _ in static]):5.0f}"
        f"   ratio {ratio:.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f}){verdict}\n"
        f"    server CPU per call   emulator {median([c for _, c in emu]) * 1e6:4.0f} us"
        f"   static {median([c for _, c in static]) * 1e6:4.0f} us",
        flush=True,
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per round (default 400)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=9,
        help="rounds (default 9), the two servers taking turns within each; the median "
        "round counts, so a moment of noise from other processes does not decide it",
    )
    parser.add_argument("--static-responder", metavar="REPLY_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.static_responder:
        static_responder(args.port_file, args.static_responder)
        return 0

    print(
        f"SDK calls per second, one client thread, {os.cpu_count()} cores; medians of {args.rounds} rounds "
        f"of {args.calls} calls per server, taking turns every {CHUNK}; emulator JSON: {json_library()}; {load()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        world_file = workdir / "world.yaml"
        world_file.write_text(yaml.safe_dump(bench_world(), allow_unicode=True))
        missed = False
        for mode in ("db", "memory"):
            server = emulator(workdir, world_file, workdir / "bench.db" if mode == "db" else None)
            try:
                account = control(server.endpoint, "accounts")["accounts"][0]
                vpc, ecs = clients(server.endpoint, account, "cn-qingdao")
                for _ in range(2):  # a realistic list: the interfaces of a runbook
                    vpc.create_router_interface(
                        vpc_models.CreateRouterInterfaceRequest(
                            region_id="cn-qingdao",
                            role="InitiatingSide",
                            router_type="VRouter",
                            router_id=bench_world()["vpcs"][0]["vrouter_id"],
                            spec="Mini.2",
                            opposite_region_id="cn-beijing",
                        )
                    )
                groups = [
                    g["SecurityGroupId"]
                    for g in control(server.endpoint, "state")["accounts"]["account-a"]["security_group"]
                    if g["SecurityGroupName"].startswith("bench-")
                ]
                for kind, make in (
                    ("describe", lambda c: describe_call(c[0])),
                    ("create", lambda c, groups=groups: create_call(c[1], groups)),
                ):
                    emu_fn = make((vpc, ecs))
                    canned = json.dumps(emu_fn().body.to_map(), ensure_ascii=False).encode()
                    responder = static(workdir, canned, f"static-{kind}")
                    try:
                        svpc, secs = clients(responder.endpoint, account, "cn-qingdao")
                        static_fn = make((svpc, secs))
                        name = "DescribeRouterInterfaces" if kind == "describe" else "AuthorizeSecurityGroup"
                        target = TARGETS[kind] if mode == "db" else None
                        # each create round starts from the world as loaded, so a group holds at most
                        # calls/GROUPS rules, as a real one does (tens, not hundreds)
                        prepare = (
                            (lambda server=server: control(server.endpoint, "reset", {}))
                            if kind == "create"
                            else (lambda: None)
                        )
                        where = "--db" if mode == "db" else "in memory"
                        ratio = measure(
                            f"{kind} {name} ({where})",
                            emu_fn,
                            server.proc.pid,
                            static_fn,
                            responder.proc.pid,
                            args.calls,
                            args.rounds,
                            target,
                            prepare,
                        )
                        missed |= target is not None and ratio < target
                    finally:
                        responder.stop()
                control(server.endpoint, "reset", {})
                seconds, calls = full_flow(server.endpoint)
                print(
                    f"full cross-account flow ({'--db' if mode == 'db' else 'in memory'}): {seconds * 1000:.0f} ms "
                    f"for {calls} SDK calls, "
                    f"zero delays, ping both ways passed",
                    flush=True,
                )
            finally:
                server.stop()
    print(f"done; {load()}")
    if missed:
        print(
            "a target was missed: the server CPU per call, beside the static responder's, is the "
            "emulator's own share of each call"
        )
    return 0


def json_library() -> str:
    """What the emulator encodes and decodes JSON with here (``alicloud_emulator.jsoncodec``)."""
    try:
        from alicloud_emulator import jsoncodec
    except ImportError:  # an emulator from before jsoncodec
        return "the standard library"
    if jsoncodec.orjson is None:
        return "the standard library (orjson is not installed)"
    return f"orjson {getattr(jsoncodec.orjson, '__version__', '')}".strip()


def load() -> str:
    """The machine's load average, which moves calls per second (not the server CPU per call)."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


if __name__ == "__main__":
    raise SystemExit(main())
