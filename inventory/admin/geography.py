"""Countries and states of stock location addresses (Spree's, issue 13): plain reference data, edited by
admins."""

from __future__ import annotations

from django.contrib import admin

from accounts.models import Role
from inventory.admin.base import StockAdmin
from inventory.models import Country, State


@admin.register(Country)
class CountryAdmin(StockAdmin):
    view_role = Role.ADMIN  # reference data for addresses, not the floor's
    list_display = ("name", "iso", "iso3", "numcode", "states_required")
    search_fields = ("name", "iso", "iso3")


@admin.register(State)
class StateAdmin(StockAdmin):
    view_role = Role.ADMIN
    list_display = ("name", "abbr", "country")
    list_filter = ("country",)
    list_select_related = ("country",)
    search_fields = ("name", "abbr")
