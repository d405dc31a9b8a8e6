"""What a count sheet would change, read for the review page: per line the count now, the counted
quantity and the difference. Reads only; a constant number of queries per LOOKUP_CHUNK lines."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.floor.sheet import CountSheet
from inventory.models import StockItem, StockLocation, Variant
from inventory.services.counts import LOOKUP_CHUNK


@dataclass(frozen=True)
class Line:
    variant_id: int
    sku: str
    name: str
    options: str
    counted: int
    count_now: int | None = None  # None: the variant has no stock item at the location yet (0 on hand)

    @property
    def on_hand(self) -> int:
        return self.count_now or 0

    @property
    def difference(self) -> int:
        return self.counted - self.on_hand


def _chunks(ids: list[int]):
    for start in range(0, len(ids), LOOKUP_CHUNK):
        yield ids[start:start + LOOKUP_CHUNK]


def sheet_lines(sheet: CountSheet, location: StockLocation | None = None) -> list[Line]:
    """The sheet's lines, newest scan first, with product names (and the count now when `location` is
    given). A line whose variant was deleted since it was scanned is kept with its id as the name, so the
    post refuses it by name instead of it vanishing."""
    ids = list(sheet.lines)
    variants: dict[int, Variant] = {}
    on_hand: dict[int, int] = {}
    for chunk in _chunks(ids):
        variants.update(Variant.objects.select_related("product").in_bulk(chunk))
        if location is not None:
            on_hand.update(StockItem.objects.filter(stock_location=location, variant_id__in=chunk)
                           .values_list("variant_id", "count_on_hand"))
    lines = []
    for variant_id in reversed(ids):
        variant = variants.get(variant_id)
        lines.append(Line(
            variant_id=variant_id,
            sku=variant.sku if variant else f"#{variant_id}",
            name=variant.product.name if variant else "(no longer in the catalogue)",
            options=variant.options_text if variant else "",
            counted=sheet.lines[variant_id],
            count_now=on_hand.get(variant_id),
        ))
    return lines


@dataclass(frozen=True)
class Summary:
    lines: int
    changing: int
    units_up: int
    units_down: int


def summarise(lines: list[Line]) -> Summary:
    return Summary(
        lines=len(lines),
        changing=sum(1 for line in lines if line.difference),
        units_up=sum(line.difference for line in lines if line.difference > 0),
        units_down=-sum(line.difference for line in lines if line.difference < 0),
    )
