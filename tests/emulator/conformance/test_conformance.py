"""Every action the emulator implements, checked against Alibaba's vendored API metadata.

The checks (``probes.py``) find every difference: a missing required parameter, a value outside a
documented enum or over a documented limit that is not refused with a documented code, a response
field that the metadata's schema lacks or types otherwise, an error code the action declares that
the metadata does not document for it. Each difference must be listed, with its reason and source,
in ``docs/parity.md`` ("Known differences"); a listed one that no longer occurs must go, and the
generated table there must be current.
"""

from __future__ import annotations

import json

import pytest

from . import known, metadata, probes, report
from .vendor import php_array


@pytest.fixture(scope="module")
def results() -> list[probes.ActionResult]:
    return probes.run_all()


@pytest.fixture(scope="module")
def allowed() -> list[known.KnownDifference]:
    return known.read()


def test_every_implemented_action_is_checked(results: list[probes.ActionResult]) -> None:
    assert {(r.product, r.action) for r in results} == set(probes.implemented_actions())
    unchecked = [
        f"{r.product}.{r.action}: {f.detail}" for r in results for f in r.findings if f.kind in ("metadata", "baseline")
    ]
    assert not unchecked, "\n".join(unchecked)
    no_probe = [f"{r.product}.{r.action}" for r in results if not r.fields]
    assert not no_probe, f"no response was checked for {no_probe}"


def test_every_difference_from_the_metadata_is_a_known_one(
    results: list[probes.ActionResult], allowed: list[known.KnownDifference]
) -> None:
    listed = {kd.key for kd in allowed}
    unlisted = [f for r in results for f in r.findings if f.key not in listed]
    assert not unlisted, (
        f"{len(unlisted)} difference(s) from the API metadata, not in docs/parity.md (Known differences); "
        "fix the emulator, or list each with its reason and source:\n"
        + "\n".join(f"| {f.key[0]} | {f.kind} | {f.subject} | {f.detail} |" for f in unlisted)
    )


def test_every_known_difference_still_occurs(
    results: list[probes.ActionResult], allowed: list[known.KnownDifference]
) -> None:
    found = {f.key for r in results for f in r.findings}
    stale = [kd for kd in allowed if kd.key not in found]
    assert not stale, "docs/parity.md lists differences that no longer occur; remove them:\n" + "\n".join(
        f"| {kd.action} | {kd.kind} | {kd.subject} |" for kd in stale
    )


def test_the_committed_table_is_current(
    results: list[probes.ActionResult], allowed: list[known.KnownDifference]
) -> None:
    committed = known.block(known.PARITY.read_text(encoding="utf-8"), known.TABLE_START, known.TABLE_END).strip()
    assert committed == report.table(results, allowed).strip(), (
        "docs/parity.md's conformance table is stale: run python -m tests.emulator.conformance.report --write"
    )


def test_vendored_metadata_names_its_sources() -> None:
    for product in metadata.FILES:
        sources = metadata.sources(product)
        assert sources["taken"]
        for part in ("parameters", "documentation"):
            src = sources[part]
            assert src["repository"].startswith("https://github.com/") and len(src["commit"]) == 40
            assert src["path"].startswith("data/") and src["origin"].startswith("https://api.aliyun.com/meta/")


def test_the_schema_check_sees_unknown_fields_and_wrong_types() -> None:
    schema = {
        "type": "object",
        "properties": {
            "TotalCount": {"type": "integer"},
            "Items": {"type": "object", "properties": {"Item": {"type": "array", "items": {"type": "string"}}}},
        },
    }
    body = {"TotalCount": "3", "Items": {"Item": ["a", 2]}, "Surprise": True}
    assert metadata.schema_errors(schema, body) == [
        ("TotalCount", "is str, the metadata says integer"),
        ("Items.Item[]", "is int, the metadata says string"),
        ("Surprise", "is not in the metadata's response schema"),
    ]
    assert metadata.schema_errors(schema, {"TotalCount": True}) == [
        ("TotalCount", "is bool, the metadata says integer")
    ]


def test_the_php_form_of_the_metadata_parses() -> None:
    text = """<?php return [
        'apis' => [
            'A' => ['parameters' => [['name' => 'It\\'s', 'schema' => ['maxItems' => 5, 'required' => true]]]],
        ],
        'n' => -1.5,
        'empty' => [],
        'nil' => null,
    ];"""
    assert php_array(text) == {
        "apis": {"A": {"parameters": [{"name": "It's", "schema": {"maxItems": 5, "required": True}}]}},
        "n": -1.5,
        "empty": [],
        "nil": None,
    }
    assert json.loads(json.dumps(php_array("<?php return ['a', 'b'];"))) == ["a", "b"]
