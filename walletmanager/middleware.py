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
