from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import Conflict, PermissionDeniedError


class WalletLimitReached(Conflict):
    code = ErrorCode.WALLET_LIMIT_REACHED
    default_detail = "You already have the maximum number of wallets."


class WalletBlocked(Conflict):
    code = ErrorCode.WALLET_BLOCKED
    default_detail = "The wallet is blocked."


class WalletClosed(Conflict):
    code = ErrorCode.WALLET_CLOSED
    default_detail = "The wallet is closed."


class WalletNotEmpty(Conflict):
    code = ErrorCode.WALLET_NOT_EMPTY
    default_detail = "The wallet still holds money or pending holds."


class InvalidPin(PermissionDeniedError):
    code = ErrorCode.INVALID_PIN
    default_detail = "The PIN is wrong."


class PinLocked(PermissionDeniedError):
    code = ErrorCode.PIN_LOCKED
    default_detail = "Too many wrong PINs; try again later."
