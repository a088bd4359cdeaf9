"""The printable pick list in a real headless Chromium (Debian's), driven by Playwright.

Open a run's page, follow its pick list, print it: on paper (print media, A4) the admin's header,
breadcrumbs, sidebar and buttons are gone and the lots with their picks remain.
"""
import os
import re
from datetime import date

import pytest

from tests.e2e.test_browser_admin import browser  # noqa: F401  (the Chromium fixture)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread; the ORM calls stay synchronous

pytestmark = pytest.mark.browser
A4_POINTS = (595.3, 841.9)  # 210 × 297 mm (Chromium rounds to its own pixels)


def test_a_picker_prints_a_runs_pick_list_on_a4_without_the_admin_around_it(
    live_server, transactional_db, browser, widget_example, django_user_model, tmp_path,  # noqa: F811
):
    from allocation.services import allocation_run
    from allocation.shipping import order_ship

    # given: the worked example allocated by FIFO, 110 of O1 shipped, and a user who may do anything
    run = allocation_run(method="FIFO", as_of=date(2026, 1, 25)).run
    o1 = widget_example["orders"]["O1"]
    order_ship(order=o1, lines=[{"line": o1.lines.get().pk, "quantity": 110}])
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/allocation/allocationrun/{run.pk}/change/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "s3cret-pass")
    page.click("#login-form [type=submit]")
    # when: the pick list is opened from the run's page
    page.click("#pick-list-link")
    page.wait_for_selector("#pick-list")
    # then: on screen it is an admin page with its tools
    assert page.locator("#header-inner").is_visible() and page.locator("#print-pick-list").is_visible()
    assert page.locator("#pick-list-csv").get_attribute("href").endswith("?format=csv&page_size=250&page=1")
    # when: it is printed
    page.emulate_media(media="print")
    page.screenshot(path=str(tmp_path / "pick-list-print.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    # then: no admin chrome, the lots and their picks remain
    for chrome in ("#header-inner", "#nav-sidebar", "#language-switch", ".pick-list-tools"):
        assert all(not element.is_visible() for element in page.locator(chrome).all()), chrome
    assert page.locator(".bo-page-title").inner_text() == f"Pick list of allocation run #{run.pk}"
    lots = [lot.get_attribute("data-lot") for lot in page.locator("tbody.lot").all()]
    assert lots == ["L2", "L3"]
    picks = [" ".join(row.split()) for row in page.locator("tbody.lot tr.pick").all_inner_texts()]
    line1, line2 = o1.lines.get().pk, widget_example["orders"]["O2"].lines.get().pk
    assert picks == [f"O1 {line1} WIDGET 10", f"O2 {line2} WIDGET 30", f"O2 {line2} WIDGET 30"]
    totals = [" ".join(row.split()) for row in page.locator("tbody.lot tr.lot-total").all_inner_texts()]
    assert totals == ["Total from lot L2 40", "Total from lot L3 30"]
    # and the PDF is A4, one page, and the screenshot was taken
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - A4_POINTS[0]) < 2 and abs(float(h) - A4_POINTS[1]) < 2 for w, h in boxes), boxes
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert (tmp_path / "pick-list-print.png").stat().st_size > 0
