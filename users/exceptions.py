from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import Conflict, DomainError, PermissionDeniedError


class UserHasOpenWallets(Conflict):
    code = ErrorCode.USER_HAS_OPEN_WALLETS
    default_detail = "Close every wallet of the user first."


class CannotBlockSelf(PermissionDeniedError):
    code = ErrorCode.CANNOT_BLOCK_SELF
    default_detail = "Staff cannot block or close themselves."


class CannotBlockStaff(PermissionDeniedError):
    code = ErrorCode.CANNOT_BLOCK_STAFF
    default_detail = "Only a superuser can block or close staff."


class InvalidCredentials(DomainError):
    """Wrong email or password: one generic answer, whichever it was, so emails cannot be enumerated."""

    code = ErrorCode.INVALID_CREDENTIALS
    default_detail = "Unable to log in with the provided credentials."


class LoginRefusedBlocked(PermissionDeniedError):
    """The password was right but the user is blocked (login answers 403, money movements 409)."""

    code = ErrorCode.ACCOUNT_BLOCKED
    default_detail = "This account is blocked. Contact support."


class LoginRefusedClosed(PermissionDeniedError):
    code = ErrorCode.ACCOUNT_CLOSED
    default_detail = "This account is closed."


class AccountLocked(PermissionDeniedError):
    """Too many failed logins on a staff account (SPEC §13): nobody logs in until it unlocks."""

    code = ErrorCode.ACCOUNT_LOCKED
    default_detail = (
        "This account is locked after too many failed logins. Try again later or ask an administrator to unlock it."
    )


class OtpRequired(DomainError):
    """A staff account's password was right; the second factor is missing (or none is enrolled)."""

    code = ErrorCode.OTP_REQUIRED
    default_detail = "Enter the code from your authenticator app (field `otp`)."


class InvalidOtp(DomainError):
    code = ErrorCode.INVALID_OTP
    default_detail = "The authenticator code is wrong or was already used."


class LoginThrottled(DomainError):
    """Too many login attempts for one email or from one address (429, with ``Retry-After``)."""

    code = ErrorCode.THROTTLED
    default_detail = "Too many login attempts."

    def __init__(self, *, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(f"Too many login attempts. Try again in {self.retry_after} seconds.")
