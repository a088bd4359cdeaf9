"""The back office's frame: its name, its apps in a clerk's order, the language switch, dates and numbers per language."""
import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client

from inventory_alloc.admin_site import BackOfficeSite
from orders.models import Order
from stock.models import Item, Lot
from tests.admin_support import list_page
from tests.factories import ItemFactory, LotFactory

ONE_YEAR = 365 * 24 * 3600


def app_names(apps: list[dict]) -> list[str]:
    return [str(app["name"]) for app in apps]


def model_names(apps: list[dict], app_label: str) -> list[str]:
    return [str(model["name"]) for app in apps if app["app_label"] == app_label for model in app["models"]]


def language_switch(page: str) -> str:
    return re.search(r'<form id="language-switch".*?</form>', page, re.S).group(0)


def lot_form(**changes) -> dict:
    item = ItemFactory(item_code="WIDGET")
    data = {"reference": "L1", "item": item.pk, "quantity": 1500, "unit_cost": "1234.5", "received_on": "",
            "eta": "", "expires_on": "", "note": ""}
    return {**data, **changes}


# --- the site ---------------------------------------------------------------------------------------------

def test_the_default_site_is_the_back_office_site_with_its_urls_and_app_labels_unchanged(admin_client):
    response = admin_client.get("/admin/")

    assert isinstance(admin.site, BackOfficeSite)
    sales = next(app for app in response.context["app_list"] if app["app_label"] == "orders")
    assert sales["app_url"] == "/admin/orders/"
    assert [m["admin_url"] for m in sales["models"]] == ["/admin/orders/customer/", "/admin/orders/order/",
                                                         "/admin/orders/payment/"]
    app_page = admin_client.get("/admin/orders/")
    assert app_page.status_code == 200 and app_page.context["title"] == "Sales administration"


def test_the_index_lists_sales_stock_and_allocation_in_that_order_and_authentication_last(admin_client):
    response = admin_client.get("/admin/")

    apps = response.context["app_list"]
    assert app_names(apps)[:3] == ["Sales", "Stock", "Allocation"]
    assert app_names(apps)[-1] == "Authentication and Authorization"
    assert model_names(apps, "orders") == ["Customers", "Orders", "Payments"]
    assert model_names(apps, "stock") == ["Items", "Lots"]
    assert model_names(apps, "allocation") == ["Allocation runs", "Allocation results", "Closed periods", "Events",
                                               "Webhook endpoints", "Deliveries"]
    captions = re.findall(r'<caption[^>]*>\s*<a href="/admin/(\w+)/"', response.content.decode())
    assert captions[:3] == ["orders", "stock", "allocation"] and captions[-1] == "auth"
    assert 'id="backoffice-dashboard"' in response.content.decode()  # the dashboard is still on the index


def test_the_sidebar_lists_the_apps_in_the_same_order_in_japanese(admin_client):
    response = admin_client.get("/admin/stock/lot/", HTTP_ACCEPT_LANGUAGE="ja")

    apps = response.context["available_apps"]
    assert app_names(apps)[:3] == ["販売", "在庫", "引当"] and app_names(apps)[-1] == "認証と認可"
    assert model_names(apps, "orders") == ["顧客", "受注", "入金"]


def test_the_sidebar_groups_the_models_by_task_and_marks_the_page_open(admin_client):
    navigation = admin_client.get("/admin/stock/lot/").context["sidebar_navigation"]

    assert [str(group.get("title", "")) for group in navigation] == [
        "", "Sales", "Stock", "Allocation", "Token Blacklist", "Authentication and Authorization"]
    assert [(str(item["title"]), item["link"]) for item in navigation[2]["items"]] == [
        ("Items", "/admin/stock/item/"), ("Lots", "/admin/stock/lot/")]
    assert [str(item["title"]) for item in navigation[0]["items"]] == ["Dashboard"]
    assert [str(item["title"]) for group in navigation for item in group["items"] if item["active"]] == ["Lots"]


def test_the_sidebar_shows_a_user_only_the_models_they_may_see(client, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)

    navigation = client.get("/admin/orders/order/").context["sidebar_navigation"]

    assert [(str(group.get("title", "")), [str(item["title"]) for item in group["items"]]) for group in navigation] == [
        ("", ["Dashboard"]), ("Sales", ["Orders"])]


def test_a_list_works_out_its_column_headers_once_not_once_per_row(admin_client, monkeypatch):
    from unfold.templatetags import unfold_list

    for n in range(5):
        ItemFactory(item_code=f"I{n}")
    compute, calls = unfold_list.result_headers.computes, []
    monkeypatch.setattr(unfold_list.result_headers, "computes", lambda cl: calls.append(cl) or compute(cl))

    page = list_page(admin_client.get("/admin/stock/item/"))

    assert len(calls) == 1 and page.count('<td class="field-on_hand">') == 5


def test_the_themes_own_words_are_japanese_too(admin_client):
    page = admin_client.get("/admin/stock/lot/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()

    assert 'placeholder="入力して検索"' in page and "フィルタ" in page and "バックオフィス" in page


def test_a_login_without_a_next_page_opens_the_dashboard(client, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")

    response = client.post("/admin/login/", {"username": "boss", "password": "pw"})

    assert (response.status_code, response["Location"]) == (302, "/admin/")


@pytest.mark.parametrize(("language", "name", "title"), [
    ("en", "Inventory allocation", "Dashboard | Inventory allocation"),
    ("ja", "在庫引当", "ダッシュボード | 在庫引当"),
])
def test_the_header_and_the_title_say_the_products_name(admin_client, language, name, title):
    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert re.search(rf'<div id="site-name">\s*<a href="/admin/">\s*{name}\s*</a>', page)
    assert re.search(rf"<title>\s*{re.escape(title)}</title>", page)
    assert "Django" not in page.split('id="content"')[0]  # the title, the sidebar and the header


# --- the language switch ----------------------------------------------------------------------------------

def test_the_login_page_has_the_language_switch_that_posts_with_the_csrf_token_and_comes_back(db):
    # given: a browser that must send the CSRF token
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/?next=/admin/").content.decode()
    form = language_switch(page)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    # then: the switch offers both languages, each in its own words, and names this page to come back to
    assert 'action="/i18n/setlang/" method="post"' in form
    assert '<input type="hidden" name="next" value="/admin/login/?next=/admin/">' in form
    assert re.findall(r'name="language" value="(\w+)" lang="\w+" aria-pressed="(\w+)">([^<]+)<', form) == [
        ("en", "true", "English"), ("ja", "false", "日本語")]
    # when: posted without the token it is refused
    assert client.post("/i18n/setlang/", {"language": "ja", "next": "/admin/login/"}).status_code == 403
    # when: posted as the page does
    response = client.post("/i18n/setlang/", {"language": "ja", "next": "/admin/login/?next=/admin/",
                                              "csrfmiddlewaretoken": token})
    # then: back to the same page, which is now in Japanese, and the choice is kept for a year
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")
    cookie = response.cookies["django_language"]
    assert (cookie.value, cookie["max-age"]) == ("ja", ONE_YEAR)
    page = client.get(response["Location"]).content.decode()
    assert 'lang="ja"' in page and "在庫引当" in page and "ログイン" in page
    assert 'value="ja" lang="ja" aria-pressed="true"' in language_switch(page)


def test_every_admin_page_has_the_language_switch_back_to_itself(admin_client, db):
    lot = LotFactory(reference="L1")

    for path in ("/admin/", "/admin/stock/lot/?q=L1&o=1", f"/admin/stock/lot/{lot.pk}/change/", "/admin/password_change/"):
        form = language_switch(admin_client.get(path).content.decode())
        assert f'name="next" value="{path.replace("&", "&amp;")}"' in form, path


def test_the_language_chosen_wins_over_the_browsers(admin_client):
    admin_client.post("/i18n/setlang/", {"language": "ja", "next": "/admin/"})

    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'lang="ja"' in page and "在庫引当" in page


# --- dates and numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "shown"), [("en", "2026-12-02"), ("ja", "2026/12/02")])
def test_a_date_reads_iso_in_english_and_with_slashes_in_japanese(admin_client, language, shown):
    lot = LotFactory(reference="L1", received_on=date(2026, 12, 2))

    listed = list_page(admin_client.get("/admin/stock/lot/", HTTP_ACCEPT_LANGUAGE=language))
    form = admin_client.get(f"/admin/stock/lot/{lot.pk}/change/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'<td class="field-received_on">{shown}</td>' in listed
    assert re.search(rf'<input type="text" name="received_on" value="{shown}"', form)  # what the calendar writes


@pytest.mark.parametrize(("language", "typed"), [("en", "2026-12-02"), ("ja", "2026/12/02"), ("ja", "2026-12-02")])
def test_a_date_typed_as_shown_or_in_iso_saves_through_the_lot_form(admin_client, language, typed):
    response = admin_client.post("/admin/stock/lot/add/", lot_form(received_on=typed), HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Lot.objects.get(reference="L1").received_on == date(2026, 12, 2)


def test_an_ambiguous_us_date_is_refused_in_english(admin_client):
    response = admin_client.post("/admin/stock/lot/add/", lot_form(received_on="12/02/2026"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["received_on"] == ["Enter a valid date."]
    assert not Lot.objects.exists()


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_big_number_reads_with_thousands_separators_on_a_list_page(admin_client, language):
    LotFactory(reference="L1", quantity=1234567, unit_cost=Decimal("1234.5"))

    page = list_page(admin_client.get("/admin/stock/lot/", HTTP_ACCEPT_LANGUAGE=language))

    assert '<td class="field-quantity">1,234,567</td>' in page
    assert '<td class="field-unit_cost_shown">1,234.5000</td>' in page


def test_quantities_of_a_thousand_and_more_save_through_the_lot_form_and_come_back_plain(admin_client):
    # when: a lot of 1500 is added, then raised to 2500, in Japanese
    admin_client.post("/admin/stock/lot/add/", lot_form(), HTTP_ACCEPT_LANGUAGE="ja")
    lot = Lot.objects.get(reference="L1")
    response = admin_client.post(f"/admin/stock/lot/{lot.pk}/change/", lot_form(quantity="2500", unit_cost="1234.5"),
                                 HTTP_ACCEPT_LANGUAGE="ja")
    # then
    assert response.status_code == 302
    lot.refresh_from_db()
    assert (lot.quantity, lot.unit_cost) == (2500, Decimal("1234.5"))
    form = admin_client.get(f"/admin/stock/lot/{lot.pk}/change/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'name="quantity" value="2500"' in form and 'name="unit_cost" value="1234.5000"' in form


def test_an_item_price_of_a_thousand_and_more_saves_through_the_item_form(admin_client):
    item = ItemFactory(item_code="WIDGET", name="Widget")
    data = {"item_code": "WIDGET", "name": "Widget", "category": "", "unit_price": "12345.50", "unit": "pcs",
            "is_active": "on"}

    response = admin_client.post(f"/admin/stock/item/{item.pk}/change/", data)

    assert response.status_code == 302
    assert Item.objects.get(pk=item.pk).unit_price == Decimal("12345.50")


def test_an_order_line_of_a_thousand_and_more_saves_through_the_order_form(admin_client):
    widget = ItemFactory(item_code="WIDGET")
    data = {"order_number": "O1", "customer": "", "order_date": "2026/01/20", "priority": "0", "note": "",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000", "lines-0-item": widget.pk, "lines-0-quantity": "1200",
            "lines-0-unit_price": "1500.00"}

    response = admin_client.post("/admin/orders/order/add/", data, HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 302
    order = Order.objects.get(order_number="O1")
    assert order.order_date == date(2026, 1, 20)
    assert [(line.quantity, line.unit_price) for line in order.lines.all()] == [(1200, Decimal("1500.00"))]


def test_the_api_keeps_plain_numbers_and_iso_dates_in_every_language(admin_client):
    LotFactory(reference="L1", quantity=1234567, unit_cost=Decimal("1234.5"), received_on=date(2026, 12, 2))

    english = admin_client.get("/api/v1/lots/", HTTP_ACCEPT_LANGUAGE="en").json()
    japanese = admin_client.get("/api/v1/lots/", HTTP_ACCEPT_LANGUAGE="ja").json()

    lot = english["results"][0]
    assert (lot["quantity"], lot["unit_cost"], lot["received_on"]) == (1234567, "1234.5000", "2026-12-02")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+09:00", lot["created_at"])
    assert japanese == english
