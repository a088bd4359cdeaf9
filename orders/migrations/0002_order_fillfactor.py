"""Leave room in PostgreSQL pages for the status updates an allocation run makes (see stock 0002)."""
from django.db import migrations


def set_fillfactor(apps, schema_editor, value: int = 50) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE orders_order SET (fillfactor = {value})")


def reset_fillfactor(apps, schema_editor) -> None:
    set_fillfactor(apps, schema_editor, 100)


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
