"""factory_boy factories with readable data (WIDGET, L1, ...)."""
from datetime import date
from decimal import Decimal

import factory

from orders.models import Customer, Order, OrderLine, Payment
from stock.models import Item, Lot


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item
        django_get_or_create = ("item_code",)

    item_code = factory.Sequence(lambda n: f"ITEM{n:04d}")
    name = factory.LazyAttribute(lambda o: f"{o.item_code.title()} item")
    category = "General"
    unit_price = Decimal("20.00")


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lot

    reference = factory.Sequence(lambda n: f"LOT{n:05d}")
    item = factory.SubFactory(ItemFactory)
    quantity = 100
    unit_cost = Decimal("10.0000")
    received_on = date(2026, 1, 5)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"C{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Customer {o.code}")
    email = factory.LazyAttribute(lambda o: f"{o.code.lower()}@example.com")
    credit_limit = Decimal("100000.00")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    order_number = factory.Sequence(lambda n: f"O{n}")
    customer = factory.SubFactory(CustomerFactory)
    order_date = date(2026, 1, 6)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    item = factory.SubFactory(ItemFactory)
    quantity = 10


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("1000.00")
    due_date = date(2026, 1, 31)


def order_with_lines(number: str, order_date: date, *lines: tuple, **fields) -> Order:
    """Create an order with lines given as (item, quantity) or (item, quantity, lot)."""
    order = OrderFactory(order_number=number, order_date=order_date, **fields)
    for line in lines:
        item, quantity, *lot = line
        OrderLineFactory(order=order, item=item, quantity=quantity, lot=lot[0] if lot else None)
    return order
