"""The wire format as the official SDKs speak it: one port for every product and region, action
and version from headers or query, parameter un-flattening, replies in one send, request IDs and
the error envelope."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient
from alicloud_emulator.params import Params, unflatten
from alicloud_emulator.wire import Request
from aliyunsdkvpc.request.v20160428.DescribeVpcsRequest import DescribeVpcsRequest as LegacyDescribeVpcs
from darabonba.utils.xml import XML as DaraXML

from .conftest import roundtrip
from .support import (
    call,
    connect,
    http_request,
    legacy_client,
    raw_exchange,
    signed_path,
    split_response,
)

REQUEST_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
REGIONS = ["cn-qingdao", "cn-beijing", "cn-hangzhou", "ap-southeast-1", "eu-central-1"]


def test_one_port_serves_vpc_ecs_and_sts_in_every_region(emu):
    a = emu.account("account-a")
    for region in REGIONS:
        side = emu.side("account-a", region)
        who = side.sts.get_caller_identity().body
        assert who.account_id == a["uid"]
        vpcs = side.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=region)).body
        groups = side.ecs.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(region_id=region)).body
        expected = ["VPC1"] if region == "cn-qingdao" else []
        assert [v.vpc_name for v in vpcs.vpcs.vpc] == expected
        assert [g.security_group_name for g in groups.security_groups.security_group] == (
            ["SG1"] if region == "cn-qingdao" else []
        )
    products = {(e["product"], e["region"]) for e in emu.journal()}
    assert {("Vpc", r) for r in REGIONS} | {("Ecs", r) for r in REGIONS} <= products


@pytest.mark.parametrize("signature", ["v3", "v2"])
def test_action_and_version_come_from_headers_or_from_the_query(emu, signature):
    """V3 names the action in ``x-acs-action``/``x-acs-version``; the RPC signature in the query."""
    extra = {"signature_algorithm": "v2"} if signature == "v2" else {}
    vpc = VpcClient(emu.config("account-a", "cn-qingdao", **extra))
    body = vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-qingdao")).body
    assert [v.vpc_id for v in body.vpcs.vpc] == ["vpc-m5e1tutorialvpc1qd00001"]
    last = emu.journal()[-1]
    assert (last["action"], last["version"], last["product"]) == ("DescribeVpcs", "2016-04-28", "Vpc")


def test_a_raw_request_with_action_and_version_in_the_query_is_served(emu):
    path = signed_path(emu.account("account-b"), "sts", "GetCallerIdentity", {"RegionId": "cn-beijing"})
    data, sock = raw_exchange(emu.endpoint, http_request("POST", path, emu.endpoint))
    sock.close()
    status, _, body = split_response(data)
    assert status == 200
    assert json.loads(body)["AccountId"] == emu.account("account-b")["uid"]


def test_dotted_keys_become_nested_lists_and_objects():
    flat = {
        "Permissions.1.IpProtocol": "ICMP",
        "Permissions.1.SourceCidrIp": "172.16.0.0/16",
        "Permissions.2.IpProtocol": "TCP",
        "Permissions.2.PortRange": "22/22",
        "Filter.1.Key": "RouterInterfaceId",
        "Filter.1.Value.1": "ri-x",
        "Filter.1.Value.2": "ri-y",
        "Tag.10.Key": "ten",
        "Tag.2.Key": "two",
        "RegionId": "cn-qingdao",
    }
    values = unflatten(flat)
    assert values["Permissions"] == [
        {"IpProtocol": "ICMP", "SourceCidrIp": "172.16.0.0/16"},
        {"IpProtocol": "TCP", "PortRange": "22/22"},
    ]
    assert values["Filter"] == [{"Key": "RouterInterfaceId", "Value": ["ri-x", "ri-y"]}]
    assert [t["Key"] for t in values["Tag"]] == ["two", "ten"]  # numeric order, not text order
    assert values["RegionId"] == "cn-qingdao"
    p = Params(dict(values, InstanceIds='["i-1", "i-2"]', DryRun="True", Other="False"))
    assert p.json_list("InstanceIds") == ["i-1", "i-2"]
    assert p.flag("DryRun") is True and p.flag("Other") is False


def test_a_plain_key_and_a_dotted_key_of_the_same_name_make_a_node():
    assert unflatten({"Tag": "plain", "Tag.1.Key": "k"}) == {"Tag": [{"Key": "k"}]}
    assert unflatten({"Tag.1.Key": "k", "Tag": "plain"}) == {"Tag": [{"Key": "k"}]}
    assert unflatten({"RegionId": "cn-qingdao", "PageSize": "50"}) == {"RegionId": "cn-qingdao", "PageSize": "50"}


@pytest.mark.parametrize(
    "qs",
    ["a=1&b=x+y", "Name=%E4%B8%AD+a%2Fb%2Bc&Name=again", "flag&empty=&=v", "bad=%zz%2&ok=%41", "a=b=c&&", "%41%2B=+"],
)
def test_query_strings_decode_as_the_standard_parser_does(qs):
    """Escapes, ``+`` for a space, blank values and a repeated name (the last wins)."""
    assert Request.parse("POST", "/?" + qs, {}, b"").query == dict(parse_qsl(qs, keep_blank_values=True))


def test_json_string_lists_are_parsed(emu, a, b):
    mine, theirs = "i-m5e1tutorialecs1qd00001", "i-2ze2tutorialecs2bj00001"
    body = a.ecs.describe_instances(
        ecs_models.DescribeInstancesRequest(region_id="cn-qingdao", instance_ids=json.dumps([mine, theirs]))
    ).body
    assert [i.instance_id for i in body.instances.instance] == [mine]  # B's instance is invisible to A
    assert emu.journal(action="DescribeInstances")[-1]["params"]["InstanceIds"] == json.dumps([mine, theirs])
    raw = call(
        emu.config("account-a", "cn-qingdao"),
        "ecs",
        "DescribeInstances",
        {"RegionId": "cn-qingdao", "InstanceIds": json.dumps([mine])},
    )["body"]
    roundtrip(ecs_models.DescribeInstancesResponseBody, raw)


def test_dotted_list_parameters_reach_the_handler(emu, a):
    """``Permissions.N.*`` from the SDK's list of models arrives as a list of rules."""
    perms = [
        ecs_models.AuthorizeSecurityGroupRequestPermissions(
            ip_protocol="TCP", port_range=f"{p}/{p}", source_cidr_ip="172.16.0.0/16"
        )
        for p in (22, 443, 8080)
    ]
    a.ecs.authorize_security_group(
        ecs_models.AuthorizeSecurityGroupRequest(
            region_id="cn-qingdao", security_group_id="sg-m5e1tutorialsg1qd000001", permissions=perms
        )
    )
    assert "Permissions.3.PortRange" in emu.journal(action="AuthorizeSecurityGroup")[-1]["params"]
    attr = a.ecs.describe_security_group_attribute(
        ecs_models.DescribeSecurityGroupAttributeRequest(
            region_id="cn-qingdao", security_group_id="sg-m5e1tutorialsg1qd000001"
        )
    ).body
    ports = sorted(p.port_range for p in attr.permissions.permission if p.ip_protocol == "TCP")
    assert ports == ["22/22", "443/443", "8080/8080"]


def test_booleans_arrive_as_True_and_are_understood(emu, a):
    no = a.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-qingdao", is_default=True)).body
    yes = a.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-qingdao", is_default=False)).body
    assert no.vpcs.vpc == [] and [v.vpc_name for v in yes.vpcs.vpc] == ["VPC1"]
    sent = [e["params"]["IsDefault"] for e in emu.journal(action="DescribeVpcs")]
    assert sent == ["True", "False"]


@pytest.mark.parametrize("signature", ["v3", "v2"])
def test_values_with_spaces_slashes_plus_and_chinese_survive_signing(emu, signature):
    values = {"Description": "专线 互通 a/b+c", "Name": "x y*z~w&v=u%t", "Path": "/a b/"}
    extra = {"signature_algorithm": "v2"} if signature == "v2" else {}
    result = call(emu.config("account-a", "cn-qingdao", **extra), "sts", "GetCallerIdentity", values)
    assert result["statusCode"] == 200
    params = emu.journal(action="GetCallerIdentity")[-1]["params"]
    assert {k: params[k] for k in values} == values


def test_each_reply_arrives_in_one_segment(emu):
    """Status line, headers and body in one ``recv``: a split write costs ~40 ms per call on
    loopback (Nagle and delayed ACK), so the client would see every call 40 ms slower."""
    account = emu.account("account-a")
    sock = connect(emu.endpoint)
    try:
        for params in ({"RegionId": "cn-qingdao"}, {"RegionId": "cn-qingdao", "Extra": "x" * 3000}):
            sock.sendall(http_request("POST", signed_path(account, "sts", "GetCallerIdentity", params), emu.endpoint))
            status, headers, body = split_response(sock.recv(1 << 20))
            assert status == 200
            assert len(body) == int(headers["content-length"]) > 0, "the body came in a later segment"
            assert json.loads(body)["RequestId"] == headers["x-acs-request-id"]
        # errors too, on the same kept-alive connection
        sock.sendall(
            http_request(
                "POST", "/?Action=GetCallerIdentity&Version=2015-04-01&AccessKeyId=nobody&Signature=x", emu.endpoint
            )
        )
        status, headers, body = split_response(sock.recv(1 << 20))
        assert status == 404 and len(body) == int(headers["content-length"])
    finally:
        sock.close()


def test_fifty_keep_alive_calls_pay_no_per_call_delay(emu, a):
    a.sts.get_caller_identity()  # connect
    started = time.perf_counter()
    for _ in range(50):
        a.sts.get_caller_identity()
    elapsed = time.perf_counter() - started
    assert elapsed < 50 * 0.040 / 2, f"50 calls took {elapsed:.2f} s: a reply is being written in pieces"


def test_request_id_header_equals_body_and_is_fresh_each_call(emu, a):
    ids = []
    for _ in range(3):
        r = a.sts.get_caller_identity()
        assert r.headers["x-acs-request-id"] == r.body.request_id
        assert REQUEST_ID.match(r.body.request_id)
        ids.append(r.body.request_id)
    assert len(set(ids)) == 3
    raw = call(emu.config("account-a", "cn-qingdao"), "sts", "GetCallerIdentity")
    assert raw["headers"]["x-acs-request-id"] == raw["body"]["RequestId"]
    roundtrip(sts_models.GetCallerIdentityResponseBody, raw["body"])


def test_error_envelope_has_the_documented_keys_and_real_status(emu):
    path = signed_path(emu.account("account-a"), "vpc", "DescribeNothing", {"RegionId": "cn-qingdao"})
    data, sock = raw_exchange(emu.endpoint, http_request("POST", path, emu.endpoint))
    sock.close()
    status, headers, body = split_response(data)
    err = json.loads(body)
    assert status == 404
    assert set(err) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert err["Code"] == "InvalidAction.NotFound" and "DescribeNothing" in err["Message"]
    assert err["HostId"] == "vpc.cn-qingdao.aliyuncs.com"
    assert err["RequestId"] == headers["x-acs-request-id"]
    assert headers["content-type"].startswith("application/json")


def test_an_unknown_version_names_the_supported_ones(emu):
    with pytest.raises(ClientException) as info:
        call(
            emu.config("account-a", "cn-qingdao"),
            "vpc",
            "DescribeVpcs",
            {"RegionId": "cn-qingdao"},
            version="2099-01-01",
        )
    assert (info.value.code, info.value.status_code) == ("InvalidVersion", 400)
    assert all(v in info.value.message for v in ("2016-04-28", "2014-05-26", "2015-04-01"))


def test_a_tampered_parameter_breaks_the_signature(emu):
    path = signed_path(emu.account("account-a"), "vpc", "DescribeVpcs", {"RegionId": "cn-qingdao"})
    tampered = path.replace("RegionId=cn-qingdao", "RegionId=cn-beijing")
    status, _, body = split_response(raw_exchange(emu.endpoint, http_request("POST", tampered, emu.endpoint))[0])
    assert (status, json.loads(body)["Code"]) == (400, "SignatureDoesNotMatch")


def test_sdk_raises_client_exception_with_code_request_id_and_status(emu, a):
    with pytest.raises(ClientException) as info:
        a.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest())  # the SDK does not add RegionId by itself
    e = info.value
    assert (e.code, e.status_code) == ("MissingParameter", 400)
    assert "RegionId" in e.message
    assert REQUEST_ID.match(e.request_id)
    entry = emu.journal(action="DescribeVpcs")[-1]
    assert (entry["request_id"], entry["status"], entry["error_code"]) == (e.request_id, 400, "MissingParameter")


def _read_all(sock) -> bytes:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_pipelined_requests_are_answered_in_order_and_connection_close_is_honoured(emu):
    account = emu.account("account-a")
    first = http_request(
        "POST", signed_path(account, "sts", "GetCallerIdentity", {"RegionId": "cn-qingdao"}), emu.endpoint
    )
    second = http_request(
        "POST",
        signed_path(account, "sts", "GetCallerIdentity", {"RegionId": "cn-beijing"}),
        emu.endpoint,
        headers={"Connection": "close"},
    )
    sock = connect(emu.endpoint)
    try:
        sock.sendall(first + second)
        data = _read_all(sock)  # ends: the server closed after the second reply
    finally:
        sock.close()
    assert data.count(b"HTTP/1.1 200 OK") == 2
    regions = [e["region"] for e in emu.journal(action="GetCallerIdentity")]
    assert regions == ["cn-qingdao", "cn-beijing"]


def _head_only(method: str, path: str, endpoint: str, headers: dict[str, str]) -> bytes:
    """A request line and headers, with the body (if any) left to send later."""
    head = [f"{method} {path} HTTP/1.1", f"Host: {endpoint}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode()


def test_a_control_body_sent_after_100_continue_is_read(emu):
    body = json.dumps({"advance": 5}).encode()
    sock = connect(emu.endpoint)
    try:
        sock.sendall(
            _head_only(
                "POST",
                "/_emulator/clock",
                emu.endpoint,
                {"Content-Type": "application/json", "Content-Length": str(len(body)), "Expect": "100-continue"},
            )
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        status, _, reply = split_response(sock.recv(65536))
    finally:
        sock.close()
    assert status == 200 and "epoch" in json.loads(reply)


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: many\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
    ],
)
def test_an_unreadable_request_gets_a_clear_http_error_and_the_connection_closes(emu, raw, status):
    sock = connect(emu.endpoint)
    try:
        sock.sendall(raw)
        data = _read_all(sock)
    finally:
        sock.close()
    got, _, body = split_response(data)
    assert got == status and json.loads(body)["error"]


# -- Format=XML ---------------------------------------------------------------------------------------
def _v2_xml(emu, action: str, product: str, query: dict[str, str]) -> dict:
    """An RPC call asking Format=XML through the official client (signature v2)."""
    cfg = emu.config("account-a", "cn-qingdao", signature_algorithm="v2")
    return call(cfg, product, action, dict(query, Format="XML"), body_type="string")


def test_format_xml_is_answered_in_xml(emu):
    result = _v2_xml(emu, "DescribeVpcs", "vpc", {"RegionId": "cn-qingdao"})
    assert result["statusCode"] == 200 and result["headers"]["content-type"] == "text/xml;charset=utf-8"
    root = ElementTree.fromstring(result["body"])
    assert root.tag == "DescribeVpcsResponse"
    assert root.findtext("RequestId") == result["headers"]["x-acs-request-id"]
    (vpc,) = root.findall("Vpcs/Vpc")
    assert vpc.findtext("VpcId") == "vpc-m5e1tutorialvpc1qd00001" and vpc.findtext("IsDefault") == "false"
    assert [e.text for e in vpc.findall("VSwitchIds/VSwitchId")] == ["vsw-m5e1tutorialvsw1qd00001"]
    # the same fields as the JSON answer, read as the SDK's own XML reader reads them
    as_json = call(emu.config("account-a", "cn-qingdao"), "vpc", "DescribeVpcs", {"RegionId": "cn-qingdao"})["body"]
    as_xml = DaraXML.parse_xml(result["body"])["DescribeVpcsResponse"]
    assert set(as_xml) == set(as_json)
    assert set(as_xml["Vpcs"]["Vpc"]) <= set(as_json["Vpcs"]["Vpc"][0])


def test_an_error_asked_in_xml_is_an_xml_error(emu):
    """The V3 client reads an XML error body as the cloud's (``<Error>``); the V2 RPC client
    reads only JSON error bodies, so this one is read raw."""
    path = signed_path(emu.account("account-a"), "vpc", "DescribeNothing", {"RegionId": "cn-qingdao"}, fmt="XML")
    status, headers, body = split_response(raw_exchange(emu.endpoint, http_request("POST", path, emu.endpoint))[0])
    assert status == 404 and headers["content-type"] == "text/xml;charset=utf-8"
    error = ElementTree.fromstring(body)
    assert error.tag == "Error" and error.findtext("Code") == "InvalidAction.NotFound"
    assert [child.tag for child in error] == ["RequestId", "HostId", "Code", "Message", "Recommend"]
    assert error.findtext("RequestId") == headers["x-acs-request-id"]


@pytest.mark.filterwarnings("ignore:implementation_of_do_action:DeprecationWarning")
def test_the_legacy_sdk_gets_xml_when_it_asks(emu):
    request = LegacyDescribeVpcs()
    request.set_endpoint(emu.endpoint)
    request.set_protocol_type("http")
    request.set_accept_format("XML")
    # get_response keeps the format asked (do_action_with_exception forces JSON)
    status, headers, body = legacy_client(emu.account("account-a"), "cn-qingdao").get_response(request)
    assert status == 200 and headers["content-type"] == "text/xml;charset=utf-8"
    root = ElementTree.fromstring(body)
    assert root.tag == "DescribeVpcsResponse"
    assert [v.findtext("VpcName") for v in root.findall("Vpcs/Vpc")] == ["VPC1"]


def test_xml_escapes_what_it_carries():
    from alicloud_emulator import xmlcodec

    text = xmlcodec.dumps("R", {"A": "<b>&\x00", "L": [1, {"X": True}], "N": None, "bad name": "v"}).decode()
    assert "<A>&lt;b&gt;&amp;\ufffd</A>" in text and "<L>1</L><L><X>true</X></L>" in text
    assert "<N>" not in text and "<item>v</item>" in text
    ElementTree.fromstring(text)
