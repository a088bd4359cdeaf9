"""Settings, the demo data command and the admin lists."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from orders.models import Customer, Order, OrderLine, Payment
from stock.models import Item, Lot

ROOT = Path(__file__).resolve().parents[2]


def _start(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, capture_output=True, text=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "inventory_alloc.settings", **env},
    )


STRONG = "Xv7#pQ2!mR9$kT4%wZ1^nB6&hL3*cF8(dJ5)sG0-yU2_eA7+qM"  # 50 characters


def test_the_app_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _start({"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be a real secret when DJANGO_DEBUG is off" in result.stderr


@pytest.mark.parametrize("key", [STRONG[:49], "ab" * 40, "django-insecure-" + STRONG])
def test_the_app_refuses_a_short_or_repetitive_key_when_debug_is_off(key):
    result = _start({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_the_app_refuses_the_insecure_placeholder_key_when_debug_is_off():
    result = _start({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "django-insecure-abc"})
    assert result.returncode != 0


def test_the_app_starts_with_a_real_secret_key_or_in_debug():
    assert _start({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": STRONG}).returncode == 0
    assert _start({"DJANGO_DEBUG": "1"}).returncode == 0


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo", verbosity=0)
    counts = [m.objects.count() for m in (Item, Lot, Customer, Order, OrderLine, Payment)]
    call_command("seed_demo", verbosity=0)
    assert [m.objects.count() for m in (Item, Lot, Customer, Order, OrderLine, Payment)] == counts
    assert counts[0] >= 30 and counts[3] >= 300
    assert Lot.objects.filter(received_on__isnull=True, eta__isnull=False).exists()
    assert Lot.objects.filter(expires_on__isnull=False).exists()


@pytest.mark.django_db
def test_seed_demo_size_makes_a_bigger_set():
    call_command("seed_demo", "--size", "2", verbosity=0)
    assert Order.objects.count() == 600
    assert Item.objects.count() == 72
