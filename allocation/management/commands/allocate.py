"""python manage.py allocate --method FIFO [--orders 1,2] [--as-of 2026-01-25] [--policy priority] ...

Its arguments are made from the run's parameters (`allocation.parameters.RunRequest`): `--method`,
`--orders`, `--as-of`, `--policy`, `--allow-partial/--no-allow-partial` (also `--no-partial`),
`--allow-inbound/--no-allow-inbound` (also `--no-inbound`), `--dry-run`.

`--compare [--methods LIFO,AVERAGE]` prints the same orders and stock under every method (or those named, FIFO
always in) side by side, writing nothing (`allocation.comparison`); `--method` is then not asked for.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, Field
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from allocation.comparison import BASELINE, Comparison, methods_compare
from allocation.explanations import dry_run_results, explain_results
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


def _methods(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


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
        options["default"] = None  # required unless --compare (checked in handle)
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
        parser.add_argument("--compare", action="store_true",
                            help="dry-run every method (or --methods) over the same orders and stock; print them side by side")
        parser.add_argument("--explain", action="store_true", help="also print every pick with why it was made")
        parser.add_argument("--methods", type=_methods, help="with --compare: the methods to compare, e.g. LIFO,AVERAGE")

    def handle(self, *args, **options) -> None:
        values = {parameter.name: options[parameter.name] for parameter in PARAMETERS}
        if options["compare"]:
            self.compare(values, options)
            return
        if values["method"] is None:
            raise CommandError("--method is required (or --compare).")
        request = RunRequest.of(**values)
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
            if options["explain"]:
                self.print_explanations(ticket.report)

    def compare(self, values: dict, options: dict) -> None:
        if values.pop("dry_run"):
            raise CommandError("--compare writes nothing already; leave out --dry-run.")
        values["method"] = BASELINE
        try:
            with long_statements():
                comparison = methods_compare(RunRequest.of(**values), options["methods"])
        except DomainError as error:
            raise command_error(error)
        if options["json"]:
            self.stdout.write(dump({"methods": comparison.method_rows(), "orders": comparison.order_rows()}))
        else:
            self.stdout.write("\n".join(comparison_lines(comparison)))

    def print_explanations(self, report) -> None:
        """Print each pick (a stored run's from the database, a page at a time) with its explanation."""
        if report.run.pk is None:
            pages = [dry_run_results(report.run, report.picks, report.outcome_rows)]
        else:
            results = report.run.results.select_related("order", "item", "lot").order_by("id")
            pages = (explain_results(list(results[start:start + EXPLAIN_PAGE]))
                     for start in range(0, len(report.picks), EXPLAIN_PAGE))
        for page in pages:
            for r in page:
                self.stdout.write(f"  {r.order.order_number} {r.item.item_code} {r.lot.reference} x {r.allocated_quantity}"
                                  f" @ {r.unit_cost} = {r.allocated_price}: {r.explanation}")

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


ORDERS_PRINTED = 50
EXPLAIN_PAGE = 1000


def _signed(value) -> str:
    return f"{value:+.2f}"


def comparison_lines(comparison: Comparison) -> list[str]:
    """Return the comparison as text: per method its totals and difference to FIFO; per order each method's amount."""
    request = comparison.request
    lines = [f"Compared as of {request.as_of}, policy {request.policy} (dry runs: nothing written); "
             f"differences are to {BASELINE}.",
             f"{'method':<16}{'quantity':>10}{'amount':>16}{'unit cost':>12}{'difference':>14}"]
    for row in comparison.method_rows():
        cost = "" if row["unit_cost"] is None else str(row["unit_cost"])
        mark = "  provisional" if row["provisional"] else ""
        lines.append(f"{row['method']:<16}{row['quantity']:>10}{row['amount']:>16}{cost:>12}{_signed(row['difference']):>14}{mark}")
    methods = [figures.method for figures in comparison.figures]
    lines += ["", "Amount per order (difference to FIFO):", f"{'order':<16}" + "".join(f"{m:>24}" for m in methods)]
    for order in comparison.order_rows(0, ORDERS_PRINTED):
        cells = [f"{o['amount']} ({_signed(o['difference'])})" for o in order["methods"].values()]
        lines.append(f"{order['order_number']:<16}" + "".join(f"{cell:>24}" for cell in cells))
    if len(comparison.numbers) > ORDERS_PRINTED:
        lines.append(f"... {len(comparison.numbers) - ORDERS_PRINTED} more orders (--json gives them all).")
    return lines


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
