"""Re-vendor Alibaba's API metadata for the actions the emulator implements.

    python -m tests.emulator.conformance.vendor CHECKOUT [--date YYYY-MM-DD]

``CHECKOUT`` is a git clone of https://github.com/dew-serverless/acs-sdk-php, which stores the
OpenAPI metadata that api.aliyun.com serves (``https://api.aliyun.com/meta/v1/products/<Product>/
versions/<version>/api-docs.json``) in two forms:

* ``data/<product>/<version>/api-docs.json`` at commit ``2da261e4`` (2024-06-24): the whole
  document as fetched (its ``build/fetch-meta.php`` downloads that URL), with response schemas,
  error codes per action, response examples and descriptions. Later commits dropped the JSON.
* ``data/<product>/<version>/api-docs.php`` at its newest commit: a PHP array of the parameters
  only (types, required flags, enums and limits; no descriptions, responses or errors), refreshed
  weekly.

For each implemented action this writes, under ``tests/data/api_metadata/<product>-<version>.json``,
the parameters of the newest PHP form (each schema node keeping the descriptions, examples and
documented value titles of the 2024 JSON), and the responses, error codes and response examples of
the 2024 JSON, with both sources (repository, path, commit, commit date) and the date taken. It
also records the product-wide codes (``common_errors``): the generic codes of ``COMMON_CANDIDATES``
that the 2024 metadata documents for at least ``COMMON_THRESHOLD`` actions of the product, with
that count as evidence, and, for a product whose metadata documents none (VpcPeer), the codes of the
product's own error-code page (``PRODUCT_PAGES``, each with its URL) and the gateway's code for a
missing required parameter (``GATEWAY_CODES``, an inference said so in the file).

``--product NAME`` (repeatable) vendors only those products, so refreshing one leaves the others'
files (and the dates they were taken) as they are.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPOSITORY = "dew-serverless/acs-sdk-php"
FULL_COMMIT = "2da261e490af93414113673cdeb6bb7305b3212d"
PRODUCTS = {
    "Vpc": ("vpc", "2016-04-28"),
    "Ecs": ("ecs", "2014-05-26"),
    "Sts": ("sts", "2015-04-01"),
    "VpcPeer": ("vpcpeer", "2022-01-01"),
}
OUT = Path(__file__).resolve().parents[2] / "data" / "api_metadata"
COMMON_THRESHOLD = 10
COMMON_CANDIDATES = (
    "MissingParameter",
    "InvalidParameter",
    "InvalidRegionId.NotFound",
    "InternalError",
    "ServiceUnavailable",
    "Throttling",
    "Forbidden.RAM",
    "DryRunOperation",
    "IdempotentParameterMismatch",
    "InvalidParameter.NextToken",
    "InvalidParameter.MaxResults",
)
# Product-wide codes of a product's error-code page, for products whose metadata documents none
# product-wide (no generic code reaches ``COMMON_THRESHOLD``). ``IllegalParam.%s`` stands for one code
# per parameter name ("The param of %s is illegal."), so it is written out for each parameter.
PRODUCT_PAGES: dict[str, tuple[str, str, tuple[tuple[str, int], ...]]] = {
    "VpcPeer": (
        "https://help.aliyun.com/zh/vpc/developer-reference/api-vpcpeer-2022-01-01-errorcodes",
        "2026-12-02",
        (
            ("BothEmpty.TagsAndResources", 400),
            ("Conflict.Operation", 400),
            ("DryRunOperation", 400),
            ("Forbidden.NoPermission", 400),
            ("Forbidden.TagKey.Duplicated", 400),
            ("Forbidden.TagKeys", 400),
            ("IllegalParam.%s", 400),
            ("IllegalParam.TagKey", 400),
            ("IllegalParam.TagValue", 400),
            ("IncorrectBusinessStatus.AcceptUserVpcPeer", 400),
            ("IncorrectBusinessStatus.AcceptVpcPeer", 400),
            ("IncorrectBusinessStatus.VpcPeer", 400),
            ("IncorrectStatus.AcceptingVpc", 400),
            ("IncorrectStatus.Vpc", 400),
        ),
    )
}
# The OpenAPI gateway answers a request that lacks a parameter the metadata marks required before
# the product sees it; the Vpc, Ecs and Sts metadata document its code product-wide, VpcPeer's does
# not (an inference, written as such into the vendored file).
GATEWAY_CODES: dict[str, tuple[tuple[str, int], ...]] = {"VpcPeer": (("MissingParameter", 400),)}

# Keys of a parameter schema that document it (kept from the 2024 JSON); every other key is a
# constraint and comes from the newest PHP form.
_DOC_KEYS = ("description", "title", "example", "default", "enumValueTitles", "docRequired", "backendName")

_TOKEN = re.compile(
    r"\s*(?:(\[)|(\])|(=>)|(,)|'((?:\\.|[^'\\])*)'|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(true|false|null))", re.S
)


def php_array(text: str) -> Any:
    """The value of a ``<?php return [...];`` file (string, number, bool and null leaves)."""
    body = text.strip()
    if not body.startswith("<?php"):
        raise ValueError("not a PHP file")
    body = body[len("<?php") :].strip()
    if not body.startswith("return"):
        raise ValueError("the file does not return an array")
    body = body[len("return") :]
    pos = 0

    def token() -> re.Match[str]:
        nonlocal pos
        m = _TOKEN.match(body, pos)
        if m is None:
            raise ValueError(f"unexpected text at {pos}: {body[pos : pos + 40]!r}")
        pos = m.end()
        return m

    def value(m: re.Match[str]) -> Any:
        if m.group(1):
            return array()
        if m.group(5) is not None:
            return re.sub(r"\\([\\'])", r"\1", m.group(5))
        if m.group(6) is not None:
            n = m.group(6)
            return float(n) if any(c in n for c in ".eE") else int(n)
        if m.group(7):
            return {"true": True, "false": False, "null": None}[m.group(7)]
        raise ValueError(f"unexpected {m.group(0)!r}")

    def array() -> Any:
        items: list[tuple[Any, Any]] = []
        keyed = False
        while True:
            m = token()
            if m.group(2):
                break
            first = value(m)
            after = token()
            if after.group(3):
                keyed = True
                items.append((first, value(token())))
                after = token()
            else:
                items.append((None, first))
            if after.group(2):
                break
            if not after.group(4):
                raise ValueError(f"expected a comma, got {after.group(0)!r}")
        return {k: v for k, v in items} if keyed else [v for _, v in items]

    if not token().group(1):
        raise ValueError("expected an array")
    return array()


def _git(checkout: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(checkout), *args], check=True, capture_output=True, text=True).stdout


def _merge(new: Any, old: Any) -> Any:
    """``new`` (constraints) with the documentation keys of ``old`` at every schema node."""
    if isinstance(new, dict):
        out = {k: _merge(v, old.get(k) if isinstance(old, dict) else None) for k, v in new.items()}
        if isinstance(old, dict):
            out.update({k: old[k] for k in _DOC_KEYS if k in old and k not in new})
        return out
    if isinstance(new, list) and isinstance(old, list) and all(isinstance(x, dict) and "name" in x for x in new):
        by_name = {x.get("name"): x for x in old if isinstance(x, dict)}
        return [_merge(x, by_name.get(x["name"])) for x in new]
    return new


def _common(apis: dict[str, Any]) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, int]] = Counter()
    for api in apis.values():
        seen = {
            (e["errorCode"].strip(), int(status))
            for status, errors in (api.get("errorCodes") or {}).items()
            for e in errors
        }
        counts.update(seen)
    return [
        {"code": code, "status": status, "documented_for_actions": n, "of_actions": len(apis)}
        for (code, status), n in sorted(counts.items())
        if code in COMMON_CANDIDATES and n >= COMMON_THRESHOLD
    ]


def _page_codes(product: str, apis: dict[str, Any]) -> list[dict[str, Any]]:
    """The product-wide codes of ``PRODUCT_PAGES`` and ``GATEWAY_CODES`` (``IllegalParam.%s`` once
    per parameter name of the vendored actions)."""
    out: list[dict[str, Any]] = []
    if product in PRODUCT_PAGES:
        url, seen, codes = PRODUCT_PAGES[product]
        names = sorted({p["name"] for api in apis.values() for p in api["parameters"]})
        for code, status in codes:
            for concrete in [code.replace("%s", n) for n in names] if "%s" in code else [code]:
                out.append({"code": concrete, "status": status, "source": url, "seen": seen})
    for code, status in GATEWAY_CODES.get(product, ()):
        out.append(
            {
                "code": code,
                "status": status,
                "source": "inferred: the OpenAPI gateway's code for a missing required parameter, documented "
                "product-wide by the Vpc, Ecs and Sts metadata; this product's metadata documents none",
            }
        )
    return out


def build(checkout: Path, product: str, actions: list[str], taken: str) -> dict[str, Any]:
    folder, version = PRODUCTS[product]
    json_path = f"data/{folder}/{version}/api-docs.json"
    php_path = f"data/{folder}/{version}/api-docs.php"
    head = _git(checkout, "log", "-1", "--format=%H %cs", "--", php_path).split()
    full = json.loads(_git(checkout, "show", f"{FULL_COMMIT}:{json_path}"))
    newest = php_array(_git(checkout, "show", f"{head[0]}:{php_path}"))
    apis: dict[str, Any] = {}
    for name in sorted(actions):
        old, new = full["apis"].get(name), newest["apis"].get(name)
        if old is None and new is None:
            raise SystemExit(f"{product} {version} has no action {name} in either source")
        old, new = old or {}, new or {}
        demo = old.get("responseDemo")
        apis[name] = {
            "deprecated": bool(new.get("deprecated", old.get("deprecated", False))),
            "parameters": _merge(new.get("parameters", old.get("parameters", [])), old.get("parameters", [])),
            "responses": old.get("responses", {}),
            "errorCodes": old.get("errorCodes", {}),
            "responseDemo": json.loads(demo) if isinstance(demo, str) else demo,
        }
    origin = f"https://api.aliyun.com/meta/v1/products/{product}/versions/{version}/api-docs.json"
    return {
        "product": product,
        "version": version,
        "taken": taken,
        "sources": {
            "parameters": {
                "repository": f"https://github.com/{REPOSITORY}",
                "path": php_path,
                "commit": head[0],
                "committed": head[1],
                "origin": origin,
                "holds": "parameter types, required flags, enums and limits of the newest metadata",
            },
            "documentation": {
                "repository": f"https://github.com/{REPOSITORY}",
                "path": json_path,
                "commit": FULL_COMMIT,
                "committed": "2024-06-24",
                "origin": origin,
                "holds": "descriptions, response schemas, error codes and response examples",
            },
        },
        "common_errors": _common(full["apis"]) + _page_codes(product, apis),
        "apis": apis,
    }


def implemented() -> dict[str, list[str]]:
    from alicloud_emulator.dispatch import PRODUCTS as served

    return {name: sorted(actions) for name, _prefix, actions in served.values()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a git clone of " + REPOSITORY)
    parser.add_argument("--date", default=datetime.date.today().isoformat(), help="the date the data is taken")
    parser.add_argument(
        "--product", action="append", choices=sorted(PRODUCTS), help="vendor only this product (repeatable)"
    )
    args = parser.parse_args(argv)
    for product, actions in implemented().items():
        if args.product and product not in args.product:
            continue
        folder, version = PRODUCTS[product]
        data = build(args.checkout, product, actions, args.date)
        target = OUT / f"{folder}-{version}.json"
        target.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        print(f"{target}: {len(data['apis'])} actions", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
