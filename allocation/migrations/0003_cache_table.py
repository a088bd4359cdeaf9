"""Create the database cache table when the cache is a database table (the default on AWS Lambda).

`createcachetable` makes the tables of the DatabaseCache backends in CACHES
and does nothing for other backends, so this is a no-op locally.
"""
from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("allocation", "0002_groups")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
