"""The peer form in a real JupyterLab: Run All returns without waiting on the form, a bad value is
flagged beside its field, good values are confirmed, and the next cell then prints them."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import KERNEL_IDLE_TIMEOUT_MS, open_notebook, run_all

HERE = Path(__file__).parent
INITIATOR = {
    "Initiator account UID": "1637243907412983",
    "Initiator region": "cn-qingdao",
    "Initiator VRouter ID": "vrt-m5e1tutorialvrt1qd00001",
    "Initiator router interface ID": "ri-m5e1tutorialri1qd000001",
}


def test_peer_form_flags_a_bad_value_then_confirms_good_ones(page, lab, expect, screenshots):
    notebook = lab.add_notebook(HERE / "peer_form.ipynb")
    panel = open_notebook(page, lab, notebook)
    run_all(page)

    form = panel.locator(".vpclink-peer-form")
    expect(form).to_have_count(1, timeout=KERNEL_IDLE_TIMEOUT_MS)  # the cells' imports run first
    cells = panel.locator(".jp-CodeCell")
    expect(cells).to_have_count(3)
    # Run All went through: the cell after the form stopped, naming what is missing.
    result_cell = cells.nth(2)
    expect(result_cell.locator(".jp-OutputArea-output")).to_contain_text("PeerValuesMissing")
    expect(result_cell.locator(".jp-OutputArea-output")).to_contain_text("initiator_router_interface_id")
    page.screenshot(path=str(screenshots / "peer-form-notebook.png"))

    uid = form.get_by_label("Initiator account UID")
    uid_error = form.locator(".vpclink-error-account_uid")
    expect(uid).to_have_count(1)
    expect(uid_error).to_have_count(1)
    uid.fill("16372439")
    expect(uid_error).to_contain_text("has 8 digits: an Alibaba Cloud account UID is 16 to 19 digits")
    form.get_by_label("Initiator region").fill("cn-qindao")
    expect(form.locator(".vpclink-error-region")).to_contain_text("did you mean 'cn-qingdao'?")

    form.get_by_role("button", name="Confirm").click()
    status = form.locator(".vpclink-status")
    expect(status).to_contain_text("Not confirmed")
    expect(form.locator(".vpclink-error-router_interface_id")).to_contain_text("required")
    form.screenshot(path=str(screenshots / "peer-form-errors.png"))

    for label, value in INITIATOR.items():
        form.get_by_label(label).fill(value)
    expect(uid_error).to_have_text("")
    expect(form.locator(".vpclink-error")).to_have_count(5)  # four fields and the card box
    for error in form.locator(".vpclink-error").all():
        expect(error).to_have_text("")
    form.get_by_role("button", name="Confirm").click()
    expect(status).to_contain_text("Confirmed")
    expect(form).to_contain_text("initiator_router_interface_id = ri-m5e1tutorialri1qd000001")
    form.screenshot(path=str(screenshots / "peer-form-confirmed.png"))

    # The next cell, run again, reads the confirmed values and prints them as plain text.
    result_cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    output = result_cell.locator(".jp-OutputArea-output")
    expect(output).to_contain_text("initiator's values from the form")
    for key, value in (
        ("initiator_account_uid", "1637243907412983"),
        ("initiator_region", "cn-qingdao"),
        ("initiator_vrouter_id", "vrt-m5e1tutorialvrt1qd00001"),
        ("initiator_router_interface_id", "ri-m5e1tutorialri1qd000001"),
    ):
        expect(output).to_contain_text(f"{key} = {value}")
    expect(output).not_to_contain_text("PeerValuesMissing")


def test_a_pasted_peer_card_fills_the_form(page, lab, expect):
    card = {
        "vpclink_peer_card": 1,
        "link": "tutorial-qingdao-beijing",
        "role": "initiator",
        "account_uid": "1637243907412983",
        "region": "cn-qingdao",
        "vpc_id": "vpc-m5e1tutorialvpc1qd00001",
        "vpc_cidr": "192.168.0.0/16",
        "vrouter_id": "vrt-m5e1tutorialvrt1qd00001",
        "router_interface_id": "ri-m5e1tutorialri1qd000001",
        "created": "2026-01-02T03:04:05Z",
    }
    notebook = lab.add_notebook(HERE / "peer_form.ipynb", "peer_form_card.ipynb")
    panel = open_notebook(page, lab, notebook)
    run_all(page)
    form = panel.locator(".vpclink-peer-form")
    expect(form).to_have_count(1, timeout=KERNEL_IDLE_TIMEOUT_MS)  # the cells' imports run first

    card_text = form.locator(".vpclink-card-text textarea")
    card_text.fill(json.dumps({**card, "role": "acceptor"}))
    form.get_by_role("button", name="Use card").click()
    expect(form.locator(".vpclink-error-card")).to_contain_text("this side needs the initiator's")
    expect(form.get_by_label("Initiator account UID")).to_have_value("")

    card_text.fill(json.dumps(card, indent=2))
    form.get_by_role("button", name="Use card").click()
    expect(form.get_by_label("Initiator router interface ID")).to_have_value("ri-m5e1tutorialri1qd000001")
    expect(form.locator(".vpclink-error-card")).to_have_text("")
    form.get_by_role("button", name="Confirm").click()
    expect(form.locator(".vpclink-status")).to_contain_text("Confirmed")
    expect(form).to_contain_text("initiator's values from the peer card tutorial-qingdao-beijing/initiator")
