"""Cloud Assistant: RunCommand, DescribeInvocations and DescribeInvocationResults.

RunCommand decides every instance's outcome when it is called, from the network as it is at that
moment (simple and deterministic: a route added a second later does not change a ping already
sent), and stores it as a timed transition: each instance shows ``Running`` (``Pending`` when the
command cannot start) for ``timing.command`` seconds of virtual time, then its final state.

Per-instance outcomes:

* ``Success`` (exit 0) / ``Failed`` with ``ErrorCode=ExitCodeNonzero`` (``InvokeRecordStatus``
  ``Finished`` in both cases): the script ran; ``shell.run_script`` says what it printed.
* ``Timeout`` with ``ExecutionTimeout``: the script would run past ``Timeout`` (e.g. ``ping``
  without ``-c``).
* ``Aborted`` with ``InstanceNotRunning`` when the instance is not ``Running``, or
  ``ClientNotRunning`` when it has no Cloud Assistant; ``Invalid`` with ``CommandNotApplicable``
  for a Windows script type on a Linux instance. The API call itself succeeds, as the service's
  does. ``ExitCode`` is left out of such results: no process ran, so there is no exit code, and a
  check of ``ExitCode == 0`` alone must not pass.

The script is stored as plain text; ``Output`` and ``CommandContent`` are Base64 unless the
describe call asks for ``ContentEncoding=PlainText`` (the describe calls' documented default),
while RunCommand's own ``ContentEncoding`` defaults to ``PlainText``. The RunCommand reference
(``RunCommandRequest.content_encoding`` in the pinned SDK, from the API metadata) says an invalid
value "is processed as PlainText"; the describe pages say nothing of an invalid value, so the
emulator falls back to each call's documented default there as well, rather than invent an error
code. Each result also keeps an ``EmulatorReason`` (why a ping passed or failed), visible in
``/_emulator/state`` and never in a response.

Limits (RunCommand reference, https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-runcommand,
and the pinned SDK's ``RunCommandRequest``): ``CommandContent`` at most 24 KB once Base64-encoded;
``Timeout`` 10 to 86400 seconds, default 60; ``InstanceId.N`` 1 to 100 instances (today's
reference; a 2021 page said 50, the pinned SDK's docstring says "Array length: 1 to 100", and
today's reference wins where the two disagree); ``Type`` one of RunShellScript, RunBatScript,
RunPowerShellScript. ``Tag.N`` (tags of the invocation, which the describes filter on) at most 20,
``ResourceTag.N`` (instances chosen by their tags, instead of ``InstanceId.N``) at most 10: the
descriptions say "N 的取值范围为 1~20" and "1~10", where ``maxItems`` says 21 and 11. The output kept
per instance is the first 24 KB (``shell.py``).

Errors are the codes the ECS metadata documents for these actions (vendored under
``tests/data/api_metadata``), each action declaring its own (``products/catalog.py``): an unknown
``Type`` is ``404 InvalidCmdType.NotFound`` (the 2024 metadata; a 2021 page said 403, parity finding
L17), content that is not Base64 ``CmdContent.DecodeError``, content too long ``403
CmdContent.ExceedLimit``, too many instances ``403 InstanceIds.ExceedLimit``, a name, description or
user name too long ``403 CmdName.ExceedLimit`` / ``CmdDesc.ExceedLimit`` / ``Username.ExceedLimit``,
a working directory too long ``InvalidParameter.WorkingDir``, an unknown ``TerminationMode`` ``404
InvalidTerminationMode.NotFound``, too many tags ``NumberExceed.Tags`` / ``NumberExceed.ResourceTags``
(a tag without a key ``MissingParameter.TagKey`` / ``MissingParameter.ResourceTagKey``), ``ResourceTag``
with ``InstanceId`` ``InvalidResourceTag.ConflictWithInstanceIds`` and a ``ResourceTag`` that
matches no instance ``InvalidResourceTag.InstanceNotFound`` (no instance of the emulator has tags).

A command's cost is bounded and paid outside the store's lock (``context.py``'s
``prepare``/``compute``): RunCommand reads the instances and the network in a short read-only
transaction, simulates the script on every instance with no lock held, then records the
invocation in its own transaction. So a command such as ``ping -c 3000000 -i 0.002`` on many
instances never holds up another account's requests.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from ..context import Action, Context
from ..errors import INVALID_PARAMETER, MISSING_PARAMETER, REGION_NOT_FOUND, ErrorCode, error, invalid
from ..params import Params
from ..reachability import Network, ping
from ..shell import Line, parse_script, run_script
from ..timefmt import iso
from .catalog import action
from .ecs_errors import NEXT_TOKEN
from .ecs_paging import Limits, paginate
from .tags import tags_of

TYPES = ("RunShellScript", "RunBatScript", "RunPowerShellScript")
MAX_CONTENT = 24 * 1024  # bytes of CommandContent, counted Base64-encoded
MAX_INSTANCES = 100
MAX_TAGS = 20
MAX_RESOURCE_TAGS = 10
_FAILED = ("Failed", "Aborted", "Invalid", "Error", "Timeout", "Cancelled", "Terminated")
_ERROR_INFO = {
    "ExitCodeNonzero": "the command execution exit code is not zero",
    "ExecutionTimeout": "the command execution has been timeout",
    "InstanceNotRunning": "the instance is not running when create task",
    "ClientNotRunning": "the aliyun service is not running on the instance",
    "CommandNotApplicable": "the command is not applicable",
}


# -- errors (the ECS metadata's codes for these actions) -------------------------------------------------
@error("InvalidCmdType.NotFound", 404)
def command_type_not_found(value: str) -> str:
    return f'The specified command type does not exist: "{value}"; valid values: {", ".join(TYPES)}.'


@error("CmdContent.DecodeError")
def content_not_base64() -> str:
    return (
        "The CommandContent can not be base64 decoded, although ContentEncoding is Base64; "
        "send ContentEncoding=PlainText for a plain script."
    )


@error("CmdContent.ExceedLimit", 403)
def content_too_long(detail: str) -> str:
    return f"The length of the command content exceeds the upper limit: CommandContent {detail}."


@error("InstanceIds.ExceedLimit", 403)
def too_many_instances(got: int) -> str:
    return f"The number of instance IDs exceeds the upper limit: InstanceId takes at most {MAX_INSTANCES}, got {got}."


@error("InvalidInstance.NotFound", 404)
def instance_not_found(instance_id: str, region: str) -> str:
    return f'The specified instance does not exist: "{instance_id}" in region {region} for this account.'


@error("NumberExceed.Tags")
def too_many_tags(got: int) -> str:
    return f"Ensure the number of tag parameters is not greater than {MAX_TAGS}: Tag.N has {got}."


@error("NumberExceed.ResourceTags")
def too_many_resource_tags(got: int) -> str:
    return (
        f"The maximum number of ResourceTags is exceeded: ResourceTag.N takes at most {MAX_RESOURCE_TAGS}, got {got}."
    )


@error("MissingParameter.TagKey")
def tag_key_missing(n: int) -> str:
    return f"You must specify Tag.N.Key: Tag.{n}.Key is missing."


@error("MissingParameter.ResourceTagKey")
def resource_tag_key_missing(n: int) -> str:
    return f"You must specify ResourceTag.N.Key: ResourceTag.{n}.Key is missing."


@error("InvalidResourceTag.ConflictWithInstanceIds")
def resource_tag_and_instances() -> str:
    return "The specified param ResourceTag conflicts with InstanceId: give one of them."


@error("InvalidResourceTag.InstanceNotFound")
def no_instance_tagged(tags: str) -> str:
    return f"InstanceIds are not found by the specified ResourceTag: no instance of this account here has {tags}."


LENGTH_LIMITS = {  # field -> (longest value, the code for one longer)
    "Name": (128, ErrorCode("CmdName.ExceedLimit", 403)),
    "Description": (512, ErrorCode("CmdDesc.ExceedLimit", 403)),
    "Username": (255, ErrorCode("Username.ExceedLimit", 403)),
    "WorkingDir": (200, ErrorCode("InvalidParameter.WorkingDir")),
}
TERMINATION_MODE = ErrorCode("InvalidTerminationMode.NotFound", 404)


def _bounded(p: Params, name: str, default: str) -> str:
    value = p.text(name, default=default)
    limit, code = LENGTH_LIMITS[name]
    if len(value) > limit:
        raise code(f"The length of {name} exceeds the upper limit: at most {limit} characters, got {len(value)}.")
    return value


def _tags(p: Params, name: str, limit: int, too_many: Any, key_missing: Any) -> list[dict[str, str]]:
    """``Tag.N`` / ``ResourceTag.N`` as ``[{"Key", "Value"}]``, within the documented count."""
    raw = p.sequence(name)
    if len(raw) > limit:
        raise too_many(len(raw))
    out = []
    for n, t in enumerate(raw, start=1):
        if not isinstance(t, dict) or not t.get("Key"):
            raise key_missing(n)
        out.append({"Key": str(t["Key"]), "Value": str(t.get("Value") or "")})
    return out


def _tagged(rec: dict[str, Any], wanted: list[dict[str, str]]) -> bool:
    have = tags_of(rec)
    return all(t["Key"] in have and (not t["Value"] or have[t["Key"]] == t["Value"]) for t in wanted)


def _encoding(p: Params, default: str) -> str:
    """``ContentEncoding``, case-insensitive; anything else is the call's default (see above)."""
    value = p.text("ContentEncoding", default=default) or default
    for known in ("PlainText", "Base64"):
        if value.lower() == known.lower():
            return known
    return default


def _encode(text: str, encoding: str) -> str:
    return text if encoding == "PlainText" else base64.b64encode(text.encode("utf-8")).decode("ascii")


def _script(p: Params) -> str:
    content = p.text("CommandContent", required=True)
    assert content is not None
    encoding = _encoding(p, "PlainText")
    if encoding == "Base64":
        try:
            content = base64.b64decode(content, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise content_not_base64() from None
    if len(base64.b64encode(content.encode("utf-8"))) > MAX_CONTENT:
        raise content_too_long(f"is longer than {MAX_CONTENT} bytes once Base64-encoded")
    if p.flag("EnableParameter"):
        try:
            values = json.loads(p.text("Parameters") or "{}")
        except ValueError:
            raise invalid("Parameters", 'expected a JSON object such as {"name": "value"}') from None
        if not isinstance(values, dict):
            raise invalid("Parameters", 'expected a JSON object such as {"name": "value"}')
        for key, value in values.items():
            content = content.replace("{{" + str(key) + "}}", str(value))
        if len(base64.b64encode(content.encode("utf-8"))) > MAX_CONTENT:
            raise content_too_long(f"is longer than {MAX_CONTENT} bytes once Base64-encoded with its parameters in")
    return content


def _outcome(
    instance: dict[str, Any], command_type: str, script: list[tuple[str, Line]], timeout: int, net: Network
) -> dict[str, Any]:
    """The final per-instance result (without the fields common to every instance)."""

    def refused(status: str, code: str, why: str) -> dict[str, Any]:
        return {
            "InvocationStatus": status,
            "ExitCode": None,
            "Output": "",
            "Dropped": 0,
            "ErrorCode": code,
            "ErrorInfo": _ERROR_INFO[code],
            "Started": False,
            "EmulatorReason": why,
        }

    if instance.get("Status") != "Running":
        return refused("Aborted", "InstanceNotRunning", f"{instance['InstanceId']} is {instance.get('Status')}")
    if not instance.get("CloudAssistant", True):
        return refused("Aborted", "ClientNotRunning", f"{instance['InstanceId']} has no Cloud Assistant agent")
    windows = instance.get("OSType", "linux").lower() == "windows"
    if (command_type == "RunShellScript") == windows:
        return refused(
            "Invalid", "CommandNotApplicable", f"{command_type} does not run on a {instance.get('OSType')} instance"
        )
    result = run_script(script, lambda ip: ping(net, instance, ip), timeout)
    if result.timed_out:
        status, code = "Timeout", "ExecutionTimeout"
    elif result.exit_code == 0:
        status, code = "Success", ""
    else:
        status, code = "Failed", "ExitCodeNonzero"
    return {
        "InvocationStatus": status,
        "ExitCode": result.exit_code,
        "Output": result.output,
        "Dropped": result.dropped,
        "ErrorCode": code,
        "ErrorInfo": _ERROR_INFO.get(code, ""),
        "Started": True,
        "EmulatorReason": result.explanation,
    }


def _targets(ctx: Context, p: Params, region: str, by_tags: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The instances named by ``InstanceId.N`` (the caller's, in the request's region), or those
    that carry every tag of ``ResourceTag.N``."""
    if by_tags:
        if p.has("InstanceId"):
            raise resource_tag_and_instances()
        found = [i for i in ctx.tx.find("instance", account=ctx.uid, region=region) if _tagged(i, by_tags)]
        if not found:
            raise no_instance_tagged(", ".join(f"{t['Key']}={t['Value']}" for t in by_tags))
        return found[:MAX_INSTANCES]
    ids = list(dict.fromkeys(str(i) for i in p.sequence("InstanceId", required=True)))
    if len(ids) > MAX_INSTANCES:
        raise too_many_instances(len(ids))
    found = []
    for iid in ids:
        rec = ctx.tx.get("instance", iid, account=ctx.uid)
        if rec is None or rec["_region"] != region:
            raise instance_not_found(iid, region)
        found.append(rec)
    return found


@dataclass(frozen=True)
class _Command:
    """A RunCommand as ``prepare`` read it: everything its simulation needs, and no store."""

    region: str
    command_type: str
    script: str
    timeout: int
    fields: dict[str, Any]
    instances: list[dict[str, Any]]
    network: Network | None  # read only when some instance can run the script
    started_at: float
    finished_at: float


def prepare_run_command(ctx: Context, p: Params) -> _Command:
    region = ctx.region()
    assert region is not None
    command_type = p.text("Type", required=True)
    if command_type not in TYPES:
        raise command_type_not_found(command_type)
    script = _script(p)
    timeout = p.integer("Timeout", default=60, min=10, max=86400)
    assert timeout is not None
    repeat = p.text("RepeatMode", default="Once")
    if repeat != "Once" or p.has("Frequency"):
        raise invalid(
            "RepeatMode",
            f"the emulator runs commands once only (RepeatMode=Once, no Frequency); got "
            f"RepeatMode={repeat}" + (f", Frequency={p.text('Frequency')}" if p.has("Frequency") else ""),
        )
    fields = {
        "CommandName": _bounded(p, "Name", ""),
        "CommandDescription": _bounded(p, "Description", ""),
        "Username": _bounded(p, "Username", "root"),
        "WorkingDir": _bounded(p, "WorkingDir", "/root"),
        "Parameters": p.text("Parameters", default="{}"),
        "ContainerId": p.text("ContainerId", default=""),
        "ContainerName": p.text("ContainerName", default=""),
        "Launcher": p.text("Launcher", default=""),
        "TerminationMode": p.text(
            "TerminationMode", default="Process", choices=("Process", "ProcessTree"), code=TERMINATION_MODE
        ),
        "Tags": _tags(p, "Tag", MAX_TAGS, too_many_tags, tag_key_missing),
    }
    by_tags = _tags(p, "ResourceTag", MAX_RESOURCE_TAGS, too_many_resource_tags, resource_tag_key_missing)
    instances = _targets(ctx, p, region, by_tags)
    runs = any(i.get("Status") == "Running" and i.get("CloudAssistant", True) for i in instances)
    return _Command(
        region,
        command_type,
        script,
        timeout,
        fields,
        instances,
        Network.read(ctx.tx) if runs else None,
        ctx.now,
        ctx.now + ctx.timing("command"),
    )


def simulate(command: _Command) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each instance's result while the command runs, and once it is done (no store, no lock)."""
    script = parse_script(command.script)
    now, finished = iso(command.started_at), iso(command.finished_at)
    running, final = [], []
    for rec in command.instances:
        done = _outcome(rec, command.command_type, script, command.timeout, command.network or Network())
        started = done.pop("Started")
        base = {
            "InstanceId": rec["InstanceId"],
            "StartTime": now if started else "",
            "StopTime": "",
            "Repeats": 1 if started else 0,
        }
        running.append(
            dict(
                base,
                InvocationStatus="Running" if started else "Pending",
                ExitCode=None,
                Output="",
                Dropped=0,
                ErrorCode="",
                ErrorInfo="",
                FinishedTime="",
                EmulatorReason="",
            )
        )
        final.append(dict(base, **done, FinishedTime=finished if started else ""))
    return running, final


def run_command(ctx: Context, p: Params) -> dict[str, Any]:
    """Record the invocation whose outcome ``simulate`` computed (``ctx.computed``)."""
    command: _Command = ctx.computed[0]
    running, final = ctx.computed[1]
    invoke_id, command_id = ctx.tx.new_id("t-"), ctx.tx.new_id("c-")
    rec = ctx.tx.insert(
        "invocation",
        invoke_id,
        ctx.uid,
        command.region,
        dict(
            command.fields,
            InvokeId=invoke_id,
            CommandId=command_id,
            CommandType=command.command_type,
            CommandContent=command.script,
            Timeout=command.timeout,
            RepeatMode="Once",
            Frequency="",
            Timed=False,
            CreationTime=iso(command.started_at),
            Results=running,
        ),
    )
    ctx.tx.schedule(rec, max(0.0, command.finished_at - ctx.now), Results=final)
    ctx.tx.put(rec)
    return {"CommandId": command_id, "InvokeId": invoke_id}


def _simulated(command: _Command) -> tuple[_Command, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    return command, simulate(command)


def _record_status(status: str) -> str:
    """A per-instance ``InvocationStatus`` as ``InvokeRecordStatus``."""
    if status in ("Pending", "Running"):
        return "Running"
    return "Finished" if status in ("Success", "Failed") else "Failed"


def _overall(results: list[dict[str, Any]]) -> str:
    statuses = [r["InvocationStatus"] for r in results]
    if all(s == "Pending" for s in statuses):
        return "Pending"
    if any(s in ("Pending", "Running") for s in statuses):
        return "Running"
    failed = sum(1 for s in statuses if s in _FAILED)
    return "Success" if failed == 0 else ("Failed" if failed == len(statuses) else "PartialFailed")


def _invocations(ctx: Context, region: str, p: Params) -> list[dict[str, Any]]:
    """The caller's invocations in the region, newest first (``Tag.N``: those with every tag)."""
    wanted = _tags(p, "Tag", MAX_TAGS, too_many_tags, tag_key_missing)
    found = [i for i in ctx.tx.find("invocation", account=ctx.uid, region=region) if _tagged(i, wanted)]
    for key in ("InvokeId", "CommandId"):
        if p.has(key):
            found = [i for i in found if i[key] == p.text(key)]
    return list(reversed(found))


def _result_view(inv: dict[str, Any], r: dict[str, Any], encoding: str) -> dict[str, Any]:
    view = {
        "InvokeId": inv["InvokeId"],
        "CommandId": inv["CommandId"],
        "InstanceId": r["InstanceId"],
        "InvocationStatus": r["InvocationStatus"],
        "InvokeRecordStatus": _record_status(r["InvocationStatus"]),
        "Output": _encode(r["Output"], encoding),
        "Dropped": r["Dropped"],
        "ErrorCode": r["ErrorCode"],
        "ErrorInfo": r["ErrorInfo"],
        "StartTime": r["StartTime"],
        "FinishedTime": r["FinishedTime"],
        "StopTime": r["StopTime"],
        "Repeats": r["Repeats"],
        "Username": inv["Username"],
        "ContainerId": inv["ContainerId"],
        "ContainerName": inv["ContainerName"],
        "Launcher": inv["Launcher"],
        "TerminationMode": inv["TerminationMode"],
        "OssOutputDelivery": "",
        "OssOutputStatus": "",
        "OssOutputUri": "",
        "OssOutputErrorCode": "",
        "OssOutputErrorInfo": "",
        "Tags": {"Tag": _tag_view(inv)},
    }
    if r["ExitCode"] is not None:
        view["ExitCode"] = r["ExitCode"]
    return view


def _tag_view(inv: dict[str, Any]) -> list[dict[str, str]]:
    return [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in inv.get("Tags") or []]


def describe_invocation_results(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    encoding = _encoding(p, "Base64")
    instance_id, record_status = p.text("InstanceId"), p.text("InvokeRecordStatus")
    rows = [
        (inv, r)
        for inv in _invocations(ctx, region, p)
        for r in inv["Results"]
        if (not instance_id or r["InstanceId"] == instance_id)
        and (not record_status or _record_status(r["InvocationStatus"]) == record_status)
    ]
    filters = {k: p.text(k) for k in ("InvokeId", "CommandId", "InstanceId", "InvokeRecordStatus")}
    page, paging = paginate(p, rows, filters, Limits(max_results_max=50, page_size_max=50))
    return {
        "Invocation": dict(
            paging, InvocationResults={"InvocationResult": [_result_view(inv, r, encoding) for inv, r in page]}
        )
    }


def _invoke_instance(inv: dict[str, Any], r: dict[str, Any], encoding: str, with_output: bool) -> dict[str, Any]:
    status = r["InvocationStatus"]
    legacy = {"Success": "Finished", "Failed": "Finished", "Pending": "Pending", "Running": "Running"}.get(
        status, "Failed"
    )
    view = {
        "InstanceId": r["InstanceId"],
        "InvocationStatus": status,
        "InstanceInvokeStatus": legacy,
        "Dropped": r["Dropped"],
        "ErrorCode": r["ErrorCode"],
        "ErrorInfo": r["ErrorInfo"],
        "StartTime": r["StartTime"],
        "FinishTime": r["FinishedTime"],
        "StopTime": r["StopTime"],
        "CreationTime": inv["CreationTime"],
        "UpdateTime": r["FinishedTime"] or r["StartTime"] or inv["CreationTime"],
        "Repeats": r["Repeats"],
        "Timed": False,
        "OssOutputStatus": "",
        "OssOutputUri": "",
        "OssOutputErrorCode": "",
        "OssOutputErrorInfo": "",
    }
    if r["ExitCode"] is not None:
        view["ExitCode"] = r["ExitCode"]
    if with_output:
        view["Output"] = _encode(r["Output"], encoding)
    return view


def describe_invocations(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    encoding = _encoding(p, "Base64")
    with_output = p.flag("IncludeOutput")
    instance_id = p.text("InstanceId")
    wanted = {k: p.text(k) for k in ("CommandName", "CommandType", "RepeatMode")}
    status_filter = p.text("InvokeStatus")
    selected = []
    for inv in _invocations(ctx, region, p):
        overall = _overall(inv["Results"])
        legacy = {"Success": "Finished", "PartialFailed": "PartialFinished"}.get(overall, overall)
        if (
            (instance_id and all(r["InstanceId"] != instance_id for r in inv["Results"]))
            or any(v and inv[k] != v for k, v in wanted.items())
            or (status_filter and status_filter not in (overall, legacy))
            or (p.has("Timed") and p.flag("Timed") != inv["Timed"])
        ):
            continue
        selected.append((inv, overall, legacy))
    filters = dict(
        wanted,
        InvokeId=p.text("InvokeId"),
        CommandId=p.text("CommandId"),
        InstanceId=instance_id,
        InvokeStatus=status_filter,
        Timed=p.text("Timed"),
    )
    page, paging = paginate(p, selected, filters, Limits(max_results_max=50, page_size_max=50))
    out = []
    for inv, overall, legacy in page:
        results = [r for r in inv["Results"] if not instance_id or r["InstanceId"] == instance_id]
        out.append(
            {
                "InvokeId": inv["InvokeId"],
                "CommandId": inv["CommandId"],
                "CommandName": inv["CommandName"],
                "CommandType": inv["CommandType"],
                "CommandContent": _encode(inv["CommandContent"], encoding),
                "CommandDescription": inv["CommandDescription"],
                "InvocationStatus": overall,
                "InvokeStatus": legacy,
                "RepeatMode": inv["RepeatMode"],
                "Frequency": inv["Frequency"],
                "Timed": inv["Timed"],
                "Timeout": inv["Timeout"],
                "Username": inv["Username"],
                "WorkingDir": inv["WorkingDir"],
                "Parameters": inv["Parameters"],
                "CreationTime": inv["CreationTime"],
                "ContainerId": inv["ContainerId"],
                "ContainerName": inv["ContainerName"],
                "Launcher": inv["Launcher"],
                "TerminationMode": inv["TerminationMode"],
                "OssOutputDelivery": "",
                "Tags": {"Tag": _tag_view(inv)},
                "InvokeInstances": {
                    "InvokeInstance": [_invoke_instance(inv, r, encoding, with_output) for r in results]
                },
            }
        )
    return dict(paging, Invocations={"Invocation": out})


REGION = (MISSING_PARAMETER, REGION_NOT_FOUND)  # ``Context.region``
PARAMS = (MISSING_PARAMETER, INVALID_PARAMETER)  # ``Params`` getters
TAGS = (too_many_tags, tag_key_missing)

ACTIONS: dict[str, Action] = {
    "RunCommand": action(
        run_command,
        REGION,
        PARAMS,
        TAGS,
        command_type_not_found,
        content_not_base64,
        content_too_long,
        too_many_instances,
        instance_not_found,
        too_many_resource_tags,
        resource_tag_key_missing,
        resource_tag_and_instances,
        no_instance_tagged,
        [code for _, code in LENGTH_LIMITS.values()],
        TERMINATION_MODE,
        mutating=True,
        prepare=prepare_run_command,
        compute=_simulated,
    ),
    "DescribeInvocations": action(describe_invocations, REGION, PARAMS, TAGS, NEXT_TOKEN),
    "DescribeInvocationResults": action(describe_invocation_results, REGION, PARAMS, TAGS, NEXT_TOKEN),
}
