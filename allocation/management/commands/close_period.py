"""python manage.py close_period 2026-01 [--dry-run]"""
from django.core.management.base import BaseCommand

from allocation.management.commands._common import command_error
from allocation.services import period_close
from allocation.sql import long_statements
from inventory_alloc.errors import DomainError


class Command(BaseCommand):
    help = "Close a total-average (総平均法) period: re-cost its provisional picks with the final average."

    def add_arguments(self, parser) -> None:
        parser.add_argument("period", help="YYYY-MM (or YYYY when ALLOCATION_PERIOD=year)")
        parser.add_argument("--dry-run", action="store_true", help="show what would be re-costed, change nothing")

    def handle(self, *args, period: str, dry_run: bool, **options) -> None:
        try:
            with long_statements():
                report = period_close(period=period, dry_run=dry_run)
        except DomainError as error:
            raise command_error(error)
        verb = "Would re-cost" if dry_run else "Closed"
        self.stdout.write(f"{verb} period {report.period} ({report.start} to {report.end}): "
                          f"{len(report.recosted)} total-average results.")
        for code, average in sorted(report.averages.items()):
            self.stdout.write(f"  {code}: final average {average}")
        for r in report.recosted:
            self.stdout.write(f"  result {r.result_id} {r.order_number} {r.item_code} {r.lot} × {r.quantity}: "
                              f"{r.old_unit_cost} -> {r.new_unit_cost}, {r.old_amount} -> {r.new_amount}")
