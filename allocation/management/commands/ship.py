"""python manage.py ship ORDER_NUMBER [--line LINE_ID[:QTY] ...] [--reference R] [--json]"""
from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError

from allocation.management.commands._common import command_error, dump
from allocation.shipping import LineRequest, order_ship
from inventory_alloc.errors import DomainError
from orders.models import Order


def _line(text: str) -> LineRequest:
    """Read `LINE_ID` or `LINE_ID:QTY`."""
    line, _, quantity = text.partition(":")
    try:
        return LineRequest(int(line), int(quantity) if quantity else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f'takes LINE_ID or LINE_ID:QUANTITY (whole numbers), not "{text}"') from None


class Command(BaseCommand):
    help = "Ship an order's allocated units: all of them, or the lines (and quantities) given."

    def add_arguments(self, parser) -> None:
        parser.add_argument("order", help="the order number")
        parser.add_argument("--line", action="append", type=_line, dest="lines", metavar="LINE_ID[:QTY]",
                            help="a line to ship and, optionally, how many units (repeat for more lines); "
                                 "without --line everything allocated and not shipped ships")
        parser.add_argument("--reference", default="", help="the warehouse's or carrier's reference (once per order)")
        parser.add_argument("--json", action="store_true", help="print the shipment as JSON")

    def handle(self, *args, order: str, lines: list[LineRequest] | None, reference: str, **options) -> None:
        order_id = Order.objects.filter(order_number=order).values_list("id", flat=True).first()
        if order_id is None:
            raise CommandError(f'No order "{order}".')
        try:
            report = order_ship(order=order_id, lines=lines, reference=reference)
        except DomainError as error:
            raise command_error(error)
        if options["json"]:
            self.stdout.write(dump({"shipment": report.shipment.pk, "order": order, "status": report.status,
                                    "quantity": report.quantity, "reference": report.shipment.reference,
                                    "lines": report.lines}))
            return
        self.stdout.write(f"Shipped {report.quantity} units of order {order} (shipment #{report.shipment.pk}); "
                          f"status {report.status}.")
        for line in report.lines:
            picks = ", ".join(f"{p['lot_reference']} {p['quantity']}" for p in line["picks"])
            self.stdout.write(f"  line {line['line']} {line['item_code']}: {line['quantity']} ({picks})")
