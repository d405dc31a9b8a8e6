"""Row serializers that are their own schema: each key is a `Column` that says how it is read and how the
OpenAPI schema shows it, so what is sent and what is documented come from one declaration.

`ColumnSerializer.to_representation` reads the columns straight into a dict: on a page of 25 movements,
each with an item and a variant nested, DRF's field-by-field walk (bound fields, deep copies, attribute
lookups) cost a third of the page's Python time. DRF's own walk over the same columns gives the same dict,
key order included (tests/api/spree/test_representations.py).

The dict is built by one function per serializer class, compiled from its columns the first time it renders
(as `dataclasses` writes `__init__`): a column read by key (`key="quantity"`, optionally passed through
`then`) is the subscript itself, so a feed row costs what the hand-written dict literal it replaced cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


class Column(serializers.Field):
    """One key of a rendered row. `spec` documents it: a DRF field (or serializer) whose schema it has, or a
    raw OpenAPI schema for a computed key. Its value is `read(row)`, or `row[key]` (through `then` if given)
    for rows that are dicts."""

    def __init__(self, spec: serializers.Field | dict, read: Callable[[Any], Any] | None = None, *,
                 key: str | None = None, then: Callable[[Any], Any] | None = None, **kwargs) -> None:
        assert (read is None) != (key is None), "a column is read by a function or by a key"
        super().__init__(source="*", **kwargs)
        self.spec, self.key, self.then = spec, key, then
        if read is None:
            read = (lambda row: then(row[key])) if then is not None else (lambda row: row[key])
        self.read = read

    def to_representation(self, row) -> Any:
        return self.read(row)

    def expression(self, name: str, scope: dict) -> str:
        """Python source reading this column from `row`, any callable it needs put in `scope` as `name`."""
        if self.key is None:
            scope[name] = self.read
            return f"{name}(row)"
        if self.then is None:
            return f"row[{self.key!r}]"
        scope[name] = self.then
        return f"{name}(row[{self.key!r}])"


def computed(spec: dict | serializers.Field, read: Callable[[Any], Any], **kwargs) -> Column:
    """A key the row does not store (a total, a display string): read-only in the schema."""
    return Column(spec, read, read_only=True, **kwargs)


# A serializer whose declared fields are all Columns; renders a row without DRF's walk. (A comment, not a
# docstring: the schema would show a docstring as the description of every row without its own.)
class ColumnSerializer(serializers.Serializer):

    def to_representation(self, row) -> dict:
        return self.renderer()(row)

    @classmethod
    def renderer(cls) -> Callable[[Any], dict]:
        """The class's row -> dict function, compiled once from its columns, in their declared order."""
        render = cls.__dict__.get("_render")
        if render is None:
            scope: dict[str, Any] = {}
            items = []
            for n, (name, column) in enumerate(cls._declared_fields.items()):
                assert isinstance(column, Column), (cls, name)
                items.append(f"{name!r}: {column.expression(f'_c{n}', scope)}")
            exec(f"def render(row):\n    return {{{', '.join(items)}}}\n", scope)  # noqa: S102 - our own source
            render = cls._render = scope["render"]
        return render


class ColumnExtension(OpenApiSerializerFieldExtension):
    target_class = Column
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        spec = self.target.spec
        if isinstance(spec, dict):
            return dict(spec)
        return auto_schema._map_serializer_field(spec, direction)
