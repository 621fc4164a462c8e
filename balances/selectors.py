from django.db.models import QuerySet

from balances.models import Balance, BalanceAsset, Currency


def currency_list_active() -> QuerySet[Currency]:
    """The currencies clients may hold and move today."""
    return Currency.objects.filter(is_active=True).order_by("code")


def currency_in_use(*, code: str) -> bool:
    """Whether any balance holds (or is made for) the currency: its precision is then fixed."""
    return BalanceAsset.objects.filter(currency_id=code).exists() or Balance.objects.filter(currency_id=code).exists()
