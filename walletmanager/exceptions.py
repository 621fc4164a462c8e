"""One hierarchy of domain errors. Each names one ``ErrorCode``, whose member fixes its HTTP status.

Services raise these; ``walletmanager.api.exception_handler`` renders them as
``{"code": ..., "detail": ...}`` and management commands print ``detail`` on one line.
"""

from __future__ import annotations

from walletmanager.error_codes import ErrorCode


class DomainError(Exception):
    code: ErrorCode = ErrorCode.CONFLICT
    status_code: int = ErrorCode.CONFLICT.status
    default_detail = "The request was refused by a business rule."

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # The status is the code's: a subclass cannot give a code a second status.
        cls.code = ErrorCode(cls.code)
        cls.status_code = cls.code.status

    def __init__(self, detail: str | None = None, *, code: ErrorCode | str | None = None) -> None:
        self.detail = detail or self.default_detail
        if code is not None:
            self.code = ErrorCode(code)
            self.status_code = self.code.status
        super().__init__(self.detail)


class Conflict(DomainError):
    """A business rule refuses the request (409)."""


class PermissionDeniedError(DomainError):
    """The actor may not do this (403)."""

    code = ErrorCode.PERMISSION_DENIED
    default_detail = "You do not have permission to perform this action."


class NotFoundError(DomainError):
    code = ErrorCode.NOT_FOUND
    default_detail = "Not found."


class ValidationFailed(DomainError):
    """Input that only the service can judge (400); ``field`` names the offending input."""

    code = ErrorCode.INVALID
    default_detail = "Invalid input."

    def __init__(
        self, detail: str | None = None, *, field: str | None = None, code: ErrorCode | str | None = None
    ) -> None:
        super().__init__(detail, code=code)
        self.field = field

    @classmethod
    def from_django(cls, error) -> ValidationFailed:
        """The first message of a Django ``ValidationError`` (a model's ``full_clean``), naming its
        field (None for a rule across fields, such as a constraint)."""
        if hasattr(error, "error_dict"):
            field, errors = next(iter(error.error_dict.items()))
            messages = " ".join(message for item in errors for message in item.messages)
            return cls(messages, field=None if field == "__all__" else field)
        return cls(" ".join(error.messages))


class InvalidState(Conflict):
    code = ErrorCode.INVALID_STATE
    default_detail = "The object is not in a state that allows this."


class UserBlocked(Conflict):
    code = ErrorCode.USER_BLOCKED
    default_detail = "The user is blocked."


class UserClosed(Conflict):
    code = ErrorCode.USER_CLOSED
    default_detail = "The user is closed."


class SameOperator(PermissionDeniedError):
    """Dual control (SPEC §12): the operator who asked for an action never approves it."""

    code = ErrorCode.SAME_OPERATOR
    default_detail = "A second operator must approve this: you made the request."


class OwnWallet(PermissionDeniedError):
    """Nobody approves, confirms, reverses, adjusts, unblocks or unfreezes their own money (SPEC §12)."""

    code = ErrorCode.OWN_WALLET
    default_detail = "This touches a wallet you own: another operator must do it."


class AuditSealDeferred(Conflict):
    """The audit seal waited for transactions that may still add events below its horizon, and they
    were still open: nothing was sealed; the next run tries again (SPEC §15)."""

    code = ErrorCode.AUDIT_SEAL_DEFERRED
    default_detail = "Transactions that may still add audit events are open: nothing was sealed."
