"""PostgreSQL as WalletManager uses it: the database backend that switches to the owner role for
migrations and test set-up, and the two roles of SPEC §14 (``roles``)."""
