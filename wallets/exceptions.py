from walletmanager.exceptions import Conflict, PermissionDeniedError


class WalletLimitReached(Conflict):
    code = "wallet_limit_reached"
    default_detail = "You already have the maximum number of wallets."


class WalletBlocked(Conflict):
    code = "wallet_blocked"
    default_detail = "The wallet is blocked."


class WalletClosed(Conflict):
    code = "wallet_closed"
    default_detail = "The wallet is closed."


class WalletNotEmpty(Conflict):
    code = "wallet_not_empty"
    default_detail = "The wallet still holds money or pending holds."


class InvalidPin(PermissionDeniedError):
    code = "invalid_pin"
    default_detail = "The PIN is wrong."


class PinLocked(PermissionDeniedError):
    code = "pin_locked"
    default_detail = "Too many wrong PINs; try again later."
