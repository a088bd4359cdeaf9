"""A run's outcomes move from one JSON list on the run to one row per order (RunOutcome).

A run of 200,000 orders kept 66 MB of JSON on its row: every read of the run (the API's list of runs, its
page) loaded it whole. Rows are read a page at a time and filtered (short only). Existing runs keep their
outcomes: they are copied into rows before the old column goes.
"""

import allocation.models
import django.db.models.deletion
from django.db import migrations, models


def outcomes_to_rows(apps, schema_editor):
    run_model, outcome_model = apps.get_model("allocation", "AllocationRun"), apps.get_model("allocation", "RunOutcome")
    for run in run_model.objects.exclude(outcomes=[]).only("id", "outcomes").iterator(chunk_size=100):
        outcome_model.objects.bulk_create([
            outcome_model(
                run_id=run.id, order_id=o["order"], order_number=o.get("order_number", ""), status=o["status"],
                quantity=o.get("quantity", 0), amount=o.get("amount", "0"), reason=o.get("reason", ""),
                short_lines=len(o.get("shortfalls", [])), shortfalls=o.get("shortfalls", []),
            )
            for o in run.outcomes or []
        ], batch_size=1000)


def rows_to_outcomes(apps, schema_editor):
    run_model, outcome_model = apps.get_model("allocation", "AllocationRun"), apps.get_model("allocation", "RunOutcome")
    for run in run_model.objects.all().iterator(chunk_size=100):
        run.outcomes = [
            {"order": o.order_id, "order_number": o.order_number, "status": o.status, "quantity": o.quantity,
             "amount": str(o.amount), "reason": o.reason, "shortfalls": o.shortfalls}
            for o in outcome_model.objects.filter(run_id=run.id).order_by("id")
        ]
        run.save(update_fields=["outcomes"])


class Migration(migrations.Migration):

    dependencies = [
        ('allocation', '0006_run_started_at_set_by_service'),
        ('orders', '0004_sane_dates'),
    ]

    operations = [
        migrations.CreateModel(
            name='RunOutcome',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('order_number', models.CharField(max_length=64, verbose_name='order number')),
                ('status', models.CharField(choices=[('allocated', 'allocated'), ('partial', 'partly allocated'), ('not_allocated', 'not allocated'), ('skipped', 'skipped')], max_length=16, verbose_name='outcome')),
                ('quantity', models.PositiveIntegerField(default=0, verbose_name='quantity')),
                ('amount', models.DecimalField(decimal_places=2, default=0, max_digits=20, verbose_name='amount')),
                ('reason', models.TextField(blank=True, verbose_name='reason')),
                ('short_lines', models.PositiveIntegerField(default=0, verbose_name='short lines')),
                ('shortfalls', allocation.models.UncheckedJSONField(blank=True, default=list, verbose_name='shortfalls')),
                ('order', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='orders.order', verbose_name='order')),
                ('run', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='outcome_rows', to='allocation.allocationrun', verbose_name='run')),
            ],
            options={
                'verbose_name': 'run outcome',
                'verbose_name_plural': 'run outcomes',
                'ordering': ['run_id', 'id'],
                'indexes': [models.Index(fields=['run', 'id'], name='outcome_run_idx')],
            },
        ),
        migrations.RunPython(outcomes_to_rows, rows_to_outcomes),
        migrations.RemoveField(
            model_name='allocationrun',
            name='outcomes',
        ),
    ]
