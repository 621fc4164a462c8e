"""The actions that need a second operator, registered by the domains that own them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Prepared:
    """A maker's request, checked: the payload to store (JSON), what it does in words, what it acts
    on (for the audit trail) and whose wallets it touches (nobody decides on their own money)."""

    payload: dict[str, Any]
    summary: str
    target_type: str
    target_id: str
    owner_ids: frozenset[Any]


@dataclass(frozen=True)
class ApprovalAction:
    name: str
    permission: str  # "app_label.codename": both maker and checker need it
    label: str
    prepare: Callable[..., Prepared]  # prepare(actor=maker, **arguments) -> Prepared; raises DomainError
    run: Callable[..., dict[str, Any]]  # run(actor=checker, payload=..., reason=...) -> result (JSON)
    owners: Callable[[dict[str, Any]], frozenset[Any]]  # owner ids of the wallets it touches, read afresh
    denied: str | None = None  # what a maker without the permission is told (default: names the permission)


_actions: dict[str, ApprovalAction] = {}


def register(action: ApprovalAction) -> None:
    _actions[action.name] = action


def get(name: str) -> ApprovalAction:
    return _actions[name]


def all_actions() -> dict[str, ApprovalAction]:
    return dict(_actions)
