"""Replies and stored records are the same JSON whichever encoder the machine has: ``orjson``
when it is installed, the standard library otherwise (``jsoncodec`` picks). Each test runs with
the installed one and with the standard library forced."""

from __future__ import annotations

import json

import pytest
from alicloud_emulator import jsoncodec

RECORD = {
    "RegionId": "cn-qingdao",
    "LocalName": "华北1（青岛）",
    "Description": '专线 a/b+c "quoted" \\ tab\t',
    "Bandwidth": 2,
    "Ratio": 0.25,
    "Created": 1764169497.123456,
    "Success": True,
    "EndTime": None,
    "Tags": {"Tag": [{"Key": "k", "Value": "v"}]},
    "Empty": [],
    "OwnerId": 1234567890123456,
}


@pytest.fixture(params=["installed", "standard library"])
def codec(request, monkeypatch):
    if request.param == "standard library":
        monkeypatch.setattr(jsoncodec, "orjson", None)
    return jsoncodec


def test_text_is_compact_utf8_with_non_ascii_kept(codec):
    expected = json.dumps(RECORD, ensure_ascii=False, separators=(",", ":"))
    assert codec.dumps(RECORD) == expected.encode("utf-8")
    assert codec.dumps_text(RECORD) == expected
    assert "华北1（青岛）" in codec.dumps_text(RECORD)  # not \u escapes: a reply reads as the cloud's does


def test_what_is_written_reads_back_equal(codec):
    assert codec.loads(codec.dumps(RECORD)) == RECORD
    assert codec.loads(codec.dumps_text(RECORD)) == RECORD


def test_values_orjson_refuses_are_still_encoded_exactly(codec):
    odd = {1: "an int key", "PageNumber": 2**70}  # a reply may echo any number a client sent
    assert json.loads(codec.dumps(odd)) == {"1": "an int key", "PageNumber": 2**70}


def test_text_that_is_not_json_is_refused_like_the_standard_library_does(codec):
    with pytest.raises(ValueError):
        codec.loads("{not json")
