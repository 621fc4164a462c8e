from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import Conflict


class BalanceFrozen(Conflict):
    code = ErrorCode.BALANCE_FROZEN
    default_detail = "The balance is frozen: no money can leave it."


class CurrencyNotAllowed(Conflict):
    code = ErrorCode.CURRENCY_NOT_ALLOWED
    default_detail = "This balance does not hold that currency."


class InsufficientFunds(Conflict):
    code = ErrorCode.INSUFFICIENT_FUNDS
    default_detail = "Not enough available funds."
