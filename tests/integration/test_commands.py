"""The allocate, release and close_period commands, on the worked example."""
import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from allocation.models import AllocationResult, AllocationRun
from stock.models import Lot
from tests.factories import order_with_lines

pytestmark = pytest.mark.django_db


def _call(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_allocate_prints_the_run_summary(widget_example):
    out = _call("allocate", "--method", "FIFO", "--as-of", "2026-01-25")
    assert "2 orders considered, 2 fully, 0 partly, 0 not allocated; 180 units, amount 1995.00" in out
    assert Lot.objects.get(reference="L2").allocated_quantity == 50


def test_allocate_json_gives_the_run_outcomes_and_results_with_decimals_as_strings(widget_example):
    o2 = widget_example["orders"]["O2"]
    data = json.loads(_call("allocate", "--method", "AVERAGE", "--as-of", "2026-01-25", "--orders", str(o2.pk), "--json"))
    assert data["run"]["allocated_amount"] == "672.00"
    assert [(r["lot__reference"], r["allocated_quantity"], r["unit_cost"], r["allocated_price"]) for r in data["results"]] == [
        ("L1", 60, "11.2000", "672.00"),
    ]
    assert data["outcomes"][0]["order_number"] == "O2"


def test_allocate_dry_run_writes_nothing(widget_example):
    out = _call("allocate", "--method", "LIFO", "--as-of", "2026-01-25", "--dry-run")
    assert out.startswith("Dry run")
    assert not AllocationRun.objects.exists() and not AllocationResult.objects.exists()


def test_allocate_refuses_bad_input_with_a_clear_message(widget_example):
    with pytest.raises(CommandError, match="No order with id 999999"):
        _call("allocate", "--method", "FIFO", "--orders", "999999")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        _call("allocate", "--method", "FIFO", "--as-of", "25/01/2026")
    with pytest.raises(CommandError, match="cannot be in the future"):
        _call("allocate", "--method", "FIFO", "--as-of", "2999-01-01")


def test_allocate_no_partial_single_order_reports_the_shortfall(widget_example):
    o1 = widget_example["orders"]["O1"]
    with pytest.raises(CommandError, match="short 20 of 120"):
        _call("allocate", "--method", "FIFO", "--as-of", "2026-01-07", "--orders", str(o1.pk), "--no-partial",
              "--no-inbound")


def test_allocate_with_fair_share_prints_each_short_lines_share(widget_example):
    out = _call("allocate", "--method", "FIFO", "--as-of", "2026-01-25", "--policy", "fair_share", "--no-inbound",
                "--dry-run")
    assert "fair share" not in out  # 180 asked of 250 in stock: nothing is scarce
    order_with_lines("O3", date(2026, 1, 13), (widget_example["item"], 320))
    out = _call("allocate", "--method", "FIFO", "--as-of", "2026-01-25", "--policy", "fair_share", "--no-inbound")
    assert "O2: partial (fair share: 30 of 60 asked (250 for 500)) WIDGET short 30" in out
    with pytest.raises(CommandError, match="needs allow_partial"):
        _call("allocate", "--method", "FIFO", "--policy", "fair_share", "--no-partial")


def test_release_returns_an_orders_quantity_to_its_lots(widget_example):
    _call("allocate", "--method", "FIFO", "--as-of", "2026-01-25")
    o1 = widget_example["orders"]["O1"]
    out = _call("release", "--order", str(o1.pk), "--lot", "L2")
    assert out.startswith("Released 1 results, 20 units")
    assert Lot.objects.get(reference="L2").allocated_quantity == 30


def test_close_period_recosts_total_average_picks(widget_example):
    _call("allocate", "--method", "TOTAL_AVERAGE", "--as-of", "2026-01-25")
    out = _call("close_period", "2026-01")
    assert "Closed period 2026-01 (2026-01-01 to 2026-01-31): 4 total-average results." in out
    assert "WIDGET: final average 11.2000" in out
    assert AllocationResult.objects.filter(cost_final=True).count() == 4


def test_close_period_refuses_a_period_not_ended():
    with pytest.raises(CommandError, match="has not ended"):
        _call("close_period", f"{date.today():%Y-%m}")
