"""The allocation app's records: runs and their results (`runs`), the outbox of domain events and the
webhooks that carry them (`events`), and shipments (`shipments`)."""
from allocation.models.events import (  # noqa: F401
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    EventType,
    WebhookEndpoint,
)
from allocation.models.runs import (  # noqa: F401
    SHORT_STATUSES,
    AllocationResult,
    AllocationResultQuerySet,
    AllocationRun,
    ClosedPeriod,
    Method,
    OutcomeStatus,
    Policy,
    RunOutcome,
    RunStatus,
    UncheckedJSONField,
)
from allocation.models.shipments import Shipment, ShipmentPick  # noqa: F401
