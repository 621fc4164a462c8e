from django.db.models import QuerySet

from balances.models import Currency


def currency_list_active() -> QuerySet[Currency]:
    """The currencies clients may hold and move today."""
    return Currency.objects.filter(is_active=True).order_by("code")
