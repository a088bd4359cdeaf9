"""Engine II in a real headless Chromium (Debian's): fair share in the preview, every method compared, and why
each pick was made, on the admin's allocate page, as a clerk clicks it. Money in USD, so cents show.
With UPDATE_SCREENSHOTS=1 each screen is saved to docs/screenshots/engine-ii/ (the README shows them),
otherwise to the test's temporary folder."""
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.test_browser_admin import browser, whole_page_shot  # noqa: F401  (the Chromium fixture)
from tests.factories import ItemFactory, LotFactory, order_with_lines

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "engine-ii"


def shot(page, tmp_path, name: str) -> None:
    folder = SHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    whole_page_shot(page, folder / f"{name}.png")


def texts(page, selector: str) -> list[str]:
    page.locator(selector).first.wait_for()
    return [" ".join(text.split()) for text in page.locator(selector).all_inner_texts()]


def open_allocate_page(page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "s3cret-pass")
    page.click("#login-form [type=submit]")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "allocate_orders")
    page.click("button[name=index]")
    page.wait_for_selector("#allocate-form")
    page.fill("input[name=as_of]", date(2026, 1, 25).isoformat())


@pytest.fixture
def clerk(live_server, transactional_db, browser, django_user_model, settings):  # noqa: F811
    settings.CURRENCY = "USD"
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    return page


def test_compare_methods_shows_the_worked_example_under_every_method_to_the_cent(clerk, live_server, widget_example,
                                                                                tmp_path):
    from allocation.models import AllocationRun

    open_allocate_page(clerk, live_server)
    clerk.click("input[name=compare]")
    totals = texts(clerk, "#compare-totals tbody tr")
    assert totals == [
        "FIFO 180 1,995.00 11.0833 0.00 final", "LIFO 180 2,100.00 11.6667 +105.00 final",
        "SPECIFIC 0 0.00 – -1,995.00 final", "AVERAGE 180 2,054.78 11.4154 +59.78 final",
        "TOTAL_AVERAGE 180 2,016.00 11.2000 +21.00 provisional", "MOVING_AVERAGE 180 2,016.00 11.2000 +21.00 final",
        "FEFO 180 1,995.00 11.0833 0.00 final", "LAST_PURCHASE 180 2,070.00 11.5000 +75.00 final",
    ]
    orders = texts(clerk, "#compare-orders tbody tr")
    assert orders[0].startswith("O1 1,260.00 1,410.00 (+150.00) 0.00 (-1,260.00) 1,344.00 (+84.00)")
    shot(clerk, tmp_path, "compare-methods")
    assert AllocationRun.objects.count() == 0


def test_a_fair_share_preview_shows_quotas_and_each_pick_says_why(clerk, live_server, db, tmp_path):
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 5), quantity=100, unit_cost=Decimal("10"))
    for number, day, quantity in (("O1", 6, 120), ("O2", 12, 60), ("O3", 13, 20)):
        order_with_lines(number, date(2026, 1, day), (widget, quantity))

    open_allocate_page(clerk, live_server)
    clerk.select_option("select[name=method]", "FIFO")
    clerk.select_option("select[name=policy]", "fair_share")
    clerk.click("input[name=preview]")

    picks = texts(clerk, "#preview-picks tbody tr")
    assert picks[1] == ("O2 WIDGET L1 30 10.0000 300.00 final FIFO: oldest lot in stock (L1, received 2026-01-05); "
                        "the lot's cost 10.0000; fair share: 30 of 60 asked (100 for 200)")
    assert [row.split(" final")[0] for row in picks] == ["O1 WIDGET L1 60 10.0000 600.00", "O2 WIDGET L1 30 10.0000 300.00",
                                                         "O3 WIDGET L1 10 10.0000 100.00"]
    outcomes = texts(clerk, "#preview-orders tbody tr")
    assert "WIDGET: 30 of 60 asked, fair share of 100 for 200" in outcomes[1]
    shot(clerk, tmp_path, "fair-share-preview")
