from walletmanager.exceptions import Conflict, ValidationFailed


class RateUnavailable(Conflict):
    code = "rate_unavailable"
    default_detail = "No current exchange rate for this pair."


class AlreadyReversed(Conflict):
    code = "already_reversed"
    default_detail = "The transaction has already been reversed."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    status_code = 422
    default_detail = "This Idempotency-Key was used with a different request."


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed."


class AmountTooSmall(ValidationFailed):
    code = "amount_too_small"
    default_detail = "The amount does not cover the fee."


class DailyLimitExceeded(Conflict):
    code = "daily_limit_exceeded"
    default_detail = "This would exceed the wallet's daily outgoing limit for the currency."


class RecipientUnavailable(Conflict):
    """The receiving wallet cannot take money now; why is the recipient's business (SPEC §12)."""

    code = "recipient_unavailable"
    default_detail = "The recipient's wallet cannot receive this payment."
