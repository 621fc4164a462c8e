from rest_framework.routers import SimpleRouter

from walletmanager.webhooks.views import WebhookEndpointViewSet

router = SimpleRouter()
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")

urlpatterns = router.urls
