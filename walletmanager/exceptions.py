"""One hierarchy of domain errors. Each carries a stable ``code`` and the HTTP status it maps to.

Services raise these; ``walletmanager.api.exception_handler`` renders them as
``{"code": ..., "detail": ...}`` and management commands print ``detail`` on one line.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    status_code = 409
    default_detail = "The request was refused by a business rule."

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        self.detail = detail or self.default_detail
        if code is not None:
            self.code = code
        super().__init__(self.detail)


class Conflict(DomainError):
    """A business rule refuses the request (409)."""

    status_code = 409


class PermissionDeniedError(DomainError):
    """The actor may not do this (403)."""

    code = "permission_denied"
    status_code = 403
    default_detail = "You do not have permission to perform this action."


class NotFoundError(DomainError):
    code = "not_found"
    status_code = 404
    default_detail = "Not found."


class ValidationFailed(DomainError):
    """Input that only the service can judge (400); ``field`` names the offending input."""

    code = "invalid"
    status_code = 400
    default_detail = "Invalid input."

    def __init__(self, detail: str | None = None, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.field = field


class InvalidState(Conflict):
    code = "invalid_state"
    default_detail = "The object is not in a state that allows this."


class UserBlocked(Conflict):
    code = "user_blocked"
    default_detail = "The user is blocked."


class UserClosed(Conflict):
    code = "user_closed"
    default_detail = "The user is closed."


class SameOperator(PermissionDeniedError):
    """Dual control (SPEC §12): the operator who asked for an action never approves it."""

    code = "same_operator"
    default_detail = "A second operator must approve this: you made the request."


class OwnWallet(PermissionDeniedError):
    """Nobody approves, confirms, reverses, adjusts, unblocks or unfreezes their own money (SPEC §12)."""

    code = "own_wallet"
    default_detail = "This touches a wallet you own: another operator must do it."


class AuditSealDeferred(Conflict):
    """The audit seal waited for transactions that may still add events below its horizon, and they
    were still open: nothing was sealed; the next run tries again (SPEC §15)."""

    code = "audit_seal_deferred"
    default_detail = "Transactions that may still add audit events are open: nothing was sealed."
