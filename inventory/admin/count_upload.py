"""Count upload: a CSV in `apply_count`'s format (sku,counted_quantity) for one location, previewed, then
applied all-or-nothing through inventory.services.counts, recorded with the user who confirmed it.

The preview is the count itself, rehearsed: `apply_counts` runs inside a savepoint that is always rolled
back, so every figure shown (count now, counted, difference, value effect) is what the service would
write, and every refusal is the service's own. The confirmation carries the uploaded text, signed, so
what is applied is exactly what was previewed (or refused again, if the stock changed meanwhile in a way
the count no longer fits).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from inventory.management.commands.apply_count import CountFileError, read_count
from inventory.models import StockItem, StockLocation
from inventory.services.counts import LOOKUP_CHUNK, CountBatch, CountRejected, RowProblem, apply_counts
from inventory.services.errors import StockError

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
SIGNING_SALT = "stockroom.admin.count-upload"
CONFIRM_WITHIN_SECONDS = 60 * 60
TEMPLATE = "admin/inventory/count_upload.html"


class CountUploadForm(forms.Form):
    location = forms.ModelChoiceField(queryset=StockLocation.objects.order_by("code"),
                                      help_text="The location that was counted.")
    file = forms.FileField(label="Count file (CSV)",
                           help_text="A header row naming sku and counted_quantity, then one row per SKU counted "
                                     "(the apply_count format). Other columns are ignored.")
    reason = forms.CharField(required=False, max_length=200, help_text="Stored on every movement "
                                                                       "(default: 'Physical count').")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it "
                                        "or use `manage.py apply_count`.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text; save it from the spreadsheet as "
                                        "'CSV UTF-8'.") from None
        if "\x00" in text:
            raise forms.ValidationError("The file contains a NUL character; it is not a CSV text file.")
        return text


@dataclass(frozen=True)
class PreviewLine:
    line: int
    sku: str
    count_now: int
    counted: int
    value_effect: Decimal

    @property
    def difference(self) -> int:
        return self.counted - self.count_now


@dataclass
class Preview:
    lines: list[PreviewLine]
    refused: list[RowProblem]

    @property
    def changes(self) -> list[PreviewLine]:
        return [line for line in self.lines if line.difference]

    @property
    def value_effect(self) -> Decimal:
        return sum((line.value_effect for line in self.lines), Decimal("0"))


class _Rollback(Exception):
    def __init__(self, preview: Preview) -> None:
        self.preview = preview


def _rows(text: str, location: StockLocation, reason: str):
    return read_count(io.StringIO(text, newline=""), location, reason.strip() or "Physical count")


def _values_before(location: StockLocation, variant_ids: list[int]) -> dict[int, Decimal]:
    found: dict[int, Decimal] = {}
    for start in range(0, len(variant_ids), LOOKUP_CHUNK):
        chunk = variant_ids[start:start + LOOKUP_CHUNK]
        found.update(StockItem.objects.filter(stock_location=location, variant_id__in=chunk)
                     .values_list("variant_id", "value_in_stock"))
    return found


def preview_count(text: str, location: StockLocation, reason: str, user) -> Preview:
    """What applying the count would do, from a rehearsal of the service that is rolled back."""
    rows, problems = _rows(text, location, reason)
    try:
        with transaction.atomic():
            before = _values_before(location, sorted({r.variant_id for r in rows if r.variant_id is not None}))
            batch = apply_counts(rows, user=user, known_problems=problems, row_label="line")
            raise _Rollback(Preview(_lines(batch, before), []))
    except _Rollback as rehearsal:
        return rehearsal.preview
    except CountRejected as exc:
        return Preview([], exc.problems)


def _lines(batch: CountBatch, before: dict[int, Decimal]) -> list[PreviewLine]:
    return [PreviewLine(line=r.row.key, sku=r.item.variant.sku, count_now=r.quantity_before, counted=r.quantity_after,
                        value_effect=r.item.value_in_stock - before.get(r.item.variant_id, Decimal("0")))
            for r in batch.results]


class CountUploadMixin:
    """The stock item admin's "Upload a count" page (managers and admins: those who record stock)."""

    def get_urls(self):
        opts = self.model._meta
        view = self.admin_site.admin_view(self.count_upload_view)
        return [path("upload-count/", view, name=f"{opts.app_label}_{opts.model_name}_count_upload"),
                *super().get_urls()]

    def count_upload_url(self) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_count_upload")

    def changelist_view(self, request, extra_context=None):
        if self.has_record_permission(request):
            extra_context = {**(extra_context or {}), "count_upload_url": self.count_upload_url()}
        return super().changelist_view(request, extra_context)

    def count_upload_view(self, request):
        if not self.has_record_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "confirm" in request.POST:
            return self._confirm(request)
        form = CountUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                preview = preview_count(data["file"], data["location"], data["reason"], request.user)
            except CountFileError as exc:
                form.add_error("file", str(exc))
            else:
                token = signing.dumps({"text": data["file"], "location": data["location"].pk,
                                       "reason": data["reason"], "name": request.FILES["file"].name},
                                      salt=SIGNING_SALT, compress=True)
                return self._page(request, form=None, preview=preview, location=data["location"], token=token,
                                  file_name=request.FILES["file"].name)
        return self._page(request, form=form)

    def _confirm(self, request):
        try:
            payload = signing.loads(request.POST.get("token", ""), salt=SIGNING_SALT, max_age=CONFIRM_WITHIN_SECONDS)
            location = StockLocation.objects.get(pk=payload["location"])
        except (signing.BadSignature, StockLocation.DoesNotExist, KeyError, TypeError):
            self.message_user(request, "This preview has expired or is not valid; upload the file again.",
                              messages.ERROR)
            return HttpResponseRedirect(self.count_upload_url())
        try:
            rows, problems = _rows(payload["text"], location, payload["reason"])
            batch = apply_counts(rows, user=request.user, known_problems=problems, row_label="line")
        except CountRejected as exc:
            return self._page(request, form=None, preview=Preview([], exc.problems), location=location, token=None,
                              file_name=payload.get("name"))
        except (CountFileError, StockError) as exc:
            self.message_user(request, f"Nothing was applied: {exc}", messages.ERROR)
            return HttpResponseRedirect(self.count_upload_url())
        self.message_user(
            request, f"Count {batch.reference} applied at {location.code}: {len(batch.results)} rows, "
                     f"{len(batch.changed)} 'counted' movements (+{batch.units_added} / -{batch.units_removed} "
                     "units); the rest matched.", messages.SUCCESS)
        changelist = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist")
        return HttpResponseRedirect(f"{changelist}?stock_location__id__exact={location.pk}")

    def _page(self, request, **context):
        opts = self.model._meta
        return TemplateResponse(request, TEMPLATE, {
            **self.admin_site.each_context(request), "opts": opts, "title": "Upload a count", "subtitle": None,
            "app_label": opts.app_label, **context,
        })
