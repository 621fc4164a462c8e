from walletmanager.exceptions import Conflict


class BalanceFrozen(Conflict):
    code = "balance_frozen"
    default_detail = "The balance is frozen: no money can leave it."


class CurrencyNotAllowed(Conflict):
    code = "currency_not_allowed"
    default_detail = "This balance does not hold that currency."


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    default_detail = "Not enough available funds."
