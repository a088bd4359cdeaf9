"""What a clerk sees where they work: stock per item, an order's allocation on its page, its buttons."""
from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission

from allocation.releases import allocation_release
from allocation.services import allocation_run
from allocation.shipping import order_ship
from orders.models import Order, OrderLine, OrderStatus
from stock.models import Item
from tests.admin_support import list_page
from tests.factories import ItemFactory, LotFactory, order_with_lines

JAN_25 = date(2026, 1, 25)


@pytest.fixture
def allocated(widget_example, admin_user):
    orders = widget_example["orders"]
    allocation_run(method="FIFO", orders=[orders["O1"], orders["O2"]], as_of=JAN_25, user=admin_user)
    return widget_example


def row_of(page: str, code: str) -> str:
    start = page.index(f">{code}</a>")
    return page[start:page.index("</tr>", start)]


def test_the_items_list_shows_on_hand_allocated_available_inbound_and_next_expiry(admin_client, allocated):
    # given: O1 ships 120 (L1 100, L2 20); an empty item and one with an expiring lot
    order_ship(order=allocated["orders"]["O1"])
    LotFactory(reference="L5", item=allocated["item"], received_on=date(2026, 1, 21), quantity=1000,
               unit_cost=Decimal("9"), expires_on=date(2027, 3, 1))
    ItemFactory(item_code="EMPTY")
    # when
    page = list_page(admin_client.get("/admin/stock/item/"))
    # then: received 100+50+100+1000, 120 shipped → 1,130 on hand; 180 allocated − 120 shipped = 60 held;
    # received − allocated = 1,250 − 180 = 1,070 available; L4's 200 inbound; L5 expires first
    cells = row_of(page, "WIDGET")
    for column, shown in (("on_hand", "1,130"), ("allocated", "60"), ("available", "1,070"), ("inbound", "200")):
        assert f'class="field-{column}">{shown}</td>' in cells, column
    assert "03" in cells.split('class="field-next_expiry')[1].split("</td>")[0]  # 2027-03-01, as the language writes it
    empty = row_of(page, "EMPTY")
    assert 'class="field-on_hand">0</td>' in empty and 'class="field-inbound">0</td>' in empty


def test_the_items_list_sorts_by_stock_and_runs_the_same_queries_whatever_its_length(
        admin_client, allocated, django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        admin_client.get("/admin/stock/item/?o=-4")
    for n in range(30):
        LotFactory(item=ItemFactory(item_code=f"X{n:03d}"), quantity=n + 1, received_on=date(2026, 1, 2))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get("/admin/stock/item/?o=-4").content.decode()
    # sorted by available, most first: WIDGET (70) before X029 (30)
    assert page.index(">WIDGET</a>") < page.index(">X029</a>") < page.index(">X000</a>")


def test_an_items_page_lists_its_lots_with_their_figures_and_links_to_all(admin_client, allocated):
    item = Item.objects.get(item_code="WIDGET")
    page = admin_client.get(f"/admin/stock/item/{item.pk}/change/").content.decode()
    assert 'class="item-lots"' in page and 'class="item-stock"' in page
    assert page.index(">L4</a>") < page.index(">L1</a>")  # newest first
    assert f"/admin/stock/lot/?item__id__exact={item.pk}" in page
    assert admin_client.get(f"/admin/stock/lot/?item__id__exact={item.pk}").status_code == 200


def test_the_order_page_shows_each_line_its_picks_and_the_allocated_total(admin_client, allocated):
    o1 = allocated["orders"]["O1"]
    page = admin_client.get(f"/admin/orders/order/{o1.pk}/change/").content.decode()
    table = page[page.index('id="order-allocation"'):page.index("</table>", page.index('id="order-allocation"'))]
    assert "WIDGET Widget" in table
    # 120 ordered, 120 allocated, 0 shipped, 0 short; L1 100 × 10 and L2 20 × 13; cost 1,260 (JPY: no decimals)
    assert "<td>120</td><td>120</td><td>0</td>" in table
    assert "10.0000 = 1,000" in table and "13.0000 = 260" in table
    assert "<td>1,260</td>" in table.split("<tfoot>")[1]
    # and the lines read plainly in the inline
    assert str(OrderLine.objects.select_related("item").get(order=o1)) == "WIDGET Widget × 120"


def test_money_follows_the_currency_setting(admin_client, allocated, settings):
    settings.CURRENCY = "USD"
    o1 = allocated["orders"]["O1"]
    page = admin_client.get(f"/admin/orders/order/{o1.pk}/change/").content.decode()
    assert "13.0000 = 260.00" in page and "<td>1,260.00</td>" in page


def test_the_order_page_allocates_with_the_preview_and_cancels_with_the_confirmation(admin_client, widget_example):
    o1 = widget_example["orders"]["O1"]
    page = admin_client.get(f"/admin/orders/order/{o1.pk}/change/").content.decode()
    assert 'id="order-allocate"' in page and 'id="order-cancel"' in page
    # when: the Allocate… button posts the action for this one order
    preview = admin_client.post("/admin/orders/order/", {"action": "allocate_orders", "index": "0",
                                                         "_selected_action": [str(o1.pk)]})
    # then: the allocate page, for O1 only
    assert preview.status_code == 200
    assert preview.templates[0].name == "admin/orders/order/allocate.html"
    assert [o.order_number for o in preview.context["orders"]] == ["O1"]
    # when: Cancel order… for this one order
    confirm = admin_client.post("/admin/orders/order/", {"action": "cancel_orders", "index": "0",
                                                         "_selected_action": [str(o1.pk)]})
    assert confirm.status_code == 200 and b"Yes, cancel the orders" in confirm.content
    assert Order.objects.get(pk=o1.pk).status == OrderStatus.OPEN  # nothing happens before the confirmation


def test_a_shipped_order_has_no_allocate_or_cancel_button_and_a_clerk_without_the_right_sees_none(
        client, admin_client, allocated, django_user_model):
    o1 = allocated["orders"]["O1"]
    order_ship(order=o1)
    page = admin_client.get(f"/admin/orders/order/{o1.pk}/change/").content.decode()
    assert 'id="order-allocate"' not in page and 'id="order-cancel"' not in page
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    o2 = allocated["orders"]["O2"]
    page = client.get(f"/admin/orders/order/{o2.pk}/change/").content.decode()
    assert 'id="order-actions"' not in page and 'id="order-allocation"' in page


def test_orders_filter_by_customer_and_by_item_typed_in(admin_client, widget_example):
    gadget = ItemFactory(item_code="GADGET")
    o3 = order_with_lines("O3", date(2026, 1, 14), (gadget, 5))
    customer = o3.customer

    def numbers(query: str) -> list[str]:
        response = admin_client.get(f"/admin/orders/order/?{query}")
        assert response.status_code == 200
        return sorted(o.order_number for o in response.context["cl"].result_list)

    assert numbers("item=gadget") == ["O3"]
    assert numbers("item=WIDGET") == ["O1", "O2"]
    assert numbers(f"customer={customer.code}") == sorted(
        Order.objects.filter(customer=customer).values_list("order_number", flat=True))
    assert numbers("item=NOPE") == []
    # the filter is a text box that keeps the other filters
    page = admin_client.get("/admin/orders/order/?status__exact=open&item=WIDGET").content.decode()
    assert 'name="item" value="WIDGET"' in page and 'name="status__exact" value="open"' in page


def test_lots_filter_by_expiring_within_days_and_the_dashboard_links_there(admin_client, widget_example, clock):
    clock(date(2026, 1, 25))
    item = widget_example["item"]
    LotFactory(reference="SOON", item=item, received_on=date(2026, 1, 2), quantity=10, expires_on=date(2026, 2, 10))
    LotFactory(reference="LATER", item=item, received_on=date(2026, 1, 2), quantity=10, expires_on=date(2026, 6, 1))
    LotFactory(reference="GONE", item=item, received_on=date(2026, 1, 2), quantity=10, expires_on=date(2026, 1, 20))

    def references(query: str) -> list[str]:
        response = admin_client.get(f"/admin/stock/lot/?{query}")
        assert response.status_code == 200
        return sorted(lot.reference for lot in response.context["cl"].result_list)

    assert references("expiring=30") == ["SOON"]
    assert references("expiring=180") == ["LATER", "SOON"]
    assert references("expiring=expired") == ["GONE"]
    assert admin_client.get("/admin/stock/lot/?expiring=soon").status_code == 302  # Django's "?e=1": not a 500
    assert 'href="/admin/stock/lot/?expiring=30"' in admin_client.get("/admin/").content.decode()


def test_customers_show_their_score_in_the_list_and_its_parts_on_their_page(admin_client, widget_example,
                                                                           django_assert_max_num_queries):
    customer = widget_example["orders"]["O1"].customer
    page = list_page(admin_client.get("/admin/orders/customer/"))
    assert 'class="field-score">47.5</td>' in page  # neutral history (0.5 × 30 + 0.5 × 25), stock for all (20)
    detail = admin_client.get(f"/admin/orders/customer/{customer.pk}/change/").content.decode()
    assert 'id="customer-score"' in detail and "× 30" in detail
    with django_assert_max_num_queries(20) as few:
        admin_client.get("/admin/orders/customer/")
    for n in range(20):
        order_with_lines(f"X{n}", date(2026, 1, 3), (widget_example["item"], 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get("/admin/orders/customer/")


def test_an_open_orders_lines_show_their_chosen_item_and_lot_read_once(admin_client, widget_example):
    o1 = widget_example["orders"]["O1"]
    line = o1.lines.get()
    line.lot = widget_example["lots"]["L2"]
    line.save()
    page = admin_client.get(f"/admin/orders/order/{o1.pk}/change/").content.decode()
    item = widget_example["item"]
    assert f'<option value="{item.pk}" selected>{item}</option>' in page
    assert f'<option value="{line.lot_id}" selected>L2</option>' in page


def test_ids_past_a_thousand_stay_plain_in_links_and_forms_whatever_the_separators(admin_client, widget_example):
    # given: an order, a line and a lot with ids a separator would split ("1,500")
    from orders.models import Order as OrderModel

    o1 = widget_example["orders"]["O1"]
    big = OrderModel.objects.create(pk=1500, order_number="O1500", order_date=date(2026, 1, 8))
    OrderLine.objects.create(pk=2500, order=big, item=widget_example["item"], quantity=5)
    allocation_run(method="FIFO", orders=[o1, big], as_of=JAN_25)
    # then: the buttons post the id as it is, the pick list shows the line as it is
    page = admin_client.get("/admin/orders/order/1500/change/").content.decode()
    assert 'name="_selected_action" value="1500"' in page and 'value="1,500"' not in page  # the Cancel button
    pick_list = admin_client.get("/admin/orders/order/1500/pick-list/").content.decode()
    assert "<td>2500</td>" in pick_list and "2,500" not in pick_list


def test_a_read_only_orders_page_offers_no_blank_line(admin_client, allocated):
    o1 = allocated["orders"]["O1"]
    page = admin_client.get(f"/admin/orders/order/{o1.pk}/change/").content.decode()
    assert 'name="lines-0-quantity"' not in page and 'name="lines-1-item"' not in page


def test_lists_show_money_in_the_currencys_decimals_and_sort_by_it(admin_client, allocated, settings):
    page = list_page(admin_client.get("/admin/allocation/allocationresult/?o=8"))  # by amount
    assert 'class="field-allocated_price_shown">1,000</td>' in page and 'class="field-unit_cost_shown">10.0000' in page
    assert page.index(">345<") < page.index(">1,000<")  # ascending amounts
    settings.CURRENCY = "USD"
    page = list_page(admin_client.get("/admin/allocation/allocationrun/"))
    assert 'class="field-allocated_amount_shown">1,995.00</td>' in page


def test_orders_sorted_by_allocated_rank_every_page_as_the_column_reads_with_filters_kept(admin_client, monkeypatch, db):
    # given: 7 orders, 5 of them allocated (two with the same quantity, one then released), 2 not at all; 2 a page
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 2), quantity=1000, unit_cost=Decimal("10"))
    wanted = {"A": 30, "B": 50, "C": 30, "D": 10, "E": 70, "F": 20, "G": 40}
    orders = {n: order_with_lines(n, date(2026, 1, 3), (widget, q)) for n, q in wanted.items()}
    allocation_run(method="FIFO", orders=[orders[n] for n in "ABCDE"], as_of=date(2026, 1, 5))
    allocation_release(orders=[orders["E"]])
    order_admin = admin.site._registry[Order]
    monkeypatch.setattr(order_admin, "list_per_page", 2)
    column = ["action_checkbox", *order_admin.list_display].index("allocated")
    for sort in (f"-{column}", f"{column}"):
        for query in ("", "&order_number__in=A,B,C,D"):
            # when: every page of the list sorted by allocated
            shown = []
            for page in range(1, 5):
                response = admin_client.get(f"/admin/orders/order/?o={sort}&p={page}{query}")
                if response.status_code != 200:
                    break
                shown += [o.order_number for o in response.context["cl"].result_list]
            # then: the same orders in the same order as the column's own sort (NULLs as the database puts them)
            column_sorted = order_admin.get_queryset(None).filter(order_number__in=shown)
            expected = column_sorted.order_by(("-" if sort.startswith("-") else "") + "allocated_quantity", "-pk")
            assert shown == [o.order_number for o in expected], (sort, query)
            assert len(shown) == (4 if query else 7)
