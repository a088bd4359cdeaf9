"""The header's language switch and the admin's calendar in a real headless Chromium (Debian's), driven by Playwright.

Log in in English, switch to 日本語 with the header's control, see Japanese on the next pages, pick a date with the
calendar widget on a lot's page (it writes the Japanese format, 2026/01/20) and save. Japanese glyphs need a CJK font
(`make browser` installs fonts-ipafont-gothic); without one the page still works, only its screenshots show boxes.
"""
import os
import re
from datetime import date

import pytest

from tests.e2e.test_browser_admin import browser  # noqa: F401  (the Chromium fixture)
from tests.factories import LotFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread; the ORM calls stay synchronous

pytestmark = pytest.mark.browser


def test_a_clerk_switches_to_japanese_in_the_header_and_picks_a_date_with_the_calendar(
    live_server, transactional_db, browser, django_user_model, tmp_path,  # noqa: F811
):
    from stock.models import Lot

    # given: a lot received on 2026-01-05 and a clerk whose browser asks for English
    lot = LotFactory(reference="L1", received_on=date(2026, 1, 5))
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/")
    assert "Inventory allocation" in page.locator("#page h1").inner_text()  # "Welcome back to Inventory allocation"
    page.fill("#id_username", "boss")
    page.fill("#id_password", "s3cret-pass")
    page.click("#login-form [type=submit]")
    page.wait_for_selector("#backoffice-dashboard")
    assert page.locator("html").get_attribute("lang") == "en"
    # when: the clerk presses 日本語 in the header
    page.click("#language-switch button[value=ja]")
    page.wait_for_selector("html[lang=ja]")
    # then: the same page comes back in Japanese
    assert page.url == f"{live_server.url}/admin/"
    assert page.locator("#site-name").inner_text() == "在庫引当"
    assert page.locator("#header-inner h1").inner_text() == "ダッシュボード"
    assert page.locator("#language-switch button[aria-pressed=true]").inner_text() == "日本語"
    captions = [" ".join(text.split()) for text in page.locator("#content .app-orders caption, "
                                                                "#content .app-stock caption").all_inner_texts()]
    assert captions == ["販売", "在庫"]
    page.screenshot(path=str(tmp_path / "dashboard-ja.png"))
    # when: the lot's page is opened (the choice is remembered) and a date is picked with the calendar
    page.goto(f"{live_server.url}/admin/stock/lot/{lot.pk}/change/")
    page.wait_for_selector("#lot_form")
    assert page.locator("html").get_attribute("lang") == "ja"
    received = page.locator("input[name=received_on]")
    assert received.input_value() == "2026/01/05"
    calendar = page.locator(".field-received_on a[id^=calendarlink]")
    box = "#" + calendar.get_attribute("id").replace("calendarlink", "calendarbox")
    calendar.click()
    page.wait_for_selector(box, state="visible")
    page.locator(f"{box} td a", has_text=re.compile(r"^20$")).click()
    # then: the calendar writes the Japanese format
    assert received.input_value() == "2026/01/20"
    # when: saved
    page.click("button[name=_save]")
    page.wait_for_selector("ul.messagelist li.success")
    # then: the lot is received on 2026-01-20, and the list says so the Japanese way
    assert Lot.objects.get(pk=lot.pk).received_on == date(2026, 1, 20)
    assert page.locator(f"#result_list tr:has(a[href*='/lot/{lot.pk}/change/']) td.field-received_on").inner_text() == (
        "2026/01/20")
