from walletmanager.exceptions import Conflict, DomainError, PermissionDeniedError


class UserHasOpenWallets(Conflict):
    code = "user_has_open_wallets"
    default_detail = "Close every wallet of the user first."


class CannotBlockSelf(PermissionDeniedError):
    code = "cannot_block_self"
    default_detail = "Staff cannot block or close themselves."


class CannotBlockStaff(PermissionDeniedError):
    code = "cannot_block_staff"
    default_detail = "Only a superuser can block or close staff."


class InvalidCredentials(DomainError):
    """Wrong email or password: one generic answer, whichever it was, so emails cannot be enumerated."""

    code = "invalid_credentials"
    status_code = 401
    default_detail = "Unable to log in with the provided credentials."


class LoginRefusedBlocked(PermissionDeniedError):
    """The password was right but the user is blocked (login answers 403, money movements 409)."""

    code = "user_blocked"
    default_detail = "This account is blocked. Contact support."


class LoginRefusedClosed(PermissionDeniedError):
    code = "user_closed"
    default_detail = "This account is closed."
