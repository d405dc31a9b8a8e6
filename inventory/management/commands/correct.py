"""`manage.py correct`: a correction of the ledger run by an operator, with no limit on its size.

A request may repost at most STOCKROOM_MAX_REPOST movements (a longer correction would hold the item's lock,
and every sale of it, for longer than DB_LOCK_TIMEOUT_MS): such a request is refused with a 422 naming this
command. Here the same services run without that limit and without the request timeouts:

    manage.py correct backdate --sku SKU --location CODE --action adjusted --quantity -2 \\
                               --date 2025-03-01T10:00:00Z [--unit-cost 3.50] [--notes TEXT]
    manage.py correct edit MOVEMENT_ID [--quantity N] [--date ISO] [--unit-cost X] [--notes TEXT]
    manage.py correct delete MOVEMENT_ID

Sales of the item wait for its lock while it runs (or are refused after DB_LOCK_TIMEOUT_MS with a 503 and
Retry-After): run it when the item is quiet. It prints the movement and how many movements it reposted.
"""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from inventory import services
from inventory.models import Action, StockItem, StockMovement
from inventory.services.errors import StockError


def when(text: str) -> datetime:
    value = parse_datetime(text)
    if value is None or value.tzinfo is None:
        raise CommandError(f"'{text}' is not an ISO 8601 date and time with a time zone (e.g. 2025-03-01T10:00Z).")
    return value


class Command(BaseCommand):
    help = "Backdate, edit or delete a movement with no limit on how many movements the correction reposts."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="operation", required=True)
        backdate = commands.add_parser("backdate", help="record a movement at a past date")
        backdate.add_argument("--sku", required=True)
        backdate.add_argument("--location", required=True, metavar="CODE")
        backdate.add_argument("--action", required=True, choices=[a for a in Action.values
                                                                if a not in ("transferred_in", "transferred_out")])
        backdate.add_argument("--quantity", required=True, type=int, help="signed, as the ledger stores it")
        backdate.add_argument("--date", required=True, type=when)
        backdate.add_argument("--unit-cost")
        backdate.add_argument("--notes", default="")
        edit = commands.add_parser("edit", help="change a movement's quantity, date, unit cost or notes")
        edit.add_argument("movement", type=int)
        edit.add_argument("--quantity", type=int)
        edit.add_argument("--date", type=when)
        edit.add_argument("--unit-cost")
        edit.add_argument("--notes")
        delete = commands.add_parser("delete", help="delete a movement")
        delete.add_argument("movement", type=int)

    def handle(self, *args, operation: str, **options) -> None:
        try:
            if operation == "backdate":
                item = self._item(options["sku"], options["location"])
                movement = services.record_movement(services.MovementRequest(
                    stock_item=item, quantity=options["quantity"], action=options["action"],
                    movement_date=options["date"], value_per_unit=options["unit_cost"], notes=options["notes"]))
                self.stdout.write(f"Recorded movement {movement.pk} at rank {movement.rank}.")
            elif operation == "edit":
                movement = services.update_movement(options["movement"], quantity=options["quantity"],
                                                    movement_date=options["date"],
                                                    value_per_unit=options["unit_cost"], notes=options["notes"])
                self.stdout.write(f"Edited movement {movement.pk}; it is now at rank {movement.rank}.")
            else:
                services.delete_movement(options["movement"])
                self.stdout.write(f"Deleted movement {options['movement']}.")
        except StockMovement.DoesNotExist:
            raise CommandError(f"There is no movement {options.get('movement')}.") from None
        except StockError as exc:
            raise CommandError(exc.message) from None

    @staticmethod
    def _item(sku: str, location: str) -> StockItem:
        try:
            return StockItem.objects.get(variant__sku=sku, stock_location__code=location)
        except StockItem.DoesNotExist:
            raise CommandError(f"There is no stock item of {sku} at {location}.") from None
