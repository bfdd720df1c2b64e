"""Calls to a running emulator through the official SDK clients, keeping the raw reply.

``Session.send`` builds the action's request model from the API's own parameter names
(``<Action>Request().from_map``) and calls the client's method, as an application would. When the
model cannot express the request (a parameter the SDK version does not have, or an action it no
longer models, like DescribeVRouters), the request goes through the same client's generic
``call_api`` with the SDK's own signing. Either way the raw JSON body is kept, so the checks see
exactly what the emulator sent.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils import Utils
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient
from alibabacloud_vpcpeer20220101 import models as vpcpeer_models
from alibabacloud_vpcpeer20220101.client import Client as VpcPeerClient
from alicloud_emulator.server import make_server
from alicloud_emulator.world import default_world, with_timing
from darabonba.runtime import RuntimeOptions

from ..control_client import control
from .metadata import VERSIONS

CLIENTS: dict[str, tuple[Callable[[Any], Any], ModuleType]] = {
    "Vpc": (VpcClient, vpc_models),
    "Ecs": (EcsClient, ecs_models),
    "Sts": (StsClient, sts_models),
    "VpcPeer": (VpcPeerClient, vpcpeer_models),
}


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    via: str  # "model" or "call_api"

    @property
    def code(self) -> str | None:
        return self.body.get("Code") if self.status >= 400 else None

    @property
    def message(self) -> str:
        return str(self.body.get("Message", ""))

    @property
    def ok(self) -> bool:
        return self.status == 200


def _method(client: Any, action: str) -> Callable[..., Any] | None:
    """The client's method for ``action`` (``describe_v_switches`` for DescribeVSwitches)."""
    wanted = action.lower()
    for name in dir(client):
        if name.replace("_", "") == wanted and not name.startswith("_"):
            return getattr(client, name)
    return None


class Session:
    """A fresh emulator (the tutorial world, every step immediate unless ``world`` says otherwise)
    and SDK clients of its accounts."""

    def __init__(self, world: dict[str, Any] | None = None):
        self.server = make_server(world=world if world is not None else with_timing(default_world(), scale=0)).start()
        self.endpoint = self.server.endpoint
        self.accounts = {a["name"]: a for a in control(f"http://{self.endpoint}", "accounts")["accounts"]}
        self._clients: dict[tuple[str, str, str], Any] = {}

    def close(self) -> None:
        self.server.stop()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def control(self, path: str, body: Any = None) -> Any:
        """The emulator's control API (``/_emulator/<path>``)."""
        return control(f"http://{self.endpoint}", path, body)

    @property
    def store(self) -> Any:
        return self.server.app.store

    def uid(self, account: str) -> str:
        return str(self.accounts[account]["uid"])

    def client(self, product: str, account: str, region: str) -> Any:
        key = (product, account, region)
        if key not in self._clients:
            a = self.accounts[account]
            config = utils_models.Config(
                access_key_id=a["access_key_id"],
                access_key_secret=a["access_key_secret"],
                region_id=region,
                endpoint=self.endpoint,
                protocol="http",
            )
            self._clients[key] = CLIENTS[product][0](config)
        return self._clients[key]

    def send(
        self,
        product: str,
        action: str,
        params: dict[str, Any],
        account: str = "account-a",
        region: str = "cn-qingdao",
        styles: dict[str, str] | None = None,
    ) -> Reply:
        """One request with ``params`` (API names, nested lists and objects as the API documents
        them); a ``json``-style parameter is sent as a JSON string."""
        client = self.client(product, account, region)
        models = CLIENTS[product][1]
        model_cls = getattr(models, f"{action}Request", None)
        method = _method(client, action)
        raw: dict[str, Any] = {}
        real = client.call_api

        def keep_raw(p: Any, req: Any, runtime: Any) -> Any:
            result = real(p, req, runtime)
            raw.update(copy.deepcopy(result["body"]))
            return result

        client.call_api = keep_raw  # an instance attribute: the class's method is untouched
        request = None
        try:
            request = model_cls().from_map(copy.deepcopy(params)) if model_cls is not None else None
            if request is not None and method is not None and _same(request.to_map(), params):
                method(request)
                return Reply(200, raw, "model")
            query = {
                k: json.dumps(v) if (styles or {}).get(k) == "json" and not isinstance(v, str) else v
                for k, v in params.items()
            }
            client.call_api(
                utils_models.Params(
                    action=action,
                    version=VERSIONS[product],
                    protocol="HTTPS",
                    pathname="/",
                    method="POST",
                    auth_type="AK",
                    style="RPC",
                    req_body_type="formData",
                    body_type="json",
                ),
                utils_models.OpenApiRequest(query=Utils.query(query)),
                RuntimeOptions(),
            )
            return Reply(200, raw, "call_api")
        except AlibabaCloudException as e:
            body = dict(e.data or {}) if isinstance(e.data, dict) else {}
            body.pop("statusCode", None)  # the SDK adds it to the error body it hands over
            body.setdefault("Code", e.code)
            body.setdefault("Message", e.message)
            return Reply(int(e.status_code or 0), body, "model" if request is not None else "call_api")
        finally:
            del client.call_api


def _same(a: Any, b: Any) -> bool:
    """Whether a request model kept every parameter (numbers and strings compare by value)."""
    if isinstance(a, dict) and isinstance(b, dict):
        a = {k: v for k, v in a.items() if v not in ([], None) or k in b}  # models list empty lists
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return str(a) == str(b)
