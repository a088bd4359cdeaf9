"""Allocation runs, their outcomes and results (picks), and closed total-average periods."""
import json

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from orders.models import Order, OrderLine
from stock.models import Item, Lot


class Method(models.TextChoices):
    FIFO = "FIFO", _("First in, first out (FIFO)")
    LIFO = "LIFO", _("Last in, first out (LIFO)")
    AVERAGE = "AVERAGE", _("Average (weighted, at the line)")
    SPECIFIC = "SPECIFIC", _("Specific identification")
    TOTAL_AVERAGE = "TOTAL_AVERAGE", _("Total (periodic) average")
    MOVING_AVERAGE = "MOVING_AVERAGE", _("Moving average")
    FEFO = "FEFO", _("First expired, first out (FEFO)")
    LAST_PURCHASE = "LAST_PURCHASE", _("Last purchase price")


class Policy(models.TextChoices):
    ORDER_DATE = "order_date", _("Order date (oldest first)")
    PRIORITY = "priority", _("Priority (highest first)")
    CUSTOMER_SCORE = "customer_score", _("Customer score (best first)")
    FAIR_SHARE = "fair_share", _("Fair share (scarce stock pro rata)")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class UncheckedJSONField(models.JSONField):
    """A JSONField without SQLite's `JSON_VALID` CHECK constraint.

    SQLite parses the whole document on every write to check it: for the
    outcomes of a 200,000-order run (66 MB of JSON) that parse took 400 MB, on
    top of the run's own peak. What this field stores is always written by
    Python's JSON encoder, so the check can never fail. PostgreSQL's jsonb has
    no such check; there the field is a plain JSONField.
    """

    def db_check(self, connection):
        return None


class JSONTextField(models.TextField):
    """JSON kept as text, for a document that is only ever written and read whole, never queried into.

    On PostgreSQL a jsonb column converts every document it is given: for the average bases of a 50,000-line
    AVERAGE run (about 4 MB) that was 65-85 ms of the write, against 30 ms for text. The value is what Python's
    JSON encoder wrote; reading it parses it.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(value)

    def to_python(self, value):
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value):
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class AllocationRun(models.Model):
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    policy = models.CharField(_("policy"), max_length=20, choices=Policy.choices, default=Policy.ORDER_DATE)
    as_of = models.DateField(_("as of"))
    allow_partial = models.BooleanField(_("allow partial"), default=True)
    allow_inbound = models.BooleanField(_("allow inbound"), default=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    # The orders asked for (null: all open orders), kept so a queued run can start later.
    requested_orders = models.JSONField(_("requested orders"), null=True, blank=True)
    # How many orders were asked for (null: all open orders), so lists never read the ids.
    requested_count = models.PositiveIntegerField(_("orders requested"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="allocation_runs", verbose_name=_("started by"),
    )
    # Set by the service when the run starts (its row is written when it ends); null only
    # on the unsaved run of a dry run.
    started_at = models.DateTimeField(_("started at"), editable=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # A queued or running run not finished by then is taken for dead (its process was killed) and marked
    # failed: set when it is queued and again when it starts (ALLOCATION_RUN_TIMEOUT later).
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    error = models.TextField(_("error"), blank=True)
    orders_considered = models.PositiveIntegerField(_("orders considered"), default=0)
    orders_fully_allocated = models.PositiveIntegerField(_("fully allocated"), default=0)
    orders_partly_allocated = models.PositiveIntegerField(_("partly allocated"), default=0)
    orders_not_allocated = models.PositiveIntegerField(_("not allocated"), default=0)
    allocated_quantity = models.PositiveBigIntegerField(_("allocated quantity"), default=0)
    allocated_amount = models.DecimalField(_("allocated amount"), max_digits=20, decimal_places=2, default=0)
    # One RunOutcome row per order considered (status, quantity, amount, shortfall per line, reason).

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("allocation run")
        verbose_name_plural = _("allocation runs")
        permissions = [("run_allocation", _("Can run, release and close allocations"))]
        indexes = [
            # Only unfinished runs are looked up by deadline (to mark those past it as failed): a small index.
            models.Index(fields=["deadline"], name="run_unfinished_deadline_idx",
                         condition=Q(status__in=["queued", "running"])),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.method} {self.as_of}"


class OutcomeStatus(models.TextChoices):
    ALLOCATED = "allocated", _("allocated")
    PARTIAL = "partial", _("partly allocated")
    NOT_ALLOCATED = "not_allocated", _("not allocated")
    SKIPPED = "skipped", _("skipped")


SHORT_STATUSES = (OutcomeStatus.PARTIAL, OutcomeStatus.NOT_ALLOCATED, OutcomeStatus.SKIPPED)


class RunOutcome(models.Model):
    """What one run did for one order: written set-based with the run, read a page at a time.

    Kept apart from the run's own row so that a run of 200,000 orders is read in pages, filtered (short
    only), and never loaded whole. The order's number is kept as it was; the order is not protected
    (an order without allocation history may still be deleted, its outcomes stay).
    """

    run = models.ForeignKey(AllocationRun, on_delete=models.PROTECT, related_name="outcome_rows",
                            verbose_name=_("run"), db_index=False, db_constraint=False)
    order = models.ForeignKey(Order, on_delete=models.DO_NOTHING, related_name="+", verbose_name=_("order"),
                              db_index=False, db_constraint=False)
    order_number = models.CharField(_("order number"), max_length=64)
    status = models.CharField(_("outcome"), max_length=16, choices=OutcomeStatus.choices)
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2, default=0)
    reason = models.TextField(_("reason"), blank=True)
    # How many lines fell short (the length of `shortfalls`): what an answer's size is weighed by.
    short_lines = models.PositiveIntegerField(_("short lines"), default=0)
    # Per short line: line, item_code, requested, allocated, short, reason.
    shortfalls = UncheckedJSONField(_("shortfalls"), default=list, blank=True)
    # Per line costed at an average (AVERAGE), what it was averaged over: {line id: [value, quantity, [lots],
    # more lots]} (`allocation.explain.Basis`); null for the other methods.
    bases = JSONTextField(_("average bases"), null=True, blank=True)

    class Meta:
        ordering = ["run_id", "id"]
        verbose_name = _("run outcome")
        verbose_name_plural = _("run outcomes")
        indexes = [models.Index(fields=["run", "id"], name="outcome_run_idx")]

    def __str__(self) -> str:
        return f"#{self.run_id} {self.order_number}: {self.status}"


class AllocationResultQuerySet(models.QuerySet):
    def active(self) -> "AllocationResultQuerySet":
        return self.filter(released_at__isnull=True)


class AllocationResult(models.Model):
    """One pick: a quantity of one lot for one order line. Never deleted."""

    run = models.ForeignKey(
        AllocationRun, on_delete=models.PROTECT, related_name="results", verbose_name=_("run"), db_constraint=False,
    )
    # A run inserts tens of thousands of results at once, and every index and every
    # foreign-key check (on PostgreSQL, a trigger and a row lock on the parent per
    # inserted row, at commit) costs time on that insert: 0.8 s of a 50,000-line
    # run. So single-column FK indexes are left out where a composite index below
    # starts with the column, and no column has a database FK constraint: `run` is
    # inserted in the same transaction, `lot` and `order_line` are held locked by
    # the run that writes the result, `order` and `item` are copies of the line's.
    # All are PROTECTed by the ORM, results are never deleted, and the stock side
    # keeps a database guard on PostgreSQL: a trigger refuses to delete a lot that
    # has results (migration allocation 0004).
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="allocation_results", verbose_name=_("order"), db_index=False,
        db_constraint=False,
    )
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="allocation_results", verbose_name=_("order line"),
        db_index=False, db_constraint=False,
    )
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, related_name="allocation_results", verbose_name=_("item"), db_index=False,
        db_constraint=False,
    )
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, related_name="allocation_results", verbose_name=_("lot"), db_index=False,
        db_constraint=False,
    )
    allocated_quantity = models.PositiveIntegerField(_("allocated quantity"))
    unit_cost = models.DecimalField(_("unit cost"), max_digits=18, decimal_places=4)
    allocated_price = models.DecimalField(_("amount"), max_digits=20, decimal_places=2)
    # How much of the pick has left the warehouse (`allocation.shipping`); a shipped pick is never released.
    shipped_quantity = models.PositiveIntegerField(_("shipped quantity"), default=0, db_default=0, editable=False)
    allocation_date = models.DateField(_("allocation date"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    cost_final = models.BooleanField(_("cost final"), default=True)
    # Set when a period close re-costs a provisional total-average pick.
    provisional_unit_cost = models.DecimalField(
        _("provisional unit cost"), max_digits=18, decimal_places=4, null=True, blank=True,
    )
    provisional_price = models.DecimalField(_("provisional amount"), max_digits=20, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("released by"), db_index=False,
    )

    objects = AllocationResultQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("allocation result")
        verbose_name_plural = _("allocation results")
        constraints = [
            models.CheckConstraint(condition=Q(allocated_quantity__gt=0), name="result_quantity_positive"),
            models.CheckConstraint(condition=Q(shipped_quantity__gte=0) & Q(shipped_quantity__lte=F("allocated_quantity")),
                                   name="result_shipped_within_allocated"),
        ]
        indexes = [
            models.Index(fields=["order_line", "released_at"], name="result_line_idx"),
            models.Index(fields=["order", "released_at"], name="result_order_idx"),
            # An item's results are reached through its lots (lot_item_received_idx, then this one).
            models.Index(fields=["lot", "released_at"], name="result_lot_idx"),
            # Only provisional picks are looked up by date (to close a period): a small index.
            models.Index(fields=["allocation_date"], name="result_provisional_date_idx", condition=Q(cost_final=False)),
        ]

    def __str__(self) -> str:
        return f"{self.lot_id} × {self.allocated_quantity} → line {self.order_line_id}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class ClosedPeriod(models.Model):
    """A total-average period that has been closed: its costs are final."""

    start = models.DateField(_("start"), unique=True)
    end = models.DateField(_("end"))
    closed_at = models.DateTimeField(_("closed at"), auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("closed by"),
    )
    results_recosted = models.PositiveIntegerField(_("results re-costed"), default=0)
    # Per item: the period's final average {item_code: "12.3456"}.
    averages = models.JSONField(_("averages"), default=dict, blank=True)

    class Meta:
        ordering = ["-start"]
        verbose_name = _("closed period")
        verbose_name_plural = _("closed periods")

    def __str__(self) -> str:
        return f"{self.start:%Y-%m}"
