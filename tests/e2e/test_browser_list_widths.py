"""Every list of the back office shows all its columns at 1,366 px, beside the navigation and the filter, in
English and in Japanese (a real headless Chromium, Debian's; the demo data and a run over it)."""
import pytest
from django.core.management import call_command

from tests.e2e.test_browser_admin import browser  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.browser

LISTS = ["stock/item/", "stock/lot/", "orders/order/", "orders/customer/", "orders/payment/",
         "allocation/allocationrun/", "allocation/allocationresult/", "allocation/event/", "auth/user/"]
OVERFLOW = """() => {
  const table = document.querySelector('#result_list'), box = table && table.parentElement;  // the theme's scrolling box
  return table && box ? table.scrollWidth - box.clientWidth : null;
}"""


@pytest.mark.parametrize("language", ["en", "ja"])
def test_no_list_scrolls_sideways_at_1366_px(live_server, transactional_db, browser, language):  # noqa: F811
    call_command("seed_demo", verbosity=0)
    call_command("allocate", "--method", "FIFO", stdout=open("/dev/null", "w"))
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("#login-form [type=submit]")
    page.wait_for_selector("#backoffice-dashboard")
    over = {}
    for path in LISTS:
        page.goto(f"{live_server.url}/admin/{path}")
        page.wait_for_selector("#result_list")
        over[path] = page.evaluate(OVERFLOW)
    assert over == dict.fromkeys(LISTS, 0)
