"""Deterministic faults (``/_emulator/faults``): each kind, how rules select requests and
occurrences, and the journal marking every injected fault."""

from __future__ import annotations

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from alibabacloud_vpc20160428 import models as vpc_models
from alicloud_emulator.world import default_world, with_timing
from darabonba.exceptions import UnretryableException

from .conftest import start_emulator
from .support import connect_pair, control_status, create_initiator, interfaces


def _outcomes(side, n: int) -> list[str]:
    """Call GetCallerIdentity ``n`` times: "ok" or the error code of each call."""
    out = []
    for _ in range(n):
        try:
            side.sts.get_caller_identity()
            out.append("ok")
        except ClientException as e:
            out.append(e.code)
    return out


def _faults_in_journal(emu, action: str) -> list[str | None]:
    return [e.get("fault") for e in emu.journal(action=action)]


def test_error_fires_on_the_nth_call_only_and_is_journaled(emu, a):
    emu.faults({"action": "GetCallerIdentity", "effect": "error", "code": "InternalError", "status": 500, "nth": 2})
    assert _outcomes(a, 1) == ["ok"]
    with pytest.raises(ServerException) as info:
        a.sts.get_caller_identity()
    assert (info.value.code, info.value.status_code) == ("InternalError", 500)
    assert _outcomes(a, 2) == ["ok", "ok"]
    marks = _faults_in_journal(emu, "GetCallerIdentity")
    assert [m is not None for m in marks] == [False, True, False, False]
    entry = emu.journal(action="GetCallerIdentity")[1]
    assert (entry["status"], entry["error_code"], entry["request_id"]) == (500, "InternalError", info.value.request_id)


def test_an_error_before_the_handler_changes_nothing(emu, a):
    emu.faults({"action": "CreateRouterInterface", "effect": "error", "code": "ServiceUnavailable", "status": 503})
    with pytest.raises(ServerException):
        create_initiator(a.vpc)
    emu.control("faults", method="DELETE")
    assert interfaces(a.vpc, "cn-qingdao") == {}


@pytest.mark.parametrize(
    "shape, exception, code, status",
    [
        ({}, ClientException, "Throttling.User", 400),
        ({"status": 403}, ClientException, "Throttling", 403),
        ({"status": 429}, ClientException, "Throttling", 429),
        ({"status": 503}, ServerException, "ServiceUnavailable", 503),
        (
            {"code": "Throttling.Api", "message": "Request was denied due to api flow control."},
            ClientException,
            "Throttling.Api",
            400,
        ),
    ],
)
def test_throttle_answers_the_documented_shapes_without_retry_after(emu, a, shape, exception, code, status):
    """No page documents a retry-after header on a throttled answer, so by default there is none
    and the SDK raises a plain ClientException (4xx) or ServerException (5xx), not
    ThrottlingException: the runbook must recognise throttling by its code."""
    emu.faults(dict(shape, action="GetCallerIdentity", effect="throttle", times=1))
    with pytest.raises(exception) as info:
        a.sts.get_caller_identity()
    assert type(info.value) is exception, "ThrottlingException needs the x-acs-retry-after header"
    assert (info.value.code, info.value.status_code) == (code, status)
    entry = emu.journal(action="GetCallerIdentity")[-1]
    assert (entry["status"], entry["error_code"]) == (status, code) and entry["fault"].endswith("throttle")
    assert _outcomes(a, 1) == ["ok"]


def test_throttle_with_retry_after_makes_the_sdk_raise_throttling_exception(emu, a):
    emu.faults(
        {"action": "GetCallerIdentity", "effect": "throttle", "retry_after_ms": 1000, "first": 1},
        {"action": "GetCallerIdentity", "effect": "throttle", "status": 503, "retry_after_ms": 250, "nth": 2},
    )
    with pytest.raises(ThrottlingException) as first:
        a.sts.get_caller_identity()
    with pytest.raises(ThrottlingException) as second:
        a.sts.get_caller_identity()
    assert (first.value.code, first.value.status_code, first.value.retry_after) == ("Throttling.User", 400, 1000)
    assert (second.value.code, second.value.status_code, second.value.retry_after) == ("ServiceUnavailable", 503, 250)
    assert _outcomes(a, 1) == ["ok"]
    assert [m is not None for m in _faults_in_journal(emu, "GetCallerIdentity")] == [True, True, False]


def test_a_throttle_status_outside_the_documented_shapes_is_refused(emu):
    status, body = control_status(emu.endpoint, "faults", {"effect": "throttle", "status": 418})
    assert status == 400 and "status" in body["error"] and "429" in body["error"]


def test_an_error_with_retry_after_is_throttling_too(emu, a):
    emu.faults({"effect": "error", "code": "Throttling", "status": 503, "retry_after_ms": 1500, "times": 1})
    with pytest.raises(ThrottlingException) as info:
        a.sts.get_caller_identity()
    assert (info.value.code, info.value.status_code, info.value.retry_after) == ("Throttling", 503, 1500)


def test_latency_delays_the_reply_and_is_journaled(emu, a):
    emu.faults({"action": "GetCallerIdentity", "effect": "latency", "latency_ms": 120, "nth": 1})
    a.sts.get_caller_identity()
    a.sts.get_caller_identity()
    slow, fast = emu.journal(action="GetCallerIdentity")
    assert slow["fault"].endswith("latency") and slow["status"] == 200
    assert slow["duration_ms"] >= 120 and "fault" not in fast


def test_drop_closes_the_connection_without_running_the_handler(emu, a):
    emu.faults({"action": "CreateRouterInterface", "effect": "drop", "times": 1})
    with pytest.raises(UnretryableException) as info:
        create_initiator(a.vpc)
    assert getattr(info.value, "code", None) is None  # a transport failure, as the SDK sees a reset
    assert interfaces(a.vpc, "cn-qingdao") == {}
    entry = emu.journal(action="CreateRouterInterface")[-1]
    assert (entry["status"], entry["error_code"]) == (0, "Dropped") and entry["fault"].endswith("drop")
    assert create_initiator(a.vpc) in interfaces(a.vpc, "cn-qingdao")  # times=1: the next call is served


def test_fail_after_commit_applies_the_change_and_loses_the_response(emu, a):
    emu.faults({"action": "CreateRouterInterface", "effect": "fail_after_commit", "times": 1})
    with pytest.raises(UnretryableException):
        create_initiator(a.vpc, client_token="tok-1")
    created = interfaces(a.vpc, "cn-qingdao")
    assert len(created) == 1, "the change must be committed although the client saw a failure"
    entry = emu.journal(action="CreateRouterInterface")[-1]
    assert entry["committed"] is True and entry["fault"].endswith("fail_after_commit")
    assert (entry["status"], entry["error_code"]) == (0, "Dropped")
    # the runbook's recovery: retry with the same ClientToken, get the same interface back
    assert create_initiator(a.vpc, client_token="tok-1") == next(iter(created))
    assert len(interfaces(a.vpc, "cn-qingdao")) == 1


def test_fail_after_commit_can_answer_with_an_error_instead(emu, a):
    emu.faults(
        {
            "action": "CreateRouterInterface",
            "effect": "fail_after_commit",
            "code": "ServiceUnavailable",
            "status": 503,
            "times": 1,
        }
    )
    with pytest.raises(ServerException) as info:
        create_initiator(a.vpc)
    assert (info.value.code, info.value.status_code) == ("ServiceUnavailable", 503)
    assert len(interfaces(a.vpc, "cn-qingdao")) == 1
    entry = emu.journal(action="CreateRouterInterface")[-1]
    assert (entry["status"], entry["error_code"], entry["committed"]) == (503, "ServiceUnavailable", True)


@pytest.fixture
def long_connect():
    """Connecting takes a virtual minute: wide margins, whatever the machine's load."""
    e = start_emulator(with_timing(default_world(), scale=0, router_interface_connect=60))
    yield e
    e.server.stop()


def test_stale_read_serves_the_state_before_a_transition(long_connect):
    emu = long_connect
    a, b = emu.side("account-a", "cn-qingdao"), emu.side("account-b", "cn-beijing")
    ri_a, _ = connect_pair(a.vpc, b.vpc, a.uid, b.uid)
    assert interfaces(a.vpc, "cn-qingdao")[ri_a].status == "Connecting"
    emu.advance(61)
    assert interfaces(a.vpc, "cn-qingdao")[ri_a].status == "Active"
    emu.faults({"action": "DescribeRouterInterfaces", "effect": "stale_read", "lag_s": 30, "for_s": 100})
    assert interfaces(a.vpc, "cn-qingdao")[ri_a].status == "Connecting"  # as of 30 s ago
    newer = create_initiator(a.vpc, name="newer")  # writes see the present
    assert newer not in interfaces(a.vpc, "cn-qingdao")  # created less than 30 s ago: not visible yet
    emu.advance(101)  # the rule's window is over
    fresh = interfaces(a.vpc, "cn-qingdao")
    assert fresh[ri_a].status == "Active" and newer in fresh
    marks = _faults_in_journal(emu, "DescribeRouterInterfaces")
    assert [m is not None and m.endswith("stale_read") for m in marks] == [False, False, True, True, False]
    assert "fault" not in emu.journal(action="CreateRouterInterface")[-1]


def test_rules_select_by_account_name_or_uid(emu, a, b):
    emu.faults(
        {"account": "account-b", "effect": "error", "code": "Forbidden.B", "status": 403},
        {"account": a.uid, "action": "DescribeVpcs", "effect": "error", "code": "Forbidden.A", "status": 403},
    )
    assert _outcomes(a, 1) == ["ok"]
    assert _outcomes(b, 1) == ["Forbidden.B"]
    with pytest.raises(ClientException) as info:
        a.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-qingdao"))
    assert info.value.code == "Forbidden.A"


def test_rules_select_by_action_glob_and_product(emu, a):
    emu.faults({"action": "Describe*", "product": "Vpc", "effect": "error", "code": "Busy", "status": 503})
    assert _outcomes(a, 1) == ["ok"]  # STS is not selected
    with pytest.raises(ServerException):
        a.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-qingdao"))
    create_initiator(a.vpc)  # Create* is not selected


@pytest.mark.parametrize(
    "trigger, expected",
    [
        ({"nth": [1, 3]}, ["E", "ok", "E", "ok", "ok"]),
        ({"first": 2}, ["E", "E", "ok", "ok", "ok"]),
        ({"after": 3}, ["ok", "ok", "ok", "E", "E"]),
        ({"after": 1, "times": 2}, ["ok", "E", "E", "ok", "ok"]),
        ({"times": 1}, ["E", "ok", "ok", "ok", "ok"]),
    ],
)
def test_occurrences(emu, a, trigger, expected):
    emu.faults(dict(trigger, action="GetCallerIdentity", effect="error", code="E", status=400))
    assert _outcomes(a, 5) == expected
    rule = emu.control("faults")["faults"][0]
    assert (rule["calls"], rule["fired"]) == (5, expected.count("E"))


def test_occurrences_count_only_the_requests_a_rule_selects(emu, a, b):
    emu.faults({"account": "account-a", "action": "GetCallerIdentity", "effect": "error", "code": "E", "nth": 2})
    assert _outcomes(b, 3) == ["ok", "ok", "ok"]
    assert _outcomes(a, 3) == ["ok", "E", "ok"]


def test_a_malformed_rule_is_refused_naming_the_field(emu):
    for rule, field in [
        ({"effect": "explode"}, "effect"),
        ({"effect": "error"}, "code"),
        ({"effect": "latency"}, "latency_ms"),
        ({"effect": "stale_read"}, "lag_s"),
        ({"effect": "drop", "nth": "2"}, "nth"),
        ({"effect": "drop", "acount": "a"}, "acount"),
        ({"effect": "latency", "latency_ms": "120"}, "latency_ms"),
        ({"effect": "latency", "latency_ms": -1}, "latency_ms"),
        ({"effect": "stale_read", "lag_s": 10**12}, "lag_s"),
        ({"effect": "error", "code": "E", "status": 200}, "status"),
        ({"effect": "error", "code": "E", "retry_after_ms": True}, "retry_after_ms"),
        ({"effect": "drop", "nth": [1], "first": 2}, "first"),
        ({"effect": "drop", "times": -1}, "times"),
        ({"effect": "error", "code": "no spaces allowed"}, "code"),
    ]:
        status, body = control_status(emu.endpoint, "faults", rule)
        assert status == 400 and field in body["error"], (rule, body)
    assert emu.control("faults")["faults"] == []


def test_delete_removes_every_rule(emu, a):
    emu.faults({"effect": "error", "code": "E"})
    assert _outcomes(a, 1) == ["E"]
    assert emu.control("faults", method="DELETE")["faults"] == []
    assert _outcomes(a, 1) == ["ok"]


def test_a_batch_with_one_bad_rule_stores_none_and_names_it(emu):
    status, body = control_status(emu.endpoint, "faults", [{"effect": "drop"}, {"effect": "drop", "acount": "a"}])
    assert status == 400 and "rules[1]: acount: unknown field" in body["error"], body
    assert "did you mean account" in body["error"]
    assert emu.control("faults")["faults"] == []
