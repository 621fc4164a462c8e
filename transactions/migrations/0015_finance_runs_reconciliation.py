from django.contrib.auth.management import create_permissions
from django.db import migrations

# Finance runs `reconcile` from the dashboard (a run adds a ReconciliationRun) and reads the result.
FINANCE_GRANTS = [("transactions", "add_reconciliationrun"), ("transactions", "view_reconciliationrun")]


def grant_finance(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    finance, _ = Group.objects.get_or_create(name="Finance")
    finance.permissions.add(
        *(Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in FINANCE_GRANTS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0014_ledger_move"),
    ]

    operations = [migrations.RunPython(grant_finance, migrations.RunPython.noop)]
