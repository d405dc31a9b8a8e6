"""Plain query-parameter filters as django-filter FilterSets, read strictly.

`StrictFilterBackend` is django-filter's DRF backend made strict: a parameter the view does not know, a bad
value, a repeated single value or an empty list element is an error naming the parameter, never ignored
(a misspelt filter that silently returned the whole ledger would be worse than an error). Every problem
of a request is reported at once, the paginator's too, in the family's envelope: the view's
`bad_query_class` (a BadQuery) words it. drf-spectacular documents every filter from the FilterSet.

The fields below read raw query values as lists (a repeated parameter is seen, not silently cut to its
last value); each family's FilterSet builds its own filters on them.
"""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as df

from inventory.api.common.errors import BadQuery

# DRF's own content negotiation parameter (`?format=json`): not a filter, but not unknown either.
NEGOTIATION_PARAMS = frozenset({"format"})
UNKNOWN = "is not a known query parameter."


class RawValues(forms.Widget):
    """The parameter's values as a list of strings; `brackets` also reads Rails' `name[]=` spelling."""

    def __init__(self, brackets: bool = False) -> None:
        super().__init__()
        self.brackets = brackets

    def value_from_datadict(self, data, files, name) -> list[str]:
        values = list(data.getlist(name))
        if self.brackets:
            values += data.getlist(f"{name}[]")
        return values

    def value_omitted_from_data(self, data, files, name) -> bool:
        return name not in data and not (self.brackets and f"{name}[]" in data)


class SingleValueField(forms.Field):
    """One value, stripped; blank is "not given". `parse(text)` turns it into the filter's value or raises
    forms.ValidationError with the message for the client."""

    widget = RawValues

    def __init__(self, *, once: bool = True, **kwargs) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.once = once

    def to_python(self, values: list[str]):
        if not values:
            return None
        if self.once and len(values) > 1:
            raise forms.ValidationError("was given more than once.")
        text = values[-1].strip()
        return self.parse(text) if text else None

    def parse(self, text: str):
        return text

    def validate(self, value) -> None:
        """Parsing was the validation."""


class ListValueField(forms.Field):
    """Values given repeated (`ids=1&ids=2`), as comma lists (`ids=1,2`) or Rails-style (`ids[]=1`), in any
    mix; nothing given, or only blanks, is "not given"; an empty element inside a list is an error.
    `parse(text)` turns one element into a value (ValidationError otherwise)."""

    def __init__(self, *, max_items: int, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", RawValues(brackets=True))
        super().__init__(**kwargs)
        self.max_items = max_items

    def to_python(self, values: list[str]):
        if not any(value.strip() for value in values):
            return None
        pieces = [piece.strip() for value in values for piece in value.split(",")]
        if "" in pieces:
            raise forms.ValidationError("has an empty element (write `1,2`, not `1,,2`).")
        if len(pieces) > self.max_items:
            raise forms.ValidationError(f"takes at most {self.max_items} ids.")
        problems, parsed = [], []
        for piece in pieces:
            try:
                parsed.append(self.parse(piece))
            except forms.ValidationError as exc:
                problems.extend(exc.messages)
        if problems:
            raise forms.ValidationError(problems)
        return parsed

    def parse(self, text: str):
        return text

    def validate(self, value) -> None:
        """Parsing was the validation."""


class StrictFilterBackend(df.DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.checked_filterset(request, queryset, view)
        return filterset.qs if filterset is not None else queryset

    def read(self, request, queryset, view) -> dict:
        """The query's values, read as strictly, for a view that filters no rows with them (a report)."""
        return self.checked_filterset(request, queryset, view).form.cleaned_data

    def checked_filterset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        errors = self.query_errors(request, filterset, view)
        if errors:
            raise getattr(view, "bad_query_class", BadQuery)(errors)
        return filterset

    def query_errors(self, request, filterset, view) -> dict[str, list[str]]:
        paginator = getattr(view, "paginator", None)
        known = set(NEGOTIATION_PARAMS) | set(getattr(paginator, "query_params", ()))
        if filterset is not None:
            for name, field in filterset.form.fields.items():
                known.add(name)
                if getattr(field.widget, "brackets", False):
                    known.add(f"{name}[]")
        errors = {name: [UNKNOWN] for name in request.query_params if name not in known}
        if filterset is not None:
            errors.update({name: list(messages) for name, messages in filterset.errors.items()})
        if paginator is not None and hasattr(paginator, "query_errors"):
            errors.update(paginator.query_errors(request))
        return errors
