from django.db import migrations

SEED = [
    ("USD", "US Dollar", 2),
    ("EUR", "Euro", 2),
    ("GBP", "Pound Sterling", 2),
    ("BTC", "Bitcoin", 8),
    ("ETH", "Ether", 18),
    ("USDT", "Tether USD", 6),
    ("TON", "Toncoin", 9),
]


def seed_currencies(apps, schema_editor):
    Currency = apps.get_model("balances", "Currency")
    for code, name, decimals in SEED:
        Currency.objects.get_or_create(code=code, defaults={"name": name, "decimals": decimals})


class Migration(migrations.Migration):
    dependencies = [("balances", "0002_initial")]

    operations = [migrations.RunPython(seed_currencies, migrations.RunPython.noop)]
