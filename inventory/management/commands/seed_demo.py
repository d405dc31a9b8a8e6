"""`manage.py seed_demo`: demo users, API keys, locations, catalogue and a month of stock history.

Idempotent: every object is looked up by its natural key (username, key hash, location code, product slug,
SKU) and created only when missing, and the history is written only when the demo stock items have no
movements yet, so a second run creates nothing. All stock goes through inventory.services, as in
production; the whole seed is one transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import KEY_PREFIX_LENGTH, ApiKey, Role, hash_key
from inventory import services
from inventory.management.base import StockroomCommand
from inventory.models import Allocation, Product, StockItem, StockLocation, StockMovement, Variant
from inventory.services import Cause
from inventory.services.catalog import ensure_stock_items

PASSWORD = "stockroom-demo"
# The demo catalogue is the Spree sample store's, priced in US dollars: the default of STOCKROOM_CURRENCY
# (config/settings.py), which the staff pages show money in.
DEMO_CURRENCY = "USD"


def server_url() -> str:
    """The address `make run` serves on: the same HOST and PORT variables (defaults 127.0.0.1:8000)."""
    host = os.environ.get("HOST", "").strip() or "127.0.0.1"
    port = os.environ.get("PORT", "").strip() or "8000"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"

# username -> (role, superuser, demo API key)
USERS = {
    "admin": (Role.ADMIN, True, "sr_demo_admin_key"),
    "gestor": (Role.MANAGER, False, "sr_demo_gestor_key"),
    "consultor": (Role.VIEWER, False, "sr_demo_consultor_key"),
}

# Created in this order, so on a fresh database MAIN is id 1 and SHOP id 2. The warehouse stocks every
# variant (so MAIN's stock item ids equal the variant ids); the store gets its items after the catalogue.
LOCATIONS = [
    {"code": "MAIN", "name": "Main warehouse", "default": True, "backorderable_default": False,
     "propagate_all_variants": True},
    {"code": "SHOP", "name": "Downtown store", "default": False, "backorderable_default": False,
     "propagate_all_variants": False},
]


@dataclass
class DemoProduct:
    name: str
    slug: str
    description: str
    price: Decimal
    cost_price: Decimal | None
    # (sku, options_text); the first is the master variant. ROR-00011 is created first, so it is variant 1.
    variants: list[tuple[str, str]] = field(default_factory=list)


PRODUCTS = [
    DemoProduct("Ruby on Rails Tote", "ruby-on-rails-tote", "Heavy canvas tote bag.", Decimal("15.99"), None,
                [("ROR-00011", "Natural"), ("ROR-00012", "Black"), ("ROR-00013", "Red"), ("ROR-00014", "Navy")]),
    DemoProduct("Ruby on Rails Mug", "ruby-on-rails-mug", "Stoneware mug, 350 ml.", Decimal("13.99"),
                Decimal("4.2000"), [("ROR-00015", "White"), ("ROR-00016", "Black"), ("ROR-00017", "Red")]),
    DemoProduct("Ruby on Rails Ringer T-Shirt", "ruby-on-rails-ringer-t-shirt", "Cotton ringer tee.",
                Decimal("19.99"), None, [("ROR-00018", "Size M"), ("ROR-00019", "Size L")]),
]

# Reorder points by (location, sku): the items that end at or below them show up as low stock.
REORDER_POINTS = {("MAIN", "ROR-00011"): 20, ("MAIN", "ROR-00012"): 10, ("MAIN", "ROR-00014"): 5,
                  ("MAIN", "ROR-00017"): 8, ("MAIN", "ROR-00019"): 6, ("SHOP", "ROR-00011"): 8}

# The dated history at MAIN: (days ago, sku, kind, quantity, unit cost, order number).
# Written oldest first so each movement appends; the backdated adjustment comes last, on purpose.
HISTORY = [
    (30, "ROR-00011", "receive", 50, "15.00", ""),
    (28, "ROR-00012", "receive", 24, "15.00", ""),
    (27, "ROR-00013", "receive", 10, "15.50", ""),
    (26, "ROR-00015", "receive", 40, None, ""),  # at the variant's cost price
    (26, "ROR-00016", "receive", 30, None, ""),
    (25, "ROR-00011", "sell", 12, None, "R100000001"),
    (24, "ROR-00018", "receive", 20, "6.00", ""),
    (24, "ROR-00019", "receive", 15, "6.00", ""),
    (22, "ROR-00015", "sell", 6, None, "R100000002"),
    (20, "ROR-00011", "receive", 30, "20.00", ""),
    (18, "ROR-00017", "receive", 12, "4.5000", ""),
    (16, "ROR-00019", "sell", 11, None, "R100000003"),
    (15, "ROR-00011", "sell", 20, None, "R100000004"),
    (14, "ROR-00011", "return", 2, None, "R100000004"),
    (12, "ROR-00018", "receive", 10, "7.25", ""),
    (10, "ROR-00012", "receive", 12, "16.25", ""),
    (9, "ROR-00016", "sell", 5, None, "R100000005"),
    (8, "ROR-00018", "sell", 18, None, "R100000006"),
    (7, "ROR-00013", "sell", 3, None, "R100000007"),
    (6, "ROR-00012", "sell", 26, None, "R100000008"),
    (5, "ROR-00011", "sell", 8, None, "R100000009"),
    (4, "ROR-00017", "sell", 7, None, "R100000010"),
    (3, "ROR-00011", "receive", 40, "18.50", ""),
]
BACKDATED_ADJUSTMENT = (12, "ROR-00011", -2, "Two totes damaged in storage")
TRANSFER_LINES = [("ROR-00011", 10), ("ROR-00012", 4), ("ROR-00015", 6)]
SHOP_SALE = ("ROR-00011", 3, "R100000011")
COUNT = ("ROR-00013", 6, "Cycle count: one tote missing")
ALLOCATION = ("ROR-00011", 3, "order", "R100000012")


class Command(StockroomCommand):
    help = "Create the demo users, API keys, locations, catalogue and stock history (idempotent)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            users = self.seed_users()
            locations = self.seed_locations()
            self.seed_catalogue()
            items = self.demo_items(locations)
            self.seed_reorder_points(items)
            if StockMovement.objects.filter(stock_item__in=items.values()).exists():
                self.stdout.write("Stock history already present; left as it is.")
            else:
                self.seed_history(items, locations, users["admin"], users["gestor"])
            self.seed_allocation(items, users["gestor"])
        self.print_summary()

    # --- users and keys -----------------------------------------------------------------------------

    def seed_users(self) -> dict:
        user_model = get_user_model()
        users = {}
        for username, (role, superuser, raw_key) in USERS.items():
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={"role": role, "is_staff": True, "is_superuser": superuser,
                          "email": f"{username}@stockroom.example"},
            )
            if created:
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
            users[username] = user
            ApiKey.objects.get_or_create(
                hashed_key=hash_key(raw_key),
                defaults={"user": user, "name": "demo", "prefix": raw_key[:KEY_PREFIX_LENGTH]},
            )
        return users

    # --- places and things ----------------------------------------------------------------------------

    def seed_locations(self) -> dict[str, StockLocation]:
        found = {}
        for fields in LOCATIONS:
            location = StockLocation.objects.filter(code=fields["code"]).first()
            if location is None:
                location = services.create_stock_location(**fields)
            found[location.code] = location
        return found

    def seed_catalogue(self) -> None:
        for spec in PRODUCTS:
            product = Product.objects.filter(slug=spec.slug).first()
            (master_sku, master_options), *others = spec.variants
            if product is None:
                product = services.create_product(
                    name=spec.name, slug=spec.slug, description=spec.description, sku=master_sku,
                    price=spec.price, cost_price=spec.cost_price, options_text=master_options,
                )
            for sku, options in others:
                if not Variant.objects.filter(sku=sku).exists():
                    services.create_variant(product, sku=sku, price=spec.price, cost_price=spec.cost_price,
                                            options_text=options)

    def demo_items(self, locations: dict[str, StockLocation]) -> dict[tuple[str, str], StockItem]:
        """The demo variants' stock items at the demo locations, by (location code, sku); propagation has
        normally created them, but a location that existed before the seed may not propagate."""
        variants = dict(Variant.objects.filter(sku__in=[sku for p in PRODUCTS for sku, _ in p.variants])
                        .values_list("pk", "sku"))
        items = {}
        for code, location in locations.items():
            for variant_id, item in ensure_stock_items(location, variants, create=True).items():
                items[(code, variants[variant_id])] = item
        return items

    def seed_reorder_points(self, items: dict) -> None:
        # A setting, not stock: written only where it differs, so a second run changes nothing.
        for key, point in REORDER_POINTS.items():
            StockItem.objects.filter(pk=items[key].pk).exclude(reorder_point=point).update(
                reorder_point=point)

    # --- history ----------------------------------------------------------------------------------------

    def seed_history(self, items: dict, locations: dict, admin, gestor) -> None:
        now = timezone.now().replace(microsecond=0)

        def day(days_ago: int, sku: str) -> datetime:
            # Spread the day's movements over working hours, stable per SKU.
            return (now - timedelta(days=days_ago)).replace(hour=9 + int(sku[-1]), minute=15, second=0)

        for days_ago, sku, kind, quantity, cost, order in HISTORY:
            item, when = items[("MAIN", sku)], day(days_ago, sku)
            if kind == "receive":
                services.receive(item, quantity, value_per_unit=cost, movement_date=when, user=gestor,
                                 notes="Supplier delivery", cause=Cause(resource_type="purchase_order",
                                                                        resource_id=f"PO-{100 + days_ago}"))
            elif kind == "sell":
                services.sell(item, quantity, movement_date=when, user=gestor,
                              cause=Cause(resource_type="order", resource_id=order, caused_by_order_no=order))
            else:
                services.return_items(item, quantity, movement_date=when, user=gestor, notes="Customer return",
                                      cause=Cause(resource_type="order", resource_id=order,
                                                  caused_by_order_no=order))

        services.transfer(locations["MAIN"], locations["SHOP"],
                          [(items[("MAIN", sku)].variant, qty) for sku, qty in TRANSFER_LINES],
                          user=gestor, reference="Weekly store replenishment")
        sku, quantity, order = SHOP_SALE
        services.sell(items[("SHOP", sku)], quantity, user=gestor,
                      cause=Cause(resource_type="order", resource_id=order, caused_by_order_no=order))
        sku, counted, notes = COUNT
        services.set_count(items[("MAIN", sku)], counted, user=gestor, notes=notes)

        days_ago, sku, delta, notes = BACKDATED_ADJUSTMENT
        services.adjust(items[("MAIN", sku)], delta, movement_date=day(days_ago, sku) + timedelta(hours=2),
                        user=admin, notes=notes)

    def seed_allocation(self, items: dict, user) -> None:
        sku, quantity, reference_type, reference_id = ALLOCATION
        try:
            from inventory.services.allocations import allocate
        except ImportError:  # an install without the allocations service: the rest of the demo stands
            self.stderr.write("Allocations service not available; no demo allocation created.")
            return
        if Allocation.objects.filter(reference_type=reference_type, reference_id=reference_id).exists():
            return
        if not StockMovement.objects.filter(stock_item=items[("MAIN", sku)]).exists():
            return  # history left alone on an existing database; allocate only what the demo stocked
        allocate(items[("MAIN", sku)], quantity, user=user, reference_type=reference_type,
                 reference_id=reference_id)

    # --- output ------------------------------------------------------------------------------------------

    def print_summary(self) -> None:
        url = server_url()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"Admin:     {url}/admin/  (login admin / {PASSWORD}; also gestor, consultor)")
        self.stdout.write(f"Dashboard: {url}/dashboard/")
        self.stdout.write(f"API docs:  {url}/api/docs/")
        self.stdout.write("API keys (Authorization: Bearer KEY or X-Spree-Token: KEY):")
        for username, (role, _superuser, raw_key) in USERS.items():
            self.stdout.write(f"  {raw_key:<24} {role:<8} ({username})")
