"""The inactive "system" user that history entries of changes made without a user name (inventory_alloc.history)."""
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations


def create_system_user(apps, schema_editor):
    app_label, model_name = settings.AUTH_USER_MODEL.split(".")
    User = apps.get_model(app_label, model_name)
    User.objects.get_or_create(username="system", defaults={"is_active": False, "password": make_password(None)})


class Migration(migrations.Migration):

    dependencies = [
        ("allocation", "0012_groups_events_shipping"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_system_user, migrations.RunPython.noop)]
