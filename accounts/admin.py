from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.timesince import timesince

from accounts.models import ApiKey, Role, User, forget_keys, key_hashes
from inventory.admin.base import RolePermissionsMixin, SafeRequestsMixin


@admin.register(User)
class UserAdmin(SafeRequestsMixin, BaseUserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Stockroom", {"fields": ("role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Stockroom", {"fields": ("role",)}))

    def delete_queryset(self, request, queryset) -> None:
        # A bulk delete cascades to the keys without User.delete(): drop their cached lookups here.
        hashes = key_hashes(ApiKey.objects.filter(user__in=queryset))
        super().delete_queryset(request, queryset)
        forget_keys(hashes)


@admin.register(ApiKey)
class ApiKeyAdmin(SafeRequestsMixin, RolePermissionsMixin, admin.ModelAdmin):
    # Staff see the keys (whose they are, last use); admins revoke them.
    change_role = Role.ADMIN
    delete_role = Role.ADMIN

    list_display = ("prefix", "user", "name", "last_use", "expires", "status")
    list_filter = ("revoked",)
    list_select_related = ("user",)
    search_fields = ("prefix", "user__username", "name")
    readonly_fields = ("prefix", "created", "last_used")
    fields = ("user", "name", "prefix", "created", "last_used", "expires", "revoked")

    @admin.display(description="last use", ordering="last_used")
    def last_use(self, key: ApiKey) -> str:
        # Stamped at most once a minute (ApiKey.stamp_use), so "x minutes ago" is as exact as it gets.
        return f"{timesince(key.last_used)} ago" if key.last_used else "never"

    @admin.display(description="status")
    def status(self, key: ApiKey) -> str:
        return key.status

    def has_add_permission(self, request) -> bool:
        # Keys are issued by `create_api_key` so the raw key is shown exactly once, on a terminal.
        return False
