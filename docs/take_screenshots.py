"""Take the back office screenshots of the README with Debian's headless Chromium.

Start the demo first (`make run`, or `DJANGO_DEBUG=1 .venv/bin/python manage.py runserver`
after `migrate` and `seed_demo`), then:

    .venv/bin/python docs/take_screenshots.py [http://127.0.0.1:8000]

It logs in as admin / admin, allocates ten open orders and five more with the
total average dated last month (so it changes the demo data), previews closing
last month, and writes docs/screenshots/*.png.
"""
from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUT = Path(__file__).resolve().parent / "screenshots"


def whole_page(page: Page, path: Path) -> None:
    """Save the whole page, the window made as tall as the page so that the theme's fixed bars sit at the bottom."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], page.evaluate(
        "document.documentElement.scrollHeight"))})
    page.screenshot(path=path)
    page.set_viewport_size(size)


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("#login-form [type=submit]")


def open_allocate_page(page: Page, base: str, count: int = 10) -> None:
    page.goto(f"{base}/admin/orders/order/?status__exact=open")
    for box in page.locator("input.action-select").all()[:count]:
        box.check()
    page.select_option("select[name=action]", "allocate_orders")
    page.click("button[name=index]")
    page.wait_for_selector("#allocate-form")


def main(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # the server's time zone, so that the calendar shows no "you are hours ahead of the server" warning
        page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="en-US", timezone_id="Asia/Tokyo")
        log_in(page, base)
        open_allocate_page(page, base)
        page.select_option("select[name=method]", "MOVING_AVERAGE")
        whole_page(page, OUT / "allocate-action.png")
        page.click("input[name=preview]")
        page.wait_for_selector("#preview")
        whole_page(page, OUT / "allocate-preview.png")
        page.click("input[name=allocate]")
        page.wait_for_selector("ul.messagelist li.success")
        page.click("ul.messagelist li.success a")
        page.wait_for_selector("#run-outcomes")
        whole_page(page, OUT / "allocation-run.png")
        page.goto(f"{base}/admin/")
        whole_page(page, OUT / "dashboard.png")
        # a total-average run dated last month, so that closing last month has something to re-cost
        open_allocate_page(page, base, count=5)
        page.select_option("select[name=method]", "TOTAL_AVERAGE")
        page.fill("input[name=as_of]", (date.today().replace(day=1) - timedelta(days=1)).replace(day=10).isoformat())
        page.click("input[name=allocate]")
        page.wait_for_selector("ul.messagelist li.success")
        page.goto(f"{base}/admin/allocation/closedperiod/close/")
        page.click("input[name=preview]")
        page.wait_for_selector("#period-preview")
        whole_page(page, OUT / "close-period.png")

        japanese = browser.new_page(viewport={"width": 1360, "height": 900}, locale="ja-JP", timezone_id="Asia/Tokyo",
                                    extra_http_headers={"Accept-Language": "ja"})
        log_in(japanese, base)
        open_allocate_page(japanese, base, count=3)
        japanese.click("select[name=method]")  # the method names in Japanese
        whole_page(japanese, OUT / "allocate-action-ja.png")
        japanese.goto(f"{base}/admin/")
        whole_page(japanese, OUT / "dashboard-ja.png")
        browser.close()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")
