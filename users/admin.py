"""Users in the operators' admin. Status changes only through the block / unblock / close actions,
which ask for a reason and call the same services as the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.forms import BaseUserCreationForm
from django.db import transaction

from users import services
from users.models import User
from walletmanager.admin_actions import reason_action


class UserCreationForm(BaseUserCreationForm):
    """Email, names, role and a password checked by every configured validator, then hashed."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role")

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"].strip()).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with this email already exists.", code="email_taken")
        return email


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "is_superuser", "groups", "user_permissions")

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"].strip()).lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("A user with this email already exists.", code="email_taken")
        return email


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "first_name", "last_name", "role", "status", "is_superuser", "date_joined", "last_login")
    list_filter = ("role", "status", "is_superuser", "groups")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    filter_horizontal = ("groups", "user_permissions")
    show_full_result_count = False
    actions = ["block_users", "unblock_users", "close_users"]

    fieldsets = (
        (None, {"fields": ("email", "first_name", "last_name")}),
        ("Role and permissions", {"fields": ("role", "is_superuser", "groups", "user_permissions")}),
        ("Status (change it with the actions)", {"fields": ("status", "block_reason", "blocked_at", "closed_at")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = (
        (None, {"fields": ("email", "first_name", "last_name", "role", "password1", "password2")}),
    )
    status_fields = ("status", "block_reason", "blocked_at", "closed_at", "date_joined", "last_login", "is_system")
    # Granting power is for superusers: an operator who may edit users must not make anyone (themselves
    # included) staff or superuser, nor hand out groups and permissions.
    privilege_fields = ("role", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.status_fields) if obj is not None else []
        if not request.user.is_superuser:
            fields += list(self.privilege_fields)
        return fields

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                services.user_record_created_by_staff(actor=request.user, user=obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Users are closed, never deleted: their wallets, ledger entries and audit trail point at them.
        return False

    def has_block_user_permission(self, request) -> bool:
        return request.user.has_perm("users.block_user")

    block_users = reason_action(
        name="block_users",
        description="Block selected users",
        permission="block_user",
        call=lambda actor, user, reason: services.user_block(actor=actor, user=user, reason=reason),
        done_message="Blocked {count} user(s).",
    )
    unblock_users = reason_action(
        name="unblock_users",
        description="Unblock selected users",
        permission="block_user",
        call=lambda actor, user, reason: services.user_unblock(actor=actor, user=user, reason=reason),
        done_message="Unblocked {count} user(s).",
        reason_required=False,
    )
    close_users = reason_action(
        name="close_users",
        description="Close selected users",
        permission="block_user",
        call=lambda actor, user, reason: services.user_close(actor=actor, user=user, reason=reason),
        done_message="Closed {count} user(s).",
    )
