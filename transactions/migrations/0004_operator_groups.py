from django.contrib.auth.management import create_permissions
from django.db import migrations

READ_MODELS = [
    ("users", "user"),
    ("wallets", "wallet"),
    ("balances", "currency"),
    ("balances", "balance"),
    ("balances", "balanceasset"),
    ("transactions", "transaction"),
    ("transactions", "entry"),
    ("transactions", "feerule"),
    ("transactions", "exchangerate"),
    ("walletmanager", "auditevent"),
]

GROUPS = {
    # Support answers customers: reads everything, blocks and freezes.
    "Support": [
        ("users", "block_user"),
        ("wallets", "block_wallet"),
        ("balances", "freeze_balance"),
    ],
    # Finance moves and corrects money and manages what prices it.
    "Finance": [
        ("transactions", "approve_withdrawal"),
        ("transactions", "reverse_transaction"),
        ("transactions", "adjust_balance"),
        ("balances", "add_currency"),
        ("balances", "change_currency"),
        ("transactions", "add_exchangerate"),
        ("transactions", "change_exchangerate"),
        ("transactions", "add_feerule"),
        ("transactions", "change_feerule"),
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after migrate; make sure they exist before we grant them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permission(app_label, codename):
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)

    read = [permission(app_label, f"view_{model}") for app_label, model in READ_MODELS]
    for name, grants in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*read, *(permission(app_label, codename) for app_label, codename in grants))


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0003_ledger_triggers"),
        ("balances", "0004_system_wallets"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
