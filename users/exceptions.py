from walletmanager.exceptions import Conflict, PermissionDeniedError


class UserHasOpenWallets(Conflict):
    code = "user_has_open_wallets"
    default_detail = "Close every wallet of the user first."


class CannotBlockSelf(PermissionDeniedError):
    code = "cannot_block_self"
    default_detail = "Staff cannot block or close themselves."


class CannotBlockStaff(PermissionDeniedError):
    code = "cannot_block_staff"
    default_detail = "Only a superuser can block or close staff."
