"""What every stockroom ModelAdmin shares: role-based permissions and service errors shown as messages.

Permissions follow the user's role (see accounts.Role), not Django's per-model permissions, so the admin
and the API agree on who may do what: viewer reads everything, manager also records stock (movements,
receipts, counts), admin also manages the catalogue, locations and stock items and may edit or delete
movements. Superusers are admins. Only staff users reach the admin at all.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import BadRequest, ValidationError
from django.db import IntegrityError, connection
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import Role
from inventory.services import StockError


def user_has_role(user, role: str | None) -> bool:
    if role is None or not (user.is_active and user.is_staff):
        return False
    has_role = getattr(user, "has_role", None)
    return bool(has_role and has_role(role))


class RolePermissionsMixin:
    """`*_role` is the least role allowed to do each thing; None means nobody (not even superusers)."""

    view_role: str | None = Role.VIEWER
    add_role: str | None = Role.ADMIN
    change_role: str | None = Role.ADMIN
    delete_role: str | None = Role.ADMIN

    def has_module_permission(self, request) -> bool:
        return user_has_role(request.user, self.view_role)

    def has_view_permission(self, request, obj=None) -> bool:
        return user_has_role(request.user, self.view_role) or self.has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return user_has_role(request.user, self.add_role)

    def has_change_permission(self, request, obj=None) -> bool:
        return user_has_role(request.user, self.change_role)

    def has_delete_permission(self, request, obj=None) -> bool:
        return user_has_role(request.user, self.delete_role)

    # Permissions named in @admin.action(permissions=[...]).
    def has_record_permission(self, request) -> bool:
        return user_has_role(request.user, Role.MANAGER)

    def has_recount_permission(self, request) -> bool:
        return user_has_role(request.user, Role.ADMIN)


class InternalMixin:
    """Tables the services keep for themselves (cost layers, figures, idempotency records, audits): shown to
    superusers only, so that the floor staff's index lists what they work with."""

    def has_module_permission(self, request) -> bool:
        return is_superuser(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_superuser(request.user)


def is_superuser(user) -> bool:
    return bool(user.is_active and user.is_staff and user.is_superuser)


def valid_pk(model, value) -> bool:
    """Whether `value` (from a URL or a form) can be a primary key of `model`: parses and fits the column,
    so that looking it up cannot raise."""
    field = model._meta.pk
    try:
        parsed = field.to_python(value)
    except ValidationError:
        return False
    if isinstance(parsed, int):
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        return (low is None or parsed >= low) and (high is None or parsed <= high)
    return parsed is not None


def refuse_nul(values) -> None:
    """PostgreSQL refuses NUL in text: a parameter carrying one is a bad request, not a 500."""
    for value in values:
        if "\x00" in value:
            raise BadRequest("A parameter contains a NUL character.")


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget looks the submitted value up to redisplay it; a value that is not an id
    (`stock_item=abc`) would make that lookup raise while the form's own error is being shown."""

    def optgroups(self, name, value, attr=None):
        model = self.field.remote_field.model
        return super().optgroups(name, [v for v in value if v in ("", None) or valid_pk(model, v)], attr)


class SafeRequestsMixin:
    """Malformed requests get the admin's own answers (a message, a 400), never a 500."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def response_action(self, request, queryset):
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(valid_pk(self.model, value) for value in selected):
            self.message_user(request, "The selection is not valid (an id is malformed); nothing was done.",
                              messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    def changelist_view(self, request, extra_context=None):
        refuse_nul(value for values in request.GET.lists() for value in values[1])
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        refuse_nul([search_term])
        return super().get_search_results(request, queryset, search_term)


class StockAdmin(SafeRequestsMixin, RolePermissionsMixin, admin.ModelAdmin):
    """A ModelAdmin whose writes may raise StockError (or lose a uniqueness race).

    Forms check what they can up front, so the user normally sees field errors. What slips past them
    (another writer changed the stock between validation and save) reaches these views: Django's
    transaction around the view rolls everything back and the user gets the message, never a 500.
    """

    list_per_page = 50

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (StockError, IntegrityError) as exc:
            return self._refused(request, exc)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except (StockError, IntegrityError) as exc:
            return self._refused(request, exc)

    def _refused(self, request, exc: Exception) -> HttpResponseRedirect:
        self.message_user(request, error_message(exc), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


class ReadOnlyAdmin(StockAdmin):
    """Records the services write (layers, audits, transfers...): visible to every staff role, editable by none."""

    add_role = None
    change_role = None
    delete_role = None


class ReadOnlyInline(RolePermissionsMixin, admin.TabularInline):
    add_role = None
    change_role = None
    delete_role = None
    extra = 0
    can_delete = False
    show_change_link = True


class StockItemColumns:
    """Columns of a record that belongs to a stock item (movement, audit, allocation, cost layer): the SKU,
    the location's code and a link to the item. Add `stock_item__variant` and `stock_item__stock_location`
    to the admin's select_related."""

    @admin.display(description="SKU", ordering="stock_item__variant__sku")
    def sku(self, obj) -> str:
        return obj.stock_item.variant.sku

    @admin.display(ordering="stock_item__stock_location__code")
    def location(self, obj) -> str:
        return obj.stock_item.stock_location.code

    @admin.display(description="stock item")
    def stock_item_link(self, obj) -> str:
        return admin_link(obj.stock_item)


def short_datetime(value) -> str:
    """'2026-12-04 06:02' in the site's time zone: a list column that fits a tablet's width."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def error_message(exc: Exception) -> str:
    if isinstance(exc, StockError):
        return exc.message
    return ("Not saved: a value that must be unique (such as a SKU or code, or the default location, which "
            "another user may have just changed) is already in use.")


def admin_link(obj, text: str | None = None) -> str:
    """A link to `obj`'s change page (or '-' for None)."""
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else str(obj))


def movement_link(movement_id: int | None) -> str:
    """A link to a movement by id, without loading it."""
    if movement_id is None:
        return "-"
    url = reverse("admin:inventory_stockmovement_change", args=[movement_id])
    return format_html('<a href="{}">#{}</a>', url, movement_id)


def adopt(target, saved) -> None:
    """Make the unsaved instance the admin is holding become `saved`, the row a service just created, so
    that the rest of the admin view (inline formsets, the log entry, the redirect) uses the real row."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db
