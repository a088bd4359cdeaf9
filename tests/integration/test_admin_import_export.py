"""CSV / Excel import (with its preview and row errors) and export, through the admin."""
import io
from datetime import date
from decimal import Decimal

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from allocation.services import allocation_run
from orders.models import Order, OrderLine
from stock.models import Item, Lot
from tests.factories import CustomerFactory, ItemFactory, LotFactory

CSV_FORMAT, XLSX_FORMAT = "0", "1"  # the order of ImportExportPermissions.import_formats


def upload(client, model_path: str, name: str, content: bytes, file_format: str = CSV_FORMAT):
    """Post the first import step: the dry run that previews every row."""
    return client.post(f"/admin/{model_path}/import/", {
        "format": file_format, "import_file": SimpleUploadedFile(name, content),
    })


def confirm(client, model_path: str, preview):
    """Post the confirmation step with the hidden fields of the preview's confirm form."""
    form = preview.context["confirm_form"]
    return client.post(f"/admin/{model_path}/process_import/", {**form.initial}, follow=True)


def test_a_lot_file_with_one_bad_row_shows_the_row_error_and_saves_nothing(admin_client, db):
    # given: the second row has a quantity that is not a number
    ItemFactory(item_code="WIDGET")
    csv = (
        b"reference,item_code,quantity,unit_cost,received_on,eta,expires_on,note\n"
        b"L1,WIDGET,100,10.0000,2026-01-05,,,\n"
        b"L2,WIDGET,lots,13.0000,2026-01-10,,,\n"
    )
    # when
    response = upload(admin_client, "stock/lot", "lots.csv", csv)
    # then
    page = response.content.decode()
    assert response.status_code == 200
    result = response.context["result"]
    # row 3 of the spreadsheet: the header is row 1
    assert result.has_validation_errors() and [row.number for row in result.invalid_rows] == [3]
    assert "quantity" in result.invalid_rows[0].field_specific_errors
    assert "Some rows failed to validate" in page and '&quot;lots&quot; is not a whole number.' in page
    assert "confirm_form" not in response.context  # no way to go on with this file
    assert Lot.objects.count() == 0


def test_an_unknown_item_code_is_a_row_error(admin_client, db):
    csv = b"reference,item_code,quantity,unit_cost,received_on\nL9,NOPE,5,1.0000,2026-01-05\n"

    response = upload(admin_client, "stock/lot", "lots.csv", csv)

    errors = response.context["result"].invalid_rows[0].field_specific_errors
    assert errors["item"] == ['No item "NOPE".']
    assert Lot.objects.count() == 0


def test_a_good_item_file_imports_after_the_preview(admin_client, db):
    # given
    csv = b"item_code,name,category,unit_price,unit,is_active\nWIDGET,Widget,Parts,20.00,pcs,1\nGADGET,Gadget,Parts,35.50,pcs,1\n"
    # when
    preview = upload(admin_client, "stock/item", "items.csv", csv)
    assert Item.objects.count() == 0  # the preview saved nothing
    response = confirm(admin_client, "stock/item", preview)
    # then
    assert response.status_code == 200
    assert dict(Item.objects.values_list("item_code", "unit_price")) == {"WIDGET": Decimal("20.00"), "GADGET": Decimal("35.50")}


def test_an_excel_lot_file_imports_and_cannot_set_allocated_quantity(admin_client, db):
    # given: an xlsx file with an allocated_quantity column, which is ignored
    ItemFactory(item_code="WIDGET")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["reference", "item_code", "quantity", "unit_cost", "received_on", "allocated_quantity"])
    sheet.append(["L1", "WIDGET", 100, 10, "2026-01-05", 60])
    buffer = io.BytesIO()
    book.save(buffer)
    # when
    preview = upload(admin_client, "stock/lot", "lots.xlsx", buffer.getvalue(), XLSX_FORMAT)
    confirm(admin_client, "stock/lot", preview)
    # then
    lot = Lot.objects.get(reference="L1")
    assert (lot.quantity, lot.allocated_quantity, lot.item.item_code) == (100, 0, "WIDGET")


def test_a_lot_import_cannot_shrink_a_lot_below_what_is_allocated(admin_client, widget_example):
    # given: FIFO takes 100 of L1
    allocation_run(method="FIFO", orders=[widget_example["orders"]["O1"]], as_of=date(2026, 1, 25))
    csv = b"reference,item_code,quantity,unit_cost,received_on\nL1,WIDGET,50,10.0000,2026-01-05\n"
    # when
    response = upload(admin_client, "stock/lot", "lots.csv", csv)
    # then
    errors = response.context["result"].invalid_rows[0].field_specific_errors
    assert "release them first" in errors["quantity"][0]
    assert Lot.objects.get(reference="L1").quantity == 100


def test_an_order_file_groups_its_lines_into_orders(admin_client, db):
    # given
    CustomerFactory(code="CUST-001")
    ItemFactory(item_code="WIDGET")
    ItemFactory(item_code="GADGET")
    LotFactory(reference="G1", item=Item.objects.get(item_code="GADGET"))
    csv = (
        b"order_number,customer,order_date,priority,item_code,quantity,unit_price,lot\n"
        b"SO-1,CUST-001,2026-01-06,2,WIDGET,120,25.00,\n"
        b"SO-1,CUST-001,2026-01-06,2,GADGET,5,,G1\n"
        b"SO-2,,2026-01-12,0,WIDGET,60,25.00,\n"
    )
    # when
    preview = upload(admin_client, "orders/order", "orders.csv", csv)
    assert Order.objects.count() == 0
    confirm(admin_client, "orders/order", preview)
    # then
    so1 = Order.objects.get(order_number="SO-1")
    assert (so1.customer.code, so1.order_date, so1.priority) == ("CUST-001", date(2026, 1, 6), 2)
    assert sorted(so1.lines.values_list("item__item_code", "quantity", "lot__reference")) == [
        ("GADGET", 5, "G1"), ("WIDGET", 120, None),
    ]
    assert Order.objects.get(order_number="SO-2").customer is None
    assert OrderLine.objects.count() == 3


def test_an_order_file_with_one_bad_row_saves_no_order(admin_client, db):
    ItemFactory(item_code="WIDGET")
    csv = (
        b"order_number,customer,order_date,priority,item_code,quantity,unit_price,lot\n"
        b"SO-1,,2026-01-06,0,WIDGET,10,,\n"
        b"SO-2,NOBODY,2026-01-06,0,WIDGET,10,,\n"
    )

    response = upload(admin_client, "orders/order", "orders.csv", csv)

    assert [row.number for row in response.context["result"].invalid_rows] == [3]  # the spreadsheet's row 3
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0


def test_lines_cannot_be_imported_into_an_allocated_order(admin_client, widget_example):
    allocation_run(method="FIFO", orders=[widget_example["orders"]["O1"]], as_of=date(2026, 1, 25))
    csv = b"order_number,customer,order_date,priority,item_code,quantity,unit_price,lot\nO1,,2026-01-06,0,WIDGET,999,,\n"

    response = upload(admin_client, "orders/order", "orders.csv", csv)

    errors = response.context["result"].invalid_rows[0].field_specific_errors
    assert errors["order_number"][0] == "Order O1 holds allocations for 120 units: release them first."


def test_allocation_results_export_as_csv_with_amounts(admin_client, widget_example):
    orders = widget_example["orders"]
    allocation_run(method="FIFO", orders=[orders["O1"], orders["O2"]], as_of=date(2026, 1, 25))

    response = admin_client.post("/admin/allocation/allocationresult/export/", {
        "format": "0", "allocationresultresource_allocated_price": "on", "allocationresultresource_lot": "on",
        "allocationresultresource_order": "on", "resource": "0",
    })

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = response.content.decode().splitlines()
    assert set(rows[0].split(",")) == {"order_number", "lot", "amount"}
    assert any("L1" in row and "1000.00" in row for row in rows[1:])
    assert len(rows) == 5


def test_runs_export_as_csv(admin_client, widget_example):
    allocation_run(method="LIFO", orders=[widget_example["orders"]["O1"]], as_of=date(2026, 1, 25))

    response = admin_client.post("/admin/allocation/allocationrun/export/", {
        "format": "0", "resource": "0", "allocationrunresource_method": "on", "allocationrunresource_allocated_amount": "on",
    })

    assert response.status_code == 200
    assert response.content.decode().splitlines()[1:] == ["LIFO,1410.00"]


def test_staff_who_may_only_view_lots_get_no_import_but_may_export(client, django_user_model, db):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_lot"))
    client.force_login(viewer)

    page = client.get("/admin/stock/lot/").content.decode()

    assert "/admin/stock/lot/import/" not in page and "/admin/stock/lot/export/" in page
    assert client.get("/admin/stock/lot/import/").status_code == 403


def export(client, model_path: str, resource: str, columns: list[str], query: str = ""):
    data = {"format": "0", "resource": "0", **{f"{resource}_{column}": "on" for column in columns}}
    response = client.post(f"/admin/{model_path}/export/{query}", data)
    assert response.status_code == 200, response.content[:500]
    return response


def test_an_export_is_named_after_the_business_date(admin_client, widget_example, clock):
    clock(date(2026, 3, 31))  # noon in Tokyo; whatever the server's clock says, the file says the business date
    response = export(admin_client, "stock/lot", "lotexportresource", ["reference"])
    assert response["Content-Disposition"] == 'attachment; filename="Lot-2026-03-31.csv"'


def test_lots_export_with_allocated_shipped_and_available_and_the_file_imports_back(admin_client, widget_example):
    orders = widget_example["orders"]
    allocation_run(method="FIFO", orders=[orders["O1"], orders["O2"]], as_of=date(2026, 1, 25))
    columns = ["reference", "item", "quantity", "unit_cost", "received_on", "eta", "expires_on", "note",
               "allocated_quantity", "shipped_quantity", "available_quantity"]
    content = export(admin_client, "stock/lot", "lotexportresource", columns).content
    rows = content.decode().splitlines()
    assert rows[0].split(",")[-3:] == ["allocated_quantity", "shipped_quantity", "available_quantity"]
    l2 = next(row for row in rows if row.startswith("L2,"))
    assert l2.endswith(",50,0,0") and ",13.0000," in l2  # plain numbers, whatever the page's separators
    # the exported file imports back: the three columns are ignored, nothing changes
    preview = upload(admin_client, "stock/lot", "lots.csv", content.replace(b",50,0,0", b",0,0,50"))
    assert not preview.context["result"].has_validation_errors()
    confirm(admin_client, "stock/lot", preview)
    assert Lot.objects.get(reference="L2").allocated_quantity == 50


def test_orders_export_one_row_per_line_of_the_listed_orders_and_import_back(admin_client, widget_example):
    columns = ["order", "customer", "order_date", "priority", "item", "quantity", "unit_price", "lot"]
    content = export(admin_client, "orders/order", "orderlineresource", columns, "?q=O1").content
    rows = content.decode().splitlines()
    assert rows[0] == "order_number,customer,order_date,priority,item_code,quantity,unit_price,lot"
    assert len(rows) == 2 and rows[1].startswith("O1,") and ",2026-01-06," in rows[1] and ",WIDGET,120," in rows[1]
    preview = upload(admin_client, "orders/order", "orders.csv", content.replace(b",120,", b",125,"))
    assert not preview.context["result"].has_validation_errors()
    confirm(admin_client, "orders/order", preview)
    assert OrderLine.objects.get(order__order_number="O1").quantity == 125


def test_payments_export(admin_client, db):
    from orders.models import Payment

    customer = CustomerFactory(code="C9")
    Payment.objects.create(customer=customer, amount=Decimal("1234.50"), due_date=date(2026, 1, 31))
    rows = export(admin_client, "orders/payment", "paymentresource", ["customer", "amount", "due_date"]).content
    assert rows.decode().splitlines()[1:] == ["C9,1234.50,2026-01-31"]


# --- the file kept for a retry ----------------------------------------------------------------------------

LOTS_WITH_NOPE = b"reference,item_code,quantity,unit_cost,received_on\nL9,NOPE,5,1.0000,2026-01-05\n"


def test_a_failed_imports_file_is_kept_and_checked_again_without_choosing_it(admin_client, db):
    # given: a try that fails on an item nobody has entered yet
    first = upload(admin_client, "stock/lot", "lots-nope.csv", LOTS_WITH_NOPE)
    kept = first.context["form"].data["kept_file"]
    page = first.content.decode()
    assert f'name="kept_file" value="{kept}"' in page and "lots-nope.csv is kept" in page
    # when: the item is entered, and Submit is pressed again with no file chosen
    ItemFactory(item_code="NOPE")
    second = admin_client.post("/admin/stock/lot/import/", {"format": CSV_FORMAT, "kept_file": kept})
    # then: the same file passes, and confirming it imports the lot
    assert not second.context["result"].has_validation_errors() and "confirm_form" in second.context
    confirm(admin_client, "stock/lot", second)
    assert list(Lot.objects.values_list("reference", "quantity")) == [("L9", 5)]


def test_a_kept_file_is_also_kept_when_the_format_was_wrong(admin_client, db):
    ItemFactory(item_code="NOPE")
    # when: the CSV is sent as Excel, then again as CSV without choosing it
    first = upload(admin_client, "stock/lot", "lots.csv", LOTS_WITH_NOPE, file_format=XLSX_FORMAT)
    assert first.context["form"].errors["import_file"]
    second = admin_client.post("/admin/stock/lot/import/",
                               {"format": CSV_FORMAT, "kept_file": first.context["form"].data["kept_file"]})
    # then
    assert "confirm_form" in second.context


def test_a_forged_or_foreign_kept_file_is_refused_in_words_and_nothing_is_imported(
        admin_client, client, django_user_model, db):
    ItemFactory(item_code="NOPE")
    first = upload(admin_client, "stock/lot", "lots.csv", LOTS_WITH_NOPE.replace(b"NOPE", b"GONE"))
    kept = first.context["form"].data["kept_file"]
    other = django_user_model.objects.create_superuser("other", "other@example.com", "pw")
    client.force_login(other)
    message = "The file kept from the last try is no longer available: choose the file again."
    for who, token in ((admin_client, kept[:-2] + "xx"), (client, kept), (admin_client, "")):
        response = who.post("/admin/stock/lot/import/", {"format": CSV_FORMAT, "kept_file": token})
        errors = response.context["form"].errors["import_file"]
        assert errors == ([message] if token else ["This field is required."])
    assert Lot.objects.count() == 0


def test_the_export_page_names_its_columns_in_the_pages_language(admin_client, db):
    page = admin_client.get("/admin/stock/lot/export/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()

    assert "単価 (unit_cost)" in page and "引当可能数量 (available_quantity)" in page and "形式を選択" in page
