from walletmanager.audit import audit_context
from walletmanager.client_ip import client_ip


class AuditContextMiddleware:
    """Make the client's address (SPEC §13: the same one the throttles use) available to the audit
    events written while serving the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(ip=client_ip(request)):
            return self.get_response(request)


class ApiNotFoundMiddleware:
    """Under /api/ a 404 answers JSON in every mode (``{"code": "not_found", ...}``). With DEBUG on,
    Django answers a URL no route matches (a malformed id) with its HTML debug page instead of
    ``handler404``, which a client parsing JSON cannot read; DRF's own 404s are left as they are."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from rest_framework.response import Response

        from walletmanager.api.error_views import API_PREFIX, not_found

        response = self.get_response(request)
        if response.status_code == 404 and request.path.startswith(API_PREFIX) and not isinstance(response, Response):
            answer = not_found(request)
            # Keep what the other middleware said (the Content-Security-Policy, the security headers).
            for header, value in response.items():
                if header.lower() not in ("content-type", "content-length"):
                    answer[header] = value
            return answer
        return response
