"""Replace the result → lot foreign key by a trigger that refuses to delete a lot with results.

A foreign key checks its parent once per inserted result (on PostgreSQL a
trigger and a row lock each, at commit: 0.2 s of a 50,000-line run). The
inserting side needs no check: a run writes results only for lots it has just
read and holds locked. The side that can break the link is a lot's deletion,
which is rare; so the database now guards that, once per deleted lot, with
the same error class as a foreign key (IntegrityError).

PostgreSQL only (the production database). On SQLite, Django's `flush`
empties tables with DELETE in no particular order, which such a trigger would
refuse; there the ORM's PROTECT and `stock.services.lot_delete` guard alone.
"""
import django.db.models.deletion
from django.db import migrations, models

MESSAGE = "lot has allocation results and cannot be deleted"

POSTGRES_CREATE = f"""
CREATE FUNCTION stock_lot_refuse_delete_with_results() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM allocation_allocationresult WHERE lot_id = OLD.id) THEN
        RAISE EXCEPTION 'stock_lot %: {MESSAGE}', OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER stock_lot_refuse_delete_with_results BEFORE DELETE ON stock_lot
    FOR EACH ROW EXECUTE FUNCTION stock_lot_refuse_delete_with_results();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS stock_lot_refuse_delete_with_results ON stock_lot;
DROP FUNCTION IF EXISTS stock_lot_refuse_delete_with_results();
"""
def create_guard(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE, params=None)


def drop_guard(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('allocation', '0003_cache_table'),
        ('stock', '0002_lot_fillfactor'),
    ]

    operations = [
        migrations.AlterField(
            model_name='allocationresult',
            name='lot',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='allocation_results', to='stock.lot', verbose_name='lot'),
        ),
        migrations.RunPython(create_guard, drop_guard),
    ]
