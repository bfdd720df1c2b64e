"""The peer-values form, driven as widget objects (no kernel): type values, click Confirm, read the
messages beside the fields and the values stored for the phase."""

from __future__ import annotations

import html
import re

import pytest
from phase_support import EXAMPLE, replaced
from vpclink import phases
from vpclink.params import load
from vpclink.peer import card as peercard
from vpclink.peer import form as widgets
from vpclink.peer.form import PeerValuesMissing
from vpclink.peer.values import Local, PeerValues

INITIATOR = {
    "initiator_account_uid": "1637243907412983",
    "initiator_region": "cn-qingdao",
    "initiator_vrouter_id": "vrt-m5e1tutorialvrt1qd00001",
    "initiator_router_interface_id": "ri-m5e1tutorialri1qd000001",
}
ACCEPTOR_LOCAL = Local(account_uid="1589430122237715", vpc_cidr="172.16.0.0/16")
LINK = "tutorial-qingdao-beijing"
PARAMS = load(EXAMPLE)


def ask(phase: str, role: str, known: dict, *, sg_mode: str = "cidr", **kwargs) -> widgets.PeerForm:
    """The form for what ``phase`` declares it needs from the peer, with the example's parameters."""
    params = replaced(PARAMS, security_groups=replaced(PARAMS.security_groups, mode=sg_mode))
    return widgets.ask(phase, role, phases.get(phase).needs_from_peer(params), known, **kwargs)


def acceptor_form(known=None, **kwargs) -> widgets.PeerForm:
    """The acceptor phase on the acceptor side, in JupyterLab, with none of the initiator's values."""
    return ask("acceptor", "acceptor", known or {}, interactive=True, local=ACCEPTOR_LOCAL, link=LINK, **kwargs)


def shown(widget) -> str:
    """The text an HTML widget shows."""
    return html.unescape(re.sub(r"<[^>]+>", " ", widget.value))


def message(form: widgets.PeerForm, field: str) -> str:
    return shown(form.messages[field])


def type_values(form: widgets.PeerForm, values: dict[str, str]) -> None:
    for key, value in values.items():
        form.inputs[key.removeprefix(f"{form.peer}_")].value = value


def initiator_card_text(**changes) -> str:
    card = peercard.PeerCard(
        link=LINK,
        role="initiator",
        account_uid="1637243907412983",
        region="cn-qingdao",
        vpc_id="vpc-m5e1tutorialvpc1qd00001",
        vpc_cidr="192.168.0.0/16",
        vrouter_id="vrt-m5e1tutorialvrt1qd00001",
        created="2026-01-02T03:04:05Z",
        router_interface_id="ri-m5e1tutorialri1qd000001",
    )
    return peercard.PeerCard(**{**card.__dict__, **changes}).to_json()


def test_the_form_asks_for_what_the_phase_needs_from_the_peer():
    form = acceptor_form()
    assert list(form.inputs) == ["account_uid", "region", "vrouter_id", "router_interface_id"]
    assert form.inputs["router_interface_id"].description == "Initiator router interface ID"
    connect_on_initiator = ask("connect", "initiator", {}, interactive=True)
    assert connect_on_initiator.peer == "acceptor"
    assert list(connect_on_initiator.inputs) == ["account_uid", "region", "vrouter_id", "router_interface_id"]
    group_mode = ask("security_groups", "initiator", {}, interactive=True, sg_mode="group")
    assert list(group_mode.inputs) == ["account_uid", "security_group_id"]


def test_fields_and_messages_carry_css_classes_for_browser_tests():
    form = acceptor_form()
    for name in form.inputs:
        assert f"vpclink-field-{name}" in form.inputs[name]._dom_classes
        assert {"vpclink-error", f"vpclink-error-{name}"} <= set(form.messages[name]._dom_classes)
    assert "vpclink-status" in form.status._dom_classes


@pytest.mark.parametrize(
    "field, bad, words",
    [
        ("account_uid", "163724390741", "has 12 digits: an Alibaba Cloud account UID is 16 to 19 digits"),
        ("region", "cn-qindao", "did you mean 'cn-qingdao'?"),
        ("vrouter_id", "vpc-m5e1tutorialvpc1qd00001", "is a VPC ID, not a VRouter ID"),
        ("router_interface_id", "ri-", "8 to 32 lowercase letters or digits"),
        ("account_uid", "1589430122237715", "this side's own account"),
    ],
)
def test_a_bad_value_is_flagged_beside_its_field_as_typed_and_cleared_when_fixed(field, bad, words):
    form = acceptor_form()
    form.inputs[field].value = bad
    assert words in message(form, field)
    assert all(message(form, other) == "" for other in form.inputs if other != field)
    form.inputs[field].value = INITIATOR[f"initiator_{field}"]
    assert message(form, field) == ""


def test_empty_fields_are_not_flagged_until_confirm():
    form = acceptor_form()
    assert all(message(form, name) == "" for name in form.inputs)
    form.confirm_button.click()
    assert all("required" in message(form, name) for name in form.inputs)
    assert "Not confirmed" in shown(form.status) and form.confirmed is None


def test_confirm_with_a_bad_value_stores_nothing_and_the_next_cell_names_the_parameters():
    calls: list[PeerValues] = []
    form = acceptor_form(on_confirm=calls.append)
    type_values(form, {**INITIATOR, "initiator_router_interface_id": "ri-XYZ"})
    form.confirm_button.click()
    assert calls == [] and form.confirmed is None
    assert "router interface ID" in shown(form.status)
    with pytest.raises(PeerValuesMissing) as e:
        form.result()
    assert [err.field for err in e.value.errors] == ["initiator_router_interface_id"]
    assert "press Confirm" in str(e.value)


def test_confirm_stores_the_values_as_phase_inputs_and_prints_them(capsys):
    calls: list[PeerValues] = []
    form = acceptor_form(on_confirm=calls.append)
    type_values(form, {k: f"  {v} " for k, v in INITIATOR.items()})  # pasted with spaces
    form.confirm_button.click()
    result = form.result()
    assert result.inputs() == INITIATOR
    assert calls == [result] and result.source == "form" and result.role == "initiator"
    printed = capsys.readouterr().out
    for key, value in INITIATOR.items():
        assert f"{key} = {value}" in printed and f"{key} = {value}" in result.text()
    assert "Confirmed" in shown(form.status)


def test_editing_after_confirm_withdraws_the_confirmation():
    form = acceptor_form()
    type_values(form, INITIATOR)
    form.confirm_button.click()
    assert form.result().inputs() == INITIATOR
    form.inputs["region"].value = "cn-beijing"
    assert form.confirmed is None and "Confirm again" in shown(form.status)
    with pytest.raises(PeerValuesMissing) as e:
        form.result()
    assert "not confirmed" in str(e.value)
    form.confirm_button.click()
    assert form.result().values["region"] == "cn-beijing"


def test_unconfirmed_form_names_every_missing_parameter():
    form = acceptor_form({"initiator_region": "cn-qingdao"})
    with pytest.raises(PeerValuesMissing) as e:
        form.result()
    assert [err.field for err in e.value.errors] == [
        "initiator_account_uid",
        "initiator_vrouter_id",
        "initiator_router_interface_id",
    ]


def test_the_peer_cidr_must_not_overlap_the_local_one():
    form = ask("routes", "acceptor", {}, interactive=True, local=ACCEPTOR_LOCAL)
    form.inputs["vpc_cidr"].value = "172.16.128.0/17"
    assert "overlaps this side's VPC CIDR 172.16.0.0/16" in message(form, "vpc_cidr")
    form.inputs["vpc_cidr"].value = "192.168.0.0/16"
    form.confirm_button.click()
    assert form.result().inputs() == {"initiator_vpc_cidr": "192.168.0.0/16"}


def test_a_pasted_peer_card_fills_the_form_and_is_named_in_the_result():
    form = acceptor_form()
    form.card_text.value = initiator_card_text()
    form.card_button.click()
    assert form.values() == {k.removeprefix("initiator_"): v for k, v in INITIATOR.items()}
    assert form.confirmed is None  # the analyst still checks and confirms
    form.confirm_button.click()
    result = form.result()
    assert result.inputs() == INITIATOR and result.source == "peer card"
    assert result.card and LINK in result.card and "sha256" in result.card and result.card in result.text()


def test_a_card_edited_in_the_form_is_no_longer_the_source():
    form = acceptor_form()
    form.card_text.value = initiator_card_text()
    form.card_button.click()
    form.inputs["router_interface_id"].value = "ri-m5e1tutorialri1qd000002"
    form.confirm_button.click()
    assert form.result().source == "form" and form.result().card is None


@pytest.mark.parametrize(
    "text, words",
    [
        (initiator_card_text().replace('"initiator"', '"acceptor"'), "this side needs the initiator's"),
        (initiator_card_text().replace(LINK, "other-link"), "this run is for"),
        (initiator_card_text(vpc_cidr="172.16.0.0/12"), "overlaps this side's VPC CIDR"),
        ("not a card", "must be a JSON object"),
        ("{broken: [", "is not valid JSON at line 1"),
        ("broken: [", "is not valid YAML"),
    ],
)
def test_a_bad_pasted_card_is_refused_and_leaves_the_form_alone(text, words):
    form = acceptor_form({"initiator_region": "cn-qingdao"})
    form.card_text.value = text
    form.card_button.click()
    assert words in shown(form.card_message) and "Card not used" in shown(form.card_message)
    assert form.values()["region"] == "cn-qingdao" and form.values()["account_uid"] == ""


def test_a_card_without_the_router_interface_says_what_it_lacks():
    form = acceptor_form()
    form.card_text.value = initiator_card_text(router_interface_id=None)
    form.card_button.click()
    assert "lacks: router interface ID" in shown(form.status)
    form.confirm_button.click()
    assert "required" in message(form, "router_interface_id") and form.confirmed is None


def test_values_from_parameters_need_no_form():
    calls: list[PeerValues] = []
    form = ask(
        "acceptor",
        "acceptor",
        {**INITIATOR, "unrelated": "x"},
        interactive=True,
        local=ACCEPTOR_LOCAL,
        on_confirm=calls.append,
    )
    assert form.widget is None
    assert form.result().inputs() == INITIATOR and form.result().source == "parameters"
    assert form.values() == {k.removeprefix("initiator_"): v for k, v in INITIATOR.items()}
    assert calls == [form.result()]
    assert form._repr_mimebundle_() == {"text/plain": form.result().text()}


def test_a_phase_that_needs_nothing_from_the_peer_settles_at_once():
    form = ask("preflight", "initiator", {}, interactive=False)
    assert form.widget is None and form.result().inputs() == {}


def test_a_card_fills_missing_parameters_without_a_form():
    card = peercard.parse(initiator_card_text())
    form = ask("acceptor", "acceptor", {}, interactive=False, local=ACCEPTOR_LOCAL, card=card)
    assert form.result().inputs() == INITIATOR and form.result().card == card.describe()
    with pytest.raises(ValueError, match="the initiator side needs the acceptor's"):
        ask("acceptor", "initiator", {}, interactive=False, card=card)


def test_batch_with_missing_or_bad_values_fails_naming_each_parameter():
    known = {
        "initiator_account_uid": "1637243907412983",
        "initiator_region": "mars-1",
        "initiator_vrouter_id": "vrt-m5e1tutorialvrt1qd00001",
    }
    with pytest.raises(PeerValuesMissing) as e:
        ask("acceptor", "acceptor", known, interactive=False, local=ACCEPTOR_LOCAL)
    assert {err.field: err.message.split(":")[0] for err in e.value.errors} == {
        "initiator_region": "'mars-1' is not a known Alibaba Cloud region ID; valid",
        "initiator_router_interface_id": "required",
    }
    assert "papermill -p NAME VALUE" in str(e.value)


def test_outside_a_kernel_auto_means_batch():
    assert widgets.is_interactive(None) is False
    assert widgets.is_interactive(True) is True
    with pytest.raises(PeerValuesMissing):
        ask("acceptor", "acceptor", {}, interactive=None)
    with pytest.raises(ValueError, match="interactive: must be True, False or None"):
        widgets.is_interactive("yes")


def test_the_form_displays_as_a_widget_with_a_plain_text_fallback():
    bundle = acceptor_form()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Form asking for initiator_account_uid, initiator_region")
