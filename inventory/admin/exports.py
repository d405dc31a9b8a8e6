"""CSV export from the stock item and movement lists: the selected rows (an action) or the whole filtered
list (the list's "Export CSV" button, which keeps its search, filters and date drill-down). Both stream
the file in keyset chunks (inventory.selectors.exports), so a list of a million movements exports in
constant memory."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone

from inventory.models import StockItem
from inventory.selectors.exports import MOVEMENT_COLUMNS, csv_lines, level_header, level_rows, movement_rows


def csv_response(lines, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response


def export_lines(model, queryset):
    if model is StockItem:
        return csv_lines(level_header(), level_rows(queryset))
    return csv_lines(MOVEMENT_COLUMNS, movement_rows(queryset))


@admin.action(description="Export selected rows as CSV", permissions=["view"])
def export_selected(modeladmin, request, queryset):
    return csv_response(export_lines(modeladmin.model, queryset), modeladmin.export_name)


class CsvExportMixin:
    """A ModelAdmin (StockItem or StockMovement) with the export action and the filtered-list export."""

    change_list_template = "admin/inventory/change_list_export.html"
    export_name = "export"

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_export"
        return [path("export.csv", self.admin_site.admin_view(self.export_view), name=name), *super().get_urls()]

    def export_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            self.message_user(request, "The list's filters are not valid; nothing was exported.", messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        return csv_response(export_lines(self.model, changelist.queryset), self.export_name)
