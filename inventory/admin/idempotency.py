"""Stored answers to POSTs sent with an Idempotency-Key: read-only, for support."""

from __future__ import annotations

from django.contrib import admin

from inventory.admin.base import InternalMixin, ReadOnlyAdmin
from inventory.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(InternalMixin, ReadOnlyAdmin):
    list_display = ("key", "route", "user", "response_status", "created_at")
    list_filter = ("route", "response_status", "created_at")
    list_select_related = ("user",)
    search_fields = ("=key", "user__username", "route")
    fields = ("user", "key", "route", "request_hash", "response_status", "response_body", "created_at")
    readonly_fields = fields
