from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from transactions.admin_views import desk_view, reconcile_view, search_view
from walletmanager.api.root import ApiRootView

urlpatterns = [
    # The back office is the site: "/" is no dead end.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    # Admin pages that span the domains, behind the admin's own login and second factor.
    path("admin/desk/", admin.site.admin_view(desk_view), name="operator_desk"),
    path("admin/search/", admin.site.admin_view(search_view), name="operator_search"),
    path("admin/reconcile/", admin.site.admin_view(reconcile_view), name="operator_reconcile"),
    path("admin/", admin.site.urls),
    path("api/", ApiRootView.as_view(), name="api-root"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/health/", include("walletmanager.api.health")),
    path("api/auth/session/", include("users.session_login", namespace="rest_framework")),
    path("api/", include("users.urls")),
    path("api/", include("wallets.urls")),
    path("api/", include("balances.urls")),
    path("api/", include("transactions.urls")),
    path("api/", include("walletmanager.approvals.urls")),
    path("api/", include("walletmanager.webhooks.urls")),
]

handler404 = "walletmanager.api.error_views.not_found"
handler500 = "walletmanager.api.error_views.server_error"
