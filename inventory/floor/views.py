"""Counting with a scanner: choose a location, scan (a keyboard-wedge scanner types the code and Enter),
review the differences, post them as one count.

Every page is a plain form that works without JavaScript (each scan is a POST answered by a redirect back
to the list). static/floor/count.js, where it runs, sends the same forms with fetch and asks for JSON, so
a scan does not reload the page and rapid scans are queued, one request at a time, in scan order.
The list lives in the session (inventory.floor.sheet); only the confirm POST writes stock, through
inventory.services.counts.apply_counts: one transaction, recorded with the user, all or nothing.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from inventory.floor.review import sheet_lines, summarise
from inventory.floor.sheet import CountSheet, SheetError, clean_code, find_variant, parse_quantity
from inventory.models import StockLocation
from inventory.services import StockError
from inventory.services.counts import CountRejected, CountRow, apply_counts

DEFAULT_REASON = "Scanned count"


def floor_view(view):
    """Staff (else the admin login), with the manager role that counts need (else 403), never cached."""

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        has_role = getattr(request.user, "has_role", None)
        if not (has_role and has_role(Role.MANAGER)):
            context = {**admin.site.each_context(request), "title": "Counting needs the manager role"}
            return render(request, "floor/forbidden.html", context, status=403)
        return view(request, *args, **kwargs)

    return never_cache(staff_member_required(checked))


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _context(request: HttpRequest, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, **extra}


def _sheet_url(location_id: int) -> str:
    return reverse("floor:sheet", args=[location_id])


@require_GET
@floor_view
def start(request: HttpRequest) -> HttpResponse:
    """Choose the location to count (`?location=<id>` goes straight to its list)."""
    raw = request.GET.get("location", "").strip()
    if raw:
        if raw.isdigit() and StockLocation.objects.filter(pk=int(raw)).exists():
            return HttpResponseRedirect(_sheet_url(int(raw)))
        messages.error(request, f"'{raw[:40]}' is not a stock location; choose one from the list.")
    in_progress = CountSheet.in_progress(request.session)
    locations = [(location, in_progress.get(location.pk, 0))
                 for location in StockLocation.objects.filter(active=True).order_by("name", "id")]
    return render(request, "floor/start.html", _context(request, "Count stock", locations=locations))


def _line_json(line) -> dict:
    return {"variant_id": line.variant_id, "sku": line.sku, "name": line.name, "options": line.options,
            "counted": line.counted}


def _sheet_json(sheet: CountSheet) -> dict:
    return {"lines": len(sheet.lines), "units": sheet.total_units,
            "unknown": [{"code": code, "scans": scans} for code, scans in reversed(sheet.unknown.items())]}


def _answer(request: HttpRequest, sheet: CountSheet, level: str, message: str, *, line=None,
            status: int = 200) -> HttpResponse:
    """JSON for the script, else the message on the list page (a redirect, so reloading never re-scans)."""
    if _wants_json(request):
        body = {"ok": level != "error", "level": level, "message": message, "sheet": _sheet_json(sheet)}
        if line is not None:
            body["line"] = _line_json(line)
        return JsonResponse(body, status=status)
    getattr(messages, level)(request, message)
    return HttpResponseRedirect(_sheet_url(sheet.location_id))


@require_GET
@floor_view
def sheet_page(request: HttpRequest, location_id: int) -> HttpResponse:
    """The scan page: the code field (focused), the running list, newest first, and the unknown codes."""
    location = get_object_or_404(StockLocation, pk=location_id)
    sheet = CountSheet.load(request.session, location.pk)
    lines = sheet_lines(sheet)
    context = _context(request, f"Count at {location.name}", location=location, sheet=sheet, lines=lines,
                       unknown=list(reversed(sheet.unknown.items())))
    return render(request, "floor/sheet.html", context)


@require_POST
@floor_view
def scan(request: HttpRequest, location_id: int) -> HttpResponse:
    """One scan: `code` (SKU, any case) and `quantity` (blank: 1) added to that line."""
    location = get_object_or_404(StockLocation, pk=location_id)
    sheet = CountSheet.load(request.session, location.pk)
    try:
        code = clean_code(request.POST.get("code"))
        quantity = parse_quantity(request.POST.get("quantity"), minimum=1, default=1)
        variant = find_variant(code)
        if variant is None:
            scans = sheet.add_unknown(code)
            sheet.save(request.session)
            times = f" (scanned {scans} times)" if scans > 1 else ""
            return _answer(request, sheet, "warning",
                           f"Unknown code '{code}'{times}: kept under Unknown codes, not counted.")
        counted = sheet.add(variant.pk, quantity)
    except SheetError as exc:
        return _answer(request, sheet, "error", str(exc), status=422)
    sheet.save(request.session)
    line = sheet_lines(CountSheet(location_id=location.pk, lines={variant.pk: counted}))[0]
    added = f"+{quantity}" if quantity != 1 else "+1"
    return _answer(request, sheet, "success", f"{variant.sku} {added}: {counted} counted.", line=line)


@require_POST
@floor_view
def edit(request: HttpRequest, location_id: int) -> HttpResponse:
    """`op`: `set` a line's counted quantity, `remove` a line, `forget` an unknown code, `discard` the list."""
    location = get_object_or_404(StockLocation, pk=location_id)
    sheet = CountSheet.load(request.session, location.pk)
    op = request.POST.get("op", "")
    line = None
    try:
        if op == "discard":
            sheet = CountSheet(location_id=location.pk)
            message = "The list was discarded; nothing was posted."
        elif op == "forget":
            code = clean_code(request.POST.get("code"))
            sheet.forget(code)
            message = f"Unknown code '{code}' removed from the list."
        elif op in ("set", "remove"):
            variant_id = parse_quantity(request.POST.get("variant"), minimum=1)
            if op == "remove" or request.POST.get("remove"):
                sheet.remove(variant_id)
                message = "Line removed."
            else:
                counted = parse_quantity(request.POST.get("counted"), minimum=0)
                sheet.set(variant_id, counted)
                line = sheet_lines(CountSheet(location_id=location.pk, lines={variant_id: counted}))[0]
                message = f"{line.sku}: {counted} counted."
        else:
            raise SheetError(f"Unknown operation '{op[:20]}'.")
    except SheetError as exc:
        return _answer(request, sheet, "error", str(exc), status=422)
    sheet.save(request.session)
    return _answer(request, sheet, "success", message, line=line)


def _review_context(request: HttpRequest, location: StockLocation, sheet: CountSheet, **extra) -> dict:
    lines = sheet_lines(sheet, location)
    return _context(request, f"Review the count at {location.name}", location=location, lines=lines,
                    summary=summarise(lines), digest=sheet.digest(), unknown=list(reversed(sheet.unknown.items())),
                    reason=DEFAULT_REASON, **extra)


@require_GET
@floor_view
def review(request: HttpRequest, location_id: int) -> HttpResponse:
    """Count now, counted and difference per line; the confirm form carries the list's fingerprint."""
    location = get_object_or_404(StockLocation, pk=location_id)
    sheet = CountSheet.load(request.session, location.pk)
    return render(request, "floor/review.html", _review_context(request, location, sheet))


@require_POST
@floor_view
def post_count(request: HttpRequest, location_id: int) -> HttpResponse:
    """Post the reviewed list as one count. Refused, with nothing written, when the list changed since the
    review (another tab scanned), is empty, or the counts service rejects any line."""
    location = get_object_or_404(StockLocation, pk=location_id)
    sheet = CountSheet.load(request.session, location.pk)
    review_url = reverse("floor:review", args=[location.pk])
    if not sheet.lines:
        messages.error(request, "There is nothing to post: scan something first.")
        return HttpResponseRedirect(_sheet_url(location.pk))
    if request.POST.get("digest") != sheet.digest():
        messages.warning(request, "The list changed after you reviewed it: check the differences again.")
        return HttpResponseRedirect(review_url)
    reason = (request.POST.get("reason") or "").strip()[:255] or DEFAULT_REASON
    ordered = list(reversed(sheet.lines.items()))  # the review's order: newest scan first
    rows = [CountRow(key=n, variant_id=variant_id, location_id=location.pk, counted=counted, reason=reason)
            for n, (variant_id, counted) in enumerate(ordered, start=1)]
    try:
        batch = apply_counts(rows, user=request.user, row_label="line")
    except CountRejected as exc:
        problems = [f"Line {p.key}: {p.message}" for p in exc.problems]
        context = _review_context(request, location, sheet, problems=problems)
        return render(request, "floor/review.html", context, status=422)
    except StockError as exc:
        context = _review_context(request, location, sheet, problems=[exc.message])
        return render(request, "floor/review.html", context, status=422)
    sheet.lines.clear()  # unknown codes stay listed until someone deals with them
    sheet.save(request.session)
    kept = f" {len(sheet.unknown)} unknown code(s) are still listed." if sheet.unknown else ""
    messages.success(
        request,
        f"Count {batch.reference} posted at {location.code}: {len(batch.changed)} of {len(batch.results)} "
        f"items changed (+{batch.units_added} / -{batch.units_removed} units).{kept}",
    )
    return HttpResponseRedirect(_sheet_url(location.pk))
