from rest_framework.routers import SimpleRouter

from transactions.views import ExchangeRateViewSet, TransactionViewSet

router = SimpleRouter()
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("rates", ExchangeRateViewSet, basename="rate")

urlpatterns = router.urls
