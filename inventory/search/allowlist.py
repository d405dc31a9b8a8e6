"""The allowlist of one endpoint: the attributes of its model a client may filter and sort on, and the
associations it may walk (`stock_item_variant_sku_eq` walks stock_item -> variant -> sku). Only names in
it ever reach the ORM, and they reach it as lookups we wrote ourselves (`stock_item__variant__sku`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import models

from inventory.search.values import BOOL, CHOICE, DATE, DATETIME, DECIMAL, INT, STR


@dataclass(frozen=True)
class Field:
    """A searchable attribute: its kind and, if it differs from the name, the model field it reads."""

    kind: str
    lookup: str | None = None
    choices: tuple[str, ...] = ()
    sortable: bool = True


@dataclass(frozen=True)
class Relation:
    """An association a search may walk: `lookup` is the ORM relation, `many` when it is to-many."""

    lookup: str
    target: Searchable
    many: bool = False


@dataclass(frozen=True)
class Attribute:
    """A flattened allowlist entry: `stock_item_variant_sku` -> `stock_item__variant__sku`."""

    name: str
    lookup: str
    kind: str
    choices: tuple[str, ...]
    sortable: bool
    many: bool


@dataclass
class Searchable:
    """What one endpoint lets clients search and sort on, and its default order."""

    fields: Mapping[str, Field]
    relations: Mapping[str, Relation] = field(default_factory=dict)
    default_order: tuple[str, ...] = ("-id",)

    def attributes(self) -> dict[str, Attribute]:
        """Every reachable attribute by its ransack name; an attribute declared directly wins over the
        same name reached through an association (`stock_item_id` is the foreign key, not a join)."""
        out: dict[str, Attribute] = {}
        for name, spec in self.fields.items():
            out[name] = Attribute(name, spec.lookup or name, spec.kind, spec.choices, spec.sortable, False)
        for rel_name, relation in self.relations.items():
            for sub in relation.target.attributes().values():
                name = f"{rel_name}_{sub.name}"
                if name in out:
                    continue
                many = relation.many or sub.many
                out[name] = Attribute(name, f"{relation.lookup}__{sub.lookup}", sub.kind, sub.choices,
                                      sub.sortable and not many, many)
        return out


def model_fields(model: type[models.Model], *names: str, sortable: bool = True) -> dict[str, Field]:
    """Fields of `model` by name (or attname, like `stock_item_id`), their kinds read from the model."""
    out = {}
    for name in names:
        model_field = model._meta.get_field(name)
        out[name] = Field(kind=_kind_of(model_field), lookup=getattr(model_field, "attname", name),
                          choices=tuple(str(c[0]) for c in (model_field.choices or ())), sortable=sortable)
    return out


def _kind_of(model_field) -> str:
    if isinstance(model_field, models.ForeignKey):
        return _kind_of(model_field.target_field)
    if isinstance(model_field, models.BooleanField):
        return BOOL
    if isinstance(model_field, models.DateTimeField):
        return DATETIME
    if isinstance(model_field, models.DateField):
        return DATE
    if isinstance(model_field, models.DecimalField):
        return DECIMAL
    if isinstance(model_field, models.IntegerField | models.AutoField | models.BigAutoField):
        return INT
    if isinstance(model_field, models.CharField | models.TextField):
        return CHOICE if model_field.choices else STR
    raise TypeError(f"no search kind for {model_field!r}")
