"""python manage.py allocate --method FIFO [--orders 1,2] [--as-of 2026-01-25] [--policy priority] ..."""
from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from allocation.domain import DomainError
from allocation.management.commands._common import command_error, dump
from allocation.models import Method, Policy
from allocation.services import allocation_run, outcome_dict
from allocation.sql import long_statements


def _orders(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f'--orders takes order ids separated by commas, not "{text}".') from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f'--as-of takes a date as YYYY-MM-DD, not "{text}".') from None


class Command(BaseCommand):
    help = "Allocate open orders (or the given ones) with one method and print the run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--method", required=True, choices=Method.values)
        parser.add_argument("--orders", type=_orders, help="order ids, comma-separated (default: all open orders)")
        parser.add_argument("--as-of", type=_date, help="allocation date YYYY-MM-DD (default: today)")
        parser.add_argument("--policy", default=Policy.ORDER_DATE, choices=Policy.values)
        parser.add_argument("--no-partial", action="store_true", help="allocate an order only if every line fills")
        parser.add_argument("--no-inbound", action="store_true", help="never allocate lots not received yet")
        parser.add_argument("--dry-run", action="store_true", help="compute and print, write nothing")
        parser.add_argument("--json", action="store_true", help="print the run, outcomes and results as JSON")

    def handle(self, *args, **options) -> None:
        bar = self._progress_bar(options)
        try:
            with long_statements():
                report = allocation_run(
                    method=options["method"], orders=options["orders"], as_of=options["as_of"],
                    policy=options["policy"], allow_partial=not options["no_partial"],
                    allow_inbound=not options["no_inbound"], dry_run=options["dry_run"],
                    progress=bar.update if bar else None,
                )
        except DomainError as error:
            raise command_error(error)
        finally:
            if bar:
                bar.close()
        run = report.run
        if options["json"]:
            self.stdout.write(dump(run_as_dict(report)))
            return
        label = "Dry run" if run.dry_run else f"Run #{run.pk}"
        self.stdout.write(
            f"{label}: {run.method} as of {run.as_of}, policy {run.policy}: {run.orders_considered} orders considered, "
            f"{run.orders_fully_allocated} fully, {run.orders_partly_allocated} partly, "
            f"{run.orders_not_allocated} not allocated; {run.allocated_quantity} units, amount {run.allocated_amount}"
        )
        for outcome in map(outcome_dict, report.outcome_rows):
            if outcome["shortfalls"] or outcome["status"] == "skipped":
                short = ", ".join(f"{s['item_code']} short {s['short']}" for s in outcome["shortfalls"])
                self.stdout.write(f"  {outcome['order_number']}: {outcome['status']} ({outcome['reason']}) {short}")

    def _progress_bar(self, options):
        if options["json"] or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        return tqdm(desc="Allocating", unit=" orders", file=sys.stderr)


def run_as_dict(report) -> dict:
    """Return the run, its outcomes and its results (decimals as strings) for JSON output."""
    run = report.run
    if run.pk:
        results = list(
            run.results.order_by("id").values(
                "id", "order_id", "order__order_number", "order_line_id", "item__item_code", "lot__reference",
                "allocated_quantity", "unit_cost", "allocated_price", "allocation_date", "method", "cost_final",
            )
        )
    else:
        results = [
            {"id": None, "order_id": p.order_id, "order_line_id": p.line_id, "item_id": p.item_id, "lot_id": p.lot_id,
             "allocated_quantity": p.quantity, "unit_cost": p.unit_cost, "allocated_price": p.amount,
             "allocation_date": run.as_of, "method": run.method, "cost_final": p.cost_final}
            for p in report.picks
        ]
    return {
        "run": {
            "id": run.pk, "method": run.method, "policy": run.policy, "as_of": run.as_of, "dry_run": run.dry_run,
            "allow_partial": run.allow_partial, "allow_inbound": run.allow_inbound, "status": run.status,
            "orders_considered": run.orders_considered, "orders_fully_allocated": run.orders_fully_allocated,
            "orders_partly_allocated": run.orders_partly_allocated, "orders_not_allocated": run.orders_not_allocated,
            "allocated_quantity": run.allocated_quantity, "allocated_amount": run.allocated_amount,
        },
        "outcomes": report.outcomes,
        "results": results,
    }
