"""``ClientToken``: a repeated mutating call returns the first result and creates nothing more."""

from __future__ import annotations

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_models

from .support import VRT_B, create_initiator, interfaces


def test_the_same_token_returns_the_first_result_and_creates_nothing(emu, a):
    first = create_initiator(a.vpc, client_token="run-42-initiator")
    again = create_initiator(a.vpc, client_token="run-42-initiator")
    assert again == first
    assert list(interfaces(a.vpc, "cn-qingdao")) == [first]
    replay = emu.journal(action="CreateRouterInterface")[-1]
    assert replay["idempotent_replay"] is True and replay["status"] == 200


def test_the_same_token_with_other_parameters_is_refused(emu, a):
    first = create_initiator(a.vpc, client_token="tok", name="first")
    with pytest.raises(ClientException) as info:
        create_initiator(a.vpc, client_token="tok", name="second")
    assert (info.value.code, info.value.status_code) == ("IdempotentParameterMismatch", 400)
    assert list(interfaces(a.vpc, "cn-qingdao")) == [first]


def test_without_a_token_each_call_creates(emu, a):
    ids = {create_initiator(a.vpc), create_initiator(a.vpc)}
    assert len(ids) == 2 and set(interfaces(a.vpc, "cn-qingdao")) == ids


def test_tokens_belong_to_one_account(emu, a, b):
    """Account B choosing the same token string as A gets its own result, not A's."""
    mine = create_initiator(a.vpc, client_token="shared-token")
    theirs = b.vpc.create_router_interface(
        vpc_models.CreateRouterInterfaceRequest(
            region_id="cn-beijing",
            role="InitiatingSide",
            router_type="VRouter",
            router_id=VRT_B,
            spec="Mini.2",
            opposite_region_id="cn-qingdao",
            client_token="shared-token",
        )
    ).body.router_interface_id
    assert theirs != mine
    assert list(interfaces(b.vpc, "cn-beijing")) == [theirs]


def test_a_refused_call_does_not_consume_the_token(emu, a):
    """A create that fails validation stores nothing, so a corrected retry with the token works."""
    bad = vpc_models.CreateRouterInterfaceRequest(
        region_id="cn-qingdao",
        role="InitiatingSide",
        router_type="VRouter",
        router_id="vrt-doesnotexist0000000",
        spec="Mini.2",
        opposite_region_id="cn-beijing",
        client_token="retry-me",
    )
    with pytest.raises(ClientException) as info:
        a.vpc.create_router_interface(bad)
    assert info.value.code == "InvalidRouterId.NotFound"
    fixed = create_initiator(a.vpc, client_token="retry-me")
    assert list(interfaces(a.vpc, "cn-qingdao")) == [fixed]
