"""Verify (accounts A and B): ping across the link from each side's ECS instance.

How, in API terms: RunCommand (RunShellScript ``ping -c N -W 2 <peer IP>``) on each side's instance, then
DescribeInvocationResults (ContentEncoding=PlainText) until the command finished. A direction is
``ok`` when ping exited 0, ``failed`` otherwise, ``skipped`` when a side names no instance; the
link is ``verified`` only when both directions are ok. The command output is returned too, for
the record.

Every run pings afresh: the ClientToken of a RunCommand protects one apply against duplicate
sends, but a later verify (after a fix, say) must not replay an old result.

Two operators (``ctx.side``): each pings from its own instance to the peer's IP (from its card), and
the link is ``verified`` when that direction is ok: a ping's reply crosses the link the other way, so
one direction proves both routes and both security groups. A failed ping while the peer's card shows
that its operator has not yet done every earlier phase it acts in (its routes and rules) is a wait for
the peer, not a failure. The notebook's text is ``PHASE`` at the end of this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alibabacloud_ecs20140526 import models as ecs

from .. import naming
from ..params import ROLES, LinkParams, Role
from ..sides import peer_of
from ..waits import wait_for
from . import lookup
from .base import Output, Phase, PhaseContext, Step, Steps, WaitingForPeer

if TYPE_CHECKING:
    from ..record.picture import LinkView

SIDES: tuple[Role, ...] = ("initiator", "acceptor")
NUMBER = "06"

# Per-instance invocation states after which nothing more happens.
FINISHED = ("Success", "Failed", "Error", "Timeout", "Cancelled", "Terminated", "Aborted", "Invalid", "Stopped")


def _key(role: Role) -> str:
    return f"ping_{role}_to_{peer_of(role)}"


def command(ctx: PhaseContext, peer_ip: str) -> str:
    return f"ping -c {int(ctx.params.verify.ping_count)} -W 2 {peer_ip}"


def peer_prerequisites(peer: Role) -> list[str]:
    """The peer's phases that must be done before its side lets a ping through (two operators): every
    earlier phase that changes something on its side (its interface, the connection, routes, rules)."""
    from . import ALL

    return [p.name for p in ALL if p.number < NUMBER and p.kind == "change" and peer in p.sides]


def offline(p: LinkParams) -> list[Step]:
    steps: list[Step] = []
    for role in ROLES:
        s, peer = p.side(role), p.peer(role)
        if not (s.instance_id and peer.instance_id):
            steps.append(Step(role, "RunCommand", "ping", "skip", "no instance_id on both sides: no ping test"))
            continue
        steps += [
            Step(
                role,
                "RunCommand",
                s.instance_id,
                "create",
                f"Cloud Assistant: ping -c {p.verify.ping_count} the private IP of {peer.instance_id}",
            ),
            Step(
                role,
                "DescribeInvocationResults",
                s.instance_id,
                "wait",
                f"until the command finishes (at most {p.timeouts.command:g} s); ok = exit code 0",
            ),
        ]
    return steps


def plan(ctx: PhaseContext) -> list[Step]:
    steps = []
    for role in ctx.acting(SIDES):
        instance_id = ctx.params.side(role).instance_id
        peer_ip = lookup.instance_ip(ctx, peer_of(role))
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
        ctx.outcome(
            role,
            "RunCommand",
            f"ping from {result['instance_id'] or role} to {result['peer_ip'] or peer_of(role)}",
            "skipped" if result["result"] == "skipped" else "checked",
            result["invoke_id"],
            result["result"],
        )
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
    side = ctx.side
    if side is None:
        return
    peer = peer_of(side)
    lacking = [p for p in peer_prerequisites(peer) if p not in done]
    if not lacking:
        return
    raise WaitingForPeer(
        f"the ping from the {side}'s instance to the {peer}'s did not pass ({out[_key(side)]}), as expected: the "
        f"{peer}'s peer card shows that its operator has not done the {' and '.join(lacking)} phase(s) yet "
        f"(done: {', '.join(done) or 'nothing'}). Next, the {peer}'s operator resumes their run: it adds their "
        f"routes and rules and verifies the link from their side. To verify from this side too, resume this "
        f"run with their newer card"
    )


def _ping(ctx: PhaseContext, role: Role, attempt: str) -> dict[str, Any]:
    side = ctx.params.side(role)
    peer_ip = lookup.instance_ip(ctx, peer_of(role))
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
        missing = role if not side.instance_id else peer_of(role)
        return dict(row, result="skipped", output=f"no ECS instance on the {missing} side (instance_id not set)")
    count = int(ctx.params.verify.ping_count)
    req = ecs.RunCommandRequest(
        region_id=side.region,
        type="RunShellScript",
        command_content=command(ctx, peer_ip),
        content_encoding="PlainText",
        instance_id=[side.instance_id],
        timeout=max(10, 2 * count + 10),
        name=naming.command_name(ctx.params.link),
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


def _directions() -> list[tuple[Role, str]]:
    return [(role, _key(role)) for role in ROLES]


def failure(outputs: Mapping[str, Any]) -> str | None:
    """The link verifies when every direction pinged is ok (``verified``)."""
    if outputs.get("verified") is not False:
        return None
    pings = [f"ping {role} -> {peer_of(role)} {outputs[key]}" for role, key in _directions() if key in outputs]
    return "the link does not verify: " + ", ".join(pings)


def concludes(outputs: Mapping[str, Any]) -> tuple[str, str]:
    if outputs.get("verified") is True:
        return "verified", "the link verifies"
    return "not verified", "the link does not verify"


def report(outputs: Mapping[str, Any]) -> str | None:
    pings = [f"{role} -> {peer_of(role)}: {outputs[key]}" for role, key in _directions() if key in outputs]
    return "ping " + "; ".join(pings) if pings else None


def show(params: LinkParams, outputs: Mapping[str, Any], view: LinkView) -> None:
    """The ping each way; a ping that passed proves the connection Active (with two operators the
    acceptor's side records Idle for it, before the initiator connects)."""
    from ..record.picture import Ping, account_letter

    view.pings = [
        Ping(account_letter(role), account_letter(peer_of(role)), str(outputs.get(key) or "not run"))
        for role, key in _directions()
    ]
    if any(p.result == "ok" for p in view.pings):
        view.connection = "Active"
        for role in ROLES:
            endpoint = view.side(role).endpoint
            if endpoint is not None and endpoint.resource_id != "not created":
                endpoint.state = "Active"


STEPS = Steps(
    console="""log on to ECS1 in VPC1 and `ping` ECS2's private IP, then the other way round
(or use *ECS > Cloud Assistant* to send the command).""",
    api="""Cloud Assistant `ecs:RunCommand` (`Type=RunShellScript`,
`CommandContent=ping -c N <peer IP>`) on each instance, then `ecs:DescribeInvocationResults` until
the command has finished: exit code 0 means the peer answered.""",
    offline=offline,
    plan=plan,
    apply=apply,
    verify=verify,
)


PHASE = Phase(
    name="verify",
    number=NUMBER,
    title="Verify: ping across the link, both ways",
    summary="The test of the tutorial: each ECS instance pings the other's private IP address.",
    why="""only traffic that crosses the link proves that the connection, routes and security group
rules are all right. The run succeeds only if both directions answer.""",
    why_heading="Why",
    kind="check",
    sides=SIDES,
    inputs=("initiator_instance_ip", "acceptor_instance_ip"),
    outputs=(
        Output("ping_initiator_to_acceptor", "ok, failed or skipped"),
        Output("ping_acceptor_to_initiator", "ok, failed or skipped"),
        Output("verified", "whether every direction pinged is ok"),
        Output("ping_initiator_to_acceptor_output", "the ping's output"),
        Output("ping_acceptor_to_initiator_output", "the ping's output"),
    ),
    needs=("instance_ip",),  # the ping's target
    # The peering backend takes the same steps: they do not depend on how the two VPCs are joined.
    steps={"router_interface": STEPS, "vpc_peer": STEPS},
    success=failure,
    concludes=concludes,
    report=report,
    show=show,
    picture=True,
)
