from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import Conflict, DomainError, ValidationFailed


class RateUnavailable(Conflict):
    code = ErrorCode.RATE_UNAVAILABLE
    default_detail = "No current exchange rate for this pair."


class AlreadyReversed(Conflict):
    code = ErrorCode.ALREADY_REVERSED
    default_detail = "The transaction has already been reversed."


class IdempotencyKeyReused(DomainError):
    """The key's first request had another body (422: the request, not the state, is wrong)."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    default_detail = "This Idempotency-Key was used with a different request."


class IdempotencyInProgress(Conflict):
    code = ErrorCode.IDEMPOTENCY_IN_PROGRESS
    default_detail = "A request with this Idempotency-Key is still being processed."
    # Seconds a client waits before retrying: the first request holds the key only while it runs.
    retry_after = 1


class AmountTooSmall(ValidationFailed):
    code = ErrorCode.AMOUNT_TOO_SMALL
    default_detail = "The amount does not cover the fee."


class DailyLimitExceeded(Conflict):
    code = ErrorCode.DAILY_LIMIT_EXCEEDED
    default_detail = "This would exceed the wallet's daily outgoing limit for the currency."


class RecipientUnavailable(Conflict):
    """The receiving wallet cannot take money now; why is the recipient's business (SPEC §12)."""

    code = ErrorCode.RECIPIENT_UNAVAILABLE
    default_detail = "The recipient's wallet cannot receive this payment."
