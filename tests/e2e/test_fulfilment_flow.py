"""The whole loop over real HTTP: a warehouse subscribes, hears what was allocated, ships, hears it shipped, prints.

The app runs in pytest-django's live server; the warehouse is a real HTTP receiver on 127.0.0.1 that
verifies every signature with the `standardwebhooks` library; the dispatcher is the app's own, kicked after
each commit (EVENTS_KICK=auto, a background thread, as on a server); the browser is Debian's Chromium.
"""
import os

import pytest
import requests

from allocation.models import Delivery, DeliveryStatus
from allocation.tasks import thread_kick
from tests.e2e.test_browser_admin import browser  # noqa: F401  (the Chromium fixture)
from tests.webhook_support import plug_kick, verifies

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread; the ORM calls stay synchronous

pytestmark = pytest.mark.browser


@pytest.fixture
def warehouse(receivers):
    return receivers()


def test_a_warehouse_hears_of_picks_ships_them_hears_it_shipped_and_prints_the_pick_list(
    live_server, transactional_db, widget_example, django_user_model, warehouse, settings, monkeypatch,
    browser, tmp_path,  # noqa: F811
):
    plug_kick(settings, monkeypatch, EVENTS_KICK="auto")
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass-123")
    api = f"{live_server.url}/api/v1"
    token = requests.post(f"{api}/token/", json={"username": "boss", "password": "s3cret-pass-123"}, timeout=10)
    auth = {"Authorization": f"Bearer {token.json()['access']}"}
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]

    # given: the warehouse's endpoint, created through the API, its secret kept from the one answer showing it
    created = requests.post(f"{api}/webhooks/", headers=auth, timeout=10, json={
        "url": warehouse.url, "events": ["allocation.allocated", "order.shipped"], "description": "WMS"})
    assert created.status_code == 201, created.text
    warehouse.secret = created.json()["secret"]
    assert "secret" not in requests.get(f"{api}/webhooks/{created.json()['id']}/", headers=auth, timeout=10).json()

    # when: the orders are allocated through the API
    run = requests.post(f"{api}/allocate/", headers=auth, timeout=30,
                        json={"method": "FIFO", "as_of": "2026-01-25", "allow_inbound": False})
    assert run.status_code == 201, run.text
    # then: the warehouse hears, signed, what to pick for each order, to the cent
    assert warehouse.wait_for(2, timeout=20)
    thread_kick.join(timeout=20)  # the dispatcher has recorded both attempts (SQLite's test database has one writer)
    allocated = {r.json()["data"]["order"]["number"]: r for r in warehouse.received}
    assert all(r.verified and verifies(r, warehouse.secret) for r in allocated.values())
    assert {r.json()["type"] for r in allocated.values()} == {"allocation.allocated"}
    o1_data = allocated["O1"].json()["data"]
    assert (o1_data["sequence"], o1_data["run"], o1_data["amount"]) == (1, run.json()["run"]["id"], "1260.00")
    assert [(p["lot_reference"], p["quantity"], p["unit_cost"]) for p in o1_data["picks"]] == [
        ("L1", 100, "10.0000"), ("L2", 20, "13.0000")]
    assert not verifies(allocated["O1"], warehouse.secret, body=allocated["O1"].body.replace(b"1260.00", b"1.00"))

    # when: the warehouse ships O1 and says so through the API
    shipped = requests.post(f"{api}/orders/{o1.pk}/ship/", headers=auth, timeout=10,
                            json={"reference": "1Z999AA10123456784"})
    assert shipped.status_code == 200, shipped.text
    # then: the order is shipped, and the warehouse hears it (the order's second event)
    assert shipped.json()["status"] == "shipped"
    assert requests.get(f"{api}/orders/{o1.pk}/", headers=auth, timeout=10).json()["status"] == "shipped"
    assert warehouse.wait_for(3, timeout=20)
    news = warehouse.received[2]
    assert news.verified and news.json()["type"] == "order.shipped"
    assert (news.json()["data"]["order"]["number"], news.json()["data"]["sequence"]) == ("O1", 2)
    assert news.json()["data"]["reference"] == "1Z999AA10123456784"
    thread_kick.join(timeout=20)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
    assert sorted(warehouse.ids().values()) == [1, 1, 1]  # each event once: every first attempt succeeded

    # when: the pick list of what is left (O2's) is printed from the order's page
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/{o2.pk}/change/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "s3cret-pass-123")
    page.click("#login-form [type=submit]")
    page.click("#pick-list-link")
    page.wait_for_selector("#pick-list")
    page.emulate_media(media="print")
    page.screenshot(path=str(tmp_path / "order-pick-list.png"), full_page=True)
    # then: O2's two picks, by lot, without the admin around them
    assert [lot.get_attribute("data-lot") for lot in page.locator("tbody.lot").all()] == ["L2", "L3"]
    assert not page.locator("#header").is_visible()
    assert (tmp_path / "order-pick-list.png").stat().st_size > 0
