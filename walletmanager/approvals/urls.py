from rest_framework.routers import SimpleRouter

from walletmanager.approvals.views import ApprovalRequestViewSet

router = SimpleRouter()
router.register("approvals", ApprovalRequestViewSet, basename="approval")

urlpatterns = router.urls
