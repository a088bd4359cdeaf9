"""A clerk's day in the back office, in a real headless Chromium (Debian's), driven by Playwright.

Log in, read the stock per item, receive lots by import (a bad file first), enter an order with the item's
autocomplete, allocate it from its page (Preview, then Allocate), release it and allocate it again, ship it,
close last month, and switch to 日本語: only the admin's pages, as a user clicks them. Each screen is saved,
full page at 1366×900: with UPDATE_SCREENSHOTS=1 to docs/screenshots/clerk-day/ (the README shows them),
otherwise to the test's temporary folder, so a test run leaves the checkout as it was.
"""
import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.test_browser_admin import browser, whole_page_shot  # noqa: F401  (the Chromium fixture)
from tests.factories import CustomerFactory, ItemFactory, LotFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread; the ORM calls stay synchronous

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "clerk-day"
LOTS_CSV = "reference,item_code,quantity,unit_cost,received_on,eta,expires_on,note\n"
# True when the element and every ancestor are drawn: Playwright's "visible" still counts opacity 0 as visible.
PAINTED = """element => {
  for (let node = element; node; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.display === "none" || style.visibility === "hidden" || Number(style.opacity) === 0) return false;
  }
  const box = element.getBoundingClientRect();
  return box.width > 0 && box.height > 0;
}"""


def seen(locator) -> str:
    """Return the text a person sees in `locator` (spaces collapsed), after checking that it is drawn at all."""
    from playwright.sync_api import expect

    expect(locator).to_be_visible()
    assert locator.evaluate(PAINTED), f"{locator} is in the page but not drawn (transparent, hidden or empty): nobody can read it"
    return " ".join(locator.inner_text().split())


def rows(page, selector: str) -> list[str]:
    """Return the text of each element matching `selector` (spaces collapsed), once there is one."""
    page.locator(selector).first.wait_for()
    return [" ".join(text.split()) for text in page.locator(selector).all_inner_texts()]


def shot(page, name: str) -> None:
    whole_page_shot(page, page.shots / f"{name}.png")


def message(page, text: str, kind: str = "success") -> str:
    """Wait for the message that contains `text` and return all of it as shown."""
    return seen(page.locator(f"ul.messagelist li.{kind}", has_text=text))


def choose(page, field, typed: str, option: str) -> None:
    """Pick `option` in a select2 autocomplete `field` by typing `typed` into its search box, as a person does."""
    field.locator(".select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").press_sequentially(typed)
    page.locator(".select2-container--open .select2-results__option", has_text=option).click()


def sidebar(page, name: str):
    """Return the sidebar's link to `name` (its text is the model's name after the icon's)."""
    return page.locator("#nav-sidebar a", has_text=re.compile(rf"(^|\s){re.escape(name)}\s*$"))


def tool(page, name: str):
    """Return the link `name` among the page's tools in the header (Import, Export, History, Close a period...)."""
    return page.locator("#header-inner a", has_text=re.compile(rf"(^|\s){re.escape(name)}\s*$"))


def upload(page, path: Path) -> None:
    page.set_input_files("#id_import_file", str(path))
    page.select_option("#id_format", label="csv")
    page.get_by_role("button", name="Submit").click()


def test_a_clerk_receives_lots_enters_allocates_ships_an_order_and_closes_last_month_in_the_admin(
    live_server, transactional_db, browser, django_user_model, tmp_path,  # noqa: F811
):
    from django.utils import timezone
    from playwright.sync_api import expect

    from stock.models import Lot

    # given: WIDGET with a lot in stock and one expiring in 10 days, a customer, and a clerk who may do anything
    today = timezone.localdate()
    widget = ItemFactory(item_code="WIDGET", name="Widget", unit_price=Decimal("20.00"))
    LotFactory(reference="L1", item=widget, quantity=100, unit_cost=Decimal("10"), received_on=today - timedelta(days=60))
    LotFactory(reference="L2", item=widget, quantity=50, unit_cost=Decimal("13"), received_on=today - timedelta(days=30),
               expires_on=today + timedelta(days=10))
    CustomerFactory(code="ACME", name="Acme Trading")
    django_user_model.objects.create_superuser("clerk", "clerk@example.com", "s3cret-pass")
    shots = SHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=15_000)
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US", timezone_id="Asia/Tokyo")
    page.shots = shots
    page.set_default_timeout(15_000)

    # when: the clerk logs in with the form
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "clerk")
    page.fill("#id_password", "s3cret-pass")
    page.click("#login-form [type=submit]")
    # then: the dashboard, under the product's name
    assert seen(page.locator("#site-name")) == "Inventory allocation"
    assert seen(page.locator("#header-inner h1")) == "Dashboard"
    expect(page.locator("#backoffice-dashboard")).to_contain_text("L2")  # expiring in the next 30 days

    # when: Stock → Items
    sidebar(page, "Items").click()
    # then: WIDGET's stock in columns: 150 on hand, 0 allocated, 150 available, 0 inbound, L2's expiry next
    headers = [header.lower() for header in rows(page, "#result_list thead th")]
    assert headers[headers.index("category") + 1:][:5] == ["on hand", "allocated", "available", "inbound", "next expiry"]
    widget_row = page.locator("#result_list tbody tr", has_text="WIDGET")
    assert [seen(widget_row.locator(f"td.field-{name}")) for name in
            ("on_hand", "allocated", "available", "inbound", "next_expiry")] == [
        "150", "0", "150", "0", (today + timedelta(days=10)).isoformat()]
    shot(page, "01-items")

    # when: Lots → Import, a file whose second data row has the quantity "lots"
    received, expires = (today - timedelta(days=2)).isoformat(), (today + timedelta(days=365)).isoformat()
    bad, good = tmp_path / "lots-bad.csv", tmp_path / "lots.csv"
    bad.write_text(f"{LOTS_CSV}L3,WIDGET,80,12.50,{received},,{expires},note 77\nL4,WIDGET,lots,12.00,{received},,,\n")
    good.write_text(f"{LOTS_CSV}L3,WIDGET,80,12.50,{received},,{expires},note 77\nL4,WIDGET,40,12.00,{received},,,\n")
    sidebar(page, "Lots").click()
    tool(page, "Import").click()
    upload(page, bad)
    # then: the error is written out in its row, numbered as in the spreadsheet (header = row 1); nothing to confirm
    bad_row = page.locator("table.import-preview tbody")
    expect(bad_row).to_have_count(1)
    shot(page, "02-import-errors")
    assert seen(bad_row.locator("td[data-label=Row]")) == "3"
    assert seen(bad_row.locator("li")) == '"lots" is not a whole number.'
    assert page.get_by_role("button", name="Confirm import").count() == 0
    assert not Lot.objects.filter(reference__in=["L3", "L4"]).exists()
    assert "lots-bad.csv is kept: press Submit to check it again, or choose a corrected file." in seen(
        page.locator("#import_file_helptext, .field-import_file .help, form").filter(has_text="is kept").first)
    # when: the corrected file, previewed and confirmed
    upload(page, good)
    expect(page.locator("table.import-preview-table tbody tr.new")).to_have_count(2)
    page.get_by_role("button", name="Confirm import").click()
    # then: the lots list, with the new lots
    assert "Import finished: 2 new, 0 updated, 0 deleted and 0 skipped lots." in message(page, "Import finished")
    new_lot = page.locator("#result_list tbody tr", has=page.locator("th a", has_text="L3"))
    assert seen(new_lot.locator("td.field-quantity")) == "80"
    assert seen(new_lot.locator("td.field-expires_on")) == expires
    shot(page, "03-lots-imported")

    # when: Sales → Orders → Add, customer ACME and one line of 120 WIDGET, both picked by typing
    sidebar(page, "Orders").click()
    page.locator("#header-inner a[href$='/add/']").click()  # the theme's "+" beside the list's title
    page.fill("#id_order_number", "SO-1001")
    choose(page, page.locator(".field-customer"), "acme", "ACME Acme Trading")
    choose(page, page.locator("td.field-item:has(#id_lines-0-item)"), "WID", "WIDGET Widget")
    page.fill("#id_lines-0-quantity", "120")
    assert seen(page.locator(".field-customer .select2-selection__rendered")).endswith("ACME Acme Trading")
    assert seen(page.locator("td.field-item:has(#id_lines-0-item) .select2-selection__rendered")) == "WIDGET Widget"
    shot(page, "04-order-entered")
    page.click("button[name=_save]")
    # then: the order is in the list, open
    assert "SO-1001" in message(page, "was added successfully")
    order_row = page.locator("#result_list tbody tr", has_text="SO-1001")
    assert seen(order_row.locator("td.field-status")) == "Open"

    # when: on the order's page, Allocate… then Preview (FIFO, today)
    order_row.get_by_role("link", name="SO-1001").click()
    assert seen(page.locator("#order-allocate")) == "Allocate…"
    page.click("#order-allocate")
    assert rows(page, "#selected-orders tbody tr") == [f"SO-1001 ACME Acme Trading {today.isoformat()} 0 Open 120 0"]
    assert page.locator("select[name=method] option:checked").inner_text() == "First in, first out (FIFO)"
    page.click("input[name=preview]")
    # then: the picks, oldest lot first, nothing saved yet
    assert seen(page.locator("#preview h2")) == "Preview (nothing is saved)"
    picks = rows(page, "#preview-picks tbody tr")
    assert [row.split(" FIFO: ")[0] for row in picks] == [
        "SO-1001 WIDGET L1 100 10.0000 1,000 final", "SO-1001 WIDGET L2 20 13.0000 260 final"]
    assert picks[0].endswith("; the lot's cost 10.0000") and "FIFO: oldest lot in stock (L1, received" in picks[0]
    shot(page, "05-allocate-preview")
    # when: Allocate
    page.click("input[name=allocate]")
    # then: the message says what was done, and the order's page shows each line, its picks and their cost
    assert "1 fully allocated, 0 partly, 0 not allocated; 120 units for 1,260." in message(page, "Allocation run #")
    page.locator("#result_list").get_by_role("link", name="SO-1001").click()
    assert rows(page, "#order-allocation tbody tr") == [
        "WIDGET Widget 120 120 0 0 1,260", "↳ L1 100 0 100 × 10.0000 = 1,000", "↳ L2 20 0 20 × 13.0000 = 260"]
    assert seen(page.locator("#held-notice p")) == "Order SO-1001 holds allocations for 120 units: release them first."
    shot(page, "06-order-allocated")

    # when: Release allocations on the order's page
    page.click("#held-notice button[name=release]")
    # then: the units are back, the order is open again
    assert message(page, "Released") == "Released 2 allocation results (120 units)."
    assert rows(page, "#order-allocation tbody tr") == ["WIDGET Widget 120 0 0 120"]
    expect(page.locator("#held-notice")).to_have_count(0)
    # when: allocated again, straight away
    page.click("#order-allocate")
    page.click("input[name=allocate]")
    assert "120 units for 1,260." in message(page, "Allocation run #")
    page.locator("#result_list").get_by_role("link", name="SO-1001").click()

    # when: Ship (the button ships everything allocated, no question asked)
    page.click("#ship-form button[name=ship]")
    # then: shipped, and the page says it can no longer change
    shipped = message(page, "Shipped 120 units")
    assert shipped.startswith("Shipped 120 units of order SO-1001 (shipment #") and shipped.endswith("; it is now shipped.")
    assert seen(page.locator(".form-row", has=page.locator("label", has_text="Status")).locator(".readonly")) == "Shipped"
    assert "Order SO-1001 has shipped 120 units; it can no longer change." in seen(page.locator("#held-notice p"))
    assert rows(page, "#order-allocation tbody tr")[0] == "WIDGET Widget 120 120 120 0 1,260"
    shot(page, "07-order-shipped")

    # when: Allocation → Closed periods → Close a period: last month (the default), Preview, then Close
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    sidebar(page, "Closed periods").click()
    tool(page, "Close a period").click()
    assert page.input_value("#id_period") == last_month
    page.click("input[name=preview]")
    assert seen(page.locator("#period-preview h2")).startswith(f"Period {last_month} ({last_month}-01 – ")
    shot(page, "08-period-preview")
    page.get_by_role("button", name=f"Close {last_month}").click()
    # then: the message, and the period in the list
    assert message(page, "closed") == f"Period {last_month} closed: 0 results re-costed."
    assert rows(page, "#result_list tbody tr")[0].startswith(f"{last_month}-01 ")
    shot(page, "09-period-closed")

    # when: 日本語 in the header, then Sales → Orders
    page.click("#language-switch button[value=ja]")
    page.wait_for_selector("html[lang=ja]")
    assert seen(page.locator("#site-name")) == "在庫引当"
    sidebar(page, "受注").click()
    # then: the orders list in Japanese, the order shipped (出荷済)
    assert "受注" in seen(page.locator("#header-inner h1"))
    assert seen(page.locator("#result_list tbody tr", has_text="SO-1001").locator("td.field-status")) == "出荷済"
    assert seen(page.locator("#language-switch button[aria-pressed=true]")) == "日本語"
    shot(page, "10-orders-ja")
