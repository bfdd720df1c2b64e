"""Tags and resource groups of VPC peering connections (VpcPeer 2022-01-01) through the official SDK:
each account tags its own end, the limits, ListTagResources, MoveResourceGroup."""

from __future__ import annotations

import pytest
from alibabacloud_vpcpeer20220101 import models as pm

from .conftest import Emu, start_emulator
from .vpcpeer_helpers import BJ, QD, A, B, C, call, error, get, listed, peer_client, peer_world, peered

PC = "PeerConnection"


@pytest.fixture
def emu() -> Emu:
    e = start_emulator(peer_world())
    yield e
    e.server.stop()


def tag(client, region: str, ids: list[str], **tags: str) -> None:
    call(
        client,
        "tag_resources",
        pm.TagResourcesRequest(
            region_id=region,
            resource_type=PC,
            resource_id=ids,
            tag=[pm.TagResourcesRequestTag(key=k, value=v) for k, v in tags.items()],
        ),
    )


def tags_of(client, region: str, ids: list[str]) -> list[tuple[str, str, str]]:
    body = call(
        client, "list_tag_resources", pm.ListTagResourcesRequest(region_id=region, resource_type=PC, resource_id=ids)
    )
    assert all(r["ResourceType"] == PC and r["RegionNo"] == region for r in body["TagResources"])
    return sorted((r["ResourceId"], r["TagKey"], r["TagValue"]) for r in body["TagResources"])


def test_each_end_tags_the_connection_for_itself(emu: Emu) -> None:
    a, b = peer_client(emu, A), peer_client(emu, B)
    pcc = peered(emu)
    tag(a, QD, [pcc], env="prod", owner="netops")
    tag(b, BJ, [pcc], team="peer")
    tag(a, QD, [pcc], env="staging")  # an existing key takes the new value
    assert tags_of(a, QD, [pcc]) == [(pcc, "env", "staging"), (pcc, "owner", "netops")]
    assert tags_of(b, BJ, [pcc]) == [(pcc, "team", "peer")]
    assert get(a, pcc)["Tags"] == [{"Key": "env", "Value": "staging"}, {"Key": "owner", "Value": "netops"}]
    assert get(b, pcc)["Tags"] == [{"Key": "team", "Value": "peer"}]
    by_tag = call(
        a,
        "list_tag_resources",
        pm.ListTagResourcesRequest(region_id=QD, resource_type=PC, tag=[pm.ListTagResourcesRequestTag(key="owner")]),
    )
    assert {r["ResourceId"] for r in by_tag["TagResources"]} == {pcc}
    filtered = listed(a, tags=[pm.ListVpcPeerConnectionsRequestTags(key="env", value="staging")])
    assert [c["InstanceId"] for c in filtered["VpcPeerConnects"]] == [pcc]
    call(
        a,
        "un_tag_resources",
        pm.UnTagResourcesRequest(region_id=QD, resource_type=PC, resource_id=[pcc], tag_key=["env"]),
    )
    assert tags_of(a, QD, [pcc]) == [(pcc, "owner", "netops")]
    call(a, "un_tag_resources", pm.UnTagResourcesRequest(region_id=QD, resource_type=PC, resource_id=[pcc], all=True))
    assert tags_of(a, QD, [pcc]) == [] and tags_of(b, BJ, [pcc]) == [(pcc, "team", "peer")]


def test_tag_limits_and_refusals(emu: Emu) -> None:
    a, c = peer_client(emu, A), peer_client(emu, C)
    pcc = peered(emu)
    tag(a, QD, [pcc], **{f"k{n}": "v" for n in range(20)})
    cases = [
        (a, pm.TagResourcesRequestTag(key="one-more", value="v"), QD, [pcc], PC, "NumberExceed.Tags"),
        (a, pm.TagResourcesRequestTag(key="aliyun-x", value="v"), QD, [pcc], PC, "Forbidden.TagKeys"),
        (a, pm.TagResourcesRequestTag(key="k", value="v"), QD, [pcc], "Vpc", "InvalidInstanceType.NotFound"),
        (a, pm.TagResourcesRequestTag(key="k", value="v"), BJ, [pcc], PC, "InvalidInstanceIds.NotFound"),
        (c, pm.TagResourcesRequestTag(key="k", value="v"), QD, [pcc], PC, "InvalidInstanceIds.NotFound"),
        (
            a,
            pm.TagResourcesRequestTag(key="k", value="v"),
            QD,
            [f"pcc-{n:020d}" for n in range(21)],
            PC,
            "NumberExceed.ResourceIds",
        ),
    ]
    for client, t, region, ids, kind, code in cases:
        e = error(
            client,
            "tag_resources",
            pm.TagResourcesRequest(region_id=region, resource_type=kind, resource_id=ids, tag=[t]),
        )
        assert (e.code, e.status_code) == (code, 400), e.message
    e = error(
        a,
        "tag_resources",
        pm.TagResourcesRequest(
            region_id=QD,
            resource_type=PC,
            resource_id=[pcc],
            tag=[pm.TagResourcesRequestTag(key="d", value="1"), pm.TagResourcesRequestTag(key="d", value="2")],
        ),
    )
    assert e.code == "Forbidden.TagKey.Duplicated"
    e = error(a, "list_tag_resources", pm.ListTagResourcesRequest(region_id=QD, resource_type=PC))
    assert e.code == "BothEmpty.TagsAndResources"
    assert len(tags_of(a, QD, [pcc])) == 20, "refused calls changed nothing"


def test_list_tag_resources_pages(emu: Emu) -> None:
    a = peer_client(emu, A)
    pcc = peered(emu)
    tag(a, QD, [pcc], **{f"k{n:02d}": "v" for n in range(5)})
    first = call(
        a,
        "list_tag_resources",
        pm.ListTagResourcesRequest(region_id=QD, resource_type=PC, resource_id=[pcc], max_results=3),
    )
    assert len(first["TagResources"]) == 3 and first["NextToken"] and first["MaxResults"] == 3
    rest = call(
        a,
        "list_tag_resources",
        pm.ListTagResourcesRequest(
            region_id=QD, resource_type=PC, resource_id=[pcc], max_results=3, next_token=first["NextToken"]
        ),
    )
    assert len(rest["TagResources"]) == 2 and rest["NextToken"] == ""


def test_move_resource_group_sets_the_callers_group(emu: Emu) -> None:
    a, b = peer_client(emu, A), peer_client(emu, B)
    pcc = peered(emu)
    body = call(
        a,
        "move_resource_group",
        pm.MoveResourceGroupRequest(
            region_id=QD, resource_id=pcc, resource_type=PC, new_resource_group_id="rg-acfmnetops01"
        ),
    )
    assert body == {"Success": True}
    assert get(a, pcc)["ResourceGroupId"] == "rg-acfmnetops01" and get(b, pcc)["ResourceGroupId"] == ""
    assert [c["InstanceId"] for c in listed(a, resource_group_id="rg-acfmnetops01")["VpcPeerConnects"]] == [pcc]
    for request, code in (
        (
            pm.MoveResourceGroupRequest(
                region_id=QD, resource_id=pcc, resource_type=PC, new_resource_group_id="default"
            ),
            "OperationFailed.NotExist.ResourceGroup",
        ),
        (
            pm.MoveResourceGroupRequest(
                region_id=QD, resource_id="pcc-" + "9" * 20, resource_type=PC, new_resource_group_id="rg-acfmnetops01"
            ),
            "ResourceNotFound.VpcPeer",
        ),
    ):
        assert error(a, "move_resource_group", request).code == code
    e = error(
        peer_client(emu, C),
        "move_resource_group",
        pm.MoveResourceGroupRequest(
            region_id=QD, resource_id=pcc, resource_type=PC, new_resource_group_id="rg-acfmx01"
        ),
    )
    assert e.code == "ResourceNotFound.VpcPeer"
