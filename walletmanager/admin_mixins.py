"""What the admins of every app share."""

from __future__ import annotations

from django.db import transaction

from walletmanager.exceptions import DomainError, ValidationFailed


class ReadOnlyAdminMixin:
    """Rows operators may read but never add, change or delete in the admin (money, logs): what
    changes them is a service, through an action."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ServiceFormAdminMixin:
    """A ModelAdmin whose add (and change) form writes through a service (STYLE rule 5).

    The form only parses its fields. Once they parse, ``service_save(actor, form, obj)`` calls the
    service, which judges and writes; it runs inside the form's validation (the admin's request is
    one database transaction, and the service its own savepoint), so a refusal shows on the form,
    on its field when it names one, and nothing is written. The model's own validation is left to
    the service. ``saves_through_service(obj)`` says which forms do (default: all). Not for admins
    with inlines: an inline's errors would come after the service's write.
    """

    def service_save(self, actor, form, obj):
        """The hook every admin using this mixin overrides: call its one service with the parsed
        ``form.cleaned_data`` and return the object the service wrote."""
        raise NotImplementedError

    def saves_through_service(self, obj) -> bool:
        return True

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if not self.saves_through_service(obj):
            return form_class
        modeladmin = self

        def _post_clean(form) -> None:
            if form._errors:
                return
            try:
                with transaction.atomic():
                    form.instance = modeladmin.service_save(request.user, form, obj)
            except ValidationFailed as error:
                form.add_error(error.field if error.field in form.fields else None, error.detail)
            except DomainError as error:
                form.add_error(None, f"{error.detail} ({error.code})")
            else:
                form.saved_by_service = True

        return type(form_class.__name__, (form_class,), {"_post_clean": _post_clean})

    def save_form(self, request, form, change):
        if getattr(form, "saved_by_service", False):
            return form.instance
        return super().save_form(request, form, change)

    def save_model(self, request, obj, form, change):
        if not getattr(form, "saved_by_service", False):
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if not getattr(form, "saved_by_service", False):
            super().save_related(request, form, formsets, change)
