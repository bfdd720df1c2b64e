"""Verify (accounts A and B): ping across the link from each side's ECS instance.

Console terms: ECS > the instance > Send Command (Cloud Assistant), ``ping`` the peer's private IP.
API: RunCommand (RunShellScript ``ping -c N -W 2 <peer IP>``) on each side's instance, then
DescribeInvocationResults (ContentEncoding=PlainText) until the command finished. A direction is
``ok`` when ping exited 0, ``failed`` otherwise, ``skipped`` when a side names no instance; the
link is ``verified`` only when both directions are ok. The command output is returned too, for
the record.

Every run pings afresh: the ClientToken of a RunCommand protects one apply against duplicate
sends, but a later verify (after a fix, say) must not replay an old result.

Two operators (``ctx.side``): each pings from its own instance to the peer's IP (from its card), and
the link is ``verified`` when that direction is ok: a ping's reply crosses the link the other way, so
one direction proves both routes and both security groups. A failed ping while the peer's card shows
that its operator has not added its routes and rules yet is a wait for the peer, not a failure.
"""

from __future__ import annotations

import uuid
from typing import Any

from alibabacloud_ecs20140526 import models as ecs

from ..params import Role
from ..waits import wait_for
from . import lookup
from .base import PhaseContext, Step, WaitingForPeer, peer_role, reads_only

NAME = "verify"
SIDES: tuple[Role, ...] = ("initiator", "acceptor")
INPUTS: tuple[str, ...] = ("initiator_instance_ip", "acceptor_instance_ip")
OUTPUTS: tuple[str, ...] = (
    "ping_initiator_to_acceptor",
    "ping_acceptor_to_initiator",
    "verified",
    "ping_initiator_to_acceptor_output",
    "ping_acceptor_to_initiator_output",
)

# Per-instance invocation states after which nothing more happens.
FINISHED = ("Success", "Failed", "Error", "Timeout", "Cancelled", "Terminated", "Aborted", "Invalid", "Stopped")


def _key(role: Role) -> str:
    return f"ping_{role}_to_{peer_role(role)}"


def command(ctx: PhaseContext, peer_ip: str) -> str:
    return f"ping -c {int(ctx.params.verify.ping_count)} -W 2 {peer_ip}"


# The peer's phases that must be done before its side lets a ping through (two operators).
PEER_PREREQUISITES = ("routes", "security_groups")


@reads_only
def plan(ctx: PhaseContext) -> list[Step]:
    steps = []
    for role in ctx.acting(SIDES):
        instance_id = ctx.params.side(role).instance_id
        peer_ip = lookup.instance_ip(ctx, peer_role(role))
        if not instance_id or not peer_ip:
            steps.append(Step(role, "RunCommand", _key(role), "skip", "no ECS instance on one side"))
            continue
        steps += [
            Step(role, "RunCommand", f"instance {instance_id}", "check", command(ctx, peer_ip)),
            Step(role, "DescribeInvocationResults", f"instance {instance_id}", "wait", "until the command finished"),
        ]
    return steps


def apply(ctx: PhaseContext) -> dict[str, Any]:
    attempt = uuid.uuid4().hex[:12]
    out: dict[str, Any] = {}
    pings = []
    acting = ctx.acting(SIDES)
    for role in acting:
        result = _ping(ctx, role, attempt)
        pings.append(result)
        out[_key(role)] = result["result"]
        out[f"{_key(role)}_output"] = result["output"]
    out["verified"] = all(out[_key(role)] == "ok" for role in acting)
    ctx.results["pings"] = pings
    if ctx.side is not None and not out["verified"]:
        _peer_not_ready(ctx, out)
    return out


def _peer_not_ready(ctx: PhaseContext, out: dict[str, Any]) -> None:
    """Two operators: a failed ping before the peer's routes and rules exist means wait, not fail."""
    done = ctx.peer_progress
    if done is None:
        return  # the peer's progress is unknown (values typed in a form): the failure stands
    lacking = [p for p in PEER_PREREQUISITES if p not in done]
    if not lacking:
        return
    side: Role = ctx.side  # type: ignore[assignment]
    peer = peer_role(side)
    raise WaitingForPeer(
        f"the ping from the {side}'s instance to the {peer}'s did not pass ({out[_key(side)]}), as expected: the "
        f"{peer}'s peer card shows that its operator has not done the {' and '.join(lacking)} phase(s) yet "
        f"(done: {', '.join(done) or 'nothing'}). Next, the {peer}'s operator resumes their run: it adds their "
        f"routes and rules and verifies the link from their side. To verify from this side too, resume this "
        f"run with their newer card"
    )


def _ping(ctx: PhaseContext, role: Role, attempt: str) -> dict[str, Any]:
    side = ctx.params.side(role)
    peer_ip = lookup.instance_ip(ctx, peer_role(role))
    row: dict[str, Any] = {
        "direction": _key(role),
        "side": role,
        "instance_id": side.instance_id or "",
        "peer_ip": peer_ip or "",
        "invoke_id": "",
        "status": "",
        "exit_code": None,
    }
    if not side.instance_id or not peer_ip:
        missing = role if not side.instance_id else peer_role(role)
        return dict(row, result="skipped", output=f"no ECS instance on the {missing} side (instance_id not set)")
    count = int(ctx.params.verify.ping_count)
    req = ecs.RunCommandRequest(
        region_id=side.region,
        type="RunShellScript",
        command_content=command(ctx, peer_ip),
        content_encoding="PlainText",
        instance_id=[side.instance_id],
        timeout=max(10, 2 * count + 10),
        name=f"vpclink-{ctx.params.link}-ping",
        client_token=ctx.token(role, f"ping {attempt}"),
    )
    invoke_id = str(ctx.cloud.call(role, "ecs", "RunCommand", req, mutating=True)["InvokeId"])
    last: dict[str, Any] = {}

    def status() -> str:
        nonlocal last
        last = _result(ctx, role, invoke_id, side.instance_id or "") or {}
        return str(last.get("InvocationStatus") or "Pending")

    state = wait_for(
        status,
        what="command",
        resource_id=f"{invoke_id} on {side.instance_id}",
        expected=FINISHED,
        timeout=ctx.timeout("command"),
        progress=ctx.progress,
        clock=ctx.cloud.clock,
        goal="finished",
    )
    exit_code = last.get("ExitCode")
    ok = state == "Success" and exit_code in (0, "0")
    return dict(
        row,
        invoke_id=invoke_id,
        status=state,
        exit_code=exit_code,
        result="ok" if ok else "failed",
        output=str(last.get("Output") or last.get("ErrorInfo") or ""),
    )


def _result(ctx: PhaseContext, role: Role, invoke_id: str, instance_id: str) -> dict[str, Any] | None:
    req = ecs.DescribeInvocationResultsRequest(
        region_id=ctx.params.side(role).region,
        invoke_id=invoke_id,
        instance_id=instance_id,
        content_encoding="PlainText",
    )
    body = ctx.cloud.call(role, "ecs", "DescribeInvocationResults", req, mutating=False)
    results = lookup.items(body, "Invocation", "InvocationResults", "InvocationResult")
    return next((r for r in results if r.get("InstanceId") == instance_id), None)


@reads_only
def verify(ctx: PhaseContext) -> list[dict[str, Any]]:
    """The pings of the last apply in this context, re-read from Cloud Assistant."""
    pings = ctx.results.get("pings")
    if not pings:
        return [{"direction": _key(role), "result": "not run"} for role in ctx.acting(SIDES)]
    rows = []
    for p in pings:
        if p["invoke_id"]:
            latest = _result(ctx, p["side"], p["invoke_id"], p["instance_id"]) or {}
            p = dict(
                p, status=latest.get("InvocationStatus", p["status"]), exit_code=latest.get("ExitCode", p["exit_code"])
            )
        rows.append(
            {
                k: p[k]
                for k in ("direction", "instance_id", "peer_ip", "invoke_id", "status", "exit_code", "result", "output")
            }
        )
    return rows
