"""Users in the operators' admin. Status changes only through the block / unblock / close actions,
which ask for a reason and call the same services as the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.sessions.models import Session
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from users import selectors, services
from users.models import AuthenticatorDevice, RecoveryCodeDevice, User
from walletmanager.admin import (
    Decision,
    StatusBanner,
    StatusBannerMixin,
    audit_changelist_url,
    link,
    moment_column,
    money,
    recent_audit_events_html,
    wallet_activity_html,
)
from walletmanager.admin_actions import reason_action, service_call
from walletmanager.admin_mixins import ServiceFormAdminMixin

# The permissions of the wallet and balance buttons on a user's page, by name: users imports neither app.
WALLET_BLOCK_PERMISSION = "wallets.block_wallet"
FREEZE_PERMISSION = "balances.freeze_balance"


class UserCreationForm(BaseUserCreationForm):
    """Email, names, role and the password typed twice; ``user_create`` judges and writes them."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role")


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "is_superuser", "groups", "user_permissions")

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"].strip()).lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("A user with this email already exists.", code="email_taken")
        return email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_superuser") and cleaned.get("role", self.instance.role) != User.Role.ADMIN:
            self.add_error("is_superuser", "A superuser must have the admin role.")
        return cleaned


class RoleFilter(admin.SimpleListFilter):
    """Clients, staff, and the system account apart: it owns the system wallets, it is nobody's client."""

    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("client", "Client"), ("admin", "Admin"), ("system", "System account")]

    def queryset(self, request, queryset):
        if self.value() == "system":
            return queryset.filter(is_system=True)
        if self.value() in (User.Role.CLIENT, User.Role.ADMIN):
            return queryset.filter(role=self.value(), is_system=False)
        return queryset


@admin.register(User)
class UserAdmin(ServiceFormAdminMixin, StatusBannerMixin, admin.ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "name", "role_column", "status_column", "is_superuser", "joined", "last_seen")
    list_filter = (RoleFilter, "status", "is_superuser", "groups")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    filter_horizontal = ("groups", "user_permissions")
    show_full_result_count = False
    actions = ["block_users", "unblock_users", "close_users", "unlock_users"]

    fieldsets = (
        # What an operator comes for first: the client's wallets and what they hold, above the fold.
        ("Wallets and balances", {"fields": ("wallets_panel",)}),
        (None, {"fields": ("email", "first_name", "last_name")}),
        ("Role and permissions", {"fields": ("role", "is_superuser", "groups", "user_permissions")}),
        ("Status (change it with the actions)", {"fields": ("status", "block_reason", "blocked_at", "closed_at")}),
        ("Staff access", {"fields": ("locked_until", "second_factor")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
        ("Activity", {"fields": ("recent_transactions", "recent_audit_events")}),
    )
    add_fieldsets = ((None, {"fields": ("email", "first_name", "last_name", "role", "password1", "password2")}),)
    status_fields = (
        "status",
        "block_reason",
        "blocked_at",
        "closed_at",
        "date_joined",
        "last_login",
        "is_system",
        "locked_until",
        "second_factor",
    )
    activity_fields = ("wallets_panel", "recent_transactions", "recent_audit_events")
    # Granting power is for superusers: an operator who may edit users must not make anyone (themselves
    # included) staff or superuser, nor hand out groups and permissions.
    privilege_fields = ("role", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.status_fields) + list(self.activity_fields) if obj is not None else []
        if not request.user.is_superuser:
            fields += list(self.privilege_fields)
        return fields

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        # Each permission's label names its content type: fetch them with the permissions, not one by one.
        if db_field.name == "user_permissions":
            kwargs.setdefault("queryset", db_field.remote_field.model.objects.select_related("content_type"))
        return super().formfield_for_manytomany(db_field, request=request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if obj.is_staff:
            return self.fieldsets
        # A client has no use for groups and 200 permissions: the picker is for staff (role "admin").
        return tuple(
            (
                "Role",
                {
                    "fields": ("role",),
                    "description": "Groups and permissions are for staff: give the admin role first.",
                },
            )
            if title == "Role and permissions"
            else (title, options)
            for title, options in self.fieldsets
        )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def _edits_privileges(self, request, change: bool) -> bool:
        return change and request.user.is_superuser

    def saves_through_service(self, obj) -> bool:
        return obj is None  # a new user; edits of names and privileges save below

    def service_save(self, actor, form, obj):
        data = form.cleaned_data
        return services.user_create(
            actor=actor,
            email=data["email"],
            password=data["password1"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            role=data.get("role", User.Role.CLIENT),
        )

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if self._edits_privileges(request, change):
                # Role and superuser flag change through the service (save_related), which audits them.
                stored = User.objects.only("role", "is_superuser").get(pk=obj.pk)
                obj.role, obj.is_superuser = stored.role, stored.is_superuser
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if not self._edits_privileges(request, change):
            return super().save_related(request, form, formsets, change)
        data = form.cleaned_data
        user = form.instance
        # A client's page has no superuser flag, groups or permissions (get_fieldsets): those stay as they are.
        services.user_set_privileges(
            actor=request.user,
            user=user,
            role=data["role"],
            is_superuser=data.get("is_superuser", user.is_superuser),
            groups=data.get("groups", user.groups.all()),
            permissions=data.get("user_permissions", user.user_permissions.all()),
        )
        form.instance.refresh_from_db(fields=["role", "is_superuser"])
        if user.pk == request.user.pk and not Session.objects.filter(session_key=request.session.session_key).exists():
            # A superuser changed their own privileges: the service ended their sessions, this one
            # included. Start an empty one, or saving the deleted session at the end of this request fails.
            request.session.flush()
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.display(description="Second factor")
    def second_factor(self, user: User) -> str:
        if not user.is_staff:
            return "— (clients log in with a password)"
        if selectors.user_is_enrolled_in_totp(user=user):
            return "Authenticator enrolled (re-enrol with manage.py staff_totp, or on the operator's Two-factor page)"
        return "Not enrolled: this operator cannot log in until `manage.py staff_totp <email>` enrols them"

    joined = moment_column("date_joined", description="Joined (UTC)")
    last_seen = moment_column("last_login", description="Last login (UTC)")

    @admin.display(description="Name", ordering="last_name")
    def name(self, user: User) -> str:
        return f"{user.first_name} {user.last_name}".strip() or "—"

    @admin.display(description="Role", ordering="role")
    def role_column(self, user: User) -> str:
        return "System" if user.is_system else user.get_role_display()

    @admin.display(description="Status", ordering="status")
    def status_column(self, user: User) -> str:
        return "System (never logs in)" if user.is_system else user.get_status_display()

    def status_banners(self, user: User) -> list[StatusBanner]:
        if user.is_system:
            return [
                StatusBanner(
                    "The system account: it owns the system wallets (the outside world, exchange, fees). "
                    "It never logs in and cannot be blocked or closed.",
                    level="closed",
                )
            ]
        if user.status == User.Status.BLOCKED:
            return [
                StatusBanner(
                    "This user is blocked: they cannot log in and none of their wallets can move money.",
                    reason=user.block_reason,
                    since=user.blocked_at,
                )
            ]
        if user.status == User.Status.CLOSED:
            return [
                StatusBanner(
                    "This user is closed (final): they can never log in again.", since=user.closed_at, level="closed"
                )
            ]
        return []

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj.admin_viewer = request.user  # the wallets panel offers the buttons this operator may use
        return obj

    def decisions(self, request, user: User) -> list[Decision]:
        """Block / unblock / unlock / close on the user's own page: the services of the list's actions
        and of the API, behind the same permission."""
        if user.is_system or not self.has_block_user_permission(request):
            return []
        found: list[Decision] = []
        if user.status == User.Status.ACTIVE:
            found.append(
                Decision(
                    "block",
                    "Block",
                    service_call(services.user_block, target="user"),
                    f"Blocked {user.email}.",
                    reason_required=True,
                    tone="danger",
                    note="they cannot log in and none of their wallets can move money until unblocked.",
                )
            )
        if user.status == User.Status.BLOCKED:
            found.append(
                Decision(
                    "unblock", "Unblock", service_call(services.user_unblock, target="user"), f"Unblocked {user.email}."
                )
            )
        if user.locked_until is not None and user.locked_until > timezone.now():
            found.append(
                Decision(
                    "unlock",
                    "Unlock (too many failed logins)",
                    service_call(services.user_unlock, target="user"),
                    f"Unlocked {user.email}.",
                )
            )
        if user.status != User.Status.CLOSED:
            found.append(
                Decision(
                    "close",
                    "Close for good",
                    service_call(services.user_close, target="user"),
                    f"Closed {user.email}.",
                    reason_required=True,
                    tone="danger",
                    note="final: every wallet of theirs must be closed first.",
                )
            )
        return found

    def has_panel_decisions(self, request, user: User) -> bool:
        return bool(self._wallets(user)) and (
            request.user.has_perm(WALLET_BLOCK_PERMISSION) or request.user.has_perm(FREEZE_PERMISSION)
        )

    def _wallets(self, user: User) -> list:
        # Reached through the reverse relation by name: users never imports wallets.
        if not hasattr(user, "_admin_wallets"):
            user._admin_wallets = list(
                user.wallets.select_related("balance")
                .prefetch_related("balance__assets__currency")
                .order_by("created_at")
            )
        return user._admin_wallets

    @staticmethod
    def _available(wallet) -> str:
        balance = getattr(wallet, "balance", None)
        assets = sorted(balance.assets.all(), key=lambda asset: asset.currency_id) if balance is not None else []
        if not assets:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            "{}",
            (
                (money(asset.available, currency=asset.currency_id, decimals=asset.currency.decimals),)
                for asset in assets
            ),
        )

    @staticmethod
    def _wallet_buttons(wallet, viewer) -> str:
        """Buttons of the page's decision form (``form=`` attribute: a form cannot nest in the change
        form) that post to the wallet's or its balance's own decide view, which brings the operator back
        here (the form's ``next``). "*": the reason is asked for first."""
        buttons = []
        balance = getattr(wallet, "balance", None)
        if viewer is not None and viewer.has_perm(WALLET_BLOCK_PERMISSION) and not wallet.is_system:
            url = reverse("admin:wallets_wallet_decide", args=[wallet.pk])
            if wallet.status == "active":
                buttons.append((url, "block", "Block wallet *", "decision decision-danger", ""))
            elif wallet.status == "blocked":
                buttons.append((url, "unblock", "Unblock wallet", "decision", "formnovalidate"))
        if viewer is not None and viewer.has_perm(FREEZE_PERMISSION) and balance is not None:
            url = reverse("admin:balances_balance_decide", args=[balance.pk])
            if balance.status == "active":
                buttons.append((url, "freeze", "Freeze *", "decision decision-danger", ""))
            elif balance.status == "frozen":
                buttons.append((url, "unfreeze", "Unfreeze", "decision", "formnovalidate"))
        return format_html_join(
            " ",
            '<button type="submit" form="decision-form" formaction="{}" name="decision" value="{}" '
            'id="decide-{}-{}" class="{}" {}>{}</button>',
            ((url, name, name, wallet.address, css, extra, label) for url, name, label, css, extra in buttons),
        )

    @admin.display(description="Wallets")
    def wallets_panel(self, user: User) -> str:
        wallets = self._wallets(user)
        if not wallets:
            return "No wallets."
        viewer = getattr(user, "admin_viewer", None)
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="money-cell">{}</td><td>{}</td></tr>',
            (
                (
                    link(reverse("admin:wallets_wallet_change", args=[wallet.pk]), wallet.address),
                    wallet.name,
                    wallet.get_kind_display(),
                    wallet.get_status_display(),
                    wallet.balance.get_status_display() if hasattr(wallet, "balance") else "—",
                    self._available(wallet),
                    self._wallet_buttons(wallet, viewer),
                )
                for wallet in wallets
            ),
        )
        return format_html(
            '<table class="related-panel" id="wallets-panel"><thead><tr><th>Address</th><th>Name</th><th>Kind</th>'
            "<th>Status</th><th>Balance status</th><th>Available</th><th>Act on it (reason above)</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Recent transactions")
    def recent_transactions(self, user: User) -> str:
        return wallet_activity_html([wallet.pk for wallet in self._wallets(user)], search=user.email)

    @admin.display(description="Recent audit events")
    def recent_audit_events(self, user: User) -> str:
        # About the user and about each of their wallets (blocks, closes, PIN lockouts).
        targets = [user, *self._wallets(user)]
        return recent_audit_events_html(targets, more_url=audit_changelist_url(*targets))

    def has_change_permission(self, request, obj=None) -> bool:
        # The system account has nothing an operator may change (the services refuse its role and status).
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Users are closed, never deleted: their wallets, ledger entries and audit trail point at them.
        return False

    def has_block_user_permission(self, request) -> bool:
        return request.user.has_perm(services.BLOCK_PERMISSION)

    block_users = reason_action(
        services.user_block,
        target="user",
        description="Block selected users",
        permission="block_user",
        done_message="Blocked {objects}.",
    )
    unblock_users = reason_action(
        services.user_unblock,
        target="user",
        description="Unblock selected users",
        permission="block_user",
        done_message="Unblocked {objects}.",
        reason_required=False,
    )
    unlock_users = reason_action(
        services.user_unlock,
        target="user",
        description="Unlock selected accounts (after too many failed logins)",
        permission="block_user",
        done_message="Unlocked {objects}.",
        already_message="{objects} {was} not locked.",
        reason_required=False,
        state_field="locked_until",
    )
    close_users = reason_action(
        services.user_close,
        target="user",
        description="Close selected users",
        permission="block_user",
        done_message="Closed {objects}.",
    )


# knox's own admin offers "Add" (a token typed by hand) and an edit form; operators only need to see
# a user's live tokens and end one (delete = revoke), so it is replaced by a read-only list.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    fields = ("user", "created", "expiry")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# The second factor's devices (users.models): operators see who has which device and when it was last
# used, never a secret. django-otp's own admins (TOTP devices, static tokens) are replaced: their
# tables are empty since the secrets moved to these encrypted models.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


class SecondFactorDeviceAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False  # `staff_totp` and the Two-factor page enrol; nobody types a secret in here

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuthenticatorDevice)
class AuthenticatorDeviceAdmin(SecondFactorDeviceAdmin):
    pass


@admin.register(RecoveryCodeDevice)
class RecoveryCodeDeviceAdmin(SecondFactorDeviceAdmin):
    pass
