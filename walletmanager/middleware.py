from walletmanager.audit import audit_context


class AuditContextMiddleware:
    """Make the client's address available to audit events written while serving the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(ip=request.META.get("REMOTE_ADDR") or None):
            return self.get_response(request)
