import secrets

from django.db import migrations

SYSTEM_EMAIL = "system@walletmanager.invalid"
SYSTEM_WALLETS = [("external", "External world"), ("fx", "FX desk"), ("fees", "Fee income")]
ADDRESS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def create_system_wallets(apps, schema_editor):
    """The system user owns the three system wallets: the outside world, the FX desk and fee income.

    Their balances are multi-currency with no assets: their positions are the sums of their entries.
    """
    User = apps.get_model("users", "User")
    Wallet = apps.get_model("wallets", "Wallet")
    Balance = apps.get_model("balances", "Balance")
    system_user, _ = User.objects.get_or_create(
        email=SYSTEM_EMAIL,
        defaults={"first_name": "System", "last_name": "Account", "is_system": True, "password": "!"},
    )
    for role, name in SYSTEM_WALLETS:
        address = "".join(secrets.choice(ADDRESS_ALPHABET) for _ in range(26))
        wallet, _ = Wallet.objects.get_or_create(
            system_role=role, defaults={"owner": system_user, "name": name, "kind": "debit", "address": address}
        )
        Balance.objects.get_or_create(wallet=wallet, defaults={"kind": "multi"})


class Migration(migrations.Migration):
    dependencies = [
        ("balances", "0003_seed_currencies"),
        ("users", "0001_initial"),
        ("wallets", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_system_wallets, migrations.RunPython.noop)]
