"""Create a believable demo data set (idempotent) and the demo admin login.

Every row is written through the services, like any other door: the demo data obeys the rules
the back office and the API do.
"""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from orders.models import Customer, Order, Payment, PaymentStatus
from orders.services import customer_create, order_create, payment_create
from stock.models import Item, Lot
from stock.services import item_create, lot_create

CATEGORIES = {
    "Beverages": ["Green tea", "Barley tea", "Cold brew coffee", "Mineral water", "Ramune soda", "Calpis"],
    "Snacks": ["Rice crackers", "Pocky", "Potato chips", "Dried squid", "Matcha KitKat", "Senbei mix"],
    "Noodles": ["Udon", "Soba", "Ramen (shoyu)", "Ramen (miso)", "Somen", "Yakisoba"],
    "Condiments": ["Soy sauce", "Mirin", "Rice vinegar", "Miso paste", "Wasabi", "Ponzu"],
    "Household": ["Dish sponge", "Paper towels", "Detergent", "Trash bags", "Hand soap", "Toilet paper"],
    "Stationery": ["Ballpoint pen", "Notebook A5", "Sticky notes", "Stapler", "Mechanical pencil", "Eraser"],
}
DEMO_USER, DEMO_PASSWORD = "admin", "admin"


class Command(BaseCommand):
    help = "Create demo items, lots, customers, payments and open orders (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--size", type=int, default=1, help="Multiply the data set (1: ~36 items, 300 orders).")
        parser.add_argument("--no-admin", action="store_true", help="Do not create the demo admin user.")
        parser.add_argument("--seed", type=int, default=2026)

    @transaction.atomic
    def handle(self, *args, size: int, no_admin: bool, seed: int, **options) -> None:
        rng = random.Random(seed)
        today = timezone.localdate()
        items = self._items(rng, size)
        self._lots(rng, items, today, size)
        customers = self._customers(size)
        self._payments(rng, customers, today)
        created = self._orders(rng, items, customers, today, size)
        if not no_admin:
            self._admin()
        self.stdout.write(self.style.SUCCESS(
            f"Demo data: {Item.objects.count()} items, {Lot.objects.count()} lots, "
            f"{Customer.objects.count()} customers, {Order.objects.count()} orders ({created} new)."
        ))
        if not no_admin:
            self.stdout.write(f"Demo admin login: {DEMO_USER} / {DEMO_PASSWORD}")

    def _items(self, rng: random.Random, size: int) -> list[Item]:
        rows = []
        for copy in range(size):
            for category, names in CATEGORIES.items():
                for n, name in enumerate(names, start=1):
                    code = f"{category[:3].upper()}-{n:02d}" + (f"-{copy}" if copy else "")
                    price = Decimal(rng.randrange(120, 4000)) / 10
                    rows.append({"item_code": code, "name": name, "category": category,
                                 "unit_price": price.quantize(Decimal("0.01"))})
        _create_missing(Item, "item_code", rows, item_create)
        return list(Item.objects.filter(item_code__in=[r["item_code"] for r in rows]).order_by("id"))

    def _lots(self, rng: random.Random, items: list[Item], today, size: int) -> None:
        rows = []
        for item in items:
            base = (item.unit_price * Decimal("0.55")).quantize(Decimal("0.0001"))
            for n in range(1, 5):
                cost = (base * Decimal(rng.randrange(90, 115)) / 100).quantize(Decimal("0.0001"))
                lot = {"reference": f"{item.item_code}-L{n}", "item": item, "quantity": rng.randrange(20, 200) * 5,
                       "unit_cost": cost, "received_on": today - timedelta(days=rng.randrange(5, 120))}
                if item.category in ("Beverages", "Snacks", "Noodles") and n <= 2:
                    lot["expires_on"] = today + timedelta(days=rng.randrange(-10, 60))
                rows.append(lot)
            if rng.random() < 0.4:
                rows.append({"reference": f"{item.item_code}-IN1", "item": item, "quantity": rng.randrange(10, 60) * 10,
                             "unit_cost": base, "received_on": None, "eta": today + timedelta(days=rng.randrange(3, 30)),
                             "note": "Inbound from supplier"})
        _create_missing(Lot, "reference", rows, lot_create)

    def _customers(self, size: int) -> list[Customer]:
        names = ["Sakura Mart", "Fuji Foods", "Tokyo Wholesale", "Osaka Trading", "Kyoto Deli", "Nagoya Supply",
                 "Sapporo Stores", "Kobe Kitchen", "Yokohama Retail", "Hiroshima Co-op", "Sendai Market",
                 "Fukuoka Foods"]
        rows = [
            {"code": f"CUST-{n:03d}", "name": name + (f" {copy + 1}" if copy else ""),
             "email": f"orders{n}@example.jp", "phone": f"03-5555-{n:04d}",
             "credit_limit": Decimal(500000 + 100000 * (n % 5)), "credit_period_days": 30}
            for copy in range(size) for n, name in enumerate(names, start=1 + copy * len(names))
        ]
        _create_missing(Customer, "code", rows, customer_create)
        return list(Customer.objects.filter(code__in=[r["code"] for r in rows]).order_by("id"))

    def _payments(self, rng: random.Random, customers: list[Customer], today) -> None:
        if Payment.objects.filter(customer__in=customers).exists():
            return
        for customer in customers:
            punctual = rng.random()
            for _ in range(rng.randrange(2, 12)):
                due = today - timedelta(days=rng.randrange(-20, 150))
                paid = None
                if due < today or rng.random() < 0.3:
                    late = rng.random() > punctual
                    paid = due + timedelta(days=rng.randrange(1, 20) if late else -rng.randrange(0, 10))
                    paid = min(paid, today)
                payment_create(customer=customer, amount=Decimal(rng.randrange(10000, 300000)), due_date=due,
                               paid_on=paid, status=PaymentStatus.PAID if paid else PaymentStatus.PENDING)

    def _orders(self, rng: random.Random, items: list[Item], customers: list[Customer], today, size: int) -> int:
        numbers = [f"DEMO-{n:05d}" for n in range(1, 300 * size + 1)]
        existing = set(Order.objects.filter(order_number__in=numbers).values_list("order_number", flat=True))
        created = 0
        for number in numbers:
            customer = rng.choice(customers) if rng.random() < 0.95 else None
            order_date = today - timedelta(days=rng.randrange(0, 30))
            priority = rng.choice([0, 0, 0, 1, 2, 5])
            lines = [{"item": item, "quantity": rng.randrange(1, 12) * 5, "unit_price": item.unit_price}
                     for item in rng.sample(items, rng.randrange(1, 5))]
            if number not in existing:  # the draws above happen either way, so a re-run makes the same data
                order_create(order_number=number, customer=customer, order_date=order_date, priority=priority,
                             lines=lines)
                created += 1
        return created

    def _admin(self) -> None:  # Django's own user model, not the books
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()


def _create_missing(model, key: str, rows: list[dict], create) -> None:
    """Create through `create` (a service) the rows whose `key` is not in the database yet."""
    existing = set(model.objects.filter(**{f"{key}__in": [row[key] for row in rows]}).values_list(key, flat=True))
    for row in rows:
        if row[key] not in existing:
            create(**row)
