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
