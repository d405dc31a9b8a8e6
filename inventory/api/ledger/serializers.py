"""Rendering of the ledger family.

Feed rows are rendered by a column serializer (`api.common.columns`): one declaration is both what is
sent and what the OpenAPI schema shows, and it renders a row at the cost of a dict literal (the feed
returns up to 250 rows per request and is on the hot path). The product history's rows are worked out
by `history_entry` (several keys share one computed figure); its serializer describes that shape for the
schema, and a test keeps the two in step.

Money: the feed sends JSON numbers, as the contract asks, converted from the stored Decimal only
here, at the very end. The product history sends money as decimal strings ("950.00"), so what the
client reads is exactly what the ledger holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from inventory.api.common.columns import Column, ColumnSerializer
from inventory.models import Action, StockMovement
from inventory.services.valuation import money, unit_cost


def iso(value: datetime) -> str:
    """UTC, ISO 8601, `Z` suffix: the same text DRF's DateTimeField writes in the other families."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def blank_to_none(value: str) -> str | None:
    return value or None


# --- the feed -------------------------------------------------------------------------------------


class FeedMovementSerializer(ColumnSerializer):
    """One movement in the feed."""

    id = Column(serializers.IntegerField(), key="id")
    variant_id = Column(serializers.IntegerField(), key="variant_id")
    location_id = Column(serializers.IntegerField(help_text="The stock location id."), key="location_id")
    resource_type = Column(serializers.CharField(allow_null=True, help_text="What caused the movement, e.g. "
                                                 "SalesOrder."), key="resource_type", then=blank_to_none)
    resource_id = Column(serializers.CharField(allow_null=True), key="resource_id", then=blank_to_none)
    caused_by_order_no = Column(serializers.CharField(allow_null=True), key="caused_by_order_no",
                                then=blank_to_none)
    caused_by_resource_id = Column(serializers.CharField(allow_null=True), key="caused_by_resource_id",
                                   then=blank_to_none)
    movement_date = Column(serializers.DateTimeField(help_text="When the stock moved (may be backdated)."),
                           key="movement_date", then=iso)
    quantity_change = Column(serializers.IntegerField(help_text="Signed: negative when stock left."), key="quantity")
    balance_after = Column(serializers.IntegerField(help_text="Stock of the item after this movement, in ledger "
                                                    "order."), key="balance_after")
    value_per_unit = Column(serializers.FloatField(), key="value_per_unit", then=float)
    value_in_stock_after = Column(serializers.FloatField(), key="value_in_stock_after", then=float)
    average_cost_after = Column(serializers.FloatField(), key="average_cost_after", then=float)
    rank = Column(serializers.IntegerField(help_text="Position in the item's ledger (movement_date, then id)."),
                  key="rank")
    created_at = Column(serializers.DateTimeField(), key="created_at", then=iso)
    updated_at = Column(serializers.DateTimeField(), key="updated_at", then=iso)


@extend_schema_serializer(many=False)  # one object, though a list action answers it
class FeedSerializer(serializers.Serializer):
    data = FeedMovementSerializer(many=True)


class KatanaErrorSerializer(serializers.Serializer):
    statusCode = serializers.IntegerField()  # noqa: N815 - the wire name
    name = serializers.CharField(help_text="UnauthorizedError, ForbiddenError, UnprocessableEntityError, ...")
    message = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="422 only: messages per query parameter.")


# --- the product history --------------------------------------------------------------------------

ENTRY, EXIT, ADJUSTMENT = "ENTRY", "EXIT", "ADJUSTMENT"
HISTORY_TYPES = {
    Action.RECEIVED: ENTRY,
    Action.RETURNED: ENTRY,
    Action.TRANSFERRED_IN: ENTRY,
    Action.SOLD: EXIT,
    Action.TRANSFERRED_OUT: EXIT,
    Action.ADJUSTED: ADJUSTMENT,
    Action.COUNTED: ADJUSTMENT,
}


def history_entry(movement: StockMovement, variant_id: int, batch_ids: list[int]) -> dict:
    kind = HISTORY_TYPES[movement.action]
    price = unit_cost(Decimal(movement.value_per_unit))
    quantity = movement.quantity if kind == ADJUSTMENT else abs(movement.quantity)
    user = movement.created_by
    return {
        "id": movement.pk,
        "product_id": variant_id,
        "type": kind,
        "quantity": quantity,
        "unit_price": str(price),
        "total_price": str(money(abs(movement.quantity) * price)),
        "total_cost": str(money(movement.total_cost)) if kind == EXIT else None,
        "reference_id": ",".join(str(pk) for pk in batch_ids) or None,
        "notes": movement.notes,
        "created_at": iso(movement.created_at),
        "created_by": user.display_name if user is not None else None,
    }


class HistoryEntrySerializer(serializers.Serializer):
    """One movement of a product's history (schema only; see `history_entry`)."""

    id = serializers.IntegerField(help_text="The movement id (the same id every family shows).")
    product_id = serializers.IntegerField(help_text="The variant id.")
    type = serializers.ChoiceField(choices=[ENTRY, EXIT, ADJUSTMENT], help_text="received, returned, "
                                   "transferred_in: ENTRY; sold, transferred_out: EXIT; adjusted, counted: ADJUSTMENT.")
    quantity = serializers.IntegerField(help_text="Units; positive for ENTRY and EXIT, signed for ADJUSTMENT.")
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4,
                                          help_text="Unit cost of the movement (4 places).")
    total_price = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="|quantity| x unit_price.")
    total_cost = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True,
                                          help_text="EXIT only: the cost of goods that left (FIFO or average).")
    reference_id = serializers.CharField(
        allow_null=True,
        help_text="Comma-separated ids of the FIFO batches (cost layers) the movement created, drew from "
                  "or settled, oldest first.",
    )
    notes = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True, help_text="Name of the user who recorded it.")


class HistoryErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    details = serializers.DictField(required=False, help_text="422: messages per query parameter; "
                                                              "429: retry_after in seconds.")
