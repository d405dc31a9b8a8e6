"""Admin actions. Each shows an intermediate page (a form, or a confirmation), then calls the services in
one transaction: either every selected row is done or, on a refusal, none is and the message says why."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.template.response import TemplateResponse

from inventory import services
from inventory.admin.forms import ConfirmForm, CountForm, ReceiveForm, RecountForm
from inventory.services import StockError
from inventory.services.allocations import fulfil, release

TEMPLATE = "admin/inventory/action_form.html"
# A count page with one field per item; a bigger count is a CSV for `manage.py apply_count`.
MAX_COUNT_ITEMS = 200
DRIFTS_LISTED = 20


def _submitted(request) -> bool:
    return "apply" in request.POST


def _page(modeladmin, request, selected: list, *, action: str, title: str, form, lines: list[str], intro: str = "",
          submit: str = "Apply"):
    """The intermediate page: `lines` describe what is selected, `form` asks for the rest; the selected
    rows' ids travel in hidden inputs so the changelist calls the action again with them."""
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "form": form,
        "objects": lines,
        "selected": [obj.pk for obj in selected],
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "intro": intro,
        "submit_label": submit,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, TEMPLATE, context)


def _selected_items(queryset) -> list:
    # pk order: the order every writer locks stock items in, so this action cannot deadlock with another.
    return list(queryset.select_related("variant", "stock_location").order_by("pk"))


def _item_lines(items) -> list[str]:
    return [f"{item} (on hand {item.count_on_hand})" for item in items]


def _refused(modeladmin, request, what: str, exc: StockError, subject=None) -> None:
    prefix = f"{subject}: " if subject is not None else ""
    modeladmin.message_user(request, f"Nothing was {what}. {prefix}{exc.message}", messages.ERROR)


# --- stock items ----------------------------------------------------------------------------------------


@admin.action(description="Receive stock into selected items", permissions=["record"])
def receive_stock(modeladmin, request, queryset):
    items = _selected_items(queryset)
    form = ReceiveForm(request.POST if _submitted(request) else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        current = None
        try:
            with transaction.atomic():
                for current in items:
                    services.receive(current.pk, data["quantity"], user=request.user,
                                     value_per_unit=data.get("unit_cost"), notes=data.get("notes") or "")
        except StockError as exc:
            return _refused(modeladmin, request, "received", exc, current)
        modeladmin.message_user(request, f"Received {data['quantity']} units into each of {len(items)} stock items.",
                                messages.SUCCESS)
        return None
    return _page(modeladmin, request, items, action="receive_stock", title="Receive stock", form=form,
                 lines=_item_lines(items),
                 intro="The same quantity is received into each stock item below, as a 'received' movement.",
                 submit="Receive")


@admin.action(description="Adjust selected items to a counted quantity", permissions=["record"])
def adjust_to_count(modeladmin, request, queryset):
    items = _selected_items(queryset)
    if len(items) > MAX_COUNT_ITEMS:
        modeladmin.message_user(
            request, f"Select at most {MAX_COUNT_ITEMS} items to count here; for a larger count load a CSV "
                     "with `manage.py apply_count`.", messages.WARNING)
        return None
    form = CountForm(request.POST if _submitted(request) else None, items=items)
    if form.is_bound and form.is_valid():
        counts = form.counts()
        notes = form.cleaned_data.get("notes") or ""
        written, item_id = [], None
        try:
            with transaction.atomic():
                for item_id, counted in sorted(counts.items()):
                    movement = services.set_count(item_id, counted, user=request.user, notes=notes)
                    if movement is not None:
                        written.append(movement)
        except StockError as exc:
            subject = next((i for i in items if i.pk == item_id), None)
            return _refused(modeladmin, request, "counted", exc, subject)
        net = sum(m.quantity for m in written)
        modeladmin.message_user(
            request, f"Counted {len(counts)} stock items: {len(written)} 'counted' movements written "
                     f"(net {net:+d} units); the rest matched.", messages.SUCCESS)
        return None
    return _page(modeladmin, request, items, action="adjust_to_count", title="Adjust to counted quantity",
                 form=form, lines=[], submit="Record count",
                 intro="Enter what was physically counted. The difference from the quantity on hand is written as a "
                       "'counted' movement; an item left empty is not counted.")


@admin.action(description="Recount selected items from the ledger", permissions=["recount"])
def recount_selected(modeladmin, request, queryset):
    items = _selected_items(queryset)
    form = RecountForm(request.POST if _submitted(request) else None)
    if form.is_bound and form.is_valid():
        # Imported here so that the admin never fails to load over the recount machinery.
        from inventory.services.recount import recount

        fix = form.cleaned_data["fix"]
        report = recount(item_ids=[item.pk for item in items], fix=fix)
        if not report.drifts:
            modeladmin.message_user(
                request, f"Checked {report.items_checked} stock items: their figures agree with the ledger.",
                messages.SUCCESS)
            return None
        outcome = "repaired" if report.fixed else "not repaired"
        level = messages.SUCCESS if report.fixed else messages.WARNING
        modeladmin.message_user(request, f"Checked {report.items_checked} stock items: {len(report.drifts)} "
                                         f"drifted ({outcome}).", level)
        for drift in report.drifts[:DRIFTS_LISTED]:
            modeladmin.message_user(
                request, f"{drift.sku} @ {drift.location_code}: cached count {drift.cached_count}, ledger "
                         f"{drift.ledger_count}; {drift.bad_rows} movements with wrong running figures "
                         f"({', '.join(drift.problems)}).", level)
        if len(report.drifts) > DRIFTS_LISTED:
            modeladmin.message_user(request, f"... and {len(report.drifts) - DRIFTS_LISTED} more; run "
                                             "`manage.py recount` for the full table.", level)
        return None
    return _page(modeladmin, request, items, action="recount_selected", title="Recount from the ledger", form=form,
                 lines=_item_lines(items), submit="Recount",
                 intro="Checks each item's count on hand, running figures and value against its movement ledger.")


# --- movements ------------------------------------------------------------------------------------------


@admin.action(description="Delete selected movements (reposts their items)", permissions=["delete"])
def delete_movements(modeladmin, request, queryset):
    movements = list(queryset.select_related("stock_item__variant", "stock_item__stock_location"))
    # Item by item in pk order (the locking order); within an item newest first, so deleting a sale
    # together with the receipt it drew from never passes through a negative balance.
    movements.sort(key=lambda m: (m.stock_item_id, -m.movement_date.timestamp(), -m.pk))
    form = ConfirmForm(request.POST if _submitted(request) else None)
    if form.is_bound and form.is_valid():
        current = None
        try:
            with transaction.atomic():
                modeladmin.log_deletions(request, movements)
                for current in movements:
                    services.delete_movement(current.pk, user=request.user)
        except StockError as exc:
            return _refused(modeladmin, request, "deleted", exc, f"movement #{current.pk}")
        modeladmin.message_user(request, f"Deleted {len(movements)} movements; their items were reposted and "
                                         "each deletion audited.", messages.SUCCESS)
        return None
    return _page(modeladmin, request, movements, action="delete_movements", title="Delete movements", form=form,
                 lines=[f"{m} ({m.stock_item}, {m.movement_date:%Y-%m-%d %H:%M})" for m in movements],
                 intro="These movements will be deleted. Each item's ledger is reposted (ranks, balances, values "
                       "and cost layers recomputed) and every deletion is audited. This cannot be undone.",
                 submit="Yes, delete")


# --- allocations ----------------------------------------------------------------------------------------


def _allocation_action(verb: str, past: str, call):
    def action(modeladmin, request, queryset):
        allocations = list(queryset.order_by("stock_item_id", "pk"))
        current = None
        try:
            with transaction.atomic():
                for current in allocations:
                    call(current.pk, user=request.user)
        except StockError as exc:
            return _refused(modeladmin, request, past, exc, f"allocation {current.pk}")
        modeladmin.message_user(request, f"{past.capitalize()} {len(allocations)} allocations.", messages.SUCCESS)
        return None

    action.__name__ = f"{verb}_allocations"
    return admin.action(description=f"{verb.capitalize()} selected allocations", permissions=["record"])(action)


release_allocations = _allocation_action("release", "released", release)
fulfil_allocations = _allocation_action("fulfil", "fulfilled", fulfil)
