from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Sales")  # customers, orders and payments: the admin shows the app so (breadcrumbs too)

    def ready(self) -> None:
        # Lend this app's rules to the services of the apps below it (Django loads models first).
        from orders import guards  # noqa: F401
