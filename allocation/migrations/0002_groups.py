"""Create the API's three groups: viewer (read), clerk (read + edit master data and orders), allocator (+ run)."""
from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWED = {
    "stock": ["item", "lot"],
    "orders": ["customer", "order", "orderline", "payment"],
    "allocation": ["allocationrun", "allocationresult", "closedperiod"],
}
EDITED = {"stock": ["item", "lot"], "orders": ["customer", "order", "orderline", "payment"]}


def _codenames(models_by_app: dict, actions: list[str]) -> list[tuple[str, str]]:
    return [(app, f"{action}_{model}") for app, models in models_by_app.items() for model in models for action in actions]


GROUPS = {
    "viewer": _codenames(VIEWED, ["view"]),
    "clerk": _codenames(VIEWED, ["view"]) + _codenames(EDITED, ["add", "change", "delete"]),
    "allocator": _codenames(VIEWED, ["view"]) + _codenames(EDITED, ["add", "change", "delete"])
    + [("allocation", "run_allocation")],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in codenames]
        group.permissions.add(*perms)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("allocation", "0001_initial"),
        ("orders", "0001_initial"),
        ("stock", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
