"""Input and output serializers of the users API, kept separate: inputs only parse, services decide."""

from __future__ import annotations

from rest_framework import serializers

from users.models import NAME_VALIDATOR, User

# Long enough for any passphrase, short enough that hashing a hostile request stays cheap.
PASSWORD_MAX_LENGTH = 1024


def name_field(*, required: bool = True) -> serializers.CharField:
    return serializers.CharField(min_length=1, max_length=150, validators=[NAME_VALIDATOR], required=required)


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "status"]
        read_only_fields = fields


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = name_field()
    last_name = name_field()


class LoginInputSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, style={"input_type": "password"}
    )
    otp = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=16,
        default="",
        help_text="Staff only: the 6-digit code of the authenticator app, or a recovery code.",
    )


class LoginOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>` (or `Bearer <token>`).")
    expiry = serializers.DateTimeField(allow_null=True)


class ProfileUpdateInputSerializer(serializers.Serializer):
    first_name = name_field(required=False)
    last_name = name_field(required=False)


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class RequiredReasonInputSerializer(serializers.Serializer):
    """Blocking or closing a user needs a reason (the service refuses without one): the schema says so."""

    reason = serializers.CharField(max_length=1000)


class UserErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
