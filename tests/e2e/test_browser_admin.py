"""The back office in a real headless Chromium (Debian's), driven by Playwright.

Log in, select orders, choose a method, preview, allocate, read the message, open the run.
Without /usr/bin/chromium the test is skipped, or fails when CI=true (`make browser` installs it).
"""
import os
import shutil
from datetime import date

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        message = f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                              args=ARGS, timeout=30_000)
        try:
            yield chromium
        finally:
            # Django's connections are context-local, and Playwright's event loop gives the ORM
            # calls made while it runs a connection of their own; close it, or it outlives the
            # test and PostgreSQL refuses to drop the test database at the end of the session.
            from django.db import connections

            connections.close_all()
            chromium.close()


def whole_page_shot(page, path) -> None:
    """Save the whole page as one picture: the window is made as tall as the page first, so that the theme's fixed
    bars (the sidebar's footer, a form's buttons) sit at the bottom of the picture, not across its middle."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], page.evaluate(
        "document.documentElement.scrollHeight"))})
    page.screenshot(path=str(path), animations="disabled")
    page.set_viewport_size(size)


def test_a_user_previews_allocates_and_opens_the_run_in_a_real_browser(
    live_server, transactional_db, browser, widget_example, django_user_model,
):
    # given: the worked example and a user who may run allocations
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    # when: log in
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "s3cret-pass")
    page.click("#login-form [type=submit]")
    page.wait_for_selector("#backoffice-dashboard")
    # and select both orders and the allocate action
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "allocate_orders")
    page.click("button[name=index]")
    page.wait_for_selector("#allocate-form")
    # and choose FIFO at 2026-01-25, then preview
    page.select_option("select[name=method]", "FIFO")
    page.fill("input[name=as_of]", date(2026, 1, 25).isoformat())
    page.click("input[name=preview]")
    page.wait_for_selector("#preview")
    # then the preview shows every pick with its lot, cost and amount
    picks = page.locator("#preview-picks tbody tr").all_inner_texts()
    assert [" ".join(row.split()).split(" FIFO: ")[0] for row in picks] == [
        "O1 WIDGET L1 100 10.0000 1,000 final", "O1 WIDGET L2 20 13.0000 260 final",
        "O2 WIDGET L2 30 13.0000 390 final", "O2 WIDGET L3 30 11.5000 345 final",
    ]
    # and why each pick was made
    assert " ".join(picks[3].split()).endswith("FIFO: oldest lot in stock (L3, received 2026-01-20); the lot's cost 11.5000")
    # when: allocate
    page.click("input[name=allocate]")
    message = page.wait_for_selector("ul.messagelist li.success").inner_text()
    # then
    assert "2 orders considered: 2 fully allocated" in message and "1,995" in message
    # when: open the run from the message
    page.click("ul.messagelist li.success a")
    page.wait_for_selector("#run-outcomes")
    # then
    outcomes = " ".join(page.locator("#run-outcomes tbody").inner_text().split())
    assert "O1 allocated 120 1,260" in outcomes and "O2 allocated 60 735" in outcomes  # JPY: no decimals shown
    assert page.locator("#run-results tbody tr").count() == 4


def test_a_clerk_edits_an_order_allocated_meanwhile_sees_the_refusal_and_releases_it_from_its_page(
    live_server, transactional_db, browser, widget_example, django_user_model,
):
    from allocation.services import allocation_run
    from orders.models import Order, OrderStatus

    # given: a clerk opens O1's page while it is still open
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    o1 = widget_example["orders"]["O1"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/{o1.pk}/change/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "s3cret-pass")
    page.click("#login-form [type=submit]")
    page.wait_for_selector("#order_form")
    # and meanwhile another user allocates it
    allocation_run(method="FIFO", orders=[o1], as_of=date(2026, 1, 25))
    # when: the clerk changes the line from 120 to 10 and saves
    page.fill("input[name=lines-0-quantity]", "10")
    page.click("button[name=_save]")
    # then: the save is refused in plain words, the page is read only, and nothing changed
    error = page.wait_for_selector("ul.messagelist li.error").inner_text()
    assert error == "Order O1 holds allocations for 120 units: release them first."
    assert "holds allocations for 120 units" in page.locator("#held-notice").inner_text()
    assert page.locator("input[name=lines-0-quantity]").count() == 0
    assert o1.lines.get().quantity == 120
    # when: the clerk releases it with the button on the page
    page.click("#held-notice button[name=release]")
    # then: the order is open again and its lines can be edited
    assert "Released 2 allocation results (120 units)." in page.wait_for_selector("ul.messagelist li.success").inner_text()
    assert page.locator("#held-notice").count() == 0
    page.fill("input[name=lines-0-quantity]", "10")
    page.click("button[name=_save]")
    page.wait_for_selector("ul.messagelist li.success")
    order = Order.objects.get(pk=o1.pk)
    assert (order.status, order.lines.get().quantity) == (OrderStatus.OPEN, 10)
