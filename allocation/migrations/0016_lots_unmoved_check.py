"""A function the closing statement of a run planned on unlocked lots calls to fail when a lot moved.

Such a run (`allocation.services.UNLOCKED_PLAN_ORDERS`) adds to each lot it took from only while the lot is
still as the run read it (`allocation.writes._lots_sql`), and counts the lots it updated. Fewer than it
took from means one changed or was deleted meanwhile: the statement must fail before the COMMIT sent with
it, with the error PostgreSQL itself gives a transaction that lost such a race (serialization_failure), and
the run is planned again with its lots locked.

PostgreSQL only, like the runs that call it.
"""
from django.db import migrations

POSTGRES_CREATE = """
CREATE FUNCTION allocation_lots_unmoved(expected integer, updated bigint) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    IF updated <> expected THEN
        RAISE EXCEPTION 'a lot the run planned on changed or went (% of % updated)', updated, expected
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN expected;
END $$;
"""
POSTGRES_DROP = "DROP FUNCTION IF EXISTS allocation_lots_unmoved(integer, bigint);"


def create_check(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE, params=None)


def drop_check(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('allocation', '0015_outcome_average_bases'),
    ]

    operations = [
        migrations.RunPython(create_check, drop_check),
    ]
