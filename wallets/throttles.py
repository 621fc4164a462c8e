"""Throttles of every endpoint that takes a wallet PIN (SPEC §13): per user and per wallet, on top
of the lockout after five wrong PINs. A request counts when it carries a PIN or asks for a movement
that needs one; reads and PIN-less commands on the same views are not counted."""

from __future__ import annotations

import hashlib

from users.throttles import ScopedSettingsThrottle

PIN_KINDS = ("withdrawal", "transfer")


def _takes_pin(request, view) -> bool:
    if getattr(view, "action", None) == "close":
        return True
    data = request.data
    return hasattr(data, "get") and ("pin" in data or data.get("kind") in PIN_KINDS)


class PinUserThrottle(ScopedSettingsThrottle):
    """PIN attempts of one user (``pin``), whichever wallet they aim at."""

    scope = "pin"

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated or not _takes_pin(request, view):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class PinWalletThrottle(ScopedSettingsThrottle):
    """PIN attempts on one wallet (``pin_wallet``), whoever makes them."""

    scope = "pin_wallet"

    def get_cache_key(self, request, view):
        if not _takes_pin(request, view):
            return None
        wallet = view.kwargs.get("pk") or (request.data.get("wallet") if hasattr(request.data, "get") else None)
        if not wallet:
            return None
        ident = hashlib.sha256(str(wallet).encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


PIN_THROTTLES = [PinUserThrottle, PinWalletThrottle]
