from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        # Lend this app's rules to the services of the apps below it (Django loads models first).
        from orders import guards  # noqa: F401
