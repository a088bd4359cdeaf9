"""python manage.py allocate --method FIFO [--orders 1,2] [--as-of 2026-01-25] [--policy priority] ...

Its arguments are made from the run's parameters (`allocation.parameters.RunRequest`): `--method`,
`--orders`, `--as-of`, `--policy`, `--allow-partial/--no-allow-partial` (also `--no-partial`),
`--allow-inbound/--no-allow-inbound` (also `--no-inbound`), `--dry-run`.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, Field
from datetime import date

from django.core.management.base import BaseCommand
from tqdm import tqdm

from allocation.management.commands._common import command_error, dump
from allocation.parameters import CHOICES, PARAMETERS, RunRequest
from allocation.requests import allocation_request
from allocation.services import outcome_dict
from allocation.sql import long_statements
from inventory_alloc.errors import DomainError


def _orders(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'takes order ids separated by commas, not "{text}"') from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'takes a date as YYYY-MM-DD, not "{text}"') from None


def add_parameter(parser, parameter: Field) -> None:
    """Add the command-line argument of one run parameter, from its declaration."""
    meta = parameter.metadata
    names = [f"--{parameter.name.replace('_', '-')}"] + ([f"--{meta['cli']}"] if meta["cli"] else [])
    options = {"dest": parameter.name, "help": str(meta["help"])}
    if meta["kind"] == "flag":
        parser.add_argument(*names, action=argparse.BooleanOptionalAction, default=parameter.default, **options)
        return
    if parameter.default is MISSING:
        options["required"] = True
    else:
        options["default"] = parameter.default
    if meta["kind"] == "choice":
        options["choices"] = [value for value, _label in CHOICES[meta["choices"]]()]
    else:
        options["type"] = _orders if meta["kind"] == "ids" else _date
    parser.add_argument(*names, **options)


class Command(BaseCommand):
    help = "Allocate open orders (or the given ones) and print the run (a big one is queued, as in the API)."

    def add_arguments(self, parser) -> None:
        for parameter in PARAMETERS:
            add_parameter(parser, parameter)
        parser.add_argument("--json", action="store_true", help="print the run, outcomes and results as JSON")

    def handle(self, *args, **options) -> None:
        request = RunRequest.of(**{parameter.name: options[parameter.name] for parameter in PARAMETERS})
        bar = None if options["json"] or not sys.stderr.isatty() else tqdm(desc="Allocating", unit=" orders",
                                                                             file=sys.stderr)
        try:
            with long_statements():
                ticket = allocation_request(request, progress=bar.update if bar else None)
        except DomainError as error:
            raise command_error(error)
        finally:
            if bar:
                bar.close()
        if ticket.queued:
            self.stdout.write(f"Run #{ticket.run.pk} is queued ({ticket.run.status}); follow it on its page.")
        elif options["json"]:
            self.stdout.write(dump(run_as_dict(ticket.report)))
        else:
            self.print_report(ticket.report)

    def print_report(self, report) -> None:
        run = report.run
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


SUMMARY = ("id", "status", "orders_considered", "orders_fully_allocated", "orders_partly_allocated",
           "orders_not_allocated", "allocated_quantity", "allocated_amount")


def run_as_dict(report) -> dict:
    """Return the run (its parameters and summary), its outcomes and its results (decimals as strings)."""
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
    parameters = RunRequest.from_run(run).payload()
    return {"run": {**parameters, **{name: getattr(run, name) for name in SUMMARY}},
            "outcomes": report.outcomes, "results": results}
