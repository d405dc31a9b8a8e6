"""Posting admin forms from tests: the inline formsets' management data, messages."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.urls import reverse


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def inline_data(response) -> dict:
    """What the browser would send back for the page's inline formsets, unchanged (existing rows only)."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms = formset.initial_forms
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(forms))
        data[f"{formset.prefix}-INITIAL_FORMS"] = str(len(forms))
        data[f"{formset.prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{formset.prefix}-MAX_NUM_FORMS"] = "1000"
        for form in forms:
            for name in form.fields:
                value = form[name].value()
                if value is None or value is False:
                    continue
                data[form.add_prefix(name)] = "on" if value is True else str(value)
    return data


def split_datetime(name: str, value) -> dict:
    return {f"{name}_0": value.strftime("%Y-%m-%d"), f"{name}_1": value.strftime("%H:%M:%S")}


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]
