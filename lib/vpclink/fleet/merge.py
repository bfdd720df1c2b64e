"""Layering link settings: ``defaults:`` under a link's own settings, remembering where each value
came from so that a problem found in the merged link is reported where the user wrote it.

The rule (documented in ``params/fleet-example.yaml``): the link's value wins; mappings
(``security_groups``, ``timeouts``, ``verify``, ``routes``) merge key by key, at every depth; anything
else, lists included (``security_groups.rules``, ``routes.initiator``), is replaced whole. An empty
value (``key:`` with nothing after it) counts as not written, as it does in a link file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import fields as F

# link-file path (``timeouts.command``) -> fleet-file path it came from (``defaults.timeouts.command``)
Origins = dict[str, str]


def child(path: str, key: object) -> str:
    """The path of ``key`` under ``path``, spelled as ``fields.field_path`` spells error paths."""
    label = F.key_label(key)
    return f"{path}.{label}" if path else label


def layered(
    layers: Sequence[tuple[object, str]], here: str, origins: Origins, above: frozenset[int] = frozenset()
) -> object:
    """The value at ``here`` given ``layers`` (value, fleet path) from lowest to highest precedence;
    ``origins`` learns where each part came from. Layers whose value is None are skipped. ``above``:
    the mappings on the way here (YAML aliases can make a mapping contain itself; such a value is
    passed on as it is, for the link's validation to refuse)."""
    present = [(v, p) for v, p in layers if v is not None]
    top, top_path = present[-1]
    origins[here] = top_path
    if not isinstance(top, Mapping):
        return _copy(top, {})
    if id(top) in above:
        return top
    above = above | {id(top)}
    maps: list[tuple[Mapping[object, object], str]] = []
    for value, path in reversed(present):  # the mappings on top; a lower non-mapping is shadowed
        if not isinstance(value, Mapping):
            break
        maps.insert(0, (value, path))
    keys = list(dict.fromkeys(k for m, _ in maps for k in m))
    out: dict[object, object] = {}
    for key in keys:
        sub = [(m[key], child(p, key)) for m, p in maps if key in m and m[key] is not None]
        if sub:
            out[key] = layered(sub, child(here, key), origins, above)
    return out


def _copy(value: object, memo: dict[int, object]) -> object:
    """A copy of the containers in ``value`` (the file's data is never changed), aliases kept."""
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, Mapping):
        out: dict[object, object] = {}
        memo[id(value)] = out
        out.update((k, _copy(v, memo)) for k, v in value.items())
        return out
    if isinstance(value, list):
        items: list[object] = []
        memo[id(value)] = items
        items.extend(_copy(v, memo) for v in value)
        return items
    return value


def fleet_path(field: str, origins: Origins) -> tuple[str, str] | None:
    """``(fleet path of field, the origin it came through)`` for a link-file error path, or None
    when nothing in the fleet file wrote that value (a required key nobody gave)."""
    best: tuple[str, str] | None = None
    for link_path, origin in origins.items():
        inside = field == link_path or field.startswith((f"{link_path}.", f"{link_path}["))
        if inside and (best is None or len(link_path) > len(best[0])):
            best = (link_path, origin)
    if best is None:
        return None
    return best[1] + field[len(best[0]) :], best[1]


def under(path: str, roots: set[str] | frozenset[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or lies under one."""
    return any(path == r or path.startswith((f"{r}.", f"{r}[")) for r in roots)
