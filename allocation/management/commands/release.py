"""python manage.py release --order N [--lot REF] | --results 1,2,3"""
from django.core.management.base import BaseCommand, CommandError

from allocation.management.commands._common import command_error
from allocation.services import allocation_release
from inventory_alloc.errors import DomainError


class Command(BaseCommand):
    help = "Release an order's active allocations (optionally only on one lot), or the given results."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--order", type=int, help="order id")
        parser.add_argument("--lot", help="only the results on this lot (reference)")
        parser.add_argument("--results", help="result ids, comma-separated")

    def handle(self, *args, order=None, lot=None, results=None, **options) -> None:
        if order is None and not results:
            raise CommandError("Give --order N (optionally with --lot REF) or --results 1,2,3.")
        try:
            ids = [int(r) for r in results.split(",")] if results else None
        except ValueError:
            raise CommandError(f'--results takes result ids separated by commas, not "{results}".') from None
        try:
            report = allocation_release(order=order, lot=lot, results=ids)
        except DomainError as error:
            raise command_error(error)
        self.stdout.write(f"Released {report.released} results, {report.quantity} units back to their lots.")
