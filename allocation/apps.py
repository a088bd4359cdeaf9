from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllocationConfig(AppConfig):
    name = "allocation"
    verbose_name = _("Allocation")

    def ready(self) -> None:
        # Lend this app's rules to the services of the apps below it (Django loads models first).
        from allocation import events, guards, requests, tasks

        del guards  # importing it registered its refusals
        requests.run_queue.send = tasks.allocation_run_execute
        events.delivery_kick.send = tasks.delivery_kicker()
