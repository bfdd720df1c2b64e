"""The parameter contract: what loads, what is refused, and how the refusal reads.

Each file in tests/data/bad_params/ holds one problem (``several-problems.yaml`` holds several) and
says in its header which fields must be named (``# expect:``), what the message must mention
(``# message:``) and which credential-like values must never be repeated (``# secret:``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from vpclink import ids, params, regions, secretlike
from vpclink.params import FieldError, LinkParams, ParamsError, Rule, SecurityGroups, Side, Timeouts, Verify

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "example.yaml"
SAME_REGION = ROOT / "params" / "same-region.yaml"
DEFAULT_WORLD = ROOT / "lib" / "alicloud_emulator" / "default_world.yaml"
BAD = sorted((Path(__file__).parent / "data" / "bad_params").glob("*.yaml"))

DROP = object()


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def edited(data: dict, **changes: object) -> dict:
    """A deep copy of ``data`` with dotted paths (``initiator__region``) set, or dropped with DROP."""
    data = copy.deepcopy(data)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is DROP:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def refusal(data: object) -> ParamsError:
    with pytest.raises(ParamsError) as info:
        params.parse(data, "test.yaml")
    return info.value


def fields_of(err: ParamsError) -> list[str]:
    return [e.field for e in err.errors]


def message_for(err: ParamsError, field: str) -> str:
    return next(e.message for e in err.errors if e.field == field)


# --- the shipped examples ----------------------------------------------------------------------


def test_example_loads_to_the_tutorial_link() -> None:
    assert params.load(EXAMPLE) == LinkParams(
        link="tutorial-qingdao-beijing",
        initiator=Side(
            role="initiator",
            profile="vpclink-a",
            region="cn-qingdao",
            vpc_id="vpc-m5e1tutorialvpc1qd00001",
            vpc_cidr="192.168.0.0/16",
            security_group_id="sg-m5e1tutorialsg1qd000001",
            account_uid="1637243907412983",
            instance_id="i-m5e1tutorialecs1qd00001",
        ),
        acceptor=Side(
            role="acceptor",
            profile="vpclink-b",
            region="cn-beijing",
            vpc_id="vpc-2ze2tutorialvpc2bj00001",
            vpc_cidr="172.16.0.0/16",
            security_group_id="sg-2ze2tutorialsg2bj000001",
            account_uid="1589430122237715",
            instance_id="i-2ze2tutorialecs2bj00001",
        ),
        bandwidth_mbps=2,
        routes={"initiator": ("172.16.0.0/16",), "acceptor": ("192.168.0.0/16",)},
        security_groups=SecurityGroups(
            "cidr", (Rule("icmp", "-1/-1", "ping from the peer VPC"), Rule("tcp", "22/22", "SSH from the peer VPC"))
        ),
        timeouts=Timeouts(300.0, 120.0, 120.0),
        verify=Verify(4),
    )


def test_example_model_helpers() -> None:
    p = params.load(EXAMPLE)
    assert p.spec == "Mini.2"
    assert not p.same_region
    assert p.side("acceptor").region == "cn-beijing"
    assert p.peer("initiator") is p.acceptor and p.peer("acceptor") is p.initiator


def test_example_matches_the_emulators_built_in_world() -> None:
    """`vpclink run params/example.yaml --emulator URL` against a default emulator needs these to agree."""
    world = yaml.safe_load(DEFAULT_WORLD.read_text())
    uids = {a["name"]: str(a["uid"]) for a in world["accounts"]}
    p = params.load(EXAMPLE)
    for side, vpc in zip((p.initiator, p.acceptor), world["vpcs"], strict=False):
        assert (side.account_uid, side.region, side.vpc_id, side.vpc_cidr) == (
            uids[vpc["account"]],
            vpc["region"],
            vpc["id"],
            vpc["cidr"],
        )
        assert side.security_group_id == vpc["security_groups"][0]["id"]
        assert side.instance_id == vpc["instances"][0]["id"]


def test_same_region_example_uses_group_mode_and_default_routes() -> None:
    p = params.load(SAME_REGION)
    assert p.same_region and p.initiator.region == "cn-hangzhou"
    assert p.security_groups.mode == "group"
    assert p.routes == {"initiator": (p.acceptor.vpc_cidr,), "acceptor": (p.initiator.vpc_cidr,)}
    assert p.bandwidth_mbps == 10 and p.spec == "Small.1"
    assert (p.timeouts, p.verify) == (Timeouts(), Verify())


# --- defaults and accepted variants -------------------------------------------------------------


def minimal() -> dict:
    data = example()
    for key in ("routes", "security_groups", "timeouts", "verify"):
        del data[key]
    for role in ("initiator", "acceptor"):
        del data[role]["account_uid"], data[role]["instance_id"]
    return data


def test_defaults_fill_every_optional_field() -> None:
    p = params.parse(minimal())
    assert p.routes == {"initiator": ("172.16.0.0/16",), "acceptor": ("192.168.0.0/16",)}
    assert p.security_groups == SecurityGroups("cidr", (Rule("icmp", "-1/-1", ""),))
    assert p.timeouts == Timeouts(300.0, 120.0, 120.0)
    assert p.verify == Verify(4)
    assert p.initiator.account_uid is None and p.acceptor.instance_id is None


def test_empty_optional_sections_mean_defaults() -> None:
    data = edited(minimal(), routes=None, security_groups=None, timeouts=None, verify=None, initiator__instance_id=None)
    p = params.parse(data)
    assert p.routes["initiator"] == ("172.16.0.0/16",) and p.verify == Verify()


def test_one_side_routes_default_to_the_peer_cidr() -> None:
    p = params.parse(edited(minimal(), routes={"initiator": ["172.16.0.0/16", "10.8.0.0/16"]}))
    assert p.routes == {"initiator": ("172.16.0.0/16", "10.8.0.0/16"), "acceptor": ("192.168.0.0/16",)}


def test_rule_defaults_and_normalisation() -> None:
    rules = [
        {"protocol": "ICMP"},
        {"protocol": "Tcp", "port_range": "0022/22"},
        {"protocol": "all"},
        {"protocol": "udp", "port_range": "53/53", "description": "DNS"},
    ]
    p = params.parse(edited(minimal(), security_groups={"rules": rules}))
    assert p.security_groups.rules == (Rule("icmp"), Rule("tcp", "22/22"), Rule("all"), Rule("udp", "53/53", "DNS"))
    assert p.security_groups.mode == "cidr"


def test_unquoted_account_uid_is_converted_to_a_string(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('"1637243907412983"', "1637243907412983")
    (tmp_path / "p.yaml").write_text(text)
    assert params.load(tmp_path / "p.yaml").initiator.account_uid == "1637243907412983"


@pytest.mark.parametrize(
    "changes",
    [
        {"spec": "Mini.2"},
        {"bandwidth_mbps": 10000, "spec": "Xlarge.1"},
        {"bandwidth_mbps": 5.0},
        {"timeouts": {"router_interface": 10, "command": 3600}},
        {"verify": {"ping_count": 20}},
        {"link": "L" + "x" * 63},
        {"routes": {"acceptor": ["192.168.0.0/16", "10.0.0.0/8"]}},  # a network behind VPC1
        {"security_groups": {"mode": "cidr", "rules": [{"protocol": "tcp", "port_range": "1/65535"}]}},
        {"initiator__profile": "prod.account-a@corp"},
        {"initiator__region": "cn-beijing", "security_groups": {"mode": "group"}},  # group in one region
    ],
    ids=lambda c: ",".join(c),
)
def test_accepted_variants(changes: dict) -> None:
    params.parse(edited(example(), **changes))


def test_longest_link_name_leaves_room_in_router_interface_names() -> None:
    p = params.parse(edited(example(), link="L" + "x" * 63))
    assert len(f"vpclink-{p.link}-initiator") <= 128


def test_parse_does_not_change_its_input() -> None:
    data = edited(example(), acceptor__vpc_cidr="192.168.0.0/16")
    before = copy.deepcopy(data)
    refusal(data)
    assert data == before


# --- the bad files ------------------------------------------------------------------------------


def header(path: Path, name: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"^# {name}: (.*)$", path.read_text(), re.M)]


def test_at_least_twenty_single_problem_files_and_one_with_several() -> None:
    expects = [header(p, "expect") for p in BAD]
    assert all(len(e) == 1 for e in expects), "every bad file names what it expects"
    assert sum(1 for e in expects if "," not in e[0]) >= 20
    assert any("," in e[0] for e in expects)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_file_is_refused_naming_exactly_its_fields(path: Path) -> None:
    expected = [f.strip() for f in header(path, "expect")[0].split(",")]
    with pytest.raises(ParamsError) as info:
        params.load(path)
    err = info.value
    assert sorted(fields_of(err)) == sorted(expected), params.format_errors(err)
    for want in header(path, "message"):
        assert want in message_for(err, expected[0]), params.format_errors(err)
    for secret in header(path, "secret"):
        for shown in (str(err), params.format_errors(err), repr(err.errors)):
            assert secret not in shown and secret[-12:] not in shown


def test_every_message_of_the_several_problems_file_names_what_is_valid() -> None:
    with pytest.raises(ParamsError) as info:
        params.load(next(p for p in BAD if p.stem == "several-problems"))
    messages = {e.field: e.message for e in info.value.errors}
    assert "cn-qingdao" in messages["initiator.region"]
    assert "vpc- followed by 8 to 32" in messages["acceptor.vpc_id"]
    assert "2 (Mini.2)" in messages["bandwidth_mbps"]
    assert "did you mean 'verify'" in messages["verfy"]
    assert "credential profile" in messages["acceptor.access_key_secret"]
    assert "22/22" in messages["security_groups.rules[1].port_range"]


def test_format_errors_prints_one_line_per_field() -> None:
    err = refusal(edited(example(), initiator__region="cn-qindao", bandwidth_mbps=3))
    lines = params.format_errors(err).splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == ["initiator.region", "bandwidth_mbps"]
    assert lines[0] == f"initiator.region: {message_for(err, 'initiator.region')}"
    assert "test.yaml" in str(err) and "2 invalid parameter(s)" in str(err)


# --- individual rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, field, says",
    [
        ({"initiator__vpc_cidr": "192.168.1.0/16"}, "initiator.vpc_cidr", "write 192.168.0.0/16"),
        ({"initiator__vpc_cidr": "192.168.0.0/30"}, "initiator.vpc_cidr", "/8 to /28"),
        ({"initiator__vpc_cidr": "100.64.0.0/16"}, "initiator.vpc_cidr", "192.168.0.0/16"),
        ({"initiator__vpc_cidr": "fd00::/48"}, "initiator.vpc_cidr", "IPv4"),
        ({"initiator__vpc_cidr": "192.168.0.0/33"}, "initiator.vpc_cidr", "a.b.c.d/n"),
        (
            {"acceptor__vpc_cidr": "192.168.128.0/17", "routes": {"initiator": ["172.16.0.0/16"]}},
            "acceptor.vpc_cidr",
            "must not overlap",
        ),
        ({"routes": {"initiator": ["0.0.0.0/0"]}}, "routes.initiator[0]", "172.16.0.0/16"),
        ({"routes": {"initiator": ["172.16.0.0/16", "172.16.0.0/16"]}}, "routes.initiator[1]", "once"),
        ({"routes": {"initiator": "172.16.0.0/16"}}, "routes.initiator", "list of destination CIDR"),
        ({"routes": {"initiator": ["172.16.0.1/16"]}}, "routes.initiator[0]", "write 172.16.0.0/16"),
        ({"routes": {"peer": ["172.16.0.0/16"]}}, "routes.peer", "initiator, acceptor"),
        ({"initiator__account_uid": True}, "initiator.account_uid", "16 to 19 digits"),
        ({"initiator__account_uid": 16372439074129830}, "initiator.account_uid", "in quotes"),
        ({"initiator__account_uid": 2**60}, "initiator.account_uid", "2^53"),
        ({"initiator__account_uid": "1637-2439-0741-2983"}, "initiator.account_uid", "16 to 19 digits"),
        ({"acceptor__security_group_id": "sg-2ze2"}, "acceptor.security_group_id", "sg- followed by 8 to 32"),
        ({"acceptor__vpc_id": " vpc-2ze2tutorialvpc2bj00001"}, "acceptor.vpc_id", "spaces"),
        ({"acceptor__instance_id": 12345}, "acceptor.instance_id", "i- followed by"),
        (
            {"initiator__vpc_id": "vpc-m5e1tutorialvpc1qd00001", "acceptor__vpc_id": "vpc-m5e1tutorialvpc1qd00001"},
            "acceptor.vpc_id",
            "account B's VPC",
        ),
        ({"initiator__profile": "bad profile name"}, "initiator.profile", "~/.aliyun/config.json"),
        ({"initiator__region": "CN-QINGDAO"}, "initiator.region", "did you mean 'cn-qingdao'"),
        ({"initiator__region": "mars-north-1"}, "initiator.region", "cn-qingdao, cn-beijing"),
        ({"acceptor": DROP, "routes": DROP}, "acceptor", "profile, region, vpc_id"),
        ({"bandwidth_mbps": DROP, "spec": "Small.1"}, "bandwidth_mbps", "bandwidth_mbps: 10"),
        ({"bandwidth_mbps": "2"}, "bandwidth_mbps", "2 (Mini.2)"),
        ({"bandwidth_mbps": True}, "bandwidth_mbps", "10000 (Xlarge.1)"),
        ({"spec": "Negative"}, "spec", "acceptor's Spec"),
        ({"spec": "mini.2"}, "spec", "did you mean 'Mini.2'"),
        ({"security_groups": {"mode": "GROUP"}}, "security_groups.mode", "cidr"),
        ({"security_groups": {"rules": []}}, "security_groups.rules", "protocol: icmp"),
        ({"security_groups": {"rules": ["icmp"]}}, "security_groups.rules[0]", "protocol, port_range"),
        (
            {"security_groups": {"rules": [{"port_range": "22/22"}]}},
            "security_groups.rules[0].protocol",
            "icmp, tcp, udp, all",
        ),
        (
            {"security_groups": {"rules": [{"protocol": "udp", "port_range": "0/53"}]}},
            "security_groups.rules[0].port_range",
            "1 <= a <= b <= 65535",
        ),
        (
            {"security_groups": {"rules": [{"protocol": "tcp", "port_range": "22/70000"}]}},
            "security_groups.rules[0].port_range",
            "65535",
        ),
        (
            {"security_groups": {"rules": [{"protocol": "tcp", "port_range": 1342}]}},
            "security_groups.rules[0].port_range",
            "22:22",
        ),
        (
            {"security_groups": {"rules": [{"protocol": "all", "port_range": "1/65535"}]}},
            "security_groups.rules[0].port_range",
            "-1/-1",
        ),
        (
            {"security_groups": {"rules": [{"protocol": "icmp", "description": "https://example.com"}]}},
            "security_groups.rules[0].description",
            "http",
        ),
        (
            {"security_groups": {"rules": [{"protocol": "icmp", "description": "x" * 513}]}},
            "security_groups.rules[0].description",
            "512",
        ),
        ({"timeouts": {"route_entry": -5}}, "timeouts.route_entry", "at least 10"),
        ({"timeouts": {"route_entry": float("inf")}}, "timeouts.route_entry", "at most 3600"),
        ({"timeouts": {"route_entry": "2m"}}, "timeouts.route_entry", "number of seconds"),
        ({"timeouts": {"wait": 10}}, "timeouts.wait", "router_interface, route_entry, command"),
        ({"verify": {"ping_count": 0}}, "verify.ping_count", "1 to 20"),
        ({"verify": {"ping_count": 2.5}}, "verify.ping_count", "whole number"),
        ({"verify": {"ping_count": True}}, "verify.ping_count", "1 to 20"),
        ({"verify": {"pingcount": 4}}, "verify.pingcount", "did you mean 'ping_count'"),
        ({"initiator__VpcId": "vpc-m5e1tutorialvpc1qd00001"}, "initiator.VpcId", "did you mean 'vpc_id'"),
        ({"region": "cn-qingdao"}, "region", "belongs under initiator and acceptor"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_rule(changes: dict, field: str, says: str) -> None:
    err = refusal(edited(example(), **changes))
    assert fields_of(err) == [field], params.format_errors(err)
    assert says in message_for(err, field)


@pytest.mark.parametrize(
    "document, says",
    [
        (None, "is empty"),
        ([1, 2], "a YAML mapping"),
        ("link: x", "a YAML mapping"),
    ],
)
def test_document_that_is_not_a_mapping(document: object, says: str) -> None:
    err = refusal(document)
    assert fields_of(err) == ["(file)"] and says in err.errors[0].message


def test_all_problems_are_reported_together() -> None:
    data = edited(
        example(),
        link="9",
        initiator__region="nowhere",
        acceptor__vpc_id="vpc-1",
        bandwidth_mbps=7,
        verify={"ping_count": 99},
        extra=1,
    )
    assert sorted(fields_of(refusal(data))) == sorted(
        ["link", "initiator.region", "acceptor.vpc_id", "bandwidth_mbps", "verify.ping_count", "extra"]
    )


# --- credentials -------------------------------------------------------------------------------

AK_ID = "LTAI5tZq8RkPw3Nx7YmBv2Hd"  # made up; shaped like an AccessKey ID
AK_SECRET = "q8Rk2Pw3Nx7YmBv2HdTz9LsQ4fJc6Wp"  # made up; shaped like an AccessKey secret
STS_TOKEN = "CAIS8QF1q6Ft5B2yfSjIr5bMLfzRi7oX1ZOFW0DHlVA2TfZlu7KVgzz2IHhMf3dhAOgev/4+mmlR6vcdlrp"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"initiator__access_key_id": AK_ID}, "initiator.access_key_id"),
        ({"initiator__AccessKeySecret": AK_SECRET}, "initiator.AccessKeySecret"),
        ({"acceptor__access-key": AK_ID}, "acceptor.access-key"),
        ({"db_password": AK_SECRET}, "db_password"),
        ({"security_token": STS_TOKEN}, "security_token"),
        ({"credentials": {"ak": AK_ID, "sk": AK_SECRET}}, "credentials"),
        ({"initiator__profile": AK_ID}, "initiator.profile"),
        ({"link": AK_SECRET}, "link"),
        ({"acceptor__profile": f"{AK_ID}:{AK_SECRET}"}, "acceptor.profile"),
        ({"notes": f"key {AK_SECRET} for B"}, "notes"),
        ({"acceptor__vpc_id": AK_ID}, "acceptor.vpc_id"),
        (
            {"security_groups": {"rules": [{"protocol": "icmp", "description": STS_TOKEN}]}},
            "security_groups.rules[0].description",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_credentials_are_refused_without_being_repeated(changes: dict, field: str) -> None:
    err = refusal(edited(example(), **changes))
    assert fields_of(err) == [field], params.format_errors(err)
    assert "credential profile" in message_for(err, field)
    for secret in (AK_ID, AK_SECRET, STS_TOKEN):
        for shown in (str(err), params.format_errors(err), repr(err.errors)):
            assert secret[4:] not in shown


def test_a_secret_shared_through_an_alias_is_refused_at_each_place(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("  initiator: [172.16.0.0/16]", f"  initiator: &r [{AK_SECRET}]")
    text = text.replace("  acceptor: [192.168.0.0/16]", "  acceptor: *r")
    (tmp_path / "p.yaml").write_text(text)
    with pytest.raises(ParamsError) as info:
        params.load(tmp_path / "p.yaml")
    assert fields_of(info.value) == ["routes.initiator[0]", "routes.acceptor[0]"]
    assert all("credential profile" in e.message for e in info.value.errors)
    assert AK_SECRET not in str(info.value)


def test_a_credential_used_as_a_key_is_not_repeated() -> None:
    err = refusal(edited(example(), **{AK_SECRET: "x"}))
    assert len(err.errors) == 1 and "credential profile" in err.errors[0].message
    assert AK_SECRET not in str(err) and AK_SECRET not in err.errors[0].field


def test_a_secret_in_an_id_field_is_masked_in_its_format_error() -> None:
    err = refusal(edited(example(), acceptor__security_group_id=AK_SECRET))
    assert fields_of(err) == ["acceptor.security_group_id"]
    assert "sg- followed by" in err.errors[0].message and AK_SECRET not in str(err)


def test_a_yaml_error_does_not_quote_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"link: x\ninitiator:\n  secret_thing: [{AK_SECRET}\n  region: cn-qingdao\n")
    with pytest.raises(ParamsError) as info:
        params.load(path)
    assert fields_of(info.value) == ["(file)"] and "line" in info.value.errors[0].message
    assert AK_SECRET not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "tutorial-qingdao-beijing",
        "MyProductionLinkBeijing2Qingdao3",
        "QingDaoToBeiJingVpcLinkAB",
        "vpclink-b",
        "1637243907412983",
        "vpc-m5e1tutorialvpc1qd00001",
        "SSH from the peer VPC 172.16.0.0/16",
    ],
)
def test_ordinary_values_do_not_look_like_credentials(text: str) -> None:
    assert not secretlike.looks_like_credential(text)


@pytest.mark.parametrize(
    "text", [AK_ID, AK_SECRET, STS_TOKEN, "d41d8cd98f00b204e9800998ecf8427e", "emuSecretA9f3KqZr7TnW2pXyV4bC8dL1m"]
)
def test_credentials_look_like_credentials(text: str) -> None:
    assert secretlike.looks_like_credential(text)
    assert text not in secretlike.mask(text)


# --- loading -------------------------------------------------------------------------------------


def load_text(tmp_path: Path, text: str | bytes) -> ParamsError:
    path = tmp_path / "p.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ParamsError) as info:
        params.load(path)
    assert info.value.source == str(path)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParamsError) as info:
        params.load(tmp_path / "absent.yaml")
    assert fields_of(info.value) == ["(file)"] and "cannot be read" in info.value.errors[0].message


def test_empty_file(tmp_path: Path) -> None:
    err = load_text(tmp_path, "# nothing but a comment\n")
    assert fields_of(err) == ["(file)"] and "is empty" in err.errors[0].message


def test_yaml_error_names_the_line(tmp_path: Path) -> None:
    err = load_text(tmp_path, "link: x\ninitiator: {profile: a\nacceptor: {}\n")
    assert fields_of(err) == ["(file)"] and re.search(r"line [23]", err.errors[0].message)


def test_tabs_get_a_hint(tmp_path: Path) -> None:
    err = load_text(tmp_path, "link: x\ninitiator:\n\tprofile: a\n")
    assert "indent with spaces" in err.errors[0].message


def test_not_utf8(tmp_path: Path) -> None:
    err = load_text(tmp_path, "link: caf\xe9\n".encode("latin-1"))
    assert "UTF-8" in err.errors[0].message


def test_duplicate_keys_are_reported_with_other_problems(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("bandwidth_mbps: 2", "bandwidth_mbps: 2\nbandwidth_mbps: 3")
    err = load_text(tmp_path, text)
    assert fields_of(err) == ["bandwidth_mbps", "bandwidth_mbps"]
    assert "appears twice" in err.errors[0].message and "2 (Mini.2)" in err.errors[1].message


def test_a_structure_that_contains_itself_is_refused_not_looped_on(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("link: tutorial-qingdao-beijing", "link: &x [*x]")
    err = load_text(tmp_path, text)
    assert fields_of(err) == ["link"] and "a letter first" in err.errors[0].message


# --- helpers other modules use ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, prefix, ok",
    [
        ("ri-2ze7f1a2b3c4d5e6f7g8h", "ri-", True),
        ("vrt-bp1a2b3c4d5e6f7", "vrt-", True),
        ("vrt-bp1", "vrt-", False),
        ("ri-2ze7f1a2b3c4d5e6f7g8h", "vrt-", False),
        (None, "sg-", False),
        ("sg-" + "a" * 33, "sg-", False),
    ],
)
def test_id_problem(value: object, prefix: str, ok: bool) -> None:
    problem = ids.id_problem(value, prefix)
    assert (problem is None) is ok
    if not ok:
        assert f"{prefix} followed by 8 to 32 lowercase letters or digits" in problem


def test_id_problem_names_the_kind_it_was_given() -> None:
    assert "is a router interface ID" in ids.id_problem("ri-2ze7f1a2b3c4d5e6f7g8h", "vrt-")


def test_closest_region() -> None:
    assert regions.closest("cn-hangzou") == "cn-hangzhou"
    assert regions.closest("nowhere") is None
    assert "cn-qingdao" in regions.REGIONS and "ap-southeast-2" not in regions.REGIONS


def test_field_error_is_plain_data() -> None:
    assert FieldError("a.b", "m") == FieldError("a.b", "m")
