"""The only module that calls the Alibaba Cloud SDKs.

``Cloud`` holds one SDK client per account side and product, signed with the credential profile
that the parameters name for that side. ``call`` sends one API request through the official SDK,
retries it when that is safe (``retries``), records every attempt in the ledger (with the request's
parameters for a mutating call, secrets masked) and returns the
response body as the API's JSON (a dict with the API's key names). Failures become ``CloudError``,
which keeps the API's code and request ID and never shows a key.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from . import profiles
from .capture import CaptureWriter, request_map
from .fleet import quota
from .params import ROLES, LinkParams, Role
from .record.ledger import Ledger
from .retries import STATE_CONFLICTS, UNREACHABLE_RETRIES, RetryPolicy, is_throttling, retry_reason
from .waits import Clock, RealClock

Product = Literal["vpc", "ecs", "sts", "vpcpeer"]
# VpcPeer 2022-01-01 has one central endpoint (vpcpeer.aliyuncs.com, the SDK's own rule); an emulator
# serves every product on its one endpoint, which ``endpoint`` names for all of them.
# The SDK clients are imported when the first is made, not with this module: the runner's process
# imports the phases (and so this module) to run notebooks, and never calls an API itself. A kernel
# fork server imports them ahead for its kernels (``load_sdks``).
_CLIENTS: dict[str, str] = {
    "vpc": "alibabacloud_vpc20160428.client",
    "ecs": "alibabacloud_ecs20140526.client",
    "sts": "alibabacloud_sts20150401.client",
    "vpcpeer": "alibabacloud_vpcpeer20220101.client",
}

# Codes retried on every call besides throttling and (where safe) transient failures.
DEFAULT_RETRY_ON: frozenset[str] = STATE_CONFLICTS

# The code given to failures that got no API answer after the request may have left (reset, timeout).
TRANSPORT_ERROR = "TransportError"
# The code given to failures where the request never left: the endpoint's name does not resolve (DNS)
# or nothing listens there (connection refused). Not ambiguous, and not transient like throttling: a
# network that is down stays down for longer than a retry's pause, so it is retried once, quickly
# (``retries.UNREACHABLE_RETRIES``), and then reported with the endpoint named.
UNREACHABLE = "EndpointUnreachable"


# The keys of an API error reply (what the SDK adds to them, such as statusCode, is not the reply).
ERROR_ENVELOPE = frozenset({"RequestId", "HostId", "Code", "Message", "Recommend", "AccessDeniedDetail"})


class CloudError(Exception):
    """A failed API call: the API's code, message and request ID, the action and the side."""

    def __init__(
        self,
        code: str,
        message: str,
        request_id: str | None,
        action: str,
        role: str,
        status: int | None,
        *,
        retry_after_ms: int | None = None,
    ):
        self.code = code
        self.message = message
        self.request_id = request_id
        self.action = action
        self.role = role
        self.status = status
        self.retry_after_ms = retry_after_ms
        self.duration_ms = 0.0
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.action} in the {self.role} account"
        return f"{where} failed: {self.code}: {self.message} (request ID {self.request_id or 'none: no answer'})"

    @property
    def throttled(self) -> bool:
        return is_throttling(self.code)

    @property
    def ambiguous(self) -> bool:
        """The outcome is unknown: no answer, or a server error after the request arrived."""
        return self.code == TRANSPORT_ERROR or (self.status or 0) >= 500


class MutationRefused(RuntimeError):
    """A mutating call attempted where only reads are allowed (``plan``, ``verify``)."""


class Cloud:
    """SDK clients for the account sides of one link; see the module docstring."""

    def __init__(
        self,
        params: LinkParams,
        *,
        endpoint: str | None,
        profiles_file: str | None,
        ledger: Ledger | None,
        phase: str,
        sides: tuple[Role, ...] = ROLES,
        clock: Clock | None = None,
        poll_scale: float = 1.0,
        retry: RetryPolicy | None = None,
        account_uids: dict[str, str] | None = None,
        capture: CaptureWriter | None = None,
    ):
        unknown = [s for s in sides if s not in ROLES]
        if unknown:
            raise ValueError(f"sides: {unknown} are not roles; valid: {', '.join(ROLES)}")
        self.params = params
        self.endpoint = endpoint or None
        self.profiles_file = profiles_file or None
        self.ledger = ledger if ledger is not None else Ledger()
        self.phase = phase
        self.sides = tuple(sides)
        self.clock: Clock = clock if clock is not None else RealClock(poll_scale)
        self.retry = retry or RetryPolicy()
        # An emulator serves STS on its one endpoint: a RAM role profile assumes its role there. On the
        # real cloud (no endpoint) the credentials library keeps its own STS endpoint.
        sts_endpoint = _url(self.endpoint) if self.endpoint else None
        self._credentials = {
            role: profiles.credential_client(
                params.side(role).profile, self.profiles_file, field=f"{role}.profile", sts_endpoint=sts_endpoint
            )
            for role in self.sides
        }
        # The profiles' own key material, masked in messages even when no credentials could be had (a
        # refused AssumeRole's error repeats the string to sign, with the AccessKeyId in it).
        self._keys = {role: profiles.key_material(params.side(role).profile, self.profiles_file) for role in self.sides}
        # The RAM role each side acts as (its profile's ``ram_role_arn``; None for an AccessKey), for the
        # ledger beside the account.
        self._role_arns: dict[str, str | None] = {
            role: profiles.role_arn(params.side(role).profile, self.profiles_file, field=f"{role}.profile")
            for role in self.sides
        }
        self._clients: dict[tuple[str, str], Any] = {}
        self._identities: dict[str, dict[str, Any]] = {}
        # Each ledger line names the account that acted: known from an earlier phase (the discovery's
        # STS answer), or asked of STS before the side's first call.
        self._uids: dict[str, str] = {r: str(u) for r, u in (account_uids or {}).items() if u}
        self._read_only = 0
        # Every answered call is also written to this capture (``capture.py``), when one is given.
        self.capture = capture

    # -- public ----------------------------------------------------------------------------------
    def region(self, role: Role) -> str:
        return self.params.side(role).region

    def call(
        self,
        role: Role,
        product: Product,
        action: str,
        request: Any,
        *,
        mutating: bool,
        retry_on: frozenset[str] = DEFAULT_RETRY_ON,
        phase: str | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send ``action`` with ``request`` (an SDK request model, None for GetCallerIdentity).

        ``idempotent``: whether repeating the call after an unknown outcome is harmless; by default
        reads are, and writes are when the request carries a ``client_token``.
        """
        if mutating and self._read_only:
            raise MutationRefused(f"{action} changes the cloud; only reads are allowed here (plan or verify)")
        if role not in self._uids and action != "GetCallerIdentity":
            self._client(role, product)  # refuse a side this phase has no credentials for, before STS
            self.account_uid(role)
        if idempotent is None:
            idempotent = not mutating or bool(getattr(request, "client_token", None))
        phase = phase or self.phase

        unreachable = [0]

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, CloudError) and exc.code == UNREACHABLE:
                unreachable[0] += 1
                return unreachable[0] <= UNREACHABLE_RETRIES
            return isinstance(exc, CloudError) and retry_reason(exc, retry_on, idempotent) is not None

        def before_sleep(exc: BaseException, pause: float) -> None:
            self._record(role, action, phase, mutating, exc, "retry", request)

        try:
            for attempt in self.retry.retrying(self.clock, should_retry, before_sleep):
                with attempt:
                    body = self._attempt(role, product, action, request, mutating, phase)
        except CloudError as e:
            self._record(role, action, phase, mutating, e, "error", request)
            raise
        return body

    def identity(self, role: Role) -> dict[str, Any]:
        """STS GetCallerIdentity of ``role``'s credentials (cached): AccountId, Arn, ..."""
        if role not in self._identities:
            body = self.call(role, "sts", "GetCallerIdentity", None, mutating=False)
            self._identities[role] = {k: v for k, v in body.items() if k != "RequestId"}
        return self._identities[role]

    def account_uid(self, role: Role) -> str:
        if role not in self._uids:
            self.identity(role)
        return self._uids[role]

    @contextmanager
    def read_only(self) -> Iterator[None]:
        """Refuse every mutating call inside the block (``MutationRefused``)."""
        self._read_only += 1
        try:
            yield
        finally:
            self._read_only -= 1

    # -- internals -------------------------------------------------------------------------------
    def _client(self, role: Role, product: str) -> Any:
        if role not in self.sides:
            raise ValueError(
                f"this {self.phase} step acts in the {role} account, but only "
                f"{', '.join(self.sides)} credentials were given"
            )
        if product not in _CLIENTS:
            raise ValueError(f"product {product!r}: expected one of {', '.join(_CLIENTS)}")
        key = (role, product)
        if key not in self._clients:
            from alibabacloud_tea_openapi.utils_models import Config

            config = Config(credential=self._credentials[role], region_id=self.region(role))
            if self.endpoint:
                config.endpoint = self.endpoint.rpartition("://")[2]
                config.protocol = _scheme(self.endpoint)
            self._clients[key] = importlib.import_module(_CLIENTS[product]).Client(config)
        return self._clients[key]

    def _attempt(
        self, role: Role, product: str, action: str, request: Any, mutating: bool, phase: str
    ) -> dict[str, Any]:
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from darabonba.runtime import RuntimeOptions

        client = self._client(role, product)
        method = _method(client, action)
        started = time.perf_counter()
        try:
            args = (RuntimeOptions(),) if request is None else (request, RuntimeOptions())
            # A fleet's API quotas and route-table write locks, shared by all its processes (nothing
            # without a fleet coordinator in the environment).
            with quota.guard(
                self.known_account_uid(role),
                self.region(role),
                action,
                product=product,
                route_table_id=getattr(request, "route_table_id", None),
            ):
                response = method(*args)
        except Exception as e:  # every SDK failure becomes a CloudError, keys scrubbed
            if isinstance(e, AlibabaCloudException) and isinstance(e.data, dict):
                envelope = {k: v for k, v in e.data.items() if k in ERROR_ENVELOPE}  # the SDK adds statusCode
                self._capture(role, product, action, request, int(e.status_code or 400), envelope)
            err = self._error(role, action, e)
            err.duration_ms = (time.perf_counter() - started) * 1000
            raise err from None
        body = response.body.to_map() if response.body is not None else {}
        self._capture(role, product, action, request, int(getattr(response, "status_code", None) or 200), body)
        if product == "sts" and action == "GetCallerIdentity":
            self._identities[role] = {k: v for k, v in body.items() if k != "RequestId"}
            self._uids[role] = str(body.get("AccountId", ""))
        self.ledger.record(
            phase=phase,
            side=role,
            account_uid=self.known_account_uid(role),
            role_arn=self.role_arn(role),
            region=self.region(role),
            action=action,
            request_id=body.get("RequestId"),
            outcome="ok",
            error_code=None,
            duration_ms=(time.perf_counter() - started) * 1000,
            mutating=mutating,
            request=request,
        )
        return body

    def _record(
        self, role: Role, action: str, phase: str, mutating: bool, exc: BaseException, outcome: str, request: Any
    ) -> None:
        if isinstance(exc, CloudError):
            self.ledger.record(
                phase=phase,
                side=role,
                account_uid=self.known_account_uid(role),
                role_arn=self.role_arn(role),
                region=self.region(role),
                action=action,
                request_id=exc.request_id,
                outcome=outcome,
                error_code=exc.code,
                duration_ms=exc.duration_ms,
                mutating=mutating,
                request=request,
            )

    def _capture(self, role: Role, product: str, action: str, request: Any, status: int, body: dict[str, Any]) -> None:
        if self.capture is None:
            return
        try:
            cred = self._credentials[role].get_credential()
            secrets = tuple(s for s in (cred.access_key_secret, cred.security_token, cred.access_key_id) if s)
        except Exception:
            secrets = ()
        self.capture.record(
            role=role,
            product=product,
            action=action,
            region=self.region(role),
            request=request_map(request),
            status=status,
            body=body,
            secrets=secrets,
            now=self.clock.now(),
        )

    def role_arn(self, role: Role) -> str | None:
        """The RAM role ``role``'s calls act as (its profile's ``ram_role_arn``); None for an AccessKey."""
        return self._role_arns.get(role)

    def known_account_uid(self, role: Role) -> str | None:
        """``role``'s account UID if given or read already (no call is made for it)."""
        return self._uids.get(role)

    def _error(self, role: Role, action: str, e: Exception) -> CloudError:
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from Tea.exceptions import TeaException, UnretryableException

        if isinstance(e, AlibabaCloudException):
            data = e.data if isinstance(e.data, dict) else {}
            message = data.get("Message") or e.message or ""
            return CloudError(
                e.code or "UnknownError",
                self._scrub(role, str(message)),
                e.request_id or data.get("RequestId"),
                action,
                role,
                e.status_code,
                retry_after_ms=getattr(e, "retry_after", None),
            )
        refusal = _assume_role_refusal(e)
        if refusal is not None:
            status, data = refusal
            return CloudError(
                str(data.get("Code") or "UnknownError"),
                self._scrub(
                    role, f"STS AssumeRole of {self.role_arn(role) or 'the profile role'}: {data.get('Message') or ''}"
                ),
                str(data.get("RequestId") or "") or None,
                action,
                role,
                status,
            )
        if isinstance(e, (UnretryableException, OSError)):
            inner = getattr(e, "inner_exception", e)
            why = _unreachable(e)
            if why is not None:
                where, reason = why
                return CloudError(
                    UNREACHABLE,
                    f"cannot reach the API endpoint {where}: {reason}. Check the network, the DNS and any "
                    "proxy of this machine (nothing was sent)",
                    None,
                    action,
                    role,
                    None,
                )
            return CloudError(
                TRANSPORT_ERROR,
                self._scrub(role, f"no answer from the API ({type(inner).__name__}: {inner})"),
                None,
                action,
                role,
                None,
            )
        if isinstance(e, TeaException):
            return CloudError(e.code or "SdkError", self._scrub(role, str(e.message)), None, action, role, None)
        return CloudError(type(e).__name__, self._scrub(role, str(e)), None, action, role, None)

    def _scrub(self, role: Role, text: str) -> str:
        """``text`` with this side's key material replaced, whatever produced the text."""
        secrets = list(self._keys.get(role, ()))
        try:
            cred = self._credentials[role].get_credential()
            secrets += [cred.access_key_secret, cred.security_token, cred.access_key_id]
        except Exception:
            pass  # no temporary credentials (a refused AssumeRole): the profile's own keys still go
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


# The actions the phases call, whose models ``load_sdks`` loads ahead (the SDKs' models load on demand:
# ``importing.sdk_models_on_demand``). One missing here is only loaded when first used.
PHASE_ACTIONS: dict[str, tuple[str, ...]] = {
    "vpc": (
        "DescribeVpcs",
        "DescribeVSwitches",
        "DescribeRouteTableList",
        "DescribeRouteEntryList",
        "DescribeRouterInterfaces",
        "CreateRouterInterface",
        "ModifyRouterInterfaceAttribute",
        "ConnectRouterInterface",
        "ActivateRouterInterface",
        "DeactivateRouterInterface",
        "DeleteRouterInterface",
        "CreateRouteEntry",
        "ModifyRouteEntry",
        "DeleteRouteEntry",
    ),
    "ecs": (
        "DescribeInstances",
        "DescribeSecurityGroupAttribute",
        "AuthorizeSecurityGroup",
        "RevokeSecurityGroup",
        "RunCommand",
        "DescribeInvocationResults",
    ),
    "sts": ("GetCallerIdentity",),
}


def load_sdks() -> None:
    """Load now what the phases' API calls load when first made: the SDK clients with the table of
    their methods, the models of ``PHASE_ACTIONS`` and the credentials library. A kernel fork server
    does this once for all its kernels, instead of each kernel as its notebook runs."""
    for product, module in _CLIENTS.items():
        _methods(importlib.import_module(module).Client)
        models = importlib.import_module(module.rpartition(".")[0] + ".models")
        for action in PHASE_ACTIONS.get(product, ()):
            for suffix in ("Request", "Response", "ResponseBody"):
                getattr(models, action + suffix, None)
    profiles.load_credentials_library()


def warm_sessions(endpoints: Iterable[str]) -> None:
    """Make the SDK's HTTP session for each endpoint (``host:port`` or a URL) before the first call.

    The SDKs' HTTP layer (darabonba-core, ``DaraCore._get_session``) makes one session per scheme,
    host, port and pool size when it first sends there, and with it an SSL context that loads the
    system's certificate store, plain HTTP included: about 20 ms, in every kernel's first call. A
    kernel fork server does this once per endpoint, and the kernels forked after it find the session
    made (no connection is open yet, so nothing is shared with them but memory). Best effort: the
    session is keyed as ``DaraCore.do_action`` keys it for this SDK version (tested); if a later
    version keys it otherwise, the first call makes its own as it would without this."""
    try:
        from darabonba.core import DaraCore
        from darabonba.request import DaraRequest

        port, pool = DaraRequest().port, DaraCore._resolve_pool_maxsize({})
        for endpoint in endpoints:
            scheme, host = _scheme(endpoint), endpoint.rpartition("://")[2].rstrip("/")
            DaraCore._get_session(session_key=f"{scheme}://{host}:{port}:pool={pool}", protocol=scheme)
    except Exception:
        pass  # an SDK without these: each kernel makes its session on its first call


def _scheme(endpoint: str) -> str:
    """The protocol an emulator's endpoint speaks: http, unless the endpoint says https."""
    return "https" if endpoint.startswith("https://") else "http"


def _url(endpoint: str) -> str:
    """An emulator's endpoint as a URL with its scheme (``http://host:port``): the credentials library
    sends its AssumeRole over https to a bare host, and to the URL as given when it has a scheme."""
    host = endpoint.rpartition("://")[2]
    return f"{_scheme(endpoint)}://{host}"


def _causes(e: BaseException) -> Iterator[BaseException]:
    """``e`` and what caused it: the SDK wraps requests, which wraps urllib3, which wraps the socket."""
    seen: set[int] = set()
    todo: list[BaseException] = [e]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for nxt in (
            getattr(cur, "inner_exception", None),
            getattr(cur, "reason", None),
            cur.__cause__,
            cur.__context__,
        ):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
        todo += [a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)]


# How alibabacloud-credentials reports an AssumeRole that STS refused (provider/ram_role_arn.py): the
# HTTP status and the API's error body, which vpclink reports as the API error it is.
_ASSUME_ROLE_REFUSED = re.compile(
    r"error refreshing credentials from ram_role_arn, http_code: (\d+), result: (\{.*\})", re.S
)


def _assume_role_refusal(e: BaseException) -> tuple[int, dict[str, Any]] | None:
    """(status, error body) when ``e`` comes from STS refusing a RAM role profile's AssumeRole."""
    for cause in _causes(e):
        if type(cause).__name__ != "CredentialException":
            continue
        found = _ASSUME_ROLE_REFUSED.search(str(getattr(cause, "message", "") or cause))
        if found is None:
            continue
        try:
            data = json.loads(found.group(2))
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("Code"):
            return int(found.group(1)), {k: v for k, v in data.items() if k in ERROR_ENVELOPE}
    return None


_HOST = re.compile(r"host='([^']+)', port=(\d+)")


def _unreachable(e: BaseException) -> tuple[str, str] | None:
    """(endpoint, reason) when the request never left: a name that does not resolve, or a refused
    connection; None for anything else."""
    where = "?"
    for cause in _causes(e):
        found = _HOST.search(str(cause))
        if found and where == "?":
            where = f"{found.group(1)}:{found.group(2)}"
    for cause in _causes(e):
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            return where, "its name does not resolve (DNS)"
        if isinstance(cause, ConnectionRefusedError):
            return where, "the connection was refused (nothing listens there)"
    return None


def _method(client: Any, action: str) -> Any:
    """The SDK method for an API action, e.g. ``DescribeVSwitches`` -> ``describe_vswitches_with_options``."""
    name = _methods(client.__class__).get(action.lower())
    if name is None:
        raise ValueError(f"{type(client).__module__.split('.')[0]} has no action {action}")
    return getattr(client, name)


@functools.cache
def _methods(client_class: type) -> dict[str, str]:
    """Lower-case action name -> synchronous ``*_with_options`` method of an SDK client class."""
    suffix = "_with_options"
    return {name[: -len(suffix)].replace("_", ""): name for name in dir(client_class) if name.endswith(suffix)}
