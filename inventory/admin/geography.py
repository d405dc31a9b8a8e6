"""Countries and states of stock location addresses (Spree's, issue 13): plain reference data, edited by
admins."""

from __future__ import annotations

from django.contrib import admin

from inventory.admin.base import StockAdmin
from inventory.models import Country, State


@admin.register(Country)
class CountryAdmin(StockAdmin):
    list_display = ("name", "iso", "iso3", "numcode", "states_required")
    search_fields = ("name", "iso", "iso3")


@admin.register(State)
class StateAdmin(StockAdmin):
    list_display = ("name", "abbr", "country")
    list_filter = ("country",)
    list_select_related = ("country",)
    search_fields = ("name", "abbr")
