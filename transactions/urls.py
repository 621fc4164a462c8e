from django.urls import path
from rest_framework.routers import SimpleRouter

from transactions.payment_views import PaymentCallbackView
from transactions.statement_views import WalletBalanceAsOfView, WalletStatementDownloadView, WalletStatementView
from transactions.views import ExchangeRateViewSet, TransactionViewSet

router = SimpleRouter()
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("rates", ExchangeRateViewSet, basename="rate")

urlpatterns = [
    # Reads of the ledger about one wallet: here, not in wallets, which never imports transactions.
    path("wallets/<str:id>/balance/", WalletBalanceAsOfView.as_view(), name="wallet-balance-as-of"),
    path("wallets/<str:id>/statement/", WalletStatementView.as_view(), name="wallet-statement"),
    path(
        "wallets/<str:id>/statement/download/",
        WalletStatementDownloadView.as_view(),
        name="wallet-statement-download",
    ),
    path("payments/callback/", PaymentCallbackView.as_view(), name="payment-callback"),
    *router.urls,
]
