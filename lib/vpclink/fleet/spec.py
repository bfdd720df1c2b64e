"""The fleet file: many links over named VPCs, checked as a whole before any API call.

Example (``params/fleet-example.yaml`` has the full, commented one)::

    fleet: org-network                # names the fleet's run directory
    vpcs:                             # each VPC once, by a name the links use
      shared:
        profile: org-shared           # credential profile, as in a link file's sides
        account_uid: "1288472530551120"
        region: cn-hangzhou
        vpc_id: vpc-...
        vpc_cidr: 10.0.0.0/16
        security_group_id: sg-...
        instance_id: i-...            # optional
      payments: { ... }
    defaults:                         # link settings for every link (a link file's keys but link,
      backend: router_interface       # initiator, acceptor and routes)
      bandwidth_mbps: 10
      security_groups: {mode: cidr, rules: [{protocol: icmp}]}
    links:
      - {initiator: shared, acceptor: payments}          # named shared-payments
      - {initiator: shared, acceptor: ledger, backend: vpc_peer}   # a peering: no router interface
      - initiator: shared
        acceptor: web
        name: hub-web                                     # optional
        security_groups: {mode: group}                    # overrides: mappings merge key by key,
        routes: {initiator: [10.14.0.0/16]}               # lists replace

Each link becomes the link file that says the same thing (its VPCs' fields under initiator and
acceptor, ``defaults`` with its overrides merged in, see ``merge``), validated by ``vpclink.params``:
every single-link rule and limit applies to every link, and a fleet link gives exactly the
``LinkParams`` its link file gives. A problem is reported where it was written (``vpcs.hub.vpc_cidr``,
``defaults.timeouts.command``, ``links[3].acceptor``), naming the link(s) it concerns when it was
written elsewhere. Then ``topology`` checks what the links add up to. ``load_fleet`` returns a
``Fleet`` only when all of it is valid, and raises ``ParamsError`` (exit 2 from ``vpclink check``)
with every problem otherwise: no fleet is partially valid.

The file is read as link files are (``safe_files``: size, depth, aliases, special files, repeated
keys), and credentials are refused wherever they appear, never repeated in a message.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, cast

from pydantic import StringConstraints

from .. import fields as F
from .. import params, safe_files, secretlike
from ..fields import FieldError
from ..params import LinkParams, ParamsError, Role
from . import quota, topology
from .merge import Origins, child, fleet_path, layered, under
from .model import Fleet, FleetLink, Vpc

ROLES: tuple[Role, Role] = ("initiator", "acceptor")
FLEET_KEYS = ("fleet", "vpcs", "defaults", "links", "quotas")

# A VPC's fields are a link file's side's (``params.Side``, less its role), with the same field types.
VPC_FIELDS: dict[str, Any] = {
    "profile": F.ProfileName,
    "region": F.Region,
    "vpc_id": F.VpcId,
    "vpc_cidr": F.VpcCidr,
    "security_group_id": F.SecurityGroupId,
    "account_uid": F.AccountUid,
    "instance_id": F.InstanceId,
}
VPC_REQUIRED = tuple(
    f.name for f in dataclasses.fields(params.Side) if f.name != "role" and f.default is dataclasses.MISSING
)
# A link file's keys, as its schema lists them (``backend`` among them: it flows into each link's
# parameters as a link file's does, and the link file's rules judge it and the settings it allows).
_LINK_FILE_KEYS = tuple(params.json_schema()["properties"])
LINK_SETTINGS = tuple(k for k in _LINK_FILE_KEYS if k not in ("link", *ROLES))
DEFAULT_SETTINGS = tuple(k for k in LINK_SETTINGS if k != "routes")
LINK_KEYS = ("initiator", "acceptor", "name", *LINK_SETTINGS)

NAME_RULE = "2 to 64 characters: a letter first, then letters, digits, '-', '_' or '.'"
FleetName = Annotated[
    str,
    StringConstraints(strict=True, pattern=f"^{F.LINK_NAME.pattern}$"),
    F.NotACredential,
    F.explained(lambda v: f"{F.show(v)} is not a fleet name: {NAME_RULE}; it names the fleet's run directory"),
]
VPC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,30}")
VPC_NAME_RULE = (
    "1 to 31 characters: a letter first, then letters, digits, '-', '_' or '.' (a link is named "
    "<initiator>-<acceptor> unless it has a name:, and that must be a valid link name)"
)
VpcName = Annotated[
    str,
    StringConstraints(strict=True, pattern=f"^{VPC_NAME.pattern}$"),
    F.NotACredential,
    F.explained(lambda v: f"{F.show(v)} is not a VPC name: {VPC_NAME_RULE}"),
]

_ID_FIELDS = frozenset({"vpc_id", "security_group_id", "instance_id", "account_uid"})
_CREDENTIALS_ADVICE = (
    "a fleet file never holds credentials: keep each AccessKey in a credential profile "
    "(aliyun configure --profile NAME) and name that profile in vpcs.<name>.profile"
)
_VPC_HELP = {
    "profile": "the credential profile of this VPC's account (a profile name in the Alibaba Cloud CLI's "
    "~/.aliyun/config.json, e.g. org-shared)",
    "region": "the region ID of this VPC, e.g. cn-hangzhou",
    "vpc_id": "this VPC's ID, vpc- followed by 8 to 32 lowercase letters or digits",
    "vpc_cidr": "this VPC's CIDR block as the console shows it, e.g. 10.0.0.0/16",
    "security_group_id": "the security group of this VPC's ECS instances that its links open to their peers, sg- "
    "followed by 8 to 32 lowercase letters or digits",
}


def _key_hint(key: object, valid: tuple[str, ...], homes: Mapping[str, str]) -> str:
    """``unknown key ...`` with where the key belongs, or the closest valid key."""
    if isinstance(key, str) and key in homes:
        hint = f"; {homes[key]}"
    elif isinstance(key, str) and (guess := difflib.get_close_matches(key.lower().replace("-", "_"), valid, 1, 0.6)):
        hint = f"; did you mean '{guess[0]}'?"
    else:
        hint = ""
    return f"unknown key, refused rather than ignored{hint} (valid keys here: {', '.join(valid)})"


_IN_VPCS = "it belongs under vpcs.<name>: each VPC's fields are written once there"
_ON_LINK = "it belongs on each link in links:"
_SETTING = "a link setting belongs under defaults: (for every link) or on a link in links:"
_TOP_HOMES = {
    **dict.fromkeys(VPC_FIELDS, _IN_VPCS),
    **dict.fromkeys(LINK_SETTINGS, _SETTING),
    **dict.fromkeys(
        ("link", *ROLES),
        "a fleet lists its links under links: as {initiator: VPC_NAME, acceptor: VPC_NAME}; a file with link:, "
        "initiator: and acceptor: is a link file",
    ),
}
_VPC_HOMES = {
    **dict.fromkeys(LINK_SETTINGS, _SETTING),
    "name": "a VPC's name is its key under vpcs:",
}
_DEFAULT_HOMES = {
    **dict.fromkeys(VPC_FIELDS, _IN_VPCS),
    **dict.fromkeys(("name", *ROLES), _ON_LINK),
    "link": "a link's name is name: on that link",
    "routes": "routes are destinations behind one particular peer: set routes: on the link",
}
_LINK_HOMES = {
    **dict.fromkeys(VPC_FIELDS, _IN_VPCS),
    "link": "a link's name is written name: here",
}


# -- the file as a whole -------------------------------------------------------------------------


def is_fleet(mapping_or_path: object) -> bool:
    """Whether a parsed document, or the file at a path, is a fleet file (a mapping with ``fleet:``).
    A file that cannot be read safely is not one (``params.load`` then says why)."""
    if isinstance(mapping_or_path, (str, os.PathLike)):
        try:
            document = safe_files.read_yaml(mapping_or_path, what="parameter or fleet file")
        except safe_files.UnsafeFile:
            return False
        mapping_or_path = document.data
    return isinstance(mapping_or_path, Mapping) and "fleet" in mapping_or_path


def _read(path: str | os.PathLike[str]) -> safe_files.Document:
    try:
        return safe_files.read_yaml(path, what="fleet file")
    except safe_files.UnsafeFile as e:
        raise ParamsError(str(path), [FieldError("(file)", str(e))]) from None


def _repeated(document: safe_files.Document) -> list[FieldError]:
    errors = []
    for d in document.duplicates:
        lines = f"(lines {d.first_line} and {d.line})"
        if len(d.loc) == 2 and d.loc[0] == "vpcs":
            message = (
                f"the VPC name {F.key_label(d.loc[1])!r} appears twice under vpcs: {lines}; YAML would silently keep "
                "the last one: give each VPC its own name"
            )
        else:
            message = f"appears twice {lines}; YAML would silently keep the last one: keep one"
        errors.append(FieldError(F.field_path(d.loc), message))
    return errors


def load_fleet(path: str | os.PathLike[str]) -> Fleet:
    """Read and validate a fleet file; raises ``ParamsError`` with every problem found."""
    source = str(path)
    document = _read(path)
    repeated = _repeated(document)
    try:
        fleet = parse_fleet(document.data, source)
    except ParamsError as e:
        raise ParamsError(source, repeated + e.errors) from None
    if repeated:
        raise ParamsError(source, repeated)
    return fleet


def load_link(path: str | os.PathLike[str]) -> LinkParams:
    """``params.load`` for a command that takes one link, refusing a fleet file by name."""
    if is_fleet(path):
        raise ParamsError(
            str(path),
            [
                FieldError(
                    "(file)",
                    f"{path} is a fleet file (it starts with fleet: NAME); this takes one link's parameter file "
                    "(link:, initiator:, acceptor:, see params/example.yaml)",
                )
            ],
        )
    return params.load(path)


def load_any(path: str | os.PathLike[str]) -> LinkParams | Fleet:
    """A link file's ``LinkParams`` or a fleet file's ``Fleet``, whichever the file is."""
    return load_fleet(path) if is_fleet(path) else params.load(path)


def _not_a_fleet(data: object, source: str) -> FieldError | None:
    if not isinstance(data, dict):
        what = "is empty" if data is None else f"holds {F.show(data)}"
        return FieldError(
            "(file)",
            f"{source} {what}: a fleet file is a YAML mapping with the keys {', '.join(FLEET_KEYS)} "
            "(see params/fleet-example.yaml)",
        )
    if "fleet" not in data and any(k in data for k in ("link", *ROLES)):
        return FieldError(
            "(file)",
            f"{source} is a link file (link:, initiator:, acceptor:), not a fleet file: a fleet file starts with "
            "fleet: NAME and lists vpcs: and links: (see params/fleet-example.yaml); vpclink check takes either",
        )
    return None


# -- validation ------------------------------------------------------------------------------------


@dataclass
class _Item:
    """A link as written, with what is known of it before expansion."""

    index: int
    raw: Mapping[object, object]
    name: str
    named: bool
    initiator: str
    acceptor: str

    @property
    def path(self) -> str:
        return f"links[{self.index}]"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.path})"


class _Check:
    """Collects problems. ``reported`` holds fleet paths already refused: what the links' validation
    finds at or under them is the same problem again and is not repeated."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.reported: set[str] = set()

    def refuse(self, path: str, message: str) -> None:
        if not under(path, self.reported):
            self.errors.append(FieldError(path, message))
            self.reported.add(path)


def parse_fleet(data: object, source: str = "<fleet>") -> Fleet:
    """Validate a fleet document (as YAML gives it) into a ``Fleet``; raises ``ParamsError`` listing
    every problem. Nothing is called, read or written."""
    if (wrong := _not_a_fleet(data, source)) is not None:
        raise ParamsError(source, [wrong])
    doc = cast(dict[object, object], data)
    check = _Check()
    _scan_credentials(doc, "", None, check, frozenset(), names=False)
    _top(doc, check)
    name = _fleet_name(doc.get("fleet"), check)
    raw_vpcs, vpcs, declared = _vpcs(doc.get("vpcs"), check)
    defaults = _defaults(doc.get("defaults"), check)
    items = _links(doc.get("links"), declared, raw_vpcs, check)
    refs = [
        topology.LinkRef(
            i.path, i.name, i.initiator, i.acceptor, i.named, i.raw.get("backend", defaults.get("backend"))
        )
        for i in items
    ]
    pairs = topology.pair_problems(refs)
    check.errors += topology.declaration_problems(vpcs) + pairs
    links, documents = _expand(items, raw_vpcs, defaults, source, check)
    # A second link over one pair, or under one name, is refused as such; counted on the VPCs it
    # would only repeat that problem in other words.
    repeated = {e.field.split(".")[0] for e in pairs}
    counted = tuple(link for link in links if link.path not in repeated)
    quotas = _quotas(doc.get("quotas"), check)
    fleet = Fleet(
        name or "", source, MappingProxyType(dict(vpcs)), counted, MappingProxyType(documents), MappingProxyType(quotas)
    )
    check.errors += topology.usage_problems(fleet, topology.Existing())
    if check.errors or name is None or len(links) != len(items) or not items:
        raise ParamsError(source, list(dict.fromkeys(check.errors)) or [FieldError("(file)", "not a valid fleet")])
    return fleet


def _scan_credentials(
    node: object, path: str, last: object, check: _Check, above: frozenset[int], *, names: bool
) -> None:
    """Refuse credential-named keys and credential-looking values anywhere, before anything else.
    ``names``: the keys here are names the user chose (VPC names), judged by their shape only."""
    if isinstance(node, (dict, list)):
        if id(node) in above:
            return
        above = above | {id(node)}
    if isinstance(node, dict):
        for key, value in node.items():
            sub = child(path, key)
            shaped = isinstance(key, str) and secretlike.looks_like_credential(key)
            if shaped or (not names and secretlike.credential_key(key)):
                check.refuse(sub, f"credential-like key refused: {_CREDENTIALS_ADVICE}")
            else:
                _scan_credentials(value, sub, key, check, above, names=(path == "" and key == "vpcs"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _scan_credentials(value, f"{path}[{i}]", last, check, above, names=False)
    elif isinstance(node, str):
        if secretlike.access_key_id_in(node):
            what = "an AccessKey ID"
        elif last not in _ID_FIELDS and secretlike.secret_in(node):
            what = "a secret or token"
        else:
            return
        check.refuse(path, f"looks like {what} ({secretlike.mask(node)}): {_CREDENTIALS_ADVICE}")


def _top(doc: dict[object, object], check: _Check) -> None:
    for key in doc:
        if key not in FLEET_KEYS:
            check.refuse(child("", key), _key_hint(key, FLEET_KEYS, _TOP_HOMES))
    required = {
        "fleet": f"required: a name for this fleet, {NAME_RULE}; it names the fleet's run directory",
        "vpcs": "required: the fleet's VPCs by name, each a mapping with "
        f"{', '.join(VPC_REQUIRED)} (account_uid and instance_id optional)",
        "links": "required: the list of links, each {initiator: VPC_NAME, acceptor: VPC_NAME} with optional name "
        "and link settings",
    }
    for key, message in required.items():
        if doc.get(key) is None:
            check.refuse(key, message)


def _quotas(value: object, check: _Check) -> dict[str, quota.Limit]:
    """``quotas:``: overrides of the published API quotas the fleet's clients hold to (``quota``)."""
    try:
        return quota.parse_overrides(value, "quotas")
    except quota.QuotaError as e:
        check.refuse("quotas", str(e))
        return {}


def _fleet_name(value: object, check: _Check) -> str | None:
    if value is None:
        return None
    why = F.problem(FleetName, value)
    if why:
        check.refuse("fleet", why)
        return None
    return cast(str, value)


def _vpcs(value: object, check: _Check) -> tuple[dict[str, Mapping[object, object]], dict[str, Vpc], set[str]]:
    """The VPC entries that are mappings (by name), those wholly valid as ``Vpc``, and every name
    declared (a link naming a declared but invalid VPC is not refused again)."""
    raw: dict[str, Mapping[object, object]] = {}
    valid: dict[str, Vpc] = {}
    declared: set[str] = set()
    if value is None:
        return raw, valid, declared
    if not isinstance(value, dict) or not value:
        check.refuse(
            "vpcs",
            f"{F.show(value)} is not a mapping of VPCs: write each VPC under a name, e.g. vpcs: {{shared: {{profile: "
            "..., region: ..., vpc_id: ..., vpc_cidr: ..., security_group_id: ...}}}}",
        )
        return raw, valid, declared
    for key, entry in value.items():
        path = child("vpcs", key)
        if isinstance(key, str):
            declared.add(key)
        why = F.problem(VpcName, key)
        if why:
            check.refuse(path, why)
            continue
        name = cast(str, key)
        if not isinstance(entry, dict):
            check.refuse(
                path,
                f"{F.show(entry)} is not a mapping: a VPC is a mapping with keys {', '.join(VPC_FIELDS)}",
            )
            continue
        raw[name] = entry
        fields: dict[str, Any] = {}
        ok = True
        for k in entry:
            if k not in VPC_FIELDS:
                check.refuse(child(path, k), _key_hint(k, tuple(VPC_FIELDS), _VPC_HOMES))
        for k, field_type in VPC_FIELDS.items():
            sub = f"{path}.{k}"
            if entry.get(k) is None:
                if k in VPC_REQUIRED:
                    check.refuse(sub, f"required: {_VPC_HELP[k]}")
                    ok = False
                continue
            if under(sub, check.reported):
                ok = False
                continue
            try:
                fields[k] = F.validate(field_type, entry[k])
            except ValueError:
                check.refuse(sub, F.problem(field_type, entry[k]) or "not valid here")
                ok = False
        if ok:
            valid[name] = Vpc(name=name, **fields)
    return raw, valid, declared


def _defaults(value: object, check: _Check) -> dict[object, object]:
    """The defaults' known settings (unknown keys refused here, not passed on)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.refuse(
            "defaults",
            f"{F.show(value)} is not a mapping: defaults is a mapping of link settings ({', '.join(DEFAULT_SETTINGS)})",
        )
        return {}
    known: dict[object, object] = {}
    for key, setting in value.items():
        if key not in DEFAULT_SETTINGS:
            check.refuse(child("defaults", key), _key_hint(key, DEFAULT_SETTINGS, _DEFAULT_HOMES))
        else:
            known[key] = setting
    # A bad default backend is refused once, here, with the link file's message: the links that take
    # it would each report it again (and the links that set their own would not be named).
    if known.get("backend") is not None and (why := F.problem(params.BackendName, known["backend"])):
        check.refuse("defaults.backend", why)
    return known


def _listable(names: Iterable[str]) -> list[str]:
    """The VPC names a message may list: those valid as names (one refused as credential-like is not)."""
    return sorted(n for n in names if VPC_NAME.fullmatch(n) and not secretlike.looks_like_credential(n))


def _vpc_ref(item: Mapping[object, object], role: Role, path: str, declared: set[str], check: _Check) -> str | None:
    value = item.get(role)
    valid = ", ".join(_listable(declared)) or "none yet"
    if value is None:
        check.refuse(f"{path}.{role}", f"required: the name of the {role} VPC, one of the VPCs under vpcs: ({valid})")
        return None
    if isinstance(value, str) and value in declared:
        return value
    guess = difflib.get_close_matches(value, _listable(declared), 1, 0.6) if isinstance(value, str) else []
    hint = f"did you mean '{guess[0]}'? " if guess else ""
    check.refuse(f"{path}.{role}", f"{F.show(value)} is not a VPC of this fleet; {hint}the VPCs under vpcs: {valid}")
    return None


def _links(
    value: object,
    declared: set[str],
    raw_vpcs: Mapping[str, object],
    check: _Check,
) -> list[_Item]:
    """The links whose two VPCs and name are known (those are expanded); every other problem refused."""
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        check.refuse(
            "links",
            f"{F.show(value)}: links is a list of links, e.g. links: [{{initiator: shared, acceptor: payments}}]",
        )
        return []
    items = []
    for index, item in enumerate(value):
        path = f"links[{index}]"
        if not isinstance(item, dict):
            check.refuse(
                path,
                f"{F.show(item)} is not a mapping: a link is {{initiator: VPC_NAME, acceptor: VPC_NAME}} with "
                f"optional {', '.join(LINK_KEYS[2:])}",
            )
            continue
        for key in item:
            if key not in LINK_KEYS:
                check.refuse(child(path, key), _key_hint(key, LINK_KEYS, _LINK_HOMES))
        ends = [_vpc_ref(item, role, path, declared, check) for role in ROLES]
        initiator, acceptor = ends
        if initiator is not None and initiator == acceptor:
            check.refuse(
                f"{path}.acceptor",
                f"{initiator!r} is also this link's initiator: a link connects two different VPCs; name another VPC "
                f"of this fleet ({', '.join(_listable(declared - {initiator}))})",
            )
            continue
        given = item.get("name")
        name = None
        if given is not None:
            why = F.problem(F.LinkName, given)
            if why:
                check.refuse(f"{path}.name", why)
            else:
                name = cast(str, given)
        if initiator is None or acceptor is None or (given is not None and name is None):
            continue
        if initiator not in raw_vpcs or acceptor not in raw_vpcs:
            continue  # the VPC's own problem is reported under vpcs:
        items.append(_Item(index, item, name or f"{initiator}-{acceptor}", name is not None, initiator, acceptor))
    return items


# -- each link, as the link file that says the same -----------------------------------------------


@dataclass
class _Shared:
    """A problem in a value written outside the link (a VPC, defaults), and the links it showed in."""

    origin: str
    links: list[_Item]


def _document(
    item: _Item, raw_vpcs: Mapping[str, Mapping[object, object]], defaults: Mapping[object, object]
) -> tuple[dict[object, object], Origins]:
    """The link file of ``item`` and where each of its values came from."""
    origins: Origins = {"link": f"{item.path}.name" if item.named else item.path}
    doc: dict[object, object] = {"link": item.name}
    for role, vpc in ((ROLES[0], item.initiator), (ROLES[1], item.acceptor)):
        entry = {k: v for k, v in raw_vpcs[vpc].items() if k in VPC_FIELDS and v is not None}
        doc[role] = layered([(entry, child("vpcs", vpc))], role, origins)
    for key in LINK_SETTINGS:
        layers = [(defaults.get(key), child("defaults", key)), (item.raw.get(key), child(item.path, key))]
        if any(v is not None for v, _ in layers):
            doc[key] = layered(layers, key, origins)
    return doc, origins


def _which(links: list[_Item]) -> str:
    return ("link " if len(links) == 1 else "links ") + ", ".join(link.label for link in links)


def _expand(
    items: list[_Item],
    raw_vpcs: Mapping[str, Mapping[object, object]],
    defaults: Mapping[object, object],
    source: str,
    check: _Check,
) -> tuple[list[FleetLink], dict[str, Mapping[str, Any]]]:
    links: list[FleetLink] = []
    documents: dict[str, Mapping[str, Any]] = {}
    shared: dict[tuple[str, str], _Shared] = {}
    missing: dict[tuple[str, str], list[_Item]] = {}
    took: dict[str, set[int]] = {}  # fleet path -> the links whose files took a value from it
    for item in items:
        doc, origins = _document(item, raw_vpcs, defaults)
        for origin in origins.values():
            took.setdefault(origin, set()).add(item.index)
        try:
            link_params = params.parse(doc, f"{source} {item.path}")
        except ParamsError as e:
            for error in e.errors:
                found = fleet_path(error.field, origins)
                if found is None:
                    missing.setdefault((error.field, error.message), []).append(item)
                elif under(found[0], check.reported):
                    continue  # refused already, where the fleet file was read (a credential, a VPC's field)
                elif under(found[0], {item.path}):
                    check.errors.append(FieldError(found[0], error.message))
                else:
                    shared.setdefault((found[0], error.message), _Shared(found[1], [])).links.append(item)
            continue
        listed = frozenset(
            role for role in ROLES if isinstance(doc.get("routes"), dict) and cast(dict, doc["routes"]).get(role)
        )
        links.append(FleetLink(item.index, item.name, item.initiator, item.acceptor, link_params, listed))
        documents[item.name] = cast(dict[str, Any], doc)
    for (path, message), where in shared.items():
        everywhere = path.startswith("defaults") and {i.index for i in where.links} == took.get(where.origin)
        check.errors.append(FieldError(path, message if everywhere else f"in {_which(where.links)}: {message}"))
    for (field, message), lacking in missing.items():
        if len(lacking) > 1 and len(lacking) == len(items) and field in DEFAULT_SETTINGS:
            check.errors.append(FieldError(f"defaults.{field}", f"{message}; set it under defaults: (or on each link)"))
        else:
            check.errors += [
                FieldError(f"{i.path}.{field}", f"{message}; set it on this link or under defaults:") for i in lacking
            ]
    return links, documents
