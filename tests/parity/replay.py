"""Replay a capture (``capture.py``) against a fresh emulator and report every difference.

The replay sends each captured request, in order, through the official SDK clients (the
conformance ``Session``), after moving the emulator's virtual clock by the capture's elapsed time,
and compares the reply with the captured one:

* ``status`` / ``code``: the HTTP status and error code must be the captured ones;
* ``missing`` / ``extra`` / ``type``: the reply's shape must have the captured keys with their JSON
  types; a key only the emulator sends counts only when neither the metadata's response schema nor
  the official SDK's response model has it (the cloud leaves out empty optional fields);
* ``state``: the values of states and enumerations (``capture.KEPT``) must match. Consecutive
  identical requests are a poll: there the sequence of distinct values seen must match, so a wait
  that took the cloud ten polls and the emulator two is not a difference, but a state the emulator
  skips or adds is;
* ``identity`` / ``unbound``: placeholders must keep naming one resource.

Placeholders (``{{ri:1}}``) are bound to the emulator's values where the captured reply had them
(the reply at the same place names the emulator's resource), or, when a request uses one first, to
the emulator world's resources of that kind and account in order of appearance (VPCs, VRouters,
route tables, vSwitches, security groups, instances, their IPs and CIDRs, account UIDs). Account
labels map to the world's accounts in order of appearance, and each label's first region to the
region of that account's first VPC.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from emulator.conformance import metadata
from emulator.conformance.probes import sdk_paths
from emulator.conformance.sdk import Session

from .capture import PLACEHOLDER, plain_shape

# placeholder kind -> (store type, field) of the world resources it may name
_POOLS = {
    "vpc": [("vpc", "VpcId")],
    "vrt": [("vpc", "VRouterId")],
    "vtb": [("route_table", "RouteTableId")],
    "vsw": [("vswitch", "VSwitchId")],
    "sg": [("security_group", "SecurityGroupId")],
    "i": [("instance", "InstanceId")],
    "ip": [("instance", "PrivateIpAddress")],
    "cidr": [("vpc", "CidrBlock"), ("vswitch", "CidrBlock")],
}


@dataclass(frozen=True)
class Difference:
    seq: int
    action: str
    kind: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}: {self.kind} {self.path}: {self.detail}"


@dataclass
class _Outcome:
    seq: int
    action: str
    diffs: list[Difference] = field(default_factory=list)
    states: list[tuple[str, Any]] = field(default_factory=list)  # captured (path, value)
    got_states: list[tuple[str, Any]] = field(default_factory=list)


class Replay:
    def __init__(self, calls: list[dict[str, Any]], world: dict[str, Any] | None = None):
        self.calls = calls
        self.session = Session(world)
        names = list(self.session.accounts)
        labels = list(dict.fromkeys(c["account"] for c in calls))
        if len(labels) > len(names):
            raise ValueError(f"the capture has {len(labels)} accounts; the world has {len(names)}")
        self.account = dict(zip(labels, names, strict=False))
        state = self.session.control("state")["accounts"]
        self.world = {name: state.get(name, {}) for name in names}
        self.region: dict[str, str] = {}
        for label in labels:
            first = next(c["region"] for c in calls if c["account"] == label)
            vpcs = self.world[self.account[label]].get("vpc") or []
            if vpcs and first not in self.region:
                self.region[first] = vpcs[0]["RegionId"]
        self.bound: dict[str, Any] = {}
        self.used: set[Any] = set()

    def close(self) -> None:
        self.session.close()

    # -- placeholders ------------------------------------------------------------------------------------
    def _pool(self, kind: str, account: str) -> list[Any]:
        if kind == "uid":
            own = self.session.uid(account)
            return [own, *(self.session.uid(n) for n in self.session.accounts if n != account)]
        values = []
        for type_, key in _POOLS.get(kind, []):
            values += [r.get(key) for r in self.world[account].get(type_) or [] if r.get(key)]
        return values

    def _bind_from_world(self, placeholder: str, kind: str, account: str) -> Any:
        for value in self._pool(kind, account):
            if value not in self.used:
                self.bound[placeholder] = value
                self.used.add(value)
                return value
        return None

    def _substitute(self, value: Any, account: str, unbound: list[str]) -> Any:
        if isinstance(value, dict):
            return {k: self._substitute(v, account, unbound) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(v, account, unbound) for v in value]
        if not isinstance(value, str):
            return value
        if value in self.region:
            return self.region[value]

        def one(m: re.Match[str]) -> str:
            ph = m.group(0)
            if ph not in self.bound and self._bind_from_world(ph, m.group("kind"), account) is None:
                unbound.append(ph)
                return ph
            return str(self.bound[ph])

        return PLACEHOLDER.sub(one, value)

    # -- comparing --------------------------------------------------------------------------------------
    def _compare(
        self, want: Any, got: Any, path: str, out: _Outcome, documented: set[str], seq: int, action: str
    ) -> None:
        def diff(kind: str, where: str, detail: str) -> None:
            out.diffs.append(Difference(seq, action, kind, where or "(body)", detail))

        if isinstance(want, dict) and not _is_leaf(want):
            if not isinstance(got, dict) or _is_leaf(got):
                diff("type", path, f"captured an object, the emulator sent {_kind(got)}")
                return
            for key, sub in want.items():
                where = f"{path}.{key}" if path else key
                if key not in got:
                    diff("missing", where, "the emulator does not send this field")
                else:
                    self._compare(sub, got[key], where, out, documented, seq, action)
            for key in got.keys() - want.keys():
                where = f"{path}.{key}" if path else key
                if where not in documented:
                    diff("extra", where, "the emulator sends a field the capture and the metadata do not have")
            return
        if isinstance(want, list):
            if not isinstance(got, list):
                diff("type", path, f"captured a list, the emulator sent {_kind(got)}")
            elif want and not got:
                diff("missing", f"{path}[]", f"captured {len(want)} item(s), the emulator sent none")
            else:
                for w, g in zip(want, got, strict=False):
                    self._compare(w, g, f"{path}[]", out, documented, seq, action)
            return
        if isinstance(want, dict) and "$enum" in want:
            out.states.append((path, want["$enum"]))
            if isinstance(got, dict) and "$enum" in got:
                out.got_states.append((path, got["$enum"]))
            else:
                diff("type", path, f"captured a state value, the emulator sent {_kind(got)}")
            return
        if isinstance(want, dict) and "$id" in want:
            if not (isinstance(got, dict) and "$id" in got) and got != "$string":
                diff("type", path, f"captured an identifier, the emulator sent {_kind(got)}")
                return
            value = got["$id"] if isinstance(got, dict) else None
            ph = want["$id"]
            if value is not None and PLACEHOLDER.fullmatch(ph):
                if ph not in self.bound:
                    self.bound[ph] = value
                    self.used.add(value)
                elif str(self.bound[ph]) != str(value):
                    diff("identity", path, f"{ph} was {self.bound[ph]}, here the emulator names {value}")
            return
        if _kind(got) != _kind(want):
            diff("type", path, f"captured {_kind(want)}, the emulator sent {_kind(got)}")

    # -- running ----------------------------------------------------------------------------------------
    def run(self) -> list[Difference]:
        diffs: list[Difference] = []
        clock = 0.0
        groups = itertools.groupby(self.calls, key=lambda c: (c["account"], c["action"], repr(c["request"])))
        for _key, members in groups:
            outcomes = []
            for call in members:
                if call["elapsed_s"] > clock:
                    self.session.control("clock", {"advance": call["elapsed_s"] - clock})
                    clock = call["elapsed_s"]
                outcomes.append(self._one(call))
            diffs += _merge(outcomes)
        return diffs

    def _one(self, call: dict[str, Any]) -> _Outcome:
        seq, action, account = call["seq"], call["action"], self.account[call["account"]]
        out = _Outcome(seq, action)
        unbound: list[str] = []
        params = self._substitute(call["request"], account, unbound)
        for ph in dict.fromkeys(unbound):
            out.diffs.append(Difference(seq, action, "unbound", ph, "no emulator resource to map it to"))
        region = self.region.get(call["region"], call["region"])
        meta = metadata.product(call["product"]).get(action)
        reply = self.session.send(call["product"], action, params, account, region, meta.styles if meta else None)
        if reply.status != call["status"] or reply.code != call.get("error_code"):
            out.diffs.append(
                Difference(
                    seq,
                    action,
                    "status" if reply.status != call["status"] else "code",
                    "(reply)",
                    f"captured {call['status']} {call.get('error_code')}, the emulator answered "
                    f"{reply.status} {reply.code}: {reply.message}",
                )
            )
            return out
        documented = _schema_paths(meta.response) if meta and reply.ok else set()
        if reply.ok and reply.via == "model":  # the SDK's model is generated from newer metadata
            documented |= sdk_paths(call["product"], action, reply.body)
        if not reply.ok:  # the error envelope: the same keys, whatever the message says
            documented = {"RequestId", "HostId", "Code", "Message", "Recommend", "AccessDeniedDetail"}
        self._compare(call["response"], plain_shape(reply.body), "", out, documented, seq, action)
        return out


def _merge(outcomes: list[_Outcome]) -> list[Difference]:
    """One poll's differences: each non-state one once, and one ``state`` difference when the
    sequence of distinct state values differs."""
    seen: dict[tuple[str, str], Difference] = {}
    for o in outcomes:
        for d in o.diffs:
            seen.setdefault((d.kind, d.path), d)
    want = _distinct([tuple(o.states) for o in outcomes])
    got = _distinct([tuple(o.got_states) for o in outcomes])
    out = list(seen.values())
    if want != got and outcomes:
        out.append(
            Difference(
                outcomes[0].seq,
                outcomes[0].action + (f" (a poll of {len(outcomes)} calls)" if len(outcomes) > 1 else ""),
                "state",
                ", ".join(dict.fromkeys(p for seq in want for p, _ in seq)) or "(states)",
                f"captured {_render(want)}, the emulator went {_render(got)}",
            )
        )
    return out


def _distinct(seq: list[tuple[tuple[str, Any], ...]]) -> list[tuple[tuple[str, Any], ...]]:
    return [k for k, _ in itertools.groupby(seq)]


def _render(seq: list[tuple[tuple[str, Any], ...]]) -> str:
    return " -> ".join("{" + ", ".join(f"{p}={v}" for p, v in s) + "}" for s in seq) or "(none)"


def _is_leaf(value: dict[str, Any]) -> bool:
    return "$enum" in value or "$id" in value


def _kind(shape: Any) -> str:
    if isinstance(shape, dict):
        if "$enum" in shape:
            v = shape["$enum"]
            return "boolean" if isinstance(v, bool) else "string"
        if "$id" in shape:
            return shape.get("$type", "string")
        return "object"
    if isinstance(shape, list):
        return "list"
    return str(shape).lstrip("$")


def _schema_paths(schema: dict[str, Any], path: str = "") -> set[str]:
    out: set[str] = set()
    if schema.get("type") == "object":
        for key, sub in (schema.get("properties") or {}).items():
            where = f"{path}.{key}" if path else key
            out.add(where)
            out |= _schema_paths(sub, where)
    elif schema.get("type") == "array":
        out |= _schema_paths(schema.get("items") or {}, f"{path}[]")
    return out


def differences_of_a_run(calls: list[dict[str, Any]]) -> list[str]:
    """Replay a run vpclink captured against a fresh emulator; its differences, as text. A ClientToken
    has no resource to bind to, so each token placeholder gets a fresh value of its own (the same one
    wherever it recurs)."""
    replay = Replay(calls)
    for call in calls:
        for token in re.findall(r"\{\{token:\d+\}\}", json.dumps(call["request"])):
            replay.bound[token] = "replayed-" + token.strip("{}").replace(":", "-")
    try:
        return [str(d) for d in replay.run()]
    finally:
        replay.close()
