"""VPC peering connections (VpcPeer 2022-01-01) through the official ``alibabacloud-vpcpeer20220101``
SDK: the states on the virtual clock, same- and cross-account rules, what another account sees,
concurrency, quotas, bandwidth, bad input, DryRun, ClientToken, paging, both signature styles.
Every response goes through the SDK's model (``vpcpeer_helpers.call``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from alibabacloud_vpcpeer20220101 import models as pm
from alicloud_emulator.timefmt import iso

from .conftest import Emu, start_emulator
from .vpc_helpers import configured_pair, connect
from .vpcpeer_helpers import (
    BJ,
    CIDR1,
    CIDR2,
    QD,
    VPC1,
    VPC2,
    VPC3,
    VPC4,
    A,
    B,
    C,
    accept,
    call,
    create,
    error,
    get,
    listed,
    peer_client,
    peer_world,
    peered,
)


@pytest.fixture
def emu() -> Emu:
    e = start_emulator(peer_world())
    yield e
    e.server.stop()


@pytest.fixture
def slow() -> Emu:
    """The built-in delays (2 s per peering step, 7 days to expire), moved with ``advance``."""
    e = start_emulator(peer_world(scale=None))
    yield e
    e.server.stop()


def uid(emu: Emu, name: str) -> str:
    return str(emu.account(name)["uid"])


def status(emu: Emu, account: str, pcc: str) -> str:
    return str(get(peer_client(emu, account), pcc)["Status"])


# -- lifecycle -------------------------------------------------------------------------------------------------
def test_a_cross_account_request_waits_for_the_accepter(slow: Emu) -> None:
    a, b = peer_client(slow, A), peer_client(slow, B)
    start = slow.control("clock")["epoch"]
    pcc = create(a, accepting_uid=uid(slow, B), name="link-1", description="to VPC2", bandwidth=100)
    assert pcc.startswith("pcc-") and len(pcc) == 24
    seen = get(a, pcc)
    assert seen["Status"] == "Creating" and "GmtExpired" not in seen
    slow.advance(2)
    seen = get(a, pcc)
    assert seen == get(b, pcc), "both ends read the same connection"
    assert {k: seen[k] for k in ("Status", "Name", "Description", "Bandwidth", "LinkType", "BizStatus")} == {
        "Status": "Accepting",
        "Name": "link-1",
        "Description": "to VPC2",
        "Bandwidth": 100,
        "LinkType": "Gold",
        "BizStatus": "Normal",
    }
    assert (seen["OwnerId"], seen["AcceptingOwnerUid"]) == (int(uid(slow, A)), int(uid(slow, B)))
    assert (seen["RegionId"], seen["AcceptingRegionId"]) == (QD, BJ)
    assert seen["Vpc"] == {"VpcId": VPC1, "Ipv4Cidrs": [CIDR1], "Ipv6Cidrs": []}
    assert seen["AcceptingVpc"] == {"VpcId": VPC2, "Ipv4Cidrs": [CIDR2], "Ipv6Cidrs": []}
    assert seen["GmtExpired"] == iso(start + 2 + 7 * 86400) or seen["GmtExpired"] == iso(start + 3 + 7 * 86400)
    accept(b, pcc)
    assert status(slow, A, pcc) == "Updating"
    slow.advance(2)
    done = get(a, pcc)
    assert done["Status"] == "Activated" and "GmtExpired" not in done
    assert [c["InstanceId"] for c in listed(a, region_id=QD)["VpcPeerConnects"]] == [pcc]
    assert [c["InstanceId"] for c in listed(b, region_id=BJ)["VpcPeerConnects"]] == [pcc]
    assert listed(b, region_id=QD)["VpcPeerConnects"] == [], "the accepter lists it in its own region"
    slow.advance(8 * 86400)
    assert status(slow, A, pcc) == "Activated", "an accepted request does not expire"


def test_a_same_account_connection_is_accepted_by_itself(slow: Emu) -> None:
    a = peer_client(slow, A)
    pcc = create(a, VPC1, VPC3, accepting_uid=uid(slow, A), accepting_region_id=QD)
    assert status(slow, A, pcc) == "Creating"
    slow.advance(2)
    seen = get(a, pcc)
    assert (seen["Status"], seen["Bandwidth"]) == ("Activated", -1)
    assert "LinkType" not in seen and "GmtExpired" not in seen
    e = error(a, "accept_vpc_peer_connection", pm.AcceptVpcPeerConnectionRequest(instance_id=pcc))
    assert (e.code, e.status_code) == ("IncorrectStatus.VpcPeer", 400) and "[Activated]" in e.message


def test_an_unanswered_request_expires_after_seven_days(slow: Emu) -> None:
    a, b = peer_client(slow, A), peer_client(slow, B)
    pcc = create(a, accepting_uid=uid(slow, B))
    slow.advance(2 + 7 * 86400 - 10)
    assert status(slow, B, pcc) == "Accepting"
    slow.advance(10)
    assert status(slow, B, pcc) == "Expired" and "GmtExpired" in get(b, pcc)
    e = error(b, "accept_vpc_peer_connection", pm.AcceptVpcPeerConnectionRequest(instance_id=pcc))
    assert e.code == "IncorrectStatus.VpcPeer" and "[Expired]" in e.message
    call(a, "delete_vpc_peer_connection", pm.DeleteVpcPeerConnectionRequest(instance_id=pcc))
    slow.advance(4)
    assert error(a, "get_vpc_peer_connection_attribute", pm.GetVpcPeerConnectionAttributeRequest(instance_id=pcc))


def test_the_accepter_may_reject_and_the_requester_then_delete(emu: Emu) -> None:
    a, b = peer_client(emu, A), peer_client(emu, B)
    pcc = create(a, accepting_uid=uid(emu, B))
    call(b, "reject_vpc_peer_connection", pm.RejectVpcPeerConnectionRequest(instance_id=pcc))
    assert status(emu, A, pcc) == "Rejected"
    e = error(b, "reject_vpc_peer_connection", pm.RejectVpcPeerConnectionRequest(instance_id=pcc))
    assert e.code == "IncorrectStatus.VpcPeer"
    second = create(a, accepting_uid=uid(emu, B))  # a rejected request does not block a new one
    call(a, "delete_vpc_peer_connection", pm.DeleteVpcPeerConnectionRequest(instance_id=pcc))
    assert [c["InstanceId"] for c in listed(a)["VpcPeerConnects"]] == [second]


def test_only_the_accepter_accepts_or_rejects(emu: Emu) -> None:
    a = peer_client(emu, A)
    pcc = create(a, accepting_uid=uid(emu, B))
    for method, request in (
        ("accept_vpc_peer_connection", pm.AcceptVpcPeerConnectionRequest(instance_id=pcc)),
        ("reject_vpc_peer_connection", pm.RejectVpcPeerConnectionRequest(instance_id=pcc)),
    ):
        e = error(a, method, request)
        assert (e.code, e.status_code) == ("Forbidden.NoPermission", 400) and "AcceptingAliUid" in e.message
    assert status(emu, B, pcc) == "Accepting"


def test_another_accounts_connection_reads_exactly_like_a_missing_one(emu: Emu) -> None:
    pcc = create(peer_client(emu, A), accepting_uid=uid(emu, B))
    c = peer_client(emu, C)
    missing = "pcc-" + "0" * 20
    requests = {
        "get_vpc_peer_connection_attribute": pm.GetVpcPeerConnectionAttributeRequest,
        "accept_vpc_peer_connection": pm.AcceptVpcPeerConnectionRequest,
        "reject_vpc_peer_connection": pm.RejectVpcPeerConnectionRequest,
        "modify_vpc_peer_connection": pm.ModifyVpcPeerConnectionRequest,
        "delete_vpc_peer_connection": pm.DeleteVpcPeerConnectionRequest,
    }
    for method, request in requests.items():
        answers = []
        for instance_id in (pcc, missing):
            e = error(c, method, request(instance_id=instance_id))
            body = {k: v for k, v in e.data.items() if k not in ("RequestId", "Recommend", "statusCode")}
            answers.append((e.status_code, json.dumps(body, sort_keys=True).replace(instance_id, "<id>")))
        assert answers[0] == answers[1], method
        assert answers[0][0] == 400 and "ResourceNotFound.InstanceId" in answers[0][1]
    assert listed(c)["VpcPeerConnects"] == [] and listed(c, instance_id=pcc)["TotalCount"] == 0
    assert status(emu, B, pcc) == "Accepting"


def test_modify_by_either_end_passes_through_updating(slow: Emu) -> None:
    a, b = peer_client(slow, A), peer_client(slow, B)
    pcc = create(a, accepting_uid=uid(slow, B))
    slow.advance(2)
    e = error(a, "modify_vpc_peer_connection", pm.ModifyVpcPeerConnectionRequest(instance_id=pcc, name="x1"))
    assert e.code == "IncorrectStatus.VpcPeer" and "[Accepting]" in e.message
    accept(b, pcc)
    slow.advance(2)
    call(
        b,
        "modify_vpc_peer_connection",
        pm.ModifyVpcPeerConnectionRequest(instance_id=pcc, name="renamed", bandwidth=500, link_type="Platinum"),
    )
    seen = get(a, pcc)
    assert (seen["Status"], seen["Name"], seen["Bandwidth"], seen["LinkType"]) == (
        "Updating",
        "renamed",
        500,
        "Platinum",
    )
    e = error(a, "modify_vpc_peer_connection", pm.ModifyVpcPeerConnectionRequest(instance_id=pcc, name="again"))
    assert e.code == "IncorrectStatus.VpcPeer", "no concurrent modify of one connection"
    slow.advance(2)
    assert status(slow, A, pcc) == "Activated"


def test_bandwidth_belongs_to_inter_region_connections(emu: Emu) -> None:
    a = peer_client(emu, A)
    same = dict(accepting_uid=uid(emu, A), accepting_region_id=QD)
    for field, value, code in (
        ("bandwidth", 100, "IllegalParam.Bandwidth"),
        ("link_type", "Gold", "IllegalParam.LinkType"),
    ):
        e = error(
            a,
            "create_vpc_peer_connection",
            pm.CreateVpcPeerConnectionRequest(
                region_id=QD,
                vpc_id=VPC1,
                accepting_ali_uid=int(uid(emu, A)),
                accepting_region_id=QD,
                accepting_vpc_id=VPC3,
                **{field: value},
            ),
        )
        assert e.code == code and code.split(".")[1] in e.message
    pcc = create(a, VPC1, VPC3, **same)
    e = error(a, "modify_vpc_peer_connection", pm.ModifyVpcPeerConnectionRequest(instance_id=pcc, bandwidth=200))
    assert e.code == "OperationFailed.BandwidthCannotBeChangedInSameRegion"
    cross = peered(emu)
    assert (get(a, cross)["Bandwidth"], get(a, cross)["LinkType"]) == (1024, "Gold")
    e = error(a, "modify_vpc_peer_connection", pm.ModifyVpcPeerConnectionRequest(instance_id=cross, bandwidth=0))
    assert e.code == "IllegalParam.Bandwidth"


def test_delete_goes_through_deleting_and_deleted_then_is_gone(slow: Emu) -> None:
    a, b = peer_client(slow, A), peer_client(slow, B)
    pcc = create(a, accepting_uid=uid(slow, B))
    slow.advance(2)
    accept(b, pcc)
    slow.advance(2)
    call(b, "delete_vpc_peer_connection", pm.DeleteVpcPeerConnectionRequest(instance_id=pcc))  # the accepter may
    assert status(slow, A, pcc) == "Deleting"
    e = error(a, "delete_vpc_peer_connection", pm.DeleteVpcPeerConnectionRequest(instance_id=pcc))
    assert e.code == "IncorrectStatus.VpcPeer"
    slow.advance(2)
    assert status(slow, A, pcc) == "Deleted" == status(slow, B, pcc)
    slow.advance(2)
    for side in (a, b):
        e = error(side, "get_vpc_peer_connection_attribute", pm.GetVpcPeerConnectionAttributeRequest(instance_id=pcc))
        assert e.code == "ResourceNotFound.InstanceId"
        assert listed(side)["TotalCount"] == 0


# -- one VPC, one operation at a time; one connection per pair; quotas ------------------------------------------
def test_an_operation_in_progress_on_a_vpc_refuses_another(slow: Emu) -> None:
    a, b = peer_client(slow, A), peer_client(slow, B)
    first = create(a, accepting_uid=uid(slow, B))
    e = error(
        a,
        "create_vpc_peer_connection",
        pm.CreateVpcPeerConnectionRequest(
            region_id=QD,
            vpc_id=VPC1,
            accepting_ali_uid=int(uid(slow, A)),
            accepting_region_id=QD,
            accepting_vpc_id=VPC3,
        ),
    )
    assert (e.code, e.status_code) == ("Conflict.Operation", 400) and first in e.message and "Creating" in e.message
    slow.advance(2)
    second = create(a, VPC1, VPC3, accepting_uid=uid(slow, A), accepting_region_id=QD)
    e = error(b, "accept_vpc_peer_connection", pm.AcceptVpcPeerConnectionRequest(instance_id=first))
    assert e.code == "Conflict.Operation", "VPC1 (the requester's) is busy creating another connection"
    assert second not in e.message, "B is not told the ID of A's other connection"
    slow.advance(2)
    accept(b, first)
    assert {status(slow, A, first), status(slow, A, second)} == {"Updating", "Activated"}


def test_two_vpcs_have_at_most_one_live_connection(emu: Emu) -> None:
    a, b = peer_client(emu, A), peer_client(emu, B)
    pcc = create(a, accepting_uid=uid(emu, B))
    e = error(
        a,
        "create_vpc_peer_connection",
        pm.CreateVpcPeerConnectionRequest(
            region_id=QD, vpc_id=VPC1, accepting_ali_uid=int(uid(emu, B)), accepting_region_id=BJ, accepting_vpc_id=VPC2
        ),
    )
    assert e.code == "ResourceAlreadyExist.VpcPeer" and pcc in e.message
    e = error(
        b,
        "create_vpc_peer_connection",
        pm.CreateVpcPeerConnectionRequest(
            region_id=BJ, vpc_id=VPC2, accepting_ali_uid=int(uid(emu, A)), accepting_region_id=QD, accepting_vpc_id=VPC1
        ),
    )
    assert e.code == "ResourceAlreadyExist.VpcPeer", "in either direction"


def test_router_interfaces_beside_a_peering_are_allowed_unless_the_world_refuses(emu: Emu) -> None:
    a_vpc, b_vpc = emu.side(A, QD), emu.side(B, BJ)
    ri_a, _ = configured_pair(a_vpc, b_vpc)
    connect(a_vpc, ri_a)
    emu.control("behaviour", {"vpc_peer_beside_router_interface": "refuse"})
    a = peer_client(emu, A)
    e = error(
        a,
        "create_vpc_peer_connection",
        pm.CreateVpcPeerConnectionRequest(
            region_id=QD, vpc_id=VPC1, accepting_ali_uid=int(uid(emu, B)), accepting_region_id=BJ, accepting_vpc_id=VPC2
        ),
    )
    assert e.code == "ResourceAlreadyExist.RouterInterface" and ri_a in e.message
    emu.control("behaviour", {"vpc_peer_beside_router_interface": "allow"})
    assert create(a, accepting_uid=uid(emu, B)).startswith("pcc-")


def test_a_vpc_takes_at_most_ten_intra_region_connections() -> None:
    emu = start_emulator(peer_world(more_vpcs_of_a=11))
    try:
        a = peer_client(emu, A)
        made = [
            create(a, VPC1, f"vpc-m5e9extra{n:04d}", accepting_uid=uid(emu, A), accepting_region_id=QD)
            for n in range(10)
        ]
        e = error(
            a,
            "create_vpc_peer_connection",
            pm.CreateVpcPeerConnectionRequest(
                region_id=QD,
                vpc_id=VPC1,
                accepting_ali_uid=int(uid(emu, A)),
                accepting_region_id=QD,
                accepting_vpc_id="vpc-m5e9extra0010",
            ),
        )
        assert e.code == "QuotaExceeded.IntraRegionVpcPeerCountPerVpc" and "10/10" in e.message
        assert create(a, VPC1, VPC2, accepting_uid=uid(emu, B)), "the inter-region quota is apart"
        call(a, "delete_vpc_peer_connection", pm.DeleteVpcPeerConnectionRequest(instance_id=made[0]))
        assert create(a, VPC1, "vpc-m5e9extra0010", accepting_uid=uid(emu, A), accepting_region_id=QD)
    finally:
        emu.server.stop()


# -- bad input, DryRun, ClientToken -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, code, named",
    [
        ({"region_id": None}, "MissingParameter", "RegionId"),
        ({"vpc_id": None}, "MissingParameter", "VpcId"),
        ({"accepting_vpc_id": None}, "MissingParameter", "AcceptingVpcId"),
        ({"region_id": "xx-nowhere-1"}, "IllegalParam.RegionId", "RegionId"),
        ({"vpc_id": VPC2}, "IllegalParam.VpcId", VPC2),  # B's VPC, from A
        ({"accepting_vpc_id": VPC4}, "IllegalParam.AcceptingVpcId", VPC4),  # C's VPC, not B's
        ({"accepting_region_id": QD}, "IllegalParam.AcceptingVpcId", VPC2),  # VPC2 is not in cn-qingdao
        ({"name": "1bad"}, "IllegalParam.Name", "Name"),
        ({"description": "http://x"}, "IllegalParam.Description", "Description"),
        ({"link_type": "Silver"}, "IllegalParam.LinkType", "LinkType"),
        ({"resource_group_id": "group-1"}, "OperationFailed.NotExist.ResourceGroup", "ResourceGroupId"),
        (
            {"tag": [pm.CreateVpcPeerConnectionRequestTag(key=f"k{n}", value="v") for n in range(21)]},
            "IllegalParam.Tag",
            "Tag",
        ),
        ({"tag": [pm.CreateVpcPeerConnectionRequestTag(key="acs:x", value="v")]}, "Forbidden.TagKeys", "acs:x"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(emu: Emu, change: dict[str, Any], code: str, named: str) -> None:
    fields = dict(
        region_id=QD, vpc_id=VPC1, accepting_ali_uid=int(uid(emu, B)), accepting_region_id=BJ, accepting_vpc_id=VPC2
    )
    fields.update(change)
    a = peer_client(emu, A)
    e = error(a, "create_vpc_peer_connection", pm.CreateVpcPeerConnectionRequest(**fields))
    assert (e.code, e.status_code) == (code, 400) and named in e.message, e.message
    assert listed(a)["TotalCount"] == 0, "a refused create leaves nothing behind"


def test_accepting_ali_uid_must_be_an_account_uid(emu: Emu) -> None:
    from .support import call as generic

    e = None
    try:
        generic(
            emu.config(A, QD),
            "vpc",
            "CreateVpcPeerConnection",
            {"RegionId": QD, "VpcId": VPC1, "AcceptingAliUid": "12ab", "AcceptingRegionId": BJ, "AcceptingVpcId": VPC2},
            version="2022-01-01",
        )
    except Exception as caught:  # the SDK's ClientException
        e = caught
    assert e is not None and getattr(e, "code", "") == "IllegalParam.AcceptingAliUid"


def test_dry_run_checks_everything_and_changes_nothing(emu: Emu) -> None:
    a, b = peer_client(emu, A), peer_client(emu, B)
    request = pm.CreateVpcPeerConnectionRequest(
        region_id=QD,
        vpc_id=VPC1,
        accepting_ali_uid=int(uid(emu, B)),
        accepting_region_id=BJ,
        accepting_vpc_id=VPC2,
        dry_run=True,
    )
    e = error(a, "create_vpc_peer_connection", request)
    assert (e.code, e.status_code) == ("DryRunOperation", 400) and "The operation DryRun verifies success." in e.message
    assert listed(a)["TotalCount"] == 0
    pcc = create(a, accepting_uid=uid(emu, B))
    for client, method, req in (
        (b, "accept_vpc_peer_connection", pm.AcceptVpcPeerConnectionRequest(instance_id=pcc, dry_run=True)),
        (b, "reject_vpc_peer_connection", pm.RejectVpcPeerConnectionRequest(instance_id=pcc, dry_run=True)),
        (a, "delete_vpc_peer_connection", pm.DeleteVpcPeerConnectionRequest(instance_id=pcc, dry_run=True)),
    ):
        assert error(client, method, req).code == "DryRunOperation"
        assert status(emu, A, pcc) == "Accepting"
    accept(b, pcc)
    e = error(
        a, "modify_vpc_peer_connection", pm.ModifyVpcPeerConnectionRequest(instance_id=pcc, name="x", dry_run=True)
    )
    assert e.code == "DryRunOperation" and get(a, pcc)["Name"] == ""


def test_a_client_token_makes_create_idempotent(emu: Emu) -> None:
    a = peer_client(emu, A)
    token = str(uuid.uuid4())
    first = create(a, accepting_uid=uid(emu, B), client_token=token)
    again = create(a, accepting_uid=uid(emu, B), client_token=token)
    assert first == again and listed(a)["TotalCount"] == 1
    e = error(
        a,
        "create_vpc_peer_connection",
        pm.CreateVpcPeerConnectionRequest(
            region_id=QD,
            vpc_id=VPC1,
            accepting_ali_uid=int(uid(emu, B)),
            accepting_region_id=BJ,
            accepting_vpc_id=VPC2,
            client_token=token,
            name="different",
        ),
    )
    assert e.code == "IdempotentParameterMismatch"


# -- listing ---------------------------------------------------------------------------------------------------------
def test_list_filters_and_pages(emu: Emu) -> None:
    a = peer_client(emu, A)
    to_b = create(
        a, accepting_uid=uid(emu, B), name="to-b", tag=[pm.CreateVpcPeerConnectionRequestTag(key="env", value="prod")]
    )
    to_c = create(a, VPC3, VPC4, accepting_uid=uid(emu, C), accepting_region_id=QD, name="to-c")
    inner = create(a, VPC1, VPC3, accepting_uid=uid(emu, A), accepting_region_id=QD, name="inner")
    ids = lambda body: [c["InstanceId"] for c in body["VpcPeerConnects"]]  # noqa: E731
    assert ids(listed(a)) == [to_b, to_c, inner]
    assert ids(listed(a, vpc_id=[VPC1])) == [to_b, inner]
    assert ids(listed(a, vpc_id=[VPC3, VPC1])) == [inner], "two IDs: the connection between them"
    assert ids(listed(a, name="to-c")) == [to_c] and ids(listed(a, instance_id=inner)) == [inner]
    assert ids(listed(a, tags=[pm.ListVpcPeerConnectionsRequestTags(key="env", value="prod")])) == [to_b]
    first = listed(a, max_results=2)
    assert (first["TotalCount"], first["MaxResults"], ids(first)) == (3, 2, [to_b, to_c]) and first["NextToken"]
    rest = listed(a, max_results=2, next_token=first["NextToken"])
    assert (ids(rest), rest["NextToken"]) == ([inner], "")
    e = error(a, "list_vpc_peer_connections", pm.ListVpcPeerConnectionsRequest(next_token=first["NextToken"], name="x"))
    assert e.code == "IllegalParam.NextToken"
    e = error(a, "list_vpc_peer_connections", pm.ListVpcPeerConnectionsRequest(vpc_id=[VPC1, VPC2, VPC3]))
    assert e.code == "IllegalParam.VpcId" and "2" in e.message
    e = error(a, "list_vpc_peer_connections", pm.ListVpcPeerConnectionsRequest(max_results=101))
    assert e.code == "IllegalParam.MaxResults"


# -- the wire ----------------------------------------------------------------------------------------------------------
def test_both_signature_styles_sign_the_form_body(emu: Emu) -> None:
    v2 = peer_client(emu, A, signature_algorithm="v2")
    pcc = create(v2, accepting_uid=uid(emu, B), name="signed-v2")
    assert get(peer_client(emu, A), pcc)["Name"] == "signed-v2"
    # HMAC-SHA1 over query and body together: a body changed after signing is refused
    account = emu.account(A)
    query = {
        "Action": "GetVpcPeerConnectionAttribute",
        "Version": "2022-01-01",
        "Format": "JSON",
        "AccessKeyId": account["access_key_id"],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": str(uuid.uuid4()),
        "Timestamp": iso(emu.control("clock")["epoch"]),
    }
    signed = dict(query, InstanceId=pcc)
    canonical = "&".join(f"{_q(k)}={_q(signed[k])}" for k in sorted(signed))
    to_sign = f"POST&%2F&{_q(canonical)}"
    digest = hmac.new((account["access_key_secret"] + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    query["Signature"] = base64.b64encode(digest).decode()
    for body, expected in ((f"InstanceId={pcc}", 200), ("InstanceId=pcc-00000000000000000000", 400)):
        if expected == 400:
            query["SignatureNonce"] = str(uuid.uuid4())  # a fresh nonce, the same signature
        req = urllib.request.Request(
            f"http://{emu.endpoint}/?{urllib.parse.urlencode(query)}",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                got, answer = r.status, json.loads(r.read())
        except urllib.error.HTTPError as h:
            got, answer = h.code, json.loads(h.read())
        assert got == expected, answer
        if expected == 200:
            assert answer["InstanceId"] == pcc
        else:
            assert answer["Code"] == "SignatureDoesNotMatch"


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="~")


def test_tag_actions_are_routed_by_version(emu: Emu) -> None:
    from .support import call as generic

    pcc = create(peer_client(emu, A), accepting_uid=uid(emu, B))
    query = {
        "RegionId": QD,
        "ResourceType": "PeerConnection",
        "ResourceId.1": pcc,
        "Tag.1.Key": "k",
        "Tag.1.Value": "v",
    }
    answer = generic(emu.config(A, QD), "vpc", "TagResources", query, version="2022-01-01")
    assert answer["body"]["Success"] is True
    with pytest.raises(Exception) as caught:
        generic(emu.config(A, QD), "vpc", "TagResources", query)  # VPC 2016-04-28 has its own TagResources
    assert getattr(caught.value, "code", "") == "InvalidAction.NotFound"
    journal = [e for e in emu.journal(action="TagResources")]
    assert [(e["product"], e["version"]) for e in journal] == [("VpcPeer", "2022-01-01"), ("Vpc", "2016-04-28")]
