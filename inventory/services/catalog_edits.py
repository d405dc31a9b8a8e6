"""Editing and removing catalogue records (products, variants, stock locations).

None of this touches stock: names, prices and flags are catalogue data and are updated in place.
Products and variants are soft-deleted (`deleted_at`), as in Spree, so that the ledger that refers to
them stays whole; a stock location can only be removed while nothing was ever recorded there.
"""

from __future__ import annotations

from django.db import OperationalError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from inventory.models import (
    Allocation,
    MovementAudit,
    Product,
    StockItem,
    StockLocation,
    StockMovement,
    StockTransfer,
    Variant,
)
from inventory.services.catalog import create_stock_location, ensure_stock_items
from inventory.services.errors import Conflict, StockError
from inventory.services.locking import is_lock_not_available

PRODUCT_FIELDS = ("name", "slug", "description")
VARIANT_FIELDS = ("sku", "price", "cost_price", "options_text", "weight", "height", "width", "depth",
                  "track_inventory")
LOCATION_FIELDS = ("name", "code", "active", "default", "backorderable_default", "propagate_all_variants",
                   "address1", "address2", "city", "zipcode", "phone", "state", "state_name", "country")


class CatalogError(StockError):
    """A catalogue change refused because of what depends on the record."""

    code = "catalog"


def _assign(instance, fields: dict, allowed: tuple[str, ...]) -> list[str]:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"not editable here: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(instance, name, value)
    return list(fields)


@transaction.atomic
def update_product(product: Product, **fields) -> Product:
    """Update a product; `sku`, `price` and the other variant fields go to its master variant (Spree's
    product form edits both)."""
    product_fields = {k: v for k, v in fields.items() if k in PRODUCT_FIELDS}
    master_fields = {k: v for k, v in fields.items() if k not in PRODUCT_FIELDS}
    if product_fields:
        changed = _assign(product, product_fields, PRODUCT_FIELDS)
        product.save(update_fields=[*changed, "updated_at"])
    if master_fields:
        master = product.variants.filter(is_master=True).first()
        if master is None:
            raise CatalogError("This product has no master variant to take those fields.", field="sku")
        update_variant(master, **master_fields)
    return product


@transaction.atomic
def update_variant(variant: Variant, **fields) -> Variant:
    if fields:
        changed = _assign(variant, fields, VARIANT_FIELDS)
        variant.save(update_fields=[*changed, "updated_at"])
    return variant


@transaction.atomic
def soft_delete_product(product: Product) -> None:
    """Mark the product and all its variants deleted; their stock items and ledger stay."""
    now = timezone.now()
    Product.objects.filter(pk=product.pk).update(deleted_at=now, updated_at=now)
    Variant.objects.filter(product=product, deleted_at__isnull=True).update(deleted_at=now, updated_at=now)
    product.deleted_at = now


@transaction.atomic
def soft_delete_variant(variant: Variant) -> None:
    if variant.is_master:
        raise CatalogError("The master variant is deleted with its product; delete the product instead.",
                           field="base")
    now = timezone.now()
    Variant.objects.filter(pk=variant.pk).update(deleted_at=now, updated_at=now)
    variant.deleted_at = now


def _clear_default(except_pk: int | None) -> None:
    # Before the new default is written: the partial unique constraint allows one default at a time. Two
    # writers making different locations default at once: one commits, the other's write violates the
    # constraint (an IntegrityError, reported as a conflict) instead of leaving two defaults.
    StockLocation.objects.exclude(pk=except_pk).filter(default=True).update(default=False)


@transaction.atomic
def create_location(**fields) -> StockLocation:
    """A stock location (stock items propagated as `create_stock_location` does); at most one is default."""
    if fields.get("default"):
        _clear_default(None)
    return create_stock_location(**fields)


@transaction.atomic
def update_location(location: StockLocation, **fields) -> StockLocation:
    """Update a location. Turning `propagate_all_variants` on gives it a stock item for every live variant."""
    was_propagating = location.propagate_all_variants
    changed = _assign(location, fields, LOCATION_FIELDS)
    if location.default and "default" in fields:
        _clear_default(location.pk)
    if changed:
        location.save(update_fields=[*changed, "updated_at"])
    if location.propagate_all_variants and not was_propagating:
        ensure_stock_items(location, Variant.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True),
                           create=True)
    return location


@transaction.atomic
def delete_location(location: StockLocation) -> None:
    """Remove a location and its empty stock items. Refused once anything was recorded there: its
    ledger, audits, transfers and allocations must keep pointing at it.

    Locks first, in the order writers take them, so that a write in progress at the location and the
    deletion never both commit (the loser used to fail at commit, on a deferred foreign key): the location's
    stock items in pk order, as a movement does (a movement being posted is waited for, then seen as history;
    one posted after finds its item gone), then the location row without waiting (held by a request creating
    stock items there: 409, try again).
    """
    locked = list(StockItem.objects.filter(stock_location=location).order_by("pk").select_for_update()
                  .values_list("pk", flat=True))
    try:
        with transaction.atomic():
            found = list(StockLocation.objects.select_for_update(nowait=True).filter(pk=location.pk)
                         .values_list("pk", flat=True))
    except OperationalError as exc:
        if not is_lock_not_available(exc):
            raise
        raise Conflict("This stock location is in use by another request; try again.") from None
    if not found:
        raise StockLocation.DoesNotExist(f"stock location {location.pk} no longer exists")
    items = StockItem.objects.filter(stock_location=location)
    if sorted(items.values_list("pk", flat=True)) != locked:
        raise Conflict("Stock items were just added to this stock location; try again.")
    if (
        StockMovement.objects.filter(stock_location=location).exists()
        or MovementAudit.objects.filter(stock_item__stock_location=location).exists()
        or Allocation.objects.filter(stock_item__stock_location=location).exists()
        or StockTransfer.objects.filter(source_location=location).exists()
        or StockTransfer.objects.filter(destination_location=location).exists()
    ):
        raise CatalogError("This stock location has stock history and can't be deleted; "
                           "set it inactive instead.", field="base")
    try:
        items.delete()
        location.delete()
    except (ProtectedError, RestrictedError):
        raise CatalogError("This stock location is still referenced and can't be deleted.", field="base") from None
