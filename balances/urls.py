from django.urls import path
from rest_framework.routers import SimpleRouter

from balances.views import BalanceFreezeView, BalanceUnfreezeView, CurrencyViewSet

router = SimpleRouter()
router.register("currencies", CurrencyViewSet, basename="currency")

urlpatterns = [
    path("wallets/<str:pk>/freeze/", BalanceFreezeView.as_view(), name="wallet-freeze"),
    path("wallets/<str:pk>/unfreeze/", BalanceUnfreezeView.as_view(), name="wallet-unfreeze"),
    *router.urls,
]
