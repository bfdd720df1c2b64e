"""Tags and resource groups of VPC peering connections (VpcPeer 2022-01-01): TagResources,
UnTagResources, ListTagResources, MoveResourceGroup.

Their names are also VPC 2016-04-28 actions; the dispatcher routes on (version, action), so these
answer only ``Version=2022-01-01``. All four send every parameter in the query (SDK 2.0.5).

Rules (SDK docstrings and the metadata):

* ``ResourceType`` is ``PeerConnection``; another value is ``InvalidInstanceType.NotFound``
  (``IllegalParam.ResourceType`` for MoveResourceGroup, which documents no code for it).
* Tags belong to the calling account, on the connection's end in ``RegionId`` ("tags are
  regional"): a connection the caller does not see there is ``InvalidInstanceIds.NotFound``.
* At most 20 ``ResourceId.N`` (``NumberExceed.ResourceIds``; the descriptions say 20 where
  ``maxItems`` says 50) and 20 ``Tag.N``, and at most 20 tags on a connection
  (``NumberExceed.Tags``); a key given twice is ``Forbidden.TagKey.Duplicated``, a key starting with
  ``aliyun`` or ``acs:`` ``Forbidden.TagKeys``. Tagging an existing key replaces its value.
* UnTagResources removes the keys of ``TagKey.N`` (at most 20), or every tag with ``All=true``.
* ListTagResources needs ``ResourceId.N`` or ``Tag.N`` (``BothEmpty.TagsAndResources``); a
  resource the caller does not see is left out; ``Category`` ``Custom``/``All`` lists the tags (the
  emulator has no system tags, so ``System`` lists none); ``MaxResults`` 1-50, default 50.
* MoveResourceGroup takes any well-formed resource group ID (resource groups are not modelled);
  an unknown connection is ``ResourceNotFound.VpcPeer``. Every answer but ListTagResources'
  is ``{"Success": true}``.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..params import Params
from . import vpcpeer_errors as err
from .vpcpeer_connections import next_token, resource_group, token_offset
from .vpcpeer_records import MAX_TAGS, RESOURCE_TYPE, Form, all_visible, seen_in, side, tag_list, visible

MAX_RESOURCES = 20
MAX_LIST = 50
CATEGORIES = ("Custom", "System", "All")


def _resource_type(f: Form, code_for_other: str = "InvalidInstanceType.NotFound") -> None:
    value = f.required("ResourceType")
    if value != RESOURCE_TYPE:
        if code_for_other == "IllegalParam.ResourceType":
            raise err.illegal("ResourceType", f'"{value}" is not {RESOURCE_TYPE}.')
        raise err.resource_type_not_found(value)


def _tags(f: Form) -> list[dict[str, str]]:
    raw = f.items("Tag")
    if len(raw) > MAX_TAGS:
        raise err.too_many_tags("Tag.N", MAX_TAGS, len(raw))
    return tag_list(f, "Tag")


def _resources(ctx: Context, f: Form, region: str, required: bool, strict: bool) -> list[dict[str, Any]]:
    """The connections ``ResourceId.N`` names, seen from the caller's end in ``region``."""
    ids = [str(i) for i in f.items("ResourceId", required=required)]
    if len(ids) > MAX_RESOURCES:
        raise err.too_many_resources(MAX_RESOURCES, len(ids))
    found, unknown = [], []
    for instance_id in dict.fromkeys(ids):
        rec = visible(ctx.tx, ctx.uid, instance_id)
        if rec is None or not seen_in(rec, ctx.uid, region):
            unknown.append(instance_id)
        else:
            found.append(rec)
    if unknown and strict:
        raise err.resources_not_found(", ".join(unknown))
    return found


def tag_resources(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    region = f.region()
    assert region is not None
    _resource_type(f)
    f.items("Tag", required=True)
    tags = _tags(f)
    f.text("ClientToken", max_len=64)
    for rec in _resources(ctx, f, region, required=True, strict=True):
        mine = side(rec, ctx.uid)
        merged = {t["Key"]: t["Value"] for t in mine["Tags"]}
        merged.update({t["Key"]: t["Value"] for t in tags})
        if len(merged) > MAX_TAGS:
            raise err.too_many_tags(f"the tags of {rec['InstanceId']}", MAX_TAGS, len(merged))
        mine["Tags"] = [{"Key": k, "Value": v} for k, v in merged.items()]
        ctx.tx.put(rec)
    return {"Success": True}


def untag_resources(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    region = f.region()
    assert region is not None
    _resource_type(f)
    keys = [str(k) for k in f.items("TagKey")]
    if len(keys) > MAX_TAGS:
        raise err.too_many_tags("TagKey.N", MAX_TAGS, len(keys))
    every = f.flag("All")
    f.text("ClientToken", max_len=64)
    for rec in _resources(ctx, f, region, required=True, strict=True):
        mine = side(rec, ctx.uid)
        mine["Tags"] = [] if every else [t for t in mine["Tags"] if t["Key"] not in keys]
        ctx.tx.put(rec)
    return {"Success": True}


def list_tag_resources(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    region = f.region()
    assert region is not None
    _resource_type(f)
    category = f.choice("Category", CATEGORIES) or "All"
    size = f.integer("MaxResults", low=1, high=MAX_LIST) or MAX_LIST
    wanted = _tags(f)
    if not f.has("ResourceId") and not wanted:
        raise err.tags_and_resources_empty()
    if f.has("ResourceId"):
        recs = _resources(ctx, f, region, required=False, strict=False)
    else:
        recs = [r for r in all_visible(ctx.tx, ctx.uid) if seen_in(r, ctx.uid, region)]
    rows = []
    for rec in recs:
        have = {t["Key"]: t["Value"] for t in (((rec.get("Sides") or {}).get(ctx.uid) or {}).get("Tags") or [])}
        if any(t["Key"] not in have or (t["Value"] and have[t["Key"]] != t["Value"]) for t in wanted):
            continue
        if category == "System":
            continue
        rows += [
            {"ResourceId": rec["InstanceId"], "ResourceType": RESOURCE_TYPE, "RegionNo": region}
            | {"TagKey": k, "TagValue": v}
            for k, v in have.items()
        ]
    query = {"RegionId": region, "ResourceId": [r["InstanceId"] for r in recs], "Tag": wanted, "Category": category}
    start = token_offset(f, query)
    following = next_token(start + size, query) if start + size < len(rows) else ""
    return {"NextToken": following, "MaxResults": size, "TagResources": rows[start : start + size]}


def move_resource_group(ctx: Context, p: Params) -> dict[str, Any]:
    f = Form(p)
    region = f.region()
    assert region is not None
    instance_id = f.required("ResourceId")
    _resource_type(f, "IllegalParam.ResourceType")
    group = resource_group(f, "NewResourceGroupId")
    if group is None:
        f.required("NewResourceGroupId")
    rec = visible(ctx.tx, ctx.uid, instance_id)
    if rec is None or not seen_in(rec, ctx.uid, region):
        raise err.peer_not_found(instance_id)
    side(rec, ctx.uid)["ResourceGroupId"] = group
    ctx.tx.put(rec)
    return {"Success": True}
