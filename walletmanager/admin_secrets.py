"""Admin list filters and searches never touch a secret (SPEC §13).

Django's ``ModelAdmin.lookup_allowed`` lets any query parameter filter on a model's own fields, so
``?password__startswith=argon2$argon2id$v=19$m=…`` answers "1 result" or "0 results" and a hash, a PIN
hash, a webhook secret or a TOTP key comes out one character at a time. Each app names its secret
fields here (``register_secret_fields`` in ``AppConfig.ready()``), and the operators' admin site wraps
every ``ModelAdmin`` it registers, third-party ones included, with ``SecretLookupsRefused``: a lookup
whose path touches a secret is refused (Django answers 400, ``DisallowedModelAdminLookup``, before
any query runs), and search fields that would reach a secret are dropped.
"""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP

_SECRET_FIELDS: set[tuple[str, str]] = set()  # (model label, lower-cased; field name)


def register_secret_fields(model_label: str, *field_names: str) -> None:
    """Declare fields of ``app_label.ModelName`` that hold secrets (hashes, keys, tokens)."""
    model = apps.get_model(model_label)  # fails loudly on a typo
    for name in field_names:
        field = model._meta.get_field(name)
        _SECRET_FIELDS.add((model._meta.label_lower, field.name))


def is_secret_field(model: type[Model], field_name: str) -> bool:
    return (model._meta.label_lower, field_name) in _SECRET_FIELDS


def _primary_key_is_secret(model: type[Model]) -> bool:
    return is_secret_field(model, model._meta.pk.name)


def lookup_touches_secret(model: type[Model], lookup: str) -> bool:
    """Whether filtering ``model`` by ``lookup`` (``owner__password__startswith``, ``pk__gt``, …) compares
    a secret: a secret field anywhere on the path, or a relation (or ``pk``) that stands for the primary
    key of a model whose primary key is a secret (knox keys its tokens by their digest)."""
    current = model
    parts = lookup.split(LOOKUP_SEP)
    for index, part in enumerate(parts):
        if part == "pk":
            return _primary_key_is_secret(current)
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a transform or a lookup name: the path ended on a field already checked
        if is_secret_field(current, field.name):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        current = field.related_model
        following = parts[index + 1] if index + 1 < len(parts) else None
        if following is None or following == "pk" or _not_a_field(current, following):
            # ``?auth_token_set__startswith=`` compares the related row's primary key.
            return _primary_key_is_secret(current)
    return False


def _not_a_field(model: type[Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return True
    return False


def _search_path(search_field: str) -> str:
    return search_field[1:] if search_field[:1] in ("^", "=", "@") else search_field


class SecretLookupsRefused:
    """Mixed in before any ``ModelAdmin``: refuses filters on secrets and drops secret search fields."""

    def lookup_allowed(self, lookup, value, request=None):
        if lookup_touches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        return [
            field
            for field in super().get_search_fields(request)
            if not lookup_touches_secret(self.model, _search_path(field))
        ]


def refusing_secret_lookups(admin_class: type) -> type:
    """``admin_class`` with ``SecretLookupsRefused`` in front (itself if it already has it)."""
    if issubclass(admin_class, SecretLookupsRefused):
        return admin_class
    return type(
        admin_class.__name__,
        (SecretLookupsRefused, admin_class),
        {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
    )
