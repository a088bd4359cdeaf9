"""Give the groups the new records: everyone views events and shipments; allocators ship; a new `warehouse`
group (for a warehouse system or its people) reads stock, orders, results, events and pick lists, and ships."""
from django.contrib.auth.management import create_permissions
from django.db import migrations

ADDED = {
    "viewer": [("allocation", "view_event"), ("allocation", "view_shipment")],
    "clerk": [("allocation", "view_event"), ("allocation", "view_shipment")],
    "allocator": [("allocation", "view_event"), ("allocation", "view_shipment"), ("allocation", "ship_order")],
    "warehouse": [
        ("stock", "view_item"), ("stock", "view_lot"), ("orders", "view_order"), ("orders", "view_orderline"),
        ("orders", "view_customer"), ("allocation", "view_allocationrun"), ("allocation", "view_allocationresult"),
        ("allocation", "view_event"), ("allocation", "view_shipment"), ("allocation", "ship_order"),
    ],
}


def add_permissions(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ADDED.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*[Permission.objects.get(content_type__app_label=app, codename=codename)
                                for app, codename in codenames])


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.filter(name="warehouse").delete()
    for name, codenames in ADDED.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*[Permission.objects.get(content_type__app_label=app, codename=codename)
                                       for app, codename in codenames])


class Migration(migrations.Migration):
    dependencies = [("allocation", "0011_events_webhooks_shipments")]
    operations = [migrations.RunPython(add_permissions, remove_permissions)]
