"""Helpers for the platform tests: generic official-SDK calls, the legacy SDK, raw HTTP, and an
emulator run as its own process (``alicloud-emulator serve``)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from alibabacloud_tea_openapi import utils_models as open_api_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient
from aliyunsdkcore.auth.composer import rpc_signature_composer
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from darabonba.runtime import RuntimeOptions

from .control_client import ControlMixin

VERSIONS = {"vpc": "2016-04-28", "ecs": "2014-05-26", "sts": "2015-04-01"}


def call(
    config: Config,
    product: str,
    action: str,
    query: dict[str, Any] | None = None,
    version: str | None = None,
    headers: dict[str, str] | None = None,
    body_type: str = "json",
) -> dict[str, Any]:
    """Any RPC action through the official tea-openapi client, signed as ``config`` says.
    ``query``/``headers`` override what the client would send (its own Timestamp, nonce, Format)
    and are signed with the rest. Returns the SDK's raw result: ``{"body", "headers", "statusCode"}``."""
    params = open_api_models.Params(
        action=action,
        version=version or VERSIONS[product],
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type=body_type,
    )
    request = open_api_models.OpenApiRequest(query={k: v for k, v in (query or {}).items()}, headers=headers)
    return OpenApiClient(config).call_api(params, request, RuntimeOptions())


def legacy_client(account: dict[str, Any], region: str) -> AcsClient:
    """The legacy ``aliyun-python-sdk-core`` client, with its silent retries off so each call is one request."""
    return AcsClient(account["access_key_id"], account["access_key_secret"], region, auto_retry=False)


def legacy_request(endpoint: str, product: str, action: str, params: dict[str, Any] | None = None) -> CommonRequest:
    req = CommonRequest(domain=endpoint, version=VERSIONS[product], action_name=action)
    req.set_protocol_type("http")
    req.set_method("POST")
    for k, v in (params or {}).items():
        req.add_query_param(k, v)
    return req


def legacy_call(
    client: AcsClient, endpoint: str, product: str, action: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    return json.loads(client.do_action_with_exception(legacy_request(endpoint, product, action, params)))


def signed_path(
    account: dict[str, Any],
    product: str,
    action: str,
    params: dict[str, str],
    method: str = "POST",
    fmt: str = "JSON",
) -> str:
    """``/?...`` with an HMAC-SHA1 RPC signature, computed by the legacy SDK's own signer (with a
    fresh Timestamp and SignatureNonce, and ``Format=fmt``)."""
    query = dict(params, Action=action, Version=VERSIONS[product])
    path, _ = rpc_signature_composer.get_signed_url(
        query, account["access_key_id"], account["access_key_secret"], fmt, method, {}
    )
    return path


def connect(endpoint: str, timeout: float = 5.0) -> socket.socket:
    host, port = endpoint.rsplit(":", 1)
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def raw_exchange(endpoint: str, request: bytes, timeout: float = 5.0) -> tuple[bytes, socket.socket]:
    """Send ``request`` on a new connection; return what the first ``recv`` gets, and the socket."""
    sock = connect(endpoint, timeout)
    sock.sendall(request)
    return sock.recv(1 << 20), sock


def http_request(
    method: str, path: str, endpoint: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {endpoint}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def split_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def emulator_command() -> list[str]:
    """The ``alicloud-emulator`` console script of this environment (``python -m`` as a fallback)."""
    script = Path(sys.executable).with_name("alicloud-emulator")
    if script.exists():
        return [str(script)]
    found = shutil.which("alicloud-emulator")
    return [found] if found else [sys.executable, "-m", "alicloud_emulator"]


class EmulatorProcess(ControlMixin):
    """``alicloud-emulator serve`` as a child process on a free port."""

    def __init__(
        self, workdir: Path, db: Path | None = None, world: Path | None = None, *extra: str, umask: int | None = None
    ):
        self.workdir = workdir
        self.db = db
        self.world = world
        self.extra = list(extra)
        self.umask = umask
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.output = ""

    def start(self, timeout: float = 20.0) -> EmulatorProcess:
        port_file = self.port_file = self.workdir / f"port-{time.monotonic_ns()}"
        cmd = [*emulator_command(), "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file)]
        if self.db is not None:
            cmd += ["--db", str(self.db)]
        if self.world is not None:
            cmd += ["--world", str(self.world)]
        self.log = self.workdir / f"emulator-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                cmd + self.extra,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=None if self.umask is None else functools.partial(os.umask, self.umask),
            )
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the emulator exited with {self.proc.returncode}: {self.log.read_text()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the emulator did not start: {self.log.read_text()}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        return self

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.output = self.log.read_text()
        return self.proc.returncode


# -- the tutorial world's router interfaces -------------------------------------------------------------
VRT_A, VRT_B = "vrt-m5e1tutorialvrt1qd00001", "vrt-2ze2tutorialvrt2bj00001"
SG_A, SG_B = "sg-m5e1tutorialsg1qd000001", "sg-2ze2tutorialsg2bj000001"


def create_initiator(vpc: VpcClient, client_token: str | None = None, name: str | None = None) -> str:
    """Account A's initiator router interface toward cn-beijing; returns its ID."""
    return vpc.create_router_interface(
        vpc_models.CreateRouterInterfaceRequest(
            region_id="cn-qingdao",
            role="InitiatingSide",
            router_type="VRouter",
            router_id=VRT_A,
            spec="Mini.2",
            opposite_region_id="cn-beijing",
            client_token=client_token,
            name=name,
        )
    ).body.router_interface_id


def create_acceptor(vpc: VpcClient) -> str:
    return vpc.create_router_interface(
        vpc_models.CreateRouterInterfaceRequest(
            region_id="cn-beijing",
            role="AcceptingSide",
            router_type="VRouter",
            router_id=VRT_B,
            spec="Negative",
            opposite_region_id="cn-qingdao",
        )
    ).body.router_interface_id


def connect_pair(vpc_a: VpcClient, vpc_b: VpcClient, uid_a: str, uid_b: str) -> tuple[str, str]:
    """Create both interfaces, point each at the other, and initiate the connection from A."""
    ri_a, ri_b = create_initiator(vpc_a), create_acceptor(vpc_b)
    vpc_b.modify_router_interface_attribute(
        vpc_models.ModifyRouterInterfaceAttributeRequest(
            region_id="cn-beijing",
            router_interface_id=ri_b,
            opposite_interface_id=ri_a,
            opposite_router_id=VRT_A,
            opposite_router_type="VRouter",
            opposite_interface_owner_id=int(uid_a),
        )
    )
    vpc_a.modify_router_interface_attribute(
        vpc_models.ModifyRouterInterfaceAttributeRequest(
            region_id="cn-qingdao",
            router_interface_id=ri_a,
            opposite_interface_id=ri_b,
            opposite_router_id=VRT_B,
            opposite_router_type="VRouter",
            opposite_interface_owner_id=int(uid_b),
        )
    )
    vpc_a.connect_router_interface(
        vpc_models.ConnectRouterInterfaceRequest(region_id="cn-qingdao", router_interface_id=ri_a)
    )
    return ri_a, ri_b


def interfaces(vpc: VpcClient, region: str) -> dict[str, Any]:
    """The caller's router interfaces in ``region``: ID -> the SDK model."""
    body = vpc.describe_router_interfaces(
        vpc_models.DescribeRouterInterfacesRequest(region_id=region, page_size=50)
    ).body
    return {ri.router_interface_id: ri for ri in body.router_interface_set.router_interface_type}


def control_status(endpoint: str, path: str, body: Any = None, method: str | None = None) -> tuple[int, Any]:
    """A control API call that may fail: (HTTP status, JSON body)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(
        f"http://{endpoint}/_emulator/{path}",
        data=data,
        method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def sts_config(endpoint: str, creds: Any, region: str, **extra: Any) -> Config:
    """An SDK config signing with temporary credentials (an AssumeRole response's ``Credentials``),
    through ``alibabacloud_credentials``' static STS credential, as an application holding a token does."""
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.models import Config as CredentialConfig

    credential = CredentialClient(
        CredentialConfig(
            type="sts",
            access_key_id=creds.access_key_id,
            access_key_secret=creds.access_key_secret,
            security_token=creds.security_token,
        )
    )
    return Config(credential=credential, region_id=region, endpoint=endpoint, protocol="http", **extra)


def role_arn(uid: str, role: str = "vpclink-operator") -> str:
    return f"acs:ram::{uid}:role/{role}"


def hammer(endpoint: str, key: str, secret: str, worker: int, calls: int) -> dict[str, Any]:
    """One client's share of a concurrency test: ``calls`` rule creates (a port of its own each),
    each followed by two describes. Returns the errors it saw and how many describes it made."""
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client as EcsClient

    cfg = Config(
        access_key_id=key, access_key_secret=secret, region_id="cn-qingdao", endpoint=endpoint, protocol="http"
    )
    ecs, vpc = EcsClient(cfg), VpcClient(cfg)
    errors: list[str] = []
    describes = 0
    for i in range(calls):
        port = 10000 + worker * 1000 + i
        try:
            ecs.authorize_security_group(
                ecs_models.AuthorizeSecurityGroupRequest(
                    region_id="cn-qingdao",
                    security_group_id=SG_A,
                    permissions=[
                        ecs_models.AuthorizeSecurityGroupRequestPermissions(
                            ip_protocol="TCP", port_range=f"{port}/{port}", source_cidr_ip="172.16.0.0/16"
                        )
                    ],
                )
            )
            ecs.describe_security_group_attribute(
                ecs_models.DescribeSecurityGroupAttributeRequest(region_id="cn-qingdao", security_group_id=SG_A)
            )
            interfaces(vpc, "cn-qingdao")
            describes += 2
        except Exception as e:  # every error is a finding: report it, keep going
            errors.append(f"{type(e).__name__}: {getattr(e, 'code', '')} {e}"[:300])
    return {"errors": errors, "describes": describes}
