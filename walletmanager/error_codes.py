"""Every ``code`` the API answers with, each with the one HTTP status it always has (STYLE "One error contract").

A body is ``{"code", "detail"}``; a 400 also carries ``fields`` whose entries have codes of their own:
the domain ones below marked as field codes, or the validator codes of DRF and Django (``required``,
``blank``, ``max_length`` …). Domain errors (``walletmanager.exceptions``) name one member each, and
their HTTP status is the member's: a code never means two statuses.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    status: int

    def __new__(cls, value: str, status: int, description: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.description = description
        return member

    # 400: the request is malformed; nothing was changed.
    INVALID = "invalid", 400, "Input errors; `fields` says which input and why."
    PARSE_ERROR = "parse_error", 400, "The body is not valid JSON."
    # 400, field codes (inside `fields`).
    UNKNOWN_FIELD = "unknown_field", 400, "A field this operation does not take (a typo must not be ignored)."
    OUT_OF_RANGE = "out_of_range", 400, "An instant before year 1 or after year 9999 once in UTC."
    AMOUNT_TOO_SMALL = "amount_too_small", 400, "The amount does not cover the fee."
    EMAIL_TAKEN = "email_taken", 400, "A user with this email already exists."
    UNKNOWN_EVENT_TYPE = "unknown_event_type", 400, "A webhook event type that does not exist."
    WEBHOOK_URL_REFUSED = "webhook_url_refused", 400, "A webhook URL that may not be called."
    TOO_MANY_WEBHOOK_ENDPOINTS = "too_many_webhook_endpoints", 400, "The webhook endpoint limit is reached."
    # 401: who is calling is unknown or unproven.
    NOT_AUTHENTICATED = "not_authenticated", 401, "No credentials were sent."
    AUTHENTICATION_FAILED = "authentication_failed", 401, "The token is unknown, expired or revoked."
    INVALID_CREDENTIALS = "invalid_credentials", 401, "Wrong email or password."
    OTP_REQUIRED = "otp_required", 401, "A staff login needs the authenticator code."
    INVALID_OTP = "invalid_otp", 401, "The authenticator code is wrong or was already used."
    # 403: the caller may not do this.
    PERMISSION_DENIED = "permission_denied", 403, "The caller lacks the role or permission."
    INVALID_PIN = "invalid_pin", 403, "The wallet PIN is wrong."
    PIN_LOCKED = "pin_locked", 403, "Too many wrong PINs; try again later."
    SAME_OPERATOR = "same_operator", 403, "A second operator must approve a request one made."
    OWN_WALLET = "own_wallet", 403, "Staff never act on money of their own."
    CANNOT_BLOCK_SELF = "cannot_block_self", 403, "Staff cannot block or close themselves."
    CANNOT_BLOCK_STAFF = "cannot_block_staff", 403, "Only a superuser can block or close staff."
    ACCOUNT_BLOCKED = "account_blocked", 403, "Login refused: the account is blocked."
    ACCOUNT_CLOSED = "account_closed", 403, "Login refused: the account is closed."
    ACCOUNT_LOCKED = "account_locked", 403, "Login refused: a staff account locked after failed logins."
    # 404
    NOT_FOUND = "not_found", 404, "No such object, or not one of the caller's."
    USER_NOT_FOUND = "user_not_found", 404, "No user with this email."
    # 405, 406, 415: the HTTP request itself does not fit the operation.
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "The method is not allowed here."
    NOT_ACCEPTABLE = "not_acceptable", 406, "No representation matches the Accept header."
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415, "Request bodies are application/json only."
    # 409: a business rule refuses the request; nothing was changed.
    CONFLICT = "conflict", 409, "A business rule refused the request."
    INVALID_STATE = "invalid_state", 409, "The object is not in a state that allows this."
    USER_BLOCKED = "user_blocked", 409, "The user (or a wallet's owner) is blocked."
    USER_CLOSED = "user_closed", 409, "The user is closed."
    USER_HAS_OPEN_WALLETS = "user_has_open_wallets", 409, "Close every wallet of the user first."
    WALLET_BLOCKED = "wallet_blocked", 409, "The wallet is blocked."
    WALLET_CLOSED = "wallet_closed", 409, "The wallet is closed."
    WALLET_NOT_EMPTY = "wallet_not_empty", 409, "The wallet still holds money or pending holds."
    WALLET_LIMIT_REACHED = "wallet_limit_reached", 409, "The user has the maximum number of wallets."
    BALANCE_FROZEN = "balance_frozen", 409, "The balance is frozen: no money can leave it."
    CURRENCY_NOT_ALLOWED = "currency_not_allowed", 409, "This balance does not hold that currency."
    INSUFFICIENT_FUNDS = "insufficient_funds", 409, "Not enough available funds."
    DAILY_LIMIT_EXCEEDED = "daily_limit_exceeded", 409, "The wallet's daily outgoing limit would be exceeded."
    RATE_UNAVAILABLE = "rate_unavailable", 409, "No current exchange rate for this pair."
    RECIPIENT_UNAVAILABLE = "recipient_unavailable", 409, "The recipient's wallet cannot receive this payment."
    ALREADY_REVERSED = "already_reversed", 409, "The transaction has already been reversed."
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range", 409, "The resulting balance would exceed what the ledger holds."
    IDEMPOTENCY_IN_PROGRESS = (
        "idempotency_in_progress",
        409,
        ("A request with this Idempotency-Key is still running; retry after `Retry-After` seconds."),
    )
    AUDIT_SEAL_DEFERRED = "audit_seal_deferred", 409, "Transactions that may add audit events are still open."
    # 422
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused", 422, "This Idempotency-Key was used with another body."
    # 429
    THROTTLED = "throttled", 429, "Too many requests; retry after `Retry-After` seconds."
    # 5xx
    SERVER_ERROR = "server_error", 500, "A bug: nothing the client can change."
    SERVICE_UNAVAILABLE = (
        "service_unavailable",
        503,
        (
            "The database is unreachable, the connection was lost or every connection stayed busy; retry after "
            "`Retry-After` seconds."
        ),
    )


def codes_with_status(status: int) -> list[ErrorCode]:
    return [code for code in ErrorCode if code.status == status]


# (code, what it means): the OpenAPI schema's ErrorCodeEnum, each code described.
ERROR_CODE_CHOICES = [(code.value, code.description) for code in ErrorCode]
