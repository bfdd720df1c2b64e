"""Limits the API enforces per call are met at run time by splitting (issue 8.4): more than 100 rules
are authorized, and revoked by teardown, in calls of at most 100 permissions each, instead of failing
after both interfaces exist."""

from __future__ import annotations

from collections import Counter

from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
    replaced,
)
from vpclink import limits
from vpclink import params as P
from vpclink.phases import RUN


def _many_rules(rig: Rig, count: int) -> None:
    rules = tuple(P.Rule("tcp", f"{1000 + i}/{1000 + i}") for i in range(count))
    rig.params = replaced(rig.params, security_groups=replaced(rig.params.security_groups, rules=rules))
    assert limits.check(rig.params) == []  # what `vpclink check` accepts, the run must do


def _calls(rig: Rig, action: str) -> list[dict]:
    return [e for e in rig.ledger.entries if e["action"] == action and e["outcome"] == "ok"]


def test_more_than_100_rules_are_authorized_in_calls_of_at_most_100(rig: Rig) -> None:
    _many_rules(rig, 150)
    out = rig.run_all(phases=RUN)
    assert out["verified"] is False  # no ICMP rule among them: the ping fails, the rules are there
    calls = _calls(rig, "AuthorizeSecurityGroup")
    sizes = sorted(len(c["request"]["Permissions"]) for c in calls)
    assert sizes == [50, 50, 100, 100]  # two calls per side
    for account in ("account-a", "account-b"):
        ports = Counter(r["PortRange"] for r in rig.rules(account))
        assert len(ports) == 150 and set(ports.values()) == {1}
    assert len(out["initiator_rule_ids"]) == 150
    rig.apply("teardown")
    revokes = _calls(rig, "RevokeSecurityGroup")
    assert all(len(c["request"]["SecurityGroupRuleId"]) <= 100 for c in revokes) and len(revokes) == 4
    assert rig.rules("account-a") == [] and rig.rules("account-b") == []


def test_a_rerun_with_many_rules_adds_nothing(rig: Rig) -> None:
    _many_rules(rig, 120)
    rig.run_all(phases=("preflight", "security_groups"))
    seq = rig.journal_seq()
    rig.apply("security_groups", run_id="run-2")
    assert rig.mutations_since(seq) == []
