"""The OpenAPI schema says every answer an operation can give, so that a generated client and a
validating gateway can trust it (docs/api.md):

- every operation documents its error responses (400, 401, 403, 404, 409, 415, 422, 429, 503 as they
  apply) with one ``Error`` body whose ``code`` is the ``ErrorCode`` enum, and ``Retry-After`` where
  the server sends it;
- a request body the server refuses unknown fields of (``StrictSerializer``) is
  ``additionalProperties: false``;
- a representation documented as several alternatives without a discriminator (a transaction as a
  client or as staff sees it) is ``anyOf``: a staff representation is a client one with more fields.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.plumbing import force_instance
from rest_framework import permissions, serializers

from walletmanager.error_codes import ERROR_CODE_CHOICES

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

ERROR_DESCRIPTIONS = {
    400: "Input errors: `code` is `invalid` and `fields` names each input with its own codes, or `parse_error`.",
    401: "Not authenticated: `not_authenticated`, `authentication_failed` (unknown or expired token).",
    403: "Not allowed: `permission_denied` or the refusal's own code.",
    404: "`not_found`: no such object, not the caller's, or a page beyond the last.",
    409: "A business rule refused the request; nothing changed. `code` says which.",
    415: "`unsupported_media_type`: request bodies are `application/json` only.",
    422: "`idempotency_key_reused`: this `Idempotency-Key` was used with another body.",
    429: "`throttled`: too many attempts; retry after `Retry-After` seconds.",
    503: "`service_unavailable`: the database is unreachable, the connection was lost or every connection "
    "stayed busy; nothing was "
    "changed that the response did not report. Retry after `Retry-After` seconds.",
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before retrying.",
    }
}


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="A validator's code (`required`, `invalid`, `max_length` …) or a domain one (`amount_too_small`)."
    )
    detail = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error body: ``code`` and ``detail``; input errors also ``fields``."""

    code = serializers.ChoiceField(choices=ERROR_CODE_CHOICES, help_text="Programs switch on this.")
    detail = serializers.CharField(help_text="For people; `code` is for programs.")
    fields = serializers.DictField(
        child=FieldErrorSerializer(many=True),
        required=False,
        help_text="Input errors by input name (`non_field_errors` for the body as a whole; nested as `a.b`).",
    )


class ClosedSchema:
    """Marks a request serializer that refuses unknown fields: its schema says so."""


class AutoSchema(openapi.AutoSchema):
    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(force_instance(serializer), ClosedSchema):
            schema["additionalProperties"] = False
        return schema

    def _get_filter_parameters(self):
        # A filter sent empty (as the browsable API's filter form sends every field) filters nothing.
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            if parameter.get("in") == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        error = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, "response").ref}}
        for status in self._error_statuses(responses):
            documented = responses.get(str(status), {})
            description = documented.get("description", "")
            responses[str(status)] = {
                "description": ERROR_DESCRIPTIONS[status] if status == 400 or not description else description,
                "content": error,
                **({"headers": RETRY_AFTER} if status in (409, 429, 503) and self._sends_retry_after(status) else {}),
            }
        return dict(sorted(responses.items()))

    def _sends_retry_after(self, status: int) -> bool:
        # 409 carries it only for `idempotency_in_progress`, on the operations that take the header.
        return status != 409 or any(parameter.get("name") == "Idempotency-Key" for parameter in self._get_parameters())

    def _error_statuses(self, responses) -> list[int]:
        method = self.method.upper()
        has_input = method in UNSAFE_METHODS or self._is_list_view() or bool(self._get_parameters())
        statuses = {403}
        if self.view.get_authenticators():
            statuses.add(401)  # also where anyone may call: a bad token is refused before the view runs
        if getattr(self.view, "uses_database", True):
            statuses.add(503)
        if has_input:
            statuses.add(400)
        if "{" in self.path or self._is_list_view():
            statuses.add(404)  # an object that is not there, or a page beyond the last
        if method in UNSAFE_METHODS:
            statuses.update({409, 415})
        if self.view.throttle_classes:
            statuses.add(429)
        if method not in UNSAFE_METHODS and all(
            isinstance(permission, permissions.AllowAny) for permission in self.view.get_permissions()
        ):
            statuses.discard(403)  # open to anyone, and no session CSRF check on a read
        statuses.update(int(code) for code in responses if code[0] in "45" and int(code) in ERROR_DESCRIPTIONS)
        return sorted(statuses)


def any_of_without_discriminator(result, generator, request, public):
    """Postprocessing hook: alternatives that no discriminator tells apart are ``anyOf`` (a staff
    representation is a client one with more fields, so it may match both)."""

    def visit(node):
        if isinstance(node, dict):
            if "oneOf" in node and "discriminator" not in node:
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result


def _enum_member_name(value: str) -> str:
    """``-created_at`` → ``CREATED_AT_DESCENDING``; ``amount`` → ``AMOUNT``."""
    if not value:
        return "BLANK"
    descending = value.startswith("-")
    name = "".join(character if character.isalnum() else "_" for character in value.lstrip("-")).upper()
    return f"{name}_DESCENDING" if descending else name


def named_enum_values(result, generator, request, public):
    """Postprocessing hook: an enum whose values are not names (an ordering's ``-amount``) carries
    ``x-enum-varnames``, so generated clients name its members (``AMOUNT_DESCENDING``, not ``VALUE_0``)."""

    def visit(node):
        if isinstance(node, dict):
            values = node.get("enum")
            if (
                isinstance(values, list)
                and values
                and all(isinstance(value, str) for value in values)
                and any(not value.isidentifier() for value in values)
            ):
                node["x-enum-varnames"] = [_enum_member_name(value) for value in values]
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result
