"""Leave room in PostgreSQL pages so that allocation updates of lots are HOT updates.

A run updates `allocated_quantity` on thousands of lots at once; with free
space in each page PostgreSQL rewrites the row in place without touching the
lot's indexes. SQLite has no such setting.
"""
from django.db import migrations


def set_fillfactor(apps, schema_editor, value: int = 50) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE stock_lot SET (fillfactor = {value})")


def reset_fillfactor(apps, schema_editor) -> None:
    set_fillfactor(apps, schema_editor, 100)


class Migration(migrations.Migration):
    dependencies = [("stock", "0001_initial")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
